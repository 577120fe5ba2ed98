// Where a store's root key lives, and how it changes without ever leaving a store that opens
// with neither key. A new root key (rotation, or a restore that brings its own) is first written
// beside the current one as a pending file, root.key.next.<pid>.<random>, and fsynced. The store's
// check value then changes in the same SQLite transaction that re-wraps the keys; that commit is
// the moment the new key takes over. Afterwards the pending file is renamed over root.key. So:
//   - before the commit, root.key matches the store (a pending file is an unused key);
//   - after the commit and before the rename, a pending file matches: whoever opens the store
//     next finishes the rename (finishRootKeyChange);
//   - after the rename, root.key matches.
// Pending files that were never committed are deleted only while holding the store's write lock
// (sweepAbandonedPendingKeys), so a rotation still in progress notices and aborts instead of
// committing a key whose file is gone.
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, fsyncSync, linkSync, openSync, readdirSync, renameSync, statSync, unlinkSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { durability } from './native.js';

export const rootKeyFileName = 'root.key';
const pendingPrefix = 'root.key.next.';
/** A pending root key older than this, whose process is gone, belongs to an abandoned rotation. */
const abandonedAfterMs = 60 * 60 * 1000;

export function rootKeyPath(home: string): string {
  return join(home, rootKeyFileName);
}

export function newPendingRootKeyPath(home: string): string {
  return join(home, `${pendingPrefix}${process.pid}.${randomBytes(6).toString('hex')}`);
}

export function pendingRootKeyPaths(home: string): string[] {
  return safeReaddir(home).filter((n) => n.startsWith(pendingPrefix) && !n.includes('.tmp.')).map((n) => join(home, n));
}

/** The check value of the root key in a file; undefined when it is missing or not a root key file. */
export function checkOfFile(path: string): Buffer | undefined {
  try {
    return durability.rootKeyCheck(path);
  } catch {
    return undefined;
  }
}

export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The file holding the root key with this check value: root.key, or a pending file of a change
 * committed but not yet renamed. Another process may rename it while we look, so look twice.
 */
export function findRootKeyFile(home: string, check: Uint8Array): string | undefined {
  for (let attempt = 0; attempt < 3; attempt++) {
    const main = rootKeyPath(home);
    if (checkOfFile(main)?.equals(check)) return main;
    for (const p of pendingRootKeyPaths(home)) if (checkOfFile(p)?.equals(check)) return p;
  }
  return undefined;
}

/**
 * Finishes a root key change the store committed but whose file was not yet renamed into place
 * (the process making it stopped, or has not got there yet). True when root.key now holds the
 * key with check value `storeCheck`.
 */
export function finishRootKeyChange(home: string, storeCheck: Uint8Array): boolean {
  const main = rootKeyPath(home);
  if (checkOfFile(main)?.equals(storeCheck)) return true;
  for (const p of pendingRootKeyPaths(home)) {
    if (!checkOfFile(p)?.equals(storeCheck)) continue;
    try {
      renameSync(p, main);
      syncDir(home);
    } catch {
      // Another process renamed it first; the check below says whether all is well.
    }
    break;
  }
  return checkOfFile(main)?.equals(storeCheck) ?? false;
}

function processGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Deletes the temporary files `<name>.tmp.<pid>.<random>` (and `-journal` beside them) in `dir`
 * whose process is gone: a copy killed before it was linked into place, which nothing else
 * removes. Those of live processes stay (they may still be linked). `matches` picks the names.
 */
export function sweepTempFiles(dir: string, matches: (name: string) => boolean): void {
  for (const name of safeReaddir(dir)) {
    const m = /\.tmp\.(\d+)\.[0-9a-f]+(-journal)?$/.exec(name);
    if (m && matches(name) && processGone(Number(m[1]))) removeQuietly(join(dir, name));
  }
}

/** A restore's private copy of the backup in `home` (restore.ts), named for the process making it. */
export function restoreCopyPath(home: string): string {
  return join(home, `.restore.${process.pid}.${randomBytes(4).toString('hex')}.sqlite3`);
}

/**
 * Deletes the copies of backups (and their -wal, -shm, -journal) that restores killed before they
 * ended left in `home`: each holds every wrapped key of its backup, under the root key beside
 * it, and would keep keys deleted since then recoverable. Those of live processes stay.
 */
export function sweepRestoreCopies(home: string): void {
  for (const name of safeReaddir(home)) {
    const m = /^\.restore\.(\d+)\.[0-9a-f]+\.sqlite3(?:-wal|-shm|-journal)?$/.exec(name);
    if (m && processGone(Number(m[1]))) removeQuietly(join(home, name));
  }
}

/**
 * The temporary files of root key writes (a new store's first root key, a rotation's pending
 * key, a restore's copy) whose process was killed before it linked them in place: root keys
 * never used, which would otherwise stay in the home for good.
 */
export function sweepRootKeyTempFiles(home: string): void {
  sweepTempFiles(home, (name) => name.startsWith(rootKeyFileName));
}

/**
 * Deletes pending root keys that the store never committed and whose rotation was abandoned (its
 * process is gone, or it is more than an hour old). Call only inside a write transaction of the
 * store whose check value is `storeCheck`: that lock is what keeps this from racing a commit.
 */
export function sweepAbandonedPendingKeys(home: string, storeCheck: Uint8Array, now = Date.now()): void {
  sweepRootKeyTempFiles(home);
  for (const p of pendingRootKeyPaths(home)) {
    const name = p.slice(p.lastIndexOf('/') + 1);
    const pid = Number(name.slice(pendingPrefix.length).split('.')[0]);
    let mtime: number;
    try {
      mtime = statSync(p).mtimeMs;
    } catch {
      continue;
    }
    if (checkOfFile(p)?.equals(storeCheck)) continue;
    if ((Number.isInteger(pid) && processGone(pid)) || now - mtime > abandonedAfterMs) removeQuietly(p);
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already.
  }
}

/**
 * Copies a root key file (or any small secret file) to `to`, whole or not at all: a temporary
 * copy in the same folder, 0600, fsynced, then linked into place (never replacing a file) or,
 * with `replace`, renamed over it. The bytes go file to file; they never enter JavaScript.
 */
export function copyFileDurably(from: string, to: string, { replace = false } = {}): void {
  const tmp = `${to}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`;
  copyFileSync(from, tmp);
  try {
    chmodSync(tmp, 0o600);
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (replace) renameSync(tmp, to);
    else linkSync(tmp, to);
  } finally {
    removeQuietly(tmp); // already gone when renamed into place
  }
  syncDir(dirname(to));
}
