// EnableKey and DisableKey. Both are idempotent in AWS. An unavailable key (its token
// disconnected) accepts them, as AWS's key-state table says: the stored state changes, and the
// key has it once its store is connected again (until then it reports Unavailable).
import { rotationCatchUpFrom } from '../../keys/rotation.js';
import { checkKeyState } from '../../keys/state.js';
import type { KeyState } from '../../model/types.js';
import { defineOperation, type OperationContext } from '../operation.js';

async function setEnabled(ctx: OperationContext, keyIdParam: string, operation: 'EnableKey' | 'DisableKey'): Promise<Record<string, never>> {
  const key = ctx.keys.resolve(keyIdParam, { aliases: false });
  checkKeyState(key, operation);
  const target: KeyState = operation === 'EnableKey' ? 'Enabled' : 'Disabled';
  if (key.record.state === 'Enabled' || key.record.state === 'Disabled') {
    const from = key.record.state;
    // Only from the state checked above: another process may have scheduled deletion meanwhile.
    ctx.store.write(() => {
      const record = ctx.store.getKey(key.record.keyId);
      if (record?.state !== from) return;
      // A key enabled again after its rotation date rotates now (or, with a material younger
      // than its period, at the schedule's next date), not on the dates it was disabled
      // through (keys/rotation.ts).
      const catchUp = target === 'Enabled' && from === 'Disabled' ? rotationCatchUpFrom(ctx.store, record, ctx.now()) : undefined;
      ctx.store.updateKey(key.record.keyId, catchUp ? { state: target, nextRotationDate: catchUp } : { state: target });
    });
    ctx.keys.invalidate(key.record.keyId);
  }
  return {};
}

export const enableKey = defineOperation('EnableKey', (ctx, input) => setEnabled(ctx, input.KeyId, 'EnableKey'));
export const disableKey = defineOperation('DisableKey', (ctx, input) => setEnabled(ctx, input.KeyId, 'DisableKey'));
