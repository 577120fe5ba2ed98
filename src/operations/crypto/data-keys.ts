// GenerateDataKey and GenerateDataKeyPair (with and without plaintext): data keys and data key
// pairs are made in native code and encrypted there under a symmetric encryption KMS key with
// SYMMETRIC_DEFAULT, so the ciphertexts are ordinary ones that Decrypt and ReEncrypt accept.
import { UnsupportedOperationException, ValidationException } from '../../errors.js';
import type { LoadedKey } from '../../keys/registry.js';
import { keySpecs } from '../../keys/specs.js';
import type { DataKeyPairSpec, DataKeySpec } from '../../model/types.js';
import { andThen } from '../../promise.js';
import { budgeted } from '../inline-budget.js';
import { native } from '../native-errors.js';
import { defineOperation, stopIfDryRun, type OperationContext } from '../operation.js';
import { resultIn, resultRoom, secretRoom } from '../result-buffer.js';
import { CIPHERTEXT_OVERHEAD, checkEncryption } from './encrypt.js';

type Context = Record<string, string> | undefined;

interface DataKeyRequest {
  KeyId: string;
  EncryptionContext?: Context;
  KeySpec?: DataKeySpec | undefined;
  NumberOfBytes?: number | undefined;
  Recipient?: unknown;
  DryRun?: boolean | undefined;
}

interface DataKeyPairRequest {
  KeyId: string;
  KeyPairSpec: DataKeyPairSpec;
  EncryptionContext?: Context;
  Recipient?: unknown;
  DryRun?: boolean | undefined;
}

const dataKeyBytes: Record<DataKeySpec, number> = { AES_128: 16, AES_256: 32 };

/** KeySpec or NumberOfBytes, exactly one (checked before the key is looked up, as AWS does). */
function dataKeyLength(input: DataKeyRequest): number {
  if ((input.KeySpec === undefined) === (input.NumberOfBytes === undefined))
    throw new ValidationException('Please specify either number of bytes or key spec.');
  return input.NumberOfBytes ?? dataKeyBytes[input.KeySpec as DataKeySpec];
}

function refuseRecipient(input: { Recipient?: unknown }): void {
  if (input.Recipient !== undefined)
    throw new ValidationException('Recipient (attested enclaves) is not supported by embedded-kms.');
}

/** The key that encrypts data keys: a symmetric encryption key, usable now. */
function wrappingKey(ctx: OperationContext, operation: string, input: { KeyId: string; EncryptionContext?: Context }): LoadedKey {
  const key = ctx.keys.resolve(input.KeyId);
  checkEncryption(key, operation, 'SYMMETRIC_DEFAULT', input.EncryptionContext);
  return key;
}

/**
 * The response's KeyMaterialId: the current material, the one the handle encrypts with (the
 * ciphertext names it too). Noted for the audit trail as well (keyMaterialId).
 */
function usedMaterial(ctx: OperationContext, key: LoadedKey): { KeyMaterialId?: string } {
  const id = key.record.currentMaterialId;
  if (id === undefined) return {};
  ctx.additionalEventData = { keyMaterialId: id };
  return { KeyMaterialId: id };
}

function makeDataKey(ctx: OperationContext, operation: string, input: DataKeyRequest, withPlaintext: boolean) {
  const length = dataKeyLength(input);
  refuseRecipient(input);
  const key = wrappingKey(ctx, operation, input);
  stopIfDryRun(input);
  // Made inline: the ciphertext into a slice of the pool, the plaintext into an ArrayBuffer of its
  // own (result-buffer.ts).
  let room: Buffer | undefined;
  let plaintextRoom: Buffer | undefined;
  return budgeted(
    () => {
      room = resultRoom(length + CIPHERTEXT_OVERHEAD);
      plaintextRoom = withPlaintext ? secretRoom(length) : undefined;
      return key.handle().generateDataKey('SYMMETRIC_DEFAULT', length, input.EncryptionContext, withPlaintext, true, room, plaintextRoom);
    },
    (out) => (typeof out !== 'number' ? { key, ciphertext: out.ciphertext, plaintext: out.plaintext } : { key, ciphertext: resultIn(room, out), plaintext: plaintextRoom }),
  );
}

// Both give their output at once when the work ran inline (operation.ts).
export const generateDataKey = defineOperation('GenerateDataKey', (ctx, input) =>
  andThen(makeDataKey(ctx, 'GenerateDataKey', input, true), ({ key, ciphertext, plaintext }) => ({
    CiphertextBlob: ciphertext,
    Plaintext: plaintext,
    KeyId: key.arn,
    ...usedMaterial(ctx, key),
  })),
);

export const generateDataKeyWithoutPlaintext = defineOperation('GenerateDataKeyWithoutPlaintext', (ctx, input) =>
  andThen(makeDataKey(ctx, 'GenerateDataKeyWithoutPlaintext', input, false), ({ key, ciphertext }) => ({
    CiphertextBlob: ciphertext,
    KeyId: key.arn,
    ...usedMaterial(ctx, key),
  })),
);

async function makeDataKeyPair(ctx: OperationContext, operation: string, input: DataKeyPairRequest, withPlaintext: boolean) {
  refuseRecipient(input);
  const key = wrappingKey(ctx, operation, input);
  // The data key pair specs match key specs of the same name; SM2 exists only in China Regions.
  const pairSpec = keySpecs[input.KeyPairSpec];
  if (!pairSpec.supported)
    throw new UnsupportedOperationException(pairSpec.unsupportedReason ?? `KeyPairSpec ${input.KeyPairSpec} is not supported.`);
  stopIfDryRun(input);
  const out = await native(key.handle().generateDataKeyPair('SYMMETRIC_DEFAULT', input.KeyPairSpec, input.EncryptionContext, withPlaintext));
  return { key, ...out };
}

export const generateDataKeyPair = defineOperation('GenerateDataKeyPair', async (ctx, input) => {
  const { key, ciphertext, publicKey, privateKey } = await makeDataKeyPair(ctx, 'GenerateDataKeyPair', input, true);
  return {
    PrivateKeyCiphertextBlob: ciphertext,
    PrivateKeyPlaintext: privateKey,
    PublicKey: publicKey,
    KeyId: key.arn,
    KeyPairSpec: input.KeyPairSpec,
    ...usedMaterial(ctx, key),
  };
});

export const generateDataKeyPairWithoutPlaintext = defineOperation('GenerateDataKeyPairWithoutPlaintext', async (ctx, input) => {
  const { key, ciphertext, publicKey } = await makeDataKeyPair(ctx, 'GenerateDataKeyPairWithoutPlaintext', input, false);
  return { PrivateKeyCiphertextBlob: ciphertext, PublicKey: publicKey, KeyId: key.arn, KeyPairSpec: input.KeyPairSpec, ...usedMaterial(ctx, key) };
});
