// ReEncrypt: decrypts under one key and encrypts under another (or the same key with another
// context) in one native call, so the plaintext never reaches JavaScript. Any two encryption
// keys: SYMMETRIC_DEFAULT or RSAES_OAEP_*, in either direction.
import { ValidationException } from '../../errors.js';
import { oaepLimit } from '../../keys/specs.js';
import type { EncryptionAlgorithmSpec } from '../../model/types.js';
import { native } from '../native-errors.js';
import { defineOperation, dryRunIgnoresCiphertext, stopIfDryRun } from '../operation.js';
import { checkEncryption, decryptionSource } from './encrypt.js';

const operation = 'ReEncrypt';

export const reEncrypt = defineOperation('ReEncrypt', async (ctx, input) => {
  const source = decryptionSource(ctx, operation, input, input.CiphertextBlob, input.SourceKeyId, 'SourceKeyId', input.SourceEncryptionAlgorithm, input.SourceEncryptionContext);
  const destination = ctx.keys.resolve(input.DestinationKeyId);
  const destinationAlgorithm: EncryptionAlgorithmSpec = input.DestinationEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT';
  checkEncryption(destination, operation, destinationAlgorithm, input.DestinationEncryptionContext);
  // A dry run re-encrypts too (the source ciphertext is checked, and the plaintext's fit under an
  // RSA destination), dropping the result; only IGNORE_CIPHERTEXT stops it before.
  if (dryRunIgnoresCiphertext(input)) stopIfDryRun(input);

  let ciphertext: Uint8Array;
  try {
    ciphertext = await native(
      source.key
        .handle(source.materialId)
        .reEncrypt(
          source.algorithm,
          input.CiphertextBlob as Uint8Array,
          input.SourceEncryptionContext,
          destination.handle(),
          destinationAlgorithm,
          input.DestinationEncryptionContext,
        ),
    );
  } catch (err) {
    // The plaintext's size is known only inside native code; the one invalid input it can meet
    // there is a plaintext larger than RSA-OAEP under the destination key can take.
    const limit = oaepLimit(destination.record.keySpec, destinationAlgorithm);
    if (err instanceof ValidationException && limit !== undefined)
      throw new ValidationException(
        `Algorithm ${destinationAlgorithm} and key spec ${destination.record.keySpec} cannot encrypt data larger than ${limit} bytes.`,
      );
    throw err;
  }
  stopIfDryRun(input);

  const out: {
    CiphertextBlob: Uint8Array;
    SourceKeyId: string;
    KeyId: string;
    SourceEncryptionAlgorithm: EncryptionAlgorithmSpec;
    DestinationEncryptionAlgorithm: EncryptionAlgorithmSpec;
    SourceKeyMaterialId?: string;
    DestinationKeyMaterialId?: string;
  } = {
    CiphertextBlob: ciphertext,
    SourceKeyId: source.key.arn,
    KeyId: destination.arn,
    SourceEncryptionAlgorithm: source.algorithm,
    DestinationEncryptionAlgorithm: destinationAlgorithm,
  };
  // Material ids exist only for symmetric encryption (the model's documentation).
  if (source.materialId !== undefined) out.SourceKeyMaterialId = source.materialId;
  if (destinationAlgorithm === 'SYMMETRIC_DEFAULT' && destination.record.currentMaterialId !== undefined)
    out.DestinationKeyMaterialId = destination.record.currentMaterialId;
  ctx.additionalEventData = { sourceKeyMaterialId: out.SourceKeyMaterialId, destinationKeyMaterialId: out.DestinationKeyMaterialId };
  return out;
});
