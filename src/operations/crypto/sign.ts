// Sign and Verify with asymmetric keys. MessageType RAW hands the message to the key (hashed in
// native code); DIGEST hands over a hash that must be exactly the algorithm's digest length.
import { ValidationException } from '../../errors.js';
import type { LoadedKey } from '../../keys/registry.js';
import { digestLength, keySpecs } from '../../keys/specs.js';
import { requireAlgorithm, requireUsableFor } from '../../keys/usage.js';
import type { MessageType, SigningAlgorithmSpec } from '../../model/types.js';
import { budgetedSign } from '../inline-budget.js';
import { nativeThen } from '../native-errors.js';
import { resultIn, resultRoom } from '../result-buffer.js';
import { defineOperation, stopIfDryRun } from '../operation.js';
import { isPromise } from '../../promise.js';

function checkMessage(key: LoadedKey, alg: SigningAlgorithmSpec, type: MessageType, message: Uint8Array): boolean {
  requireAlgorithm(key, alg, keySpecs[key.record.keySpec].signing);
  if (type === 'EXTERNAL_MU') {
    // μ, the 64-byte message representative of FIPS 204 §6.2, computed by the caller: the key
    // signs it as it would the message it stands for (the native isDigest flag carries this).
    if (alg !== 'ML_DSA_SHAKE_256') throw new ValidationException('MessageType EXTERNAL_MU is valid only with ML-DSA keys.');
    if (message.length !== 64) throw new ValidationException('MessageType EXTERNAL_MU requires a 64-byte Message (the μ of FIPS 204 section 6.2).');
    return true;
  }
  // AWS: ED25519_SHA_512 signs raw messages only; ED25519_PH_SHA_512 signs digests only. The
  // wording is real KMS's, as measured by floci's maintainers (floci-io/floci#2924, #2930).
  if ((alg === 'ED25519_SHA_512' && type !== 'RAW') || (alg === 'ED25519_PH_SHA_512' && type !== 'DIGEST'))
    throw new ValidationException(`Message type ${type} is incompatible with algorithm ${alg}.`);
  if (type === 'DIGEST' && message.length !== digestLength[alg])
    throw new ValidationException(`Digest is invalid length for algorithm ${alg}.`);
  return type === 'DIGEST';
}

// Room for the DER signatures of every elliptic curve key (P-521's reach 139 bytes) and Ed25519's
// (result-buffer.ts); RSA's, made in 0.3 ms and more, come back as a Buffer of their own.
const SIGNATURE_ROOM = 144;

function signWith(key: LoadedKey, alg: SigningAlgorithmSpec, isDigest: boolean, message: Uint8Array, allowInline: boolean): Buffer | Promise<Buffer> {
  // Work not allowed inline goes to a pool, and its result comes back in a Buffer of its own.
  const room = allowInline ? resultRoom(SIGNATURE_ROOM) : undefined;
  const r = key.handle().sign(alg, isDigest, message, allowInline, room);
  return isPromise(r) ? r : resultIn(room, r);
}

// Sign and Verify return their output at once when the work ran inline (no async function:
// operation.ts), a promise of it when the work went to a pool.
export const sign = defineOperation('Sign', (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId);
  requireUsableFor(key, 'SIGN_VERIFY', 'Sign');
  const alg = input.SigningAlgorithm;
  const isDigest = checkMessage(key, alg, input.MessageType ?? 'RAW', input.Message);
  stopIfDryRun(input);
  const output = (signature: Buffer) => ({ KeyId: key.arn, Signature: signature, SigningAlgorithm: alg });
  return nativeThen(() => budgetedSign((allowInline) => signWith(key, alg, isDigest, input.Message, allowInline)), output);
});

export const verify = defineOperation('Verify', (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId);
  requireUsableFor(key, 'SIGN_VERIFY', 'Verify');
  const alg = input.SigningAlgorithm;
  const isDigest = checkMessage(key, alg, input.MessageType ?? 'RAW', input.Message);
  // A signature that does not match throws KMSInvalidSignatureException, as AWS does; a dry run
  // checks it too (stopIfDryRun).
  const output = () => {
    stopIfDryRun(input);
    return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: alg };
  };
  return nativeThen(() => budgetedSign((allowInline) => key.handle().verify(alg, isDigest, input.Message, input.Signature, allowInline)), output);
});
