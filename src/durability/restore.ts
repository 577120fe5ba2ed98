// Restore: a backup becomes the store in `home`, in one transaction, with the root key it was
// made for. The backup's root key check value must match the root key given (or the one already
// in `home`); otherwise nothing is changed and the message says which key is needed. A backup
// made by an older version is migrated (on a private copy) first; a newer one is refused.
//
// The restored store gets a new store id: objects on a token are cleaned up only by the store
// whose id they carry, and a restored copy must never destroy objects the original (or a later
// state of this home) still uses. The ids it had before are kept in meta 'store_id_history'.
//
// Its keys' token objects still carry the id of the store that made them, and the restored store
// destroys or renames only objects of the stores it owns (meta 'adopted_store_ids', besides its
// own): deleting a key in a copy restored beside a live original must leave the original's key
// working. What it owns:
// - the store it replaces in `home`, and what that one owned: after the restore nothing else can
//   use their objects (a rollback of a home to an earlier backup of itself keeps destroying its
//   deleted keys' objects, as before);
// - with `adoptTokenObjects`, the backup's store and what it owned: for disaster recovery, where
//   that store is gone and this copy must be able to shred its keys. Not the other stores in
//   its history: a copy's history names its original, which may be alive. Those only when named
//   (`adoptStoreIds`).
// Otherwise the backup's token keys stay usable, and objects made by the stores this one does
// not own (`storesNotOwned`) stay on the token when their keys are deleted here.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { countKeys, deleteMetaValue, getMetaValue, integrityCheck, replaceAllRows, setMetaValue } from '../store/durable-ops.js';
import { adoptedStoreIdsName, parseStoreIds, storeIdHistoryName } from '../store/store-ids.js';
import type { Store } from '../store/store.js';
import { inspectBackup } from './backup.js';
import { DurabilityError } from './errors.js';
import { makeKeyStoreFolder, removingNewFolderOnFailure } from '../files/key-store-folder.js';
import { rootKeyCheckName } from './open-root-key.js';
import {
  checkOfFile,
  copyFileDurably,
  finishRootKeyChange,
  newPendingRootKeyPath,
  restoreCopyPath,
  rootKeyPath,
  sweepAbandonedPendingKeys,
  sweepRestoreCopies,
} from './root-key-files.js';
import { dbPath, hex, openStore, openStoreFile } from './target.js';

export interface RestoreOptions {
  /** The root key file the backup was made with, when `home` does not hold it (a new home, or after a rotation). */
  rootKeyFile?: string;
  /** Replace a store in `home` that has keys. Keys created after the backup are lost. */
  replace?: boolean;
  /**
   * Take over the token objects of the backup's store (and of those it had taken over): keys
   * deleted in the restored store then have their token objects destroyed. Only when that store
   * is gone for good (disaster recovery); a store restored beside a live original must not.
   */
  adoptTokenObjects?: boolean;
  /**
   * Take over the token objects of these stores of the backup's history too (the ids a restore
   * named in `storesNotOwned`): when they are gone for good as well, or for a store restored by a
   * version that did not record what it owned. Each must be in the backup's history.
   */
  adoptStoreIds?: readonly string[];
}

export interface RestoreResult {
  keys: number;
  rootKeyCheckValue: string;
  storeId: string;
  /** Keys with material on a token. */
  tokenKeys: number;
  /**
   * The stores of the backup's lineage (its own and the ones it had before restores) whose token
   * objects this store does not own: objects they made stay on the token when their keys are
   * deleted here.
   */
  storesNotOwned: string[];
}

export async function restoreStore(home: string, file: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const folder = resolve(home);
  return removingNewFolderOnFailure(folder, () => restoreInto(folder, file, options));
}

async function restoreInto(home: string, file: string, options: RestoreOptions): Promise<RestoreResult> {
  const backup = inspectBackup(file);
  const wanted = Buffer.from(backup.rootKeyCheckValue, 'hex');
  makeKeyStoreFolder(home, (message) => new DurabilityError(message));

  // Which root key file will be the store's, and is it the backup's?
  const rootPath = rootKeyPath(home);
  const homeStoreCheck = existsSync(dbPath(home)) ? storeCheckOf(home) : undefined;
  if (homeStoreCheck !== undefined) finishRootKeyChange(home, homeStoreCheck);
  const homeRootCheck = checkOfFile(rootPath);
  let source: string;
  if (options.rootKeyFile !== undefined) {
    source = resolve(options.rootKeyFile);
    const given = checkOfFile(source);
    if (given === undefined) throw new DurabilityError(`${source} is not a readable embedded-kms root key file`);
    if (!given.equals(wanted))
      throw new DurabilityError(
        `this backup was made for a different root key: it needs the root key with check value ${hex(wanted)}, and ${source} holds the one with check value ${hex(given)}. Nothing was changed.`,
      );
    // The home's own root key (one recovered from escrow, say) is not replaced unasked.
    if (homeRootCheck !== undefined && !homeRootCheck.equals(wanted) && !options.replace)
      throw new DurabilityError(
        `${rootPath} holds another root key (check value ${hex(homeRootCheck)}) than the backup's, which restoring would replace; move it away, or replace it (the replace option; ekms restore --replace). Nothing was changed.`,
      );
    if (homeRootCheck === undefined && existsSync(rootPath) && !options.replace)
      throw new DurabilityError(
        `${rootPath} is not a readable embedded-kms root key file (damaged, or of another size); move it away, or replace it (the replace option; ekms restore --replace). Nothing was changed.`,
      );
  } else if (homeRootCheck !== undefined) {
    source = rootPath;
    if (!homeRootCheck.equals(wanted))
      throw new DurabilityError(
        `this backup was made for a different root key than the one in ${home} (the backup needs check value ${hex(wanted)}, ${rootPath} has ${hex(homeRootCheck)}); give the root key file the backup was made with (the rootKeyFile option; ekms restore --root-key-file). Nothing was changed.`,
      );
  } else {
    throw new DurabilityError(`${home} has no root key; give the root key file the backup was made with (check value ${hex(wanted)}; the rootKeyFile option, ekms restore --root-key-file)`);
  }
  if (!options.replace) refuseToReplace(home);

  // A private copy of the backup, checked and brought to this version's schema.
  sweepRestoreCopies(home);
  const copy = restoreCopyPath(home);
  // Made 0600 from the start (copyFileSync would give it the backup's mode, for a moment at least).
  writeFileSync(copy, readFileSync(resolve(file)), { mode: 0o600, flag: 'wx' });
  try {
    const staged = openStoreFile(copy);
    try {
      const integrity = integrityCheck(staged.db);
      if (integrity !== 'ok') throw new DurabilityError(`the backup ${backup.file} is damaged: ${integrity}`);
      refuseUnknownStores(staged, options.adoptStoreIds ?? []);
    } finally {
      staged.close();
    }
    return install(home, copy, wanted, rootPath, source, homeRootCheck, options);
  } finally {
    for (const suffix of ['', '-wal', '-shm', '-journal'])
      try {
        unlinkSync(copy + suffix);
      } catch {
        // Not there.
      }
  }
}

function storeCheckOf(home: string): Buffer | undefined {
  const store = openStore(home);
  try {
    const check = getMetaValue(store.db, rootKeyCheckName);
    return Buffer.isBuffer(check) ? check : undefined;
  } finally {
    store.close();
  }
}

function keysIn(store: Store): number {
  return countKeys(store.db);
}

/** Keys with a material on a token. */
function countTokenKeys(store: Store): number {
  return store.db.prepare('SELECT count(DISTINCT key_id) FROM key_materials WHERE token_ref IS NOT NULL').pluck().get() as number;
}

/**
 * A store's ids as the attached database `db` records them: its own (none in a backup made
 * before stores had ids), those it had before restores, and all whose token objects it owns
 * (itself and the ones it adopted).
 */
function lineageOf(store: Store, db: 'backup' | 'main'): { ids: string[]; history: string[]; owned: string[] } {
  const meta = (name: string): unknown => store.db.prepare(`SELECT value FROM ${db}.meta WHERE name = ?`).pluck().get(name);
  const id = meta('store_id');
  const ids = typeof id === 'string' && id !== '' ? [id] : [];
  return { ids, history: parseStoreIds(meta(storeIdHistoryName)), owned: [...ids, ...parseStoreIds(meta(adoptedStoreIdsName))] };
}

/** Refuses store ids to adopt that are not in the backup's history (`staged`: the backup's copy), before anything changes. */
function refuseUnknownStores(staged: Store, ids: readonly string[]): void {
  const lineage = lineageOf(staged, 'main');
  const known = new Set([...lineage.ids, ...lineage.history]);
  for (const id of ids)
    if (!known.has(id))
      throw new DurabilityError(`store ${id} is not in this backup's history (${[...known].join(', ') || 'none'}), so it has nothing to take over. Nothing was changed.`);
}

function refuseToReplace(home: string, store?: Store): void {
  if (store === undefined) {
    if (!existsSync(dbPath(home))) return;
    const s = openStore(home);
    try {
      refuseToReplace(home, s);
    } finally {
      s.close();
    }
    return;
  }
  const n = keysIn(store);
  if (n > 0)
    throw new DurabilityError(
      `${home} already holds a key store with ${n} key(s); restore into a new folder, or replace it (the replace option; ekms restore --replace), losing the keys made after the backup. Nothing was changed.`,
    );
}

function install(
  home: string,
  copy: string,
  wanted: Buffer,
  rootPath: string,
  source: string,
  homeRootCheck: Buffer | undefined,
  options: RestoreOptions,
): RestoreResult {
  // The root key goes in first. A home without one gets it directly; a home whose root key is
  // another one, or a file that is no root key (replaced on request), gets it as a pending file
  // that takes over at the commit (root-key-files.ts).
  let pending: string | undefined;
  let placed = false;
  if (homeRootCheck === undefined && !existsSync(rootPath)) {
    copyFileDurably(source, rootPath);
    placed = true;
  } else if (homeRootCheck === undefined || !homeRootCheck.equals(wanted)) {
    pending = newPendingRootKeyPath(home);
    copyFileDurably(source, pending);
  }
  // A store whose root key is lost (no readable root.key) records another check value: replacing
  // it is what was asked. Otherwise another check value means a rotation raced this restore.
  const rootKeyLost = homeRootCheck === undefined && options.replace === true;
  let result: RestoreResult | undefined;
  const store = openStore(home);
  try {
    store.db.prepare('ATTACH DATABASE ? AS backup').run(copy);
    try {
      result = store.write(() => {
        if (!options.replace) refuseToReplace(home, store);
        const current = getMetaValue(store.db, rootKeyCheckName);
        if (pending !== undefined) {
          if (!checkOfFile(pending)?.equals(wanted)) throw new DurabilityError('the root key file being restored disappeared; nothing was changed');
          if (Buffer.isBuffer(current)) sweepAbandonedPendingKeys(home, current);
        } else if (Buffer.isBuffer(current) && !current.equals(wanted) && !rootKeyLost) {
          throw new DurabilityError('the root key of the store in this folder changed during the restore; nothing was changed');
        }
        const lineage = { backup: lineageOf(store, 'backup'), main: lineageOf(store, 'main') };
        // The store replaced here joins the history only if it held keys: a new home's empty store is no ancestor.
        const replaced = countKeys(store.db) > 0 ? [...lineage.main.history, ...lineage.main.ids] : [];
        const history = new Set([...lineage.backup.history, ...lineage.backup.ids, ...replaced]);
        const owned = new Set(lineage.main.owned);
        // The backup's store, and what it owned, when asked to or when the store replaced here
        // owned it already (a rollback). Not the rest of its history: that holds the original
        // of a copy too, which may well be alive.
        const adopt = options.adoptTokenObjects === true || (lineage.backup.ids.length > 0 && lineage.backup.ids.every((id) => owned.has(id)));
        if (adopt) for (const id of lineage.backup.owned) owned.add(id);
        for (const id of options.adoptStoreIds ?? []) owned.add(id); // checked by refuseUnknownStores
        const storesNotOwned = [...new Set([...lineage.backup.ids, ...lineage.backup.history])].filter((id) => !owned.has(id));
        replaceAllRows(store.db, 'backup');
        deleteMetaValue(store.db, 'backup_format');
        deleteMetaValue(store.db, 'backup_created_at');
        const storeId = randomUUID();
        setMetaValue(store.db, 'store_id', storeId);
        setMetaValue(store.db, storeIdHistoryName, JSON.stringify([...history]));
        setMetaValue(store.db, adoptedStoreIdsName, JSON.stringify([...owned]));
        setMetaValue(store.db, 'restored_at', new Date().toISOString());
        return { keys: keysIn(store), rootKeyCheckValue: hex(wanted), storeId, tokenKeys: countTokenKeys(store), storesNotOwned };
      });
    } finally {
      try {
        store.db.prepare('DETACH DATABASE backup').run();
      } catch {
        // Closing the connection below detaches it anyway.
      }
    }
  } catch (err) {
    // Only a root key that never became the store's may go (result is set once committed): a
    // pending one, or the one this restore put in a home that had none.
    if (result === undefined)
      for (const made of [pending, placed ? rootPath : undefined])
        if (made !== undefined)
          try {
            unlinkSync(made);
          } catch {
            // Swept, or never made.
          }
    throw err;
  } finally {
    store.close();
  }
  if (pending !== undefined && !finishRootKeyChange(home, wanted))
    throw new DurabilityError(`the backup is restored, but its root key could not be moved to ${rootPath}; the next Kms.open finishes that`);
  return result as RestoreResult;
}
