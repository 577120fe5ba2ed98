// UpdateKeyDescription. The model allows an empty description (0–8192 characters).
import { checkKeyState } from '../../keys/state.js';
import { defineOperation } from '../operation.js';

export const updateKeyDescription = defineOperation('UpdateKeyDescription', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'UpdateKeyDescription');
  ctx.store.write(() => ctx.store.updateKey(key.record.keyId, { description: input.Description }));
  ctx.keys.invalidate(key.record.keyId);
  return {};
});
