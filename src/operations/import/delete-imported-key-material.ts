// DeleteImportedKeyMaterial: the material's blob is deleted; its id stays, so the same material
// can be imported again (and ciphertexts made before decrypt again). The key goes to
// PendingImport, unless it is pending deletion (then nothing but the material changes). On a
// PKCS#11 token the material's object is destroyed.
import { forgetTokenMaterial } from '../../backends/token-orphans.js';
import { NotFoundException } from '../../errors.js';
import { forgetImportedMaterial, isSymmetric, requireImportable } from '../../keys/import-keys.js';
import { ImportStore } from '../../keys/import-store.js';
import type { DeleteImportedKeyMaterialResponse } from '../../model/types.js';
import { native } from '../native-errors.js';
import { defineOperation } from '../operation.js';
import { tokenOfKey } from './token.js';

export const deleteImportedKeyMaterial = defineOperation('DeleteImportedKeyMaterial', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  requireImportable(key, 'DeleteImportedKeyMaterial');
  const { keyId } = key.record;
  const imports = new ImportStore(ctx.store);
  const materialId = input.KeyMaterialId ?? key.record.currentMaterialId;
  if (input.KeyMaterialId !== undefined && !imports.material(keyId, input.KeyMaterialId))
    throw new NotFoundException(`Key material ${input.KeyMaterialId} is not associated with ${key.arn}.`);
  if (materialId !== undefined) {
    // On a token the material's object is claimed first: if the token cannot be reached,
    // nothing changes and the caller learns it (KeyUnavailableException). The object is destroyed
    // unless a reimport of the same material, under way, kept it (token-orphans.ts).
    const onToken = ctx.store.getMaterial(keyId, materialId)?.tokenRef;
    const forget = () => forgetImportedMaterial(ctx.store, imports, keyId, materialId);
    const changed =
      onToken !== undefined && imports.material(keyId, materialId)?.importState === 'IMPORTED'
        ? await native(forgetTokenMaterial(ctx.store, tokenOfKey(ctx, key), keyId, materialId, ctx.now(), forget))
        : ctx.store.write(forget);
    // Wipe whatever this process still holds unwrapped of the key, and the store's old copies.
    if (changed) {
      ctx.keys.invalidate(keyId, { wipe: true });
      ctx.store.shred();
    }
  }
  const out: DeleteImportedKeyMaterialResponse = { KeyId: key.arn };
  if (materialId !== undefined && isSymmetric(key.record)) out.KeyMaterialId = materialId;
  return out;
});
