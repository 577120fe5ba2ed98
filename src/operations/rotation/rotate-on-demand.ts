// RotateKeyOnDemand: a new key material now, whatever the automatic schedule (which it leaves
// alone), up to AWS's limit of on-demand rotations per key.
import { ConflictException, LimitExceededException } from '../../errors.js';
import { isImportedSymmetric, rotateToPendingMaterial } from '../../keys/import-keys.js';
import { onDemandRefusal, onDemandRotationLimit, rotateKeyMaterial } from '../../keys/rotation.js';
import { native } from '../native-errors.js';
import { defineOperation } from '../operation.js';
import { rotatableKey } from './rotatable.js';

export const rotateKeyOnDemand = defineOperation('RotateKeyOnDemand', async (ctx, input) => {
  // Symmetric keys with imported material rotate to material imported for it (import-keys.ts).
  const key = rotatableKey(ctx, 'RotateKeyOnDemand', input.KeyId, (k) => (isImportedSymmetric(k.record) ? undefined : onDemandRefusal(k)));
  const done = key.materials.filter((m) => m.rotationType === 'ON_DEMAND').length;
  if (done >= onDemandRotationLimit)
    throw new LimitExceededException(
      `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${key.arn}`,
    );
  const at = ctx.now();
  const materialId = isImportedSymmetric(key.record)
    ? rotateToPendingMaterial(ctx, key, at)
    : (await native(rotateKeyMaterial(ctx, key, 'ON_DEMAND', at)))?.record.currentMaterialId;
  // Another process rotated the key between our read and our write: AWS's answer to a rotation
  // already in progress.
  if (materialId === undefined) throw new ConflictException(`A rotation of ${key.arn} is already in progress.`);
  const { keyId, origin, currentMaterialId: previousMaterialId } = key.record;
  ctx.rotation = { keyId, type: 'ON_DEMAND', origin, previousMaterialId, materialId, at };
  return { KeyId: key.arn };
});
