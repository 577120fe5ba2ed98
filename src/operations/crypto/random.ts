// GenerateRandom: bytes from the addon's OpenSSL DRBG (1–1024, checked by the model validator),
// or from the token's own generator (C_GenerateRandom) when its CustomKeyStoreId is given.
import { ValidationException } from '../../errors.js';
import { addon } from '../../native/addon.js';
import { customKeyStore, requireConnected } from '../custom-key-stores/store-of.js';
import { native } from '../native-errors.js';
import { defineOperation } from '../operation.js';

export const generateRandom = defineOperation('GenerateRandom', async (ctx, input) => {
  // The model leaves NumberOfBytes optional; KMS requires it (recorded wording).
  if (input.NumberOfBytes === undefined) throw new ValidationException('NumberOfBytes is required.');
  if (input.Recipient !== undefined)
    throw new ValidationException('Recipient (attested enclaves) is not supported by embedded-kms.');
  if (input.CustomKeyStoreId === undefined) return { Plaintext: addon.randomBytes(input.NumberOfBytes) };
  // The model's CustomKeyStoreInvalidStateException: "You requested the GenerateRandom operation in
  // an CloudHSM key store that is not connected."
  const token = requireConnected(customKeyStore(ctx, input.CustomKeyStoreId));
  return { Plaintext: await native(token.generateRandom(input.NumberOfBytes)) };
});
