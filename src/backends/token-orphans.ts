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

/** Destroys this store's orphaned token objects; returns how many. Failures are left for next time. */
export async function sweepTokenOrphans(store: Store, token: TokenBackend, now: Date, graceMs = orphanGraceMs): Promise<number> {
  const stale = store.db
    .prepare('SELECT key_id AS keyId, material_id AS materialId FROM token_creations WHERE started_at <= ?')
    .all(now.getTime() - graceMs) as { keyId: string; materialId: string }[];
  let destroyed = 0;
  for (const { keyId, materialId } of stale) {
    if (store.getMaterial(keyId, materialId)) {
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
  return destroyed;
}
