// Temporary files left by a process killed mid-write, which nothing else would ever remove: a
// backup's hidden copy beside its target (every wrapped key of the store, deleted keys' too) and
// a new root key's temporary file in the home. Removed by the next backup to that target, and by
// the next open of the store, once their process is gone; a live process's are left alone.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { Kms, backupStore } from '../../src/index.js';
import { sqliteHint, sqliteMessage } from '../../src/store/sqlite-hint.js';
import { tempHome } from '../helpers/backends.js';

/** The pid of a process that has ended (a child run to completion). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

t.test('a backup removes the copies killed backups to the same target left, and only those', async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home });
  await kms.createKey({});
  await kms.close();
  const dir = join(tempHome(), 'backups');
  mkdirSync(dir);
  const dead = deadPid();
  const leftovers = [`.store.bak.tmp.${dead}.0a1b2c3d`, `.store.bak.tmp.${dead}.0a1b2c3d-journal`];
  const kept = [`.store.bak.tmp.${process.pid}.0a1b2c3d`, `.other.bak.tmp.${dead}.0a1b2c3d`, 'notes.txt'];
  for (const name of [...leftovers, ...kept]) writeFileSync(join(dir, name), 'x', { mode: 0o600 });
  const info = await backupStore(home, join(dir, 'store.bak'));
  t.equal(info.keys, 1);
  for (const name of leftovers) t.notOk(existsSync(join(dir, name)), `${name} removed`);
  for (const name of kept) t.ok(existsSync(join(dir, name)), `${name} kept (a live process's, another target's, not a temporary file)`);
});

t.test("opening a store removes a dead process's temporary root key files", async (t) => {
  const home = tempHome();
  await (await Kms.open({ home })).close();
  const dead = deadPid();
  const stray = join(home, `root.key.tmp.${dead}.3735928559`);
  const live = join(home, `root.key.tmp.${process.pid}.3735928559`);
  writeFileSync(stray, 'x', { mode: 0o600 });
  writeFileSync(live, 'x', { mode: 0o600 });
  const kms = await Kms.open({ home });
  t.teardown(() => kms.close());
  t.notOk(existsSync(stray), "the dead process's file is gone");
  t.ok(existsSync(live), "a live process's stays (it may still be linked into place)");
  t.ok((await kms.createKey({})).KeyMetadata?.KeyId, 'the store works');
});

t.test("SQLite's failures come with their code and likely cause", async (t) => {
  const full = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
  t.equal(sqliteMessage(full, full.code), 'disk I/O error (SQLITE_IOERR_WRITE); is the file system full?');
  t.match(sqliteHint('SQLITE_READONLY_DBMOVED'), /read-only/);
  t.match(sqliteHint('SQLITE_CANTOPEN'), /must be able to read and write/);
  t.equal(sqliteHint('SQLITE_CONSTRAINT'), undefined);
});
