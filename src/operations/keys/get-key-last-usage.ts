// GetKeyLastUsage: a key's last successful cryptographic operation (keys/last-usage.ts keeps
// them), with the date tracking began for it: the later of the key's creation and the date this
// store began tracking.
import { checkKeyState } from '../../keys/state.js';
import type { GetKeyLastUsageResponse } from '../../model/types.js';
import { defineOperation } from '../operation.js';

export const getKeyLastUsage = defineOperation('GetKeyLastUsage', async (ctx, input) => {
  // AWS: "Alias names are not supported."
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'GetKeyLastUsage');
  const created = key.record.createdAt;
  const used = ctx.usage.lastUsage(key.record.keyId);
  const out: GetKeyLastUsageResponse = {
    KeyId: key.record.keyId,
    // Empty (not absent) when the key has not been used since tracking began.
    KeyLastUsage: used ? { Operation: used.operation, Timestamp: new Date(used.time), CloudTrailEventId: used.eventId, KmsRequestId: used.requestId } : {},
    TrackingStartDate: new Date(Math.max(created.getTime(), ctx.usage.trackingStart)),
    KeyCreationDate: created,
  };
  return out;
});
