import { UnsupportedOperationException } from '../../errors.js';
import { algorithmsFor, legacyKeySpec } from '../../keys/metadata.js';
import { checkKeyState } from '../../keys/state.js';
import { defineOperation } from '../operation.js';

// The public key comes from the store: no unwrap, no token round trip.
export const getPublicKey = defineOperation('GetPublicKey', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId);
  checkKeyState(key, 'GetPublicKey');
  const publicKey = key.material()?.publicKey;
  if (!publicKey)
    throw new UnsupportedOperationException(`${key.arn} key usage is ${key.record.keyUsage} which is not valid for GetPublicKey.`);
  return {
    KeyId: key.arn,
    PublicKey: new Uint8Array(publicKey),
    ...legacyKeySpec(key.record.keySpec),
    KeySpec: key.record.keySpec,
    KeyUsage: key.record.keyUsage,
    ...algorithmsFor(key.record),
  };
});
