// GetKeyRotationStatus. Keys that cannot rotate report false rather than an error (AWS changed
// this for asymmetric and HMAC keys); a key pending deletion reports false too, as AWS documents,
// and keeps its schedule for when the deletion is cancelled. Rotations here complete within the
// call that starts them, so OnDemandRotationStartDate (an on-demand rotation in progress) never
// appears.
import { rotationRefusal } from '../../keys/rotation.js';
import { checkKeyState } from '../../keys/state.js';
import type { GetKeyRotationStatusResponse } from '../../model/types.js';
import { defineOperation } from '../operation.js';

export const getKeyRotationStatus = defineOperation('GetKeyRotationStatus', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  const { state, rotationEnabled, rotationPeriodDays, nextRotationDate } = key.record;
  checkKeyState(key, 'GetKeyRotationStatus');
  const enabled = rotationEnabled && state !== 'PendingDeletion' && rotationRefusal(key) === undefined;
  const out: GetKeyRotationStatusResponse = { KeyRotationEnabled: enabled, KeyId: key.arn };
  if (enabled) {
    out.RotationPeriodInDays = rotationPeriodDays;
    out.NextRotationDate = nextRotationDate;
  }
  return out;
});
