// GenerateMac and VerifyMac with HMAC keys (RFC 2104, computed in native code). The algorithm
// must be the one the key spec allows; a MAC that does not match is KMSInvalidMacException (with
// AWS's empty message), never MacValid: false.
import type { LoadedKey } from '../../keys/registry.js';
import { keySpecs } from '../../keys/specs.js';
import { requireAlgorithm, requireUsableFor } from '../../keys/usage.js';
import type { MacAlgorithmSpec } from '../../model/types.js';
import { budgeted } from '../inline-budget.js';
import { defineOperation, stopIfDryRun, type OperationContext } from '../operation.js';
import { resultIn, resultRoom } from '../result-buffer.js';

function macKey(ctx: OperationContext, operation: string, keyId: string, algorithm: MacAlgorithmSpec): LoadedKey {
  const key = ctx.keys.resolve(keyId);
  requireUsableFor(key, 'GENERATE_VERIFY_MAC', operation);
  requireAlgorithm(key, algorithm, keySpecs[key.record.keySpec].mac);
  return key;
}

// Both give their output at once when the work ran inline (operation.ts).
export const generateMac = defineOperation('GenerateMac', (ctx, input) => {
  const key = macKey(ctx, 'GenerateMac', input.KeyId, input.MacAlgorithm);
  stopIfDryRun(input);
  let room: Buffer | undefined;
  return budgeted(
    () => key.handle().generateMac(input.MacAlgorithm, input.Message, true, (room = resultRoom(64))), // HMAC_SHA_512's, the longest
    (mac) => ({ Mac: resultIn(room, mac), MacAlgorithm: input.MacAlgorithm, KeyId: key.arn }),
  );
});

export const verifyMac = defineOperation('VerifyMac', (ctx, input) => {
  const key = macKey(ctx, 'VerifyMac', input.KeyId, input.MacAlgorithm);
  // A MAC that does not match is KMSInvalidMacException, under a dry run too (stopIfDryRun).
  return budgeted(
    () => key.handle().verifyMac(input.MacAlgorithm, input.Message, input.Mac, true),
    () => {
      stopIfDryRun(input);
      return { KeyId: key.arn, MacValid: true, MacAlgorithm: input.MacAlgorithm };
    },
  );
});
