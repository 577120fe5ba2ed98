// ScheduleKeyDeletion and CancelKeyDeletion. The key is destroyed when its deletion date comes
// (keys/deletion.ts); until then it is PendingDeletion and refuses nearly everything.
import { stateAfterCancelledDeletion } from '../../keys/import-keys.js';
import { KMSInvalidStateException, ValidationException } from '../../errors.js';
import {
  defaultPendingWindowDays,
  deletionDateFor,
  maxPendingWindowDays,
  minPendingWindowDays,
} from '../../keys/deletion.js';
import { checkKeyState } from '../../keys/state.js';
import { defineOperation } from '../operation.js';

export const scheduleKeyDeletion = defineOperation('ScheduleKeyDeletion', async (ctx, input) => {
  const days = input.PendingWindowInDays ?? defaultPendingWindowDays;
  // The model allows 1–365; KMS allows 7–30, in these words (a real response quoted in
  // Skyscanner/kms-issuer#8; the "but it is N" form other emulators use is not AWS's).
  if (days < minPendingWindowDays || days > maxPendingWindowDays)
    throw new ValidationException(`PendingWindowInDays must be between ${minPendingWindowDays} and ${maxPendingWindowDays}`);
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'ScheduleKeyDeletion');
  const deletionDate = deletionDateFor(ctx.now(), days);
  const scheduled = ctx.store.write(() => {
    // Rechecked in the transaction: another process may have scheduled it first.
    const current = ctx.store.getKey(key.record.keyId);
    if (!current || current.state === 'PendingDeletion') return false;
    ctx.store.updateKey(key.record.keyId, { state: 'PendingDeletion', deletionDate, pendingWindowDays: days });
    return true;
  });
  ctx.keys.invalidate(key.record.keyId);
  if (!scheduled) throw new KMSInvalidStateException(`${key.arn} is pending deletion.`);
  return { KeyId: key.arn, DeletionDate: deletionDate, KeyState: 'PendingDeletion', PendingWindowInDays: days };
});

export const cancelKeyDeletion = defineOperation('CancelKeyDeletion', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'CancelKeyDeletion');
  const cancelled = ctx.store.write(() => {
    if (ctx.store.getKey(key.record.keyId)?.state !== 'PendingDeletion') return false;
    // AWS leaves a key whose deletion is cancelled disabled, or pending import when it is an
    // imported key that has no key material any more.
    const state = stateAfterCancelledDeletion(ctx.store, key.record);
    ctx.store.updateKey(key.record.keyId, { state, deletionDate: undefined, pendingWindowDays: undefined });
    return true;
  });
  ctx.keys.invalidate(key.record.keyId);
  if (!cancelled) throw new KMSInvalidStateException(`${key.arn} is not pending deletion.`);
  return { KeyId: key.arn };
});
