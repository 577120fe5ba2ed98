// ListKeyRotations: the key's materials, oldest first. By default only those made by rotations;
// with ALL_KEY_MATERIAL the first one too (without rotation date or type, as AWS shows it) and
// imported material that waits for a rotation (the model's IncludeKeyMaterial: "KMS adds the
// first key material and any imported key material pending rotation").
import { InvalidMarkerException } from '../../errors.js';
import { importedMaterialsOf, isImportedSymmetric, withImportFields } from '../../keys/import-keys.js';
import { rotationRefusal } from '../../keys/rotation.js';
import { checkKeyState } from '../../keys/state.js';
import type { RotationsListEntry } from '../../model/types.js';
import type { MaterialRecord } from '../../store/records.js';
import { defineOperation } from '../operation.js';

// Markers are opaque to callers; ours name the last material returned, which stays valid while
// rotations add materials between pages (materials are only ever appended).
const markerPrefix = 'ekms1:';

function startAfter(entries: readonly MaterialRecord[], marker: string | undefined): number {
  if (marker === undefined) return 0;
  const index = marker.startsWith(markerPrefix) ? entries.findIndex((m) => m.materialId === marker.slice(markerPrefix.length)) : -1;
  if (index < 0) throw new InvalidMarkerException('Invalid marker');
  return index + 1;
}

export const listKeyRotations = defineOperation('ListKeyRotations', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'ListKeyRotations');
  // Symmetric keys with imported material list their materials with import states (import-keys.ts).
  const imported = isImportedSymmetric(key.record) ? importedMaterialsOf(ctx.store, key.record.keyId) : undefined;
  const refused = imported ? undefined : rotationRefusal(key);
  if (refused) throw refused;
  const all = input.IncludeKeyMaterial === 'ALL_KEY_MATERIAL';
  const entries = key.materials.filter((m) => all || m.rotationType !== undefined);
  const limit = input.Limit ?? 100;
  const start = startAfter(entries, input.Marker);
  const page = entries.slice(start, start + limit);
  const truncated = start + limit < entries.length;
  const rotations = page.map((m): RotationsListEntry => {
    const entry: RotationsListEntry = {
      KeyId: key.record.keyId,
      KeyMaterialId: m.materialId,
      KeyMaterialState: m.materialId === key.record.currentMaterialId ? 'CURRENT' : 'NON_CURRENT',
    };
    if (m.rotationType !== undefined) {
      entry.RotationDate = m.createdAt;
      entry.RotationType = m.rotationType;
    }
    return imported ? withImportFields(entry, imported.get(m.materialId)) : entry;
  });
  const out: { Rotations: RotationsListEntry[]; NextMarker?: string; Truncated: boolean } = { Rotations: rotations, Truncated: truncated };
  const last = page[page.length - 1];
  if (truncated && last) out.NextMarker = `${markerPrefix}${last.materialId}`;
  return out;
});
