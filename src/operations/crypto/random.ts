// GenerateRandom: bytes from the addon's OpenSSL DRBG (1–1024, checked by the model validator),
// or from the token's own generator (C_GenerateRandom) when its CustomKeyStoreId is given.
import { CustomKeyStoreNotFoundException, ValidationException } from '../../errors.js';
import { addon } from '../../native/addon.js';
import { native } from '../native-errors.js';
import { defineOperation } from '../operation.js';

export const generateRandom = defineOperation('GenerateRandom', async (ctx, input) => {
  // The model leaves NumberOfBytes optional; KMS requires it (recorded wording).
  if (input.NumberOfBytes === undefined) throw new ValidationException('NumberOfBytes is required.');
  if (input.Recipient !== undefined)
    throw new ValidationException('Recipient (attested enclaves) is not supported by embedded-kms.');
  if (input.CustomKeyStoreId !== undefined && input.CustomKeyStoreId !== ctx.token?.customKeyStoreId)
    throw new CustomKeyStoreNotFoundException(`Custom key store ${input.CustomKeyStoreId} does not exist.`);
  if (input.CustomKeyStoreId !== undefined && ctx.token)
    return { Plaintext: await native(ctx.token.generateRandom(input.NumberOfBytes)) };
  return { Plaintext: addon.randomBytes(input.NumberOfBytes) };
});
