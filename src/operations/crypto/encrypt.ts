// Encrypt and Decrypt: SYMMETRIC_DEFAULT (our AES-256-GCM ciphertext format, which names its key
// and material, so Decrypt needs no KeyId) and RSAES_OAEP_* with RSA keys.
import { IncorrectKeyException, InvalidCiphertextException, ValidationException } from '../../errors.js';
import type { LoadedKey } from '../../keys/registry.js';
import { keySpecs, oaepLimit } from '../../keys/specs.js';
import { requireAlgorithm, requireUsableFor } from '../../keys/usage.js';
import type { EncryptionAlgorithmSpec } from '../../model/types.js';
import { addon } from '../../native/addon.js';
import { budgeted, budgetedSign } from '../inline-budget.js';
import { incorrectKeyMessage, nativeThen } from '../native-errors.js';
import { defineOperation, dryRunIgnoresCiphertext, stopIfDryRun, type OperationContext } from '../operation.js';
import { resultIn, resultRoom } from '../result-buffer.js';

type Context = Record<string, string> | undefined;

/** Throws unless `operation` may use `key` with `alg` now (its state, usage and key spec). */
function requireEncryptionUse(key: LoadedKey, operation: string, alg: EncryptionAlgorithmSpec): void {
  requireUsableFor(key, 'ENCRYPT_DECRYPT', operation);
  requireAlgorithm(key, alg, keySpecs[key.record.keySpec].encryption);
}

/** The checks Encrypt and every operation that encrypts under a key make. */
export function checkEncryption(key: LoadedKey, operation: string, alg: EncryptionAlgorithmSpec, context: Context): void {
  requireEncryptionUse(key, operation, alg);
  checkNoAsymmetricContext(alg, context);
}

/**
 * "You cannot specify an encryption context in a cryptographic operation with an asymmetric KMS
 * key" (KMS developer guide, encrypt_context): refused on the decrypting side too, where it would
 * otherwise be ignored, and a caller led to believe it bound something.
 */
function checkNoAsymmetricContext(alg: EncryptionAlgorithmSpec, context: Context): void {
  if (alg !== 'SYMMETRIC_DEFAULT' && context !== undefined && Object.keys(context).length > 0)
    throw new ValidationException('EncryptionContext is not supported with asymmetric KMS keys.');
}

export function checkPlaintextSize(key: LoadedKey, alg: EncryptionAlgorithmSpec, size: number): void {
  const limit = oaepLimit(key.record.keySpec, alg);
  if (limit !== undefined && size > limit)
    throw new ValidationException(`Algorithm ${alg} and key spec ${key.record.keySpec} cannot encrypt data larger than ${limit} bytes.`);
}

export interface DecryptionTarget {
  key: LoadedKey;
  materialId?: string;
  algorithm: EncryptionAlgorithmSpec;
}

/** The key a KeyId names, checked as one that may decrypt with `alg` (and `context`). */
function namedDecryptor(ctx: OperationContext, operation: string, keyIdParam: string, alg: EncryptionAlgorithmSpec, context: Context): DecryptionTarget {
  const key = ctx.keys.resolve(keyIdParam);
  requireEncryptionUse(key, operation, alg);
  checkNoAsymmetricContext(alg, context);
  return { key, algorithm: alg };
}

/**
 * Finds the key and material that can decrypt a ciphertext: from the blob itself for
 * SYMMETRIC_DEFAULT, from KeyId for RSA. Shared by Decrypt and ReEncrypt.
 */
function decryptionTarget(
  ctx: OperationContext,
  operation: string,
  ciphertext: Uint8Array,
  keyIdParam: string | undefined,
  keyIdMember: 'KeyId' | 'SourceKeyId',
  algorithm: EncryptionAlgorithmSpec | undefined,
  context: Context,
): DecryptionTarget {
  const alg = algorithm ?? 'SYMMETRIC_DEFAULT';
  if (alg === 'SYMMETRIC_DEFAULT') {
    let named: { keyId: string; materialId: string };
    try {
      named = addon.parseCiphertext(ciphertext);
    } catch {
      // The KeyId is resolved first: an unknown key, or one whose state or usage cannot decrypt,
      // is reported before the blob. Not its spec: AWS reads the blob as a symmetric ciphertext,
      // and an RSA key's ciphertext sent without its EncryptionAlgorithm is
      // InvalidCiphertextException (aws-sdk-js-v3#2600), not Encrypt's InvalidKeyUsageException.
      if (keyIdParam !== undefined) requireUsableFor(ctx.keys.resolve(keyIdParam), 'ENCRYPT_DECRYPT', operation);
      throw new InvalidCiphertextException('');
    }
    // The key the ciphertext names. If this store has no such key, the blob was not made here
    // (or its key-id bytes were altered): that is an invalid ciphertext, whatever KeyId says.
    const key = ctx.keys.get(named.keyId);
    if (keyIdParam !== undefined) {
      const requested = ctx.keys.resolve(keyIdParam);
      // AWS (recorded): a KeyId naming another key is IncorrectKeyException, even when that
      // key's usage or spec could not decrypt anything.
      if (requested.record.keyId !== named.keyId) {
        if (!key) throw new InvalidCiphertextException('');
        throw new IncorrectKeyException(incorrectKeyMessage);
      }
    }
    if (!key) throw new InvalidCiphertextException('');
    requireEncryptionUse(key, operation, alg);
    if (!key.material(named.materialId)) throw new InvalidCiphertextException('');
    return { key, materialId: named.materialId, algorithm: alg };
  }
  if (keyIdParam === undefined) throw new ValidationException(`${keyIdMember} is required when the encryption algorithm is not SYMMETRIC_DEFAULT.`);
  return namedDecryptor(ctx, operation, keyIdParam, alg, context);
}

/**
 * The key (and material) that decrypts for Decrypt and ReEncrypt's source side. With DryRun and
 * the IGNORE_CIPHERTEXT modifier AWS checks only the key, so the key must then be named (in
 * `keyIdMember`) and the blob is not needed; otherwise the blob is required (the model leaves it
 * optional for that dry run only).
 */
export function decryptionSource(
  ctx: OperationContext,
  operation: string,
  input: { DryRun?: boolean | undefined; DryRunModifiers?: string[] | undefined },
  ciphertext: Uint8Array | undefined,
  keyIdParam: string | undefined,
  keyIdMember: 'KeyId' | 'SourceKeyId',
  algorithm: EncryptionAlgorithmSpec | undefined,
  context: Context,
): DecryptionTarget {
  if (dryRunIgnoresCiphertext(input)) {
    if (keyIdParam === undefined) throw new ValidationException(`${keyIdMember} is required when DryRunModifiers includes IGNORE_CIPHERTEXT.`);
    return namedDecryptor(ctx, operation, keyIdParam, algorithm ?? 'SYMMETRIC_DEFAULT', context);
  }
  if (ciphertext === undefined)
    throw new ValidationException("1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null");
  return decryptionTarget(ctx, operation, ciphertext, keyIdParam, keyIdMember, algorithm, context);
}

// What a SYMMETRIC_DEFAULT ciphertext adds to its plaintext: version and key id header (2 + 36),
// material id (32), nonce (12), tag (16), with room to spare; RSA's ciphertexts are the modulus'
// size and may not fit, and then come back as a Buffer of their own (result-buffer.ts).
export const CIPHERTEXT_OVERHEAD = 128;

/**
 * Starts an Encrypt or Decrypt under the inline budget that fits its key: a symmetric key's work
 * (about a microsecond) counts against the calls allowed per turn; an RSA key's (20-300 µs, the
 * key says whether it may run inline) against the signing budget's time, as Sign does.
 */
function keyBudgeted<T, U>(key: LoadedKey, start: (allowInline: boolean) => T | Promise<T>, then: (result: T) => U): U | Promise<U> {
  if (key.record.keySpec === 'SYMMETRIC_DEFAULT') return budgeted(() => start(true), then);
  return nativeThen(() => budgetedSign(start), then);
}

// Encrypt and Decrypt give their output at once when the work ran inline (operation.ts).
export const encrypt = defineOperation('Encrypt', (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId);
  const alg = input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT';
  checkEncryption(key, 'Encrypt', alg, input.EncryptionContext);
  checkPlaintextSize(key, alg, input.Plaintext.length);
  stopIfDryRun(input);
  let room: Buffer | undefined;
  return keyBudgeted(
    key,
    (allowInline) => key.handle().encrypt(alg, input.Plaintext, input.EncryptionContext, allowInline, (room = allowInline ? resultRoom(input.Plaintext.length + CIPHERTEXT_OVERHEAD) : undefined)),
    (ciphertext) => {
      // Encrypt's response names no material (the model has no member for it); its event does.
      const materialId = key.record.currentMaterialId;
      if (alg === 'SYMMETRIC_DEFAULT' && materialId !== undefined) ctx.additionalEventData = { keyMaterialId: materialId };
      return { CiphertextBlob: resultIn(room, ciphertext), KeyId: key.arn, EncryptionAlgorithm: alg };
    },
  );
});

export const decrypt = defineOperation('Decrypt', (ctx, input) => {
  if (input.Recipient !== undefined)
    throw new ValidationException('Recipient (attested enclaves) is not supported by embedded-kms.');
  const target = decryptionSource(ctx, 'Decrypt', input, input.CiphertextBlob, input.KeyId, 'KeyId', input.EncryptionAlgorithm, input.EncryptionContext);
  if (dryRunIgnoresCiphertext(input)) stopIfDryRun(input);
  const blob = input.CiphertextBlob as Uint8Array; // present unless the dry run above stopped the call
  // From the addon, in an ArrayBuffer of its own (never a slice of the pool: result-buffer.ts).
  return keyBudgeted(
    target.key,
    (allowInline) => target.key.handle(target.materialId).decrypt(target.algorithm, blob, input.EncryptionContext, allowInline),
    (plaintext) => {
      // A dry run decrypts (the ciphertext and context are checked as the call would check them),
      // then wipes the plaintext.
      if (input.DryRun) plaintext.fill(0);
      stopIfDryRun(input);
      const out: { KeyId: string; Plaintext: Uint8Array; EncryptionAlgorithm: EncryptionAlgorithmSpec; KeyMaterialId?: string } = {
        KeyId: target.key.arn,
        Plaintext: plaintext,
        EncryptionAlgorithm: target.algorithm,
      };
      if (target.materialId !== undefined) {
        out.KeyMaterialId = target.materialId;
        ctx.additionalEventData = { keyMaterialId: target.materialId };
      }
      return out;
    },
  );
});
