// DeriveSharedSecret: ECDH between the KMS key's private key and a peer's public key (DER
// SubjectPublicKeyInfo), returning the raw shared secret as AWS does (no KDF).
import { ValidationException } from '../../errors.js';
import { requireUsableFor } from '../../keys/usage.js';
import { budgetedSign } from '../inline-budget.js';
import { nativeNow } from '../native-errors.js';
import { defineOperation, stopIfDryRun } from '../operation.js';

export const deriveSharedSecret = defineOperation('DeriveSharedSecret', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId);
  requireUsableFor(key, 'KEY_AGREEMENT', 'DeriveSharedSecret');
  if (input.Recipient !== undefined)
    throw new ValidationException('Recipient (attested enclaves) is not supported by embedded-kms.');
  // A dry run derives too (an unusable public key fails as the call would), and wipes the secret.
  let secret: Uint8Array;
  try {
    // ECDH costs what an ECDSA signature does: inline for a caller doing one at a time, as Sign.
    secret = await nativeNow(() => budgetedSign((allowInline) => key.handle().deriveSharedSecret(input.PublicKey, allowInline)));
  } catch (err) {
    // AWS answers an unusable public key with an empty ValidationException.
    if (err instanceof ValidationException) throw new ValidationException('');
    throw err;
  }
  if (input.DryRun) secret.fill(0);
  stopIfDryRun(input);
  return { KeyId: key.arn, SharedSecret: secret, KeyAgreementAlgorithm: input.KeyAgreementAlgorithm, KeyOrigin: key.record.origin };
});
