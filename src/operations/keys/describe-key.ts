import { keyMetadata } from '../../keys/metadata.js';
import { defineOperation } from '../operation.js';

// DescribeKey works in every key state (a key pending deletion is still described).
export const describeKey = defineOperation('DescribeKey', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId);
  return { KeyMetadata: keyMetadata(key.record, ctx.arns) };
});
