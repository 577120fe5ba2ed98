// EnableKeyRotation and DisableKeyRotation: the automatic rotation schedule of a symmetric
// encryption key. The rotation itself happens when the date has passed and the store is opened
// or used (keys/rotation.ts).
import { addDays, defaultRotationPeriodDays } from '../../keys/rotation.js';
import type { KeyRecord } from '../../store/records.js';
import { defineOperation } from '../operation.js';
import { rotatableKey } from './rotatable.js';

/**
 * The next rotation date. Enabling starts a period from now; changing the period of a key that
 * already rotates keeps the start of the current period and moves only its end. A shorter period
 * whose end has passed makes the key due now: it rotates once, dated now, not on the past dates
 * of a schedule it never had (rotation.ts dates late rotations when they fell due).
 */
function nextRotationDate(record: KeyRecord, period: number, now: Date): Date {
  if (record.rotationEnabled && record.nextRotationDate && record.rotationPeriodDays !== undefined) {
    const moved = addDays(record.nextRotationDate, period - record.rotationPeriodDays);
    return moved.getTime() < now.getTime() ? now : moved;
  }
  return addDays(now, period);
}

export const enableKeyRotation = defineOperation('EnableKeyRotation', async (ctx, input) => {
  const key = rotatableKey(ctx, 'EnableKeyRotation', input.KeyId);
  const record = key.record;
  const kept = record.rotationEnabled ? record.rotationPeriodDays : undefined;
  const period = input.RotationPeriodInDays ?? kept ?? defaultRotationPeriodDays;
  ctx.store.updateKey(record.keyId, {
    rotationEnabled: true,
    rotationPeriodDays: period,
    nextRotationDate: nextRotationDate(record, period, ctx.now()),
  });
  ctx.keys.invalidate(record.keyId);
  return {};
});

export const disableKeyRotation = defineOperation('DisableKeyRotation', async (ctx, input) => {
  const key = rotatableKey(ctx, 'DisableKeyRotation', input.KeyId);
  ctx.store.updateKey(key.record.keyId, { rotationEnabled: false, rotationPeriodDays: undefined, nextRotationDate: undefined });
  ctx.keys.invalidate(key.record.keyId);
  return {};
});
