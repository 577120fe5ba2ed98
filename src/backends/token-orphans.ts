// Token objects whose key record was never stored: a process that died between generating a
// key on the token and storing its record leaves one. Before generating, CreateKey and rotation
// note the intended object in the store (token_creations); once the record is stored, or the
// object destroyed, the note goes. A note older than the grace period whose material has no
// record names an orphan of this store, which the sweep destroys. Objects without a note are
// never touched: they belong to other stores, or to work still in progress elsewhere.
//
// One kind of name is not the work of one process alone: an imported material's object is named
// by the material's id, the same for every import of that material into the key. Such objects
// are claimed (renamed to a doomed- CKA_ID) before the decision to destroy them is checked again
// (destroyClaimed), so that an import committing the same name meanwhile keeps its object.
import { randomBytes } from 'node:crypto';

import type { MaterialRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { warnObjectsLeftToAnotherStore } from './objects-left-warning.js';
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

/**
 * Notes an import of material `materialId` under way: the note of its final name, which the sweeps
 * read and which every import of the same material shares, and one of this import's own,
 * `<materialId>/importing-<random>` (never an object's name). The shared note goes only with the
 * last import of the material to finish (releaseImportNote): cleared by the first, it would leave
 * the object another import kept (commitImported) unprotected until that import's record is stored.
 * Returns this import's own note.
 */
export function noteImport(store: Store, keyId: string, materialId: string, now: Date): string {
  const own = `${materialId}/importing-${randomBytes(8).toString('hex')}`;
  store.write(() => {
    const note = store.db.prepare('INSERT OR REPLACE INTO token_creations (key_id, material_id, started_at) VALUES (?, ?, ?)');
    note.run(keyId, materialId, now.getTime());
    note.run(keyId, own, now.getTime());
  });
  return own;
}

/** An import noted by noteImport is over: its own note goes, and the shared one if no other import of the material is noted. */
export function releaseImportNote(store: Store, keyId: string, materialId: string, own: string): void {
  store.write(() => {
    const clear = store.db.prepare('DELETE FROM token_creations WHERE key_id = ? AND material_id = ?');
    clear.run(keyId, own);
    const prefix = `${materialId}/`;
    const others = store.db.prepare('SELECT 1 FROM token_creations WHERE key_id = ? AND substr(material_id, 1, ?) = ?').get(keyId, prefix.length, prefix);
    if (others === undefined) clear.run(keyId, materialId);
  });
}

/**
 * Whether the object of an imported material is unneeded: its material was taken away and no
 * import of it is under way. `removed`: the caller itself just removed the material's row (a
 * material imported for a rotation goes without leaving one), so no row means taken away too.
 * Only such a caller may say so: for the sweeps, a name without a row may be another copy of this
 * store's work (a store restored from a backup shares its token objects with the original).
 */
function forgottenMaterial(store: Store, keyId: string, materialId: string, removed = false): boolean {
  const state = store.db.prepare('SELECT import_state FROM imported_materials WHERE key_id = ? AND material_id = ?').pluck().get(keyId, materialId);
  const noted = store.db.prepare('SELECT 1 FROM token_creations WHERE key_id = ? AND material_id = ?').get(keyId, materialId) !== undefined;
  const takenAway = state === 'PENDING_IMPORT' || (removed && state === undefined);
  return takenAway && !noted && store.getMaterial(keyId, materialId)?.tokenRef === undefined;
}

/** When the note was written, if there is one. */
function notedAt(store: Store, keyId: string, materialId: string): number | undefined {
  return store.db.prepare('SELECT started_at FROM token_creations WHERE key_id = ? AND material_id = ?').pluck().get(keyId, materialId) as
    | number
    | undefined;
}

/** Clears a note only if it is still older than `cutoff`: a note written again since then is live work of another process. */
function clearStaleNote(store: Store, keyId: string, materialId: string, cutoff: number): void {
  store.write(() => {
    store.db.prepare('DELETE FROM token_creations WHERE key_id = ? AND material_id = ? AND started_at <= ?').run(keyId, materialId, cutoff);
  });
}

/**
 * Whether `<keyId>/<materialId>` is needed: a record names it, or an import of it was noted
 * after `cutoff` (its process may be between renaming its object to this name and storing the record).
 */
function materialNeeded(store: Store, keyId: string, materialId: string, cutoff: number): boolean {
  if (store.getMaterial(keyId, materialId)?.tokenRef !== undefined) return true;
  const at = notedAt(store, keyId, materialId);
  return at !== undefined && at > cutoff;
}

// An object claimed for destruction is renamed "<keyId>/doomed-<random>-<materialId>" (below).
const doomedPrefix = 'doomed-';

function doomedName(materialId: string): string {
  return `${doomedPrefix}${randomBytes(8).toString('hex')}-${materialId}`;
}

/**
 * The names of a claim of `<keyId>/<materialId>`: a fresh doomed- name, noted before the object
 * is renamed to it, so that the orphan sweep decides about the object if this process dies.
 */
function noteClaim(store: Store, keyId: string, materialId: string, now: Date): { ref: string; doomed: string; doomedRef: string } {
  const doomed = doomedName(materialId);
  noteTokenCreation(store, keyId, doomed, now);
  return { ref: `${keyId}/${materialId}`, doomed, doomedRef: `${keyId}/${doomed}` };
}

/** The material id a doomed- name was claimed from. */
function claimedFrom(name: string): string | undefined {
  if (!name.startsWith(doomedPrefix)) return undefined;
  const rest = name.slice(doomedPrefix.length);
  const dash = rest.indexOf('-');
  return dash < 0 ? undefined : rest.slice(dash + 1);
}

/**
 * After this store destroyed its object of a material it no longer needs, or found none to
 * destroy: if the store it was restored from (or a copy) has one under that name, that one stays
 * (src/durability/restore.ts), and the caller hears so. `unneeded`, asked again last: whether the
 * material is still unneeded, as the warning says.
 */
async function warnIfAnotherStoresObject(token: TokenBackend, keyId: string, materialId: string, unneeded = () => true): Promise<void> {
  const held = await token.heldByAnotherStore(`${keyId}/${materialId}`).catch(() => false);
  if (held && unneeded()) warnObjectsLeftToAnotherStore(token, `key material ${materialId} of key ${keyId}`);
}

/**
 * Destroys the object `<keyId>/<materialId>` of an imported material if `unneeded` still holds
 * once the object is claimed. The material id is the same for every import of the same material,
 * so a check followed by a destroy is not enough: between the two another process may note an
 * import of that material and rename its new object to that name (commitImported renames, or
 * keeps the object already there), and its record would then name a destroyed object. So the
 * object is first renamed away to a doomed- CKA_ID (noted, so that the orphan sweep decides about
 * it if this process dies), `unneeded` is asked again in a write transaction, and only then is the
 * object destroyed; if the name is needed after all, the object gets it back. An importer notes
 * the material id before its rename and keeps the note until its record is stored, so whatever
 * it renamed before the claim is seen by the second check. Returns whether it destroyed the object.
 */
async function destroyClaimed(store: Store, token: TokenBackend, keyId: string, materialId: string, now: Date, unneeded: () => boolean): Promise<boolean> {
  const { ref, doomed, doomedRef } = noteClaim(store, keyId, materialId, now);
  try {
    await token.commitImported(ref, doomedRef);
  } catch {
    // Nothing to claim, or the token failed part way: whatever moved goes back. If that fails
    // too, the note stays and the orphan sweep decides later.
    await token.commitImported(doomedRef, ref).then(
      () => clearTokenCreation(store, keyId, doomed),
      () => undefined,
    );
    await warnIfAnotherStoresObject(token, keyId, materialId, unneeded);
    return false;
  }
  if (store.write(unneeded)) {
    // If the token fails now, the note stays and the orphan sweep destroys the object later.
    await token.destroyTokenRef(doomedRef);
    clearTokenCreation(store, keyId, doomed);
    await warnIfAnotherStoresObject(token, keyId, materialId, unneeded);
    return true;
  }
  await token.commitImported(doomedRef, ref);
  clearTokenCreation(store, keyId, doomed);
  return false;
}

/**
 * DeleteImportedKeyMaterial of a material on the token: `forget` (which takes the material away
 * from its record) and the destruction of its object `<keyId>/<materialId>`. A destroy by name
 * before forgetting would race a reimport of the same material: one whose commitImported found this
 * object under its name and kept it stores a record naming it, after the object is gone. So the
 * object is claimed first; then, in one write transaction, the material is forgotten and the
 * object judged: a record naming it, or a noted import of the material (which may have kept it),
 * needs it back; otherwise it is destroyed. Throws, nothing forgotten, when the token cannot be
 * reached. Returns what `forget` returned.
 */
export async function forgetTokenMaterial(store: Store, token: TokenBackend, keyId: string, materialId: string, now: Date, forget: () => boolean): Promise<boolean> {
  const { ref, doomed, doomedRef } = noteClaim(store, keyId, materialId, now);
  try {
    await token.commitImported(ref, doomedRef);
  } catch (err) {
    // Not on the token (gone already), or the token failed: a listing tells which. Unreachable,
    // nothing is forgotten; the note stays for the orphan sweep should the claim have gone through.
    const refs = await token.listTokenRefs().catch(() => undefined);
    if (refs === undefined) throw err;
    if (refs.includes(doomedRef)) await token.commitImported(doomedRef, ref);
    clearTokenCreation(store, keyId, doomed);
    if (refs.includes(ref) || refs.includes(doomedRef)) throw err;
    const changed = store.write(forget);
    if (changed) await warnIfAnotherStoresObject(token, keyId, materialId);
    return changed;
  }
  let changed = false;
  const unneeded = store.write(() => {
    changed = forget();
    return store.getMaterial(keyId, materialId)?.tokenRef === undefined && notedAt(store, keyId, materialId) === undefined;
  });
  if (unneeded) {
    // The material is forgotten: if the token fails now, the note stays and the orphan sweep destroys the object.
    await token.destroyTokenRef(doomedRef).then(
      () => clearTokenCreation(store, keyId, doomed),
      () => undefined,
    );
    await warnIfAnotherStoresObject(token, keyId, materialId);
  } else {
    await token.commitImported(doomedRef, ref).then(
      () => clearTokenCreation(store, keyId, doomed),
      () => undefined,
    );
  }
  return changed;
}

/**
 * Destroys the object of an imported material that expired, if it is still unneeded when asked.
 * `removed`: the expiry removed the material's row (it was imported for a rotation).
 */
export async function destroyForgottenMaterial(store: Store, token: TokenBackend, keyId: string, materialId: string, now: Date, removed = false): Promise<void> {
  const unneeded = () => forgottenMaterial(store, keyId, materialId, removed);
  if (unneeded()) await destroyClaimed(store, token, keyId, materialId, now, unneeded);
}

/** How long a token wrapping key outlives its import parameters (sweepImportObjects). */
export const wrappingKeyGraceMs = 60_000;

/**
 * Token objects of imports (operations/import/token.ts) that nothing needs any more: wrapping keys
 * whose parameters expired or were deleted with their key, and objects of imported materials
 * that DeleteImportedKeyMaterial or expiry took away while the token could not be reached.
 * Objects with a note are left alone (work in progress; the orphan sweep handles them).
 */
export async function sweepImportObjects(store: Store, token: TokenBackend, now: Date): Promise<number> {
  // A wrapping key stays a minute past its parameters' expiry: an ImportKeyMaterial accepted
  // just before it may still be unwrapping with it.
  const expiredBy = now.getTime() - wrappingKeyGraceMs;
  const refs = await token.listTokenRefs();
  const noted = store.db.prepare('SELECT 1 FROM token_creations WHERE key_id = ? AND material_id = ?').pluck();
  const parameters = store.db.prepare('SELECT valid_to FROM import_parameters WHERE wrapping_key_id = ? AND key_id = ?').pluck();
  let destroyed = 0;
  for (const ref of refs) {
    const slash = ref.indexOf('/');
    if (slash < 0) continue;
    const keyId = ref.slice(0, slash);
    const name = ref.slice(slash + 1);
    if (name.startsWith('pending-') || name.startsWith(doomedPrefix) || noted.get(keyId, name) !== undefined) continue;
    try {
      if (name.startsWith('import-')) {
        // A wrapping key's name is its own (random): nobody else can give it to a new object.
        const validTo = parameters.get(name.slice('import-'.length), keyId) as number | undefined;
        if (validTo === undefined || validTo <= expiredBy) destroyed += (await token.destroyTokenRef(ref)) > 0 ? 1 : 0;
      } else if (forgottenMaterial(store, keyId, name)) {
        // Material of an EXTERNAL key taken away: its record no longer names the object.
        if (await destroyClaimed(store, token, keyId, name, now, () => forgottenMaterial(store, keyId, name))) destroyed++;
      }
    } catch {
      // the token may be unreachable now; next time
    }
  }
  return destroyed;
}

/** Destroys this store's orphaned token objects; returns how many. Failures are left for next time. */
export async function sweepTokenOrphans(store: Store, token: TokenBackend, now: Date, graceMs = orphanGraceMs): Promise<number> {
  const cutoff = now.getTime() - graceMs;
  const stale = store.db
    .prepare('SELECT key_id AS keyId, material_id AS materialId FROM token_creations WHERE started_at <= ?')
    .all(cutoff) as { keyId: string; materialId: string }[];
  let destroyed = 0;
  let listed: Set<string> | undefined;
  const onToken = async (ref: string) => (listed ??= new Set(await token.listTokenRefs())).has(ref);
  for (const { keyId, materialId } of stale) {
    const ref = `${keyId}/${materialId}`;
    try {
      const claimed = claimedFrom(materialId);
      if (claimed !== undefined) {
        // A claim (destroyClaimed) whose process died or whose token failed: decided again.
        if (await onToken(ref)) {
          if (materialNeeded(store, keyId, claimed, cutoff)) await token.commitImported(ref, `${keyId}/${claimed}`);
          else destroyed += (await token.destroyTokenRef(ref)) > 0 ? 1 : 0;
        }
        clearTokenCreation(store, keyId, materialId);
        continue;
      }
      const storedParameters =
        materialId.startsWith('import-') &&
        store.db.prepare('SELECT 1 FROM import_parameters WHERE wrapping_key_id = ?').get(materialId.slice('import-'.length)) !== undefined;
      if (store.getMaterial(keyId, materialId) || storedParameters) {
        // The record was stored; only the note outlived the process. (A note written again
        // meanwhile is another import of the material under way: it stays.)
        clearStaleNote(store, keyId, materialId, cutoff);
        continue;
      }
      if (materialId.includes('/')) {
        // An import's own note (noteImport) whose process died: it names no object.
        clearStaleNote(store, keyId, materialId, cutoff);
        continue;
      }
      const key = store.getKey(keyId);
      if (key?.origin === 'EXTERNAL' && !materialId.startsWith('pending-') && !materialId.startsWith('import-')) {
        // The material id of an import: the next import of the same material names its object
        // the same, perhaps right now in another process.
        if (!(await onToken(ref))) {
          clearStaleNote(store, keyId, materialId, cutoff);
          continue;
        }
        const unneeded = () => {
          if (materialNeeded(store, keyId, materialId, cutoff)) return false;
          store.db.prepare('DELETE FROM token_creations WHERE key_id = ? AND material_id = ?').run(keyId, materialId);
          return true;
        };
        if (await destroyClaimed(store, token, keyId, materialId, now, unneeded)) destroyed++;
        continue;
      }
      // Names nobody else gives to an object: a generated key's random material id, a pending
      // import or a wrapping key.
      const material: MaterialRecord = { keyId, materialId, createdAt: now, tokenRef: ref };
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
