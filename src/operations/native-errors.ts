// Native failures in AWS's vocabulary. The addon tags each error with a code; messages AWS
// leaves empty (bad signature, bad ciphertext, bad MAC) stay empty here too.
import {
  IncorrectKeyException,
  InvalidCiphertextException,
  KMSInternalException,
  KMSInvalidMacException,
  KMSInvalidSignatureException,
  KMSInvalidStateException,
  KeyUnavailableException,
  KmsError,
  UnsupportedOperationException,
  ValidationException,
} from '../errors.js';
import { nativeCode } from '../native/addon.js';
import { isPromise } from '../promise.js';

export const incorrectKeyMessage = 'The key ID in the request does not identify a CMK that can perform this operation.';

/** The errors of a blob the root key did not open (the retry after a rotation elsewhere looks for these). */
const unwrapRefusals = new WeakSet<object>();

/**
 * Whether `err` is a key material blob the engine's root key could not open. Another process may
 * have rotated the root key between this one's following it and reading the blob: see
 * RootKeyFollower.retryAfter.
 */
export function isUnwrapRefusal(err: unknown): boolean {
  return typeof err === 'object' && err !== null && unwrapRefusals.has(err);
}

export function fromNative(err: unknown): KmsError {
  if (err instanceof KmsError) return err;
  const message = (err as Error | undefined)?.message ?? String(err);
  switch (nativeCode(err)) {
    case 'EKMS_INVALID_SIGNATURE':
      return new KMSInvalidSignatureException('');
    case 'EKMS_INVALID_CIPHERTEXT':
      return new InvalidCiphertextException('');
    case 'EKMS_INVALID_MAC':
      return new KMSInvalidMacException('');
    case 'EKMS_INCORRECT_KEY':
      return new IncorrectKeyException(incorrectKeyMessage);
    case 'EKMS_UNSUPPORTED':
      return new UnsupportedOperationException(message);
    case 'EKMS_INVALID_INPUT':
      return new ValidationException(message);
    case 'EKMS_KEY_UNAVAILABLE':
      return new KeyUnavailableException(message);
    case 'EKMS_KEY_MATERIAL_GONE':
      // The token answered without the key's object (destroyed on the token by hand, or the token
      // re-initialised). AWS's answer for a custom key store key whose backing key is gone is
      // KMSInvalidStateException, a client error that SDKs do not retry, where the transient
      // KeyUnavailableException would be retried to no end (model, KMSInvalidStateException).
      return new KMSInvalidStateException(`${message.charAt(0).toUpperCase()}${message.slice(1)}.`);
    case 'EKMS_INVALID_KEY_BLOB': {
      const refused = new KMSInternalException('The key material of this KMS key cannot be unwrapped with the store\'s root key.');
      unwrapRefusals.add(refused);
      return refused;
    }
    default:
      return new KMSInternalException(`Internal error: ${message}`);
  }
}

/** Awaits a native call and rethrows its failure as an AWS error. */
export function native<T>(p: Promise<T>): Promise<T> {
  return p.catch(rethrowAsAws);
}

const itself = <T>(value: T): T => value;

/**
 * A native call that may finish at once (a value, or a throw) or later (a promise), with its
 * failure as an AWS error either way. What finished at once costs no promise here.
 */
export function nativeNow<T>(call: () => T | Promise<T>): T | Promise<T> {
  return nativeThen(call, itself);
}

/**
 * `then` of a native call's result, as nativeNow: at once when the call finished at once, else
 * when its promise settles, in one reaction (a catch and then a then made two promises and two
 * turns of the microtask queue per call on the pool). The call's failure is an AWS error; what
 * `then` throws passes as it is.
 */
export function nativeThen<T, U>(call: () => T | Promise<T>, then: (value: T) => U): U | Promise<U> {
  let r: T | Promise<T>;
  try {
    r = call();
  } catch (err) {
    throw fromNative(err);
  }
  return isPromise(r) ? r.then(then, rethrowAsAws) : then(r);
}

function rethrowAsAws(err: unknown): never {
  throw fromNative(err);
}
