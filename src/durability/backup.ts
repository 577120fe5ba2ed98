// Backups: a consistent copy of the store taken while it is in use. VACUUM INTO copies one read
// transaction's snapshot (other processes keep reading and writing meanwhile), so the copy is
// whole even under load; better-sqlite3's page-by-page backup would restart on every write made
// by another connection. Software keys stay wrapped under the root key in the copy, token keys
// are references to objects on their token, and the copy records the root key's check value (the
// store's own meta row), which restore compares with the root key it is given.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, linkSync, openSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import Database from 'better-sqlite3';

import { countKeys, getMetaValue, setMetaValue } from '../store/durable-ops.js';
import { checkNewFile, DurabilityError } from './errors.js';
import { rootKeyCheckName } from './open-root-key.js';
import { sweepTempFiles, syncDir } from './root-key-files.js';
import { dbPath, hex, homeOf, type StoreTarget } from './target.js';

/** Version of the backup file's conventions (a SQLite store file plus the backup_* meta rows). */
export const backupFormat = 1;

export interface BackupInfo {
  file: string;
  /** Check value (hex) of the root key the backup's software keys are wrapped under. */
  rootKeyCheckValue: string;
  /** The id of the store it was taken from. */
  storeId: string;
  keys: number;
  createdAt: Date;
  schemaVersion: number;
}

/**
 * Writes a consistent copy of the store to `file` (a new file, 0600; an existing file is never
 * replaced). The store may be in use by this and other processes meanwhile.
 */
export async function backupStore(source: StoreTarget, file: string): Promise<BackupInfo> {
  const home = homeOf(source);
  const target = resolve(file);
  if (!existsSync(dbPath(home))) throw new DurabilityError(`there is no key store in ${home}`);
  checkNewFile(target, 'a backup');
  // A backup killed while it copied left its temporary copy (every wrapped key, deleted keys'
  // too) hidden beside the target: removed now, as its process is gone.
  const prefix = `.${basename(target)}.tmp.`;
  sweepTempFiles(dirname(target), (name) => name.startsWith(prefix));
  const tmp = join(dirname(target), `${prefix}${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    const db = new Database(dbPath(home), { readonly: true, fileMustExist: true, timeout: 10_000 });
    try {
      if (!Buffer.isBuffer(getMetaValue(db, rootKeyCheckName)))
        throw new DurabilityError(`the key store in ${home} has no root key yet; open it once with Kms.open first`);
      // Made empty and 0600 first: VACUUM INTO would make it with the umask's mode (0644), and the
      // copy holds every wrapped key. SQLite writes into an empty file.
      closeSync(openSync(tmp, 'wx', 0o600));
      db.prepare('VACUUM INTO ?').run(tmp);
    } finally {
      db.close();
    }
    chmodSync(tmp, 0o600);
    const info = stamp(tmp, target);
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, target);
    } catch (err) {
      throw new DurabilityError(`cannot place the backup at ${target}: ${(err as Error).message}`, { cause: err });
    }
    syncDir(dirname(target));
    return info;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Never made.
    }
  }
}

// Marks the copy as a backup (when and from which store) and makes it a single self-contained
// file (rollback journal, not WAL, so no -wal or -shm file belongs to it).
function stamp(tmp: string, target: string): BackupInfo {
  const db = new Database(tmp, { timeout: 10_000 });
  try {
    db.pragma('journal_mode = DELETE');
    const createdAt = new Date();
    db.transaction(() => {
      setMetaValue(db, 'backup_format', String(backupFormat));
      setMetaValue(db, 'backup_created_at', createdAt.toISOString());
    })();
    return describe(db, target, createdAt);
  } finally {
    db.close();
  }
}

function describe(db: Database.Database, file: string, createdAt: Date): BackupInfo {
  const check = getMetaValue(db, rootKeyCheckName);
  const storeId = getMetaValue(db, 'store_id');
  return {
    file,
    rootKeyCheckValue: Buffer.isBuffer(check) ? hex(check) : '',
    storeId: typeof storeId === 'string' ? storeId : '',
    keys: countKeys(db),
    createdAt,
    schemaVersion: db.pragma('user_version', { simple: true }) as number,
  };
}

/** What a backup file holds, without restoring it. Throws when it is not a backup. */
export function inspectBackup(file: string): BackupInfo {
  const path = resolve(file);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new DurabilityError(`cannot read the backup ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    let format: unknown;
    try {
      format = getMetaValue(db, 'backup_format');
    } catch {
      format = undefined;
    }
    if (format === undefined) throw new DurabilityError(`${path} is not an embedded-kms backup`);
    if (Number(format) > backupFormat) throw new DurabilityError(`${path} was written by a newer embedded-kms (backup format ${String(format)}); upgrade to restore it`);
    const created = getMetaValue(db, 'backup_created_at');
    return describe(db, path, new Date(typeof created === 'string' ? created : 0));
  } finally {
    db.close();
  }
}
