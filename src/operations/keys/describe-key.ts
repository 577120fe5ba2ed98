import { keyMetadata } from '../../keys/metadata.js';
import { checkKeyState } from '../../keys/state.js';
import { defineOperation } from '../operation.js';

// DescribeKey works in every key state (a key pending deletion is still described); the check
// is there so that the key-state table stays the one place that says so.
export const describeKey = defineOperation('DescribeKey', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId);
  checkKeyState(key, 'DescribeKey');
  return { KeyMetadata: keyMetadata(key.record, ctx.arns, key.state) };
});
