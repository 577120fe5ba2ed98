// Token objects whose key record was never stored: a process that died between generating a
// key on the token and storing its record leaves one. Before generating, CreateKey and rotation
// note the intended object in the store (token_creations); once the record is stored, or the
// object destroyed, the note goes. A note older than the grace period whose material has no
// record names an orphan of this store, which the sweep destroys. Objects without a note are
// never touched: they belong to other stores, or to work still in progress elsewhere.
import type { MaterialRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { TokenBackend } from './token.js';

/** Longer than any key generation; a note younger than this may be work in progress elsewhere. */
export const orphanGraceMs = 15 * 60 * 1000;

export function noteTokenCreation(store: Store, keyId: string, materialId: string, now: Date): void {
  store.write(() => {
    store.db.prepare('INSERT OR REPLACE INTO token_creations (key_id, material_id, started_at) VALUES (?, ?, ?)').run(keyId, materialId, now.getTime());
  });
}

export function clearTokenCreation(store: Store, keyId: string, materialId: string): void {
  store.write(() => {
    store.db.prepare('DELETE FROM token_creations WHERE key_id = ? AND material_id = ?').run(keyId, materialId);
  });
}

/** Whether the object of an imported material is unneeded: its material was taken away and no import of it is under way. */
function forgottenMaterial(store: Store, keyId: string, materialId: string): boolean {
  const state = store.db.prepare('SELECT import_state FROM imported_materials WHERE key_id = ? AND material_id = ?').pluck().get(keyId, materialId);
  const noted = store.db.prepare('SELECT 1 FROM token_creations WHERE key_id = ? AND material_id = ?').get(keyId, materialId) !== undefined;
  return state === 'PENDING_IMPORT' && !noted && store.getMaterial(keyId, materialId)?.tokenRef === undefined;
}

/** Destroys the object of an imported material that expired, if it is still unneeded when asked. */
export async function destroyForgottenMaterial(store: Store, token: TokenBackend, keyId: string, materialId: string): Promise<void> {
  if (forgottenMaterial(store, keyId, materialId)) await token.destroyTokenRef(`${keyId}/${materialId}`);
}

/**
 * Token objects of imports (operations/import/token.ts) that nothing needs any more: wrapping keys
 * whose parameters expired or were deleted with their key, and objects of imported materials
 * that DeleteImportedKeyMaterial or expiry took away while the token could not be reached.
 * Objects with a note are left alone (work in progress; the orphan sweep handles them).
 */
export async function sweepImportObjects(store: Store, token: TokenBackend, now: Date): Promise<number> {
  const refs = await token.listTokenRefs();
  const noted = store.db.prepare('SELECT 1 FROM token_creations WHERE key_id = ? AND material_id = ?').pluck();
  const parameters = store.db.prepare('SELECT valid_to FROM import_parameters WHERE wrapping_key_id = ? AND key_id = ?').pluck();
  let destroyed = 0;
  for (const ref of refs) {
    const slash = ref.indexOf('/');
    if (slash < 0) continue;
    const keyId = ref.slice(0, slash);
    const name = ref.slice(slash + 1);
    if (name.startsWith('pending-') || noted.get(keyId, name) !== undefined) continue;
    let unused: boolean;
    if (name.startsWith('import-')) {
      const validTo = parameters.get(name.slice('import-'.length), keyId) as number | undefined;
      unused = validTo === undefined || validTo <= now.getTime();
    } else {
      // Material of an EXTERNAL key taken away: its record no longer names the object.
      unused = forgottenMaterial(store, keyId, name);
    }
    if (!unused) continue;
    try {
      destroyed += (await token.destroyTokenRef(ref)) > 0 ? 1 : 0;
    } catch {
      // the token may be unreachable now; next time
    }
  }
  return destroyed;
}

/** Destroys this store's orphaned token objects; returns how many. Failures are left for next time. */
export async function sweepTokenOrphans(store: Store, token: TokenBackend, now: Date, graceMs = orphanGraceMs): Promise<number> {
  const stale = store.db
    .prepare('SELECT key_id AS keyId, material_id AS materialId FROM token_creations WHERE started_at <= ?')
    .all(now.getTime() - graceMs) as { keyId: string; materialId: string }[];
  let destroyed = 0;
  for (const { keyId, materialId } of stale) {
    const storedParameters =
      materialId.startsWith('import-') &&
      store.db.prepare('SELECT 1 FROM import_parameters WHERE wrapping_key_id = ?').get(materialId.slice('import-'.length)) !== undefined;
    if (store.getMaterial(keyId, materialId) || storedParameters) {
      // The record was stored; only the note outlived the process.
      clearTokenCreation(store, keyId, materialId);
      continue;
    }
    const material: MaterialRecord = { keyId, materialId, createdAt: now, tokenRef: `${keyId}/${materialId}` };
    const key = store.getKey(keyId);
    try {
      if (key) await token.destroyMaterial(key, material);
      else await token.destroyMaterial({ keyId } as Parameters<TokenBackend['destroyMaterial']>[0], material);
      destroyed++;
    } catch {
      continue; // the token may be unreachable now; the note stays for the next sweep
    }
    clearTokenCreation(store, keyId, materialId);
  }
  return destroyed + (await sweepImportObjects(store, token, now).catch(() => 0));
}
