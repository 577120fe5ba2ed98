// DeleteImportedKeyMaterial: the material's blob is deleted; its id stays, so the same material
// can be imported again (and ciphertexts made before decrypt again). The key goes to
// PendingImport, unless it is pending deletion (then nothing but the material changes). On a
// PKCS#11 token the material's object is destroyed.
import { NotFoundException } from '../../errors.js';
import { forgetImportedMaterial, isSymmetric, requireExternal } from '../../keys/import-keys.js';
import { ImportStore } from '../../keys/import-store.js';
import { checkKeyState } from '../../keys/state.js';
import type { DeleteImportedKeyMaterialResponse } from '../../model/types.js';
import { native } from '../native-errors.js';
import { defineOperation } from '../operation.js';
import { tokenOfKey } from './token.js';

export const deleteImportedKeyMaterial = defineOperation('DeleteImportedKeyMaterial', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'DeleteImportedKeyMaterial');
  requireExternal(key);
  const { keyId } = key.record;
  const imports = new ImportStore(ctx.store);
  const materialId = input.KeyMaterialId ?? key.record.currentMaterialId;
  if (input.KeyMaterialId !== undefined && !imports.material(keyId, input.KeyMaterialId))
    throw new NotFoundException(`Key material ${input.KeyMaterialId} is not associated with ${key.arn}.`);
  if (materialId !== undefined) {
    // On a token the material's object is destroyed first: if the token cannot be reached,
    // nothing changes and the caller learns it (KeyUnavailableException).
    const onToken = ctx.store.getMaterial(keyId, materialId)?.tokenRef;
    if (onToken !== undefined && imports.material(keyId, materialId)?.importState === 'IMPORTED')
      await native(tokenOfKey(ctx, key).destroyTokenRef(onToken));
    const changed = ctx.store.write(() => forgetImportedMaterial(ctx.store, imports, keyId, materialId));
    // Wipe whatever this process still holds unwrapped of the key.
    if (changed) ctx.keys.invalidate(keyId, { wipe: true });
  }
  const out: DeleteImportedKeyMaterialResponse = { KeyId: key.arn };
  if (materialId !== undefined && isSymmetric(key.record)) out.KeyMaterialId = materialId;
  return out;
});
