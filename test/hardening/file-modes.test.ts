// The store's files are the owner's alone (0600): the database, its WAL and shared-memory files
// (every wrapped key passes through the WAL), in a home that existed before with a looser mode,
// under a umask that would make them 0644; and so is a store made by a restore.
import { chmodSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { backupStore, Kms, restoreStore } from '../../src/index.js';
import { tempHome } from '../helpers/backends.js';

const modeOf = (path: string): number => statSync(path).mode & 0o777;
const storeFiles = (home: string): string[] => ['store.sqlite3', 'store.sqlite3-wal', 'store.sqlite3-shm'].map((f) => join(home, f));

const umask = process.umask(0o022); // what most shells give: new files 0644 unless made otherwise
t.teardown(() => process.umask(umask));

t.test('a store in a home made 0755 before: its database, WAL and shared memory are 0600', async (t) => {
  const home = tempHome('ekms-modes-');
  chmodSync(home, 0o755);
  const kms = await Kms.open({ home });
  t.teardown(() => kms.close());
  await kms.createKey({});
  for (const file of storeFiles(home)) {
    t.ok(existsSync(file), `${file} exists while the store is open`);
    t.equal(modeOf(file), 0o600, `${file} is 0600`);
  }
  t.equal(modeOf(home), 0o755, "the user's folder keeps its mode");

  // Files an earlier version left 0644: the next open makes them 0600.
  for (const file of storeFiles(home)) chmodSync(file, 0o644);
  const again = await Kms.open({ home });
  t.teardown(() => again.close());
  for (const file of storeFiles(home)) t.equal(modeOf(file), 0o600, `${file} is 0600 again`);
});

t.test('a backup and the store a restore makes are 0600', async (t) => {
  const home = tempHome('ekms-modes-backup-');
  const kms = await Kms.open({ home });
  await kms.createKey({});
  const file = join(tempHome('ekms-modes-file-'), 'store.backup');
  await backupStore(kms, file);
  await kms.close();
  t.equal(modeOf(file), 0o600, 'the backup');

  chmodSync(file, 0o644); // a backup copied around with a looser mode
  const target = join(tempHome('ekms-modes-restored-'), 'home');
  await restoreStore(target, file, { rootKeyFile: join(home, 'root.key') });
  t.equal(modeOf(join(target, 'store.sqlite3')), 0o600, 'the restored store');
  for (const file of storeFiles(target).slice(1)) if (existsSync(file)) t.equal(modeOf(file), 0o600, file);
});
