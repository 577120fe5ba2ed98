// Backup and restore: a consistent copy taken while the store is in use, that restores only with
// the root key it was made for (also after a root key rotation), into a new home or over the
// old store, and never holds a key in the clear.
//
// On a SoftHSM2 token too: a backup holds only references to the token's objects, so a restored
// copy's token keys work as long as the objects are there, and one whose objects were destroyed
// since (the key deleted in the original store) stays Enabled and fails its use with
// KMSInvalidStateException naming the key and the token (README, "Keys on a token").
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import t from 'tap';

import { DurabilityError, Kms, backupStore, inspectBackup, restoreStore, rotateRootKey } from '../../src/index.js';
import { backends, tempHome } from '../helpers/backends.js';
import { softhsm, softhsmOptions } from '../helpers/softhsm.js';
import { findPrivateKeys } from '../helpers/private-key-scan.js';
import { checkSampleKeys, makeSampleKeys, storeProblems } from './helpers.js';

const writer = fileURLToPath(new URL('../fixtures/durability-writer.mjs', import.meta.url));

function keyIds(dbFile: string): string[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    return db.prepare('SELECT key_id FROM keys ORDER BY key_id').pluck().all() as string[];
  } finally {
    db.close();
  }
}

for (const backend of backends())
t.test(`a backup restores into a new home with the root key file it was made with [${backend.name}]`, async (t) => {
  const home = tempHome();
  const kms = await backend.open({ home });
  const keys = await makeSampleKeys(kms);
  await kms.tagResource({ KeyId: keys[0]!.keyId, Tags: [{ TagKey: 'team', TagValue: 'durability' }] });
  await kms.createAlias({ AliasName: 'alias/backed-up', TargetKeyId: keys[0]!.keyId });
  const file = join(tempHome(), 'store.backup');
  const info = await backupStore(kms, file);
  // Changes after the backup are not in it.
  const later = (await kms.createKey({})).KeyMetadata!.KeyId!;
  await kms.close();

  t.equal(statSync(file).mode & 0o777, 0o600, 'backup file is 0600');
  t.equal(info.keys, keys.length);
  t.equal(info.rootKeyCheckValue, kms.engine.checkValue().toString('hex'), 'the backup records the root key check value');
  t.same(inspectBackup(file), { ...info, createdAt: info.createdAt }, 'inspectBackup reads the same facts');
  t.same(findPrivateKeys(readFileSync(file)), [], 'software keys stay wrapped in the backup');
  await t.rejects(backupStore(home, file), /never replaces/);

  const target = join(tempHome(), 'restored');
  await t.rejects(restoreStore(target, file), /no root key/, 'a new home needs the root key file');
  t.notOk(existsSync(join(target, 'store.sqlite3')), 'nothing was created');
  const result = await restoreStore(target, file, { rootKeyFile: join(home, 'root.key') });
  t.equal(result.keys, keys.length);
  t.equal(statSync(join(target, 'root.key')).mode & 0o777, 0o600);
  t.same(storeProblems(join(target, 'store.sqlite3')), []);
  const restored = await backend.open({ home: target });
  t.same(await checkSampleKeys(restored, keys), [], 'every key works in the restored home');
  if (restored.token !== undefined)
    for (const k of keys)
      t.equal((await restored.describeKey({ KeyId: k.keyId })).KeyMetadata!.Origin, 'AWS_CLOUDHSM', `${k.kind} key: still the token's, in the restored home`);
  t.same((await restored.listResourceTags({ KeyId: keys[0]!.keyId })).Tags, [{ TagKey: 'team', TagValue: 'durability' }]);
  t.equal((await restored.describeKey({ KeyId: 'alias/backed-up' })).KeyMetadata!.KeyId, keys[0]!.keyId);
  await t.rejects(restored.describeKey({ KeyId: later }), { name: 'NotFoundException' });
  t.not(restored.store.storeId, result.storeId === '' ? 'x' : '', 'restored store has an id');
  t.equal(restored.store.storeId, result.storeId);
  const original = await backend.open({ home });
  t.not(restored.store.storeId, original.store.storeId, 'a restored copy gets its own store id');
  await original.close();
  await restored.close();
});

t.test("a restored backup's token key whose objects were destroyed since: Enabled, its use KMSInvalidStateException", async (t) => {
  let now = Date.now();
  const home = tempHome();
  const kms = await softhsm.open({ home, clock: () => new Date(now) });
  const keys = await makeSampleKeys(kms);
  const gone = keys.find((k) => k.kind === 'ecc')!;
  const file = join(tempHome(), 'store.backup');
  await backupStore(kms, file);
  // Deleted in the original after the backup: its objects leave the token.
  await kms.scheduleKeyDeletion({ KeyId: gone.keyId, PendingWindowInDays: 7 });
  now += 8 * 86_400_000;
  await t.rejects(kms.describeKey({ KeyId: gone.keyId }), { name: 'NotFoundException' }, 'deleted in the original');
  t.same(await checkSampleKeys(kms, keys.filter((k) => k !== gone)), [], "the original's other keys work");

  const target = join(tempHome(), 'restored');
  await restoreStore(target, file, { rootKeyFile: join(home, 'root.key') });
  const restored = await softhsm.open({ home: target });
  t.equal((await restored.describeKey({ KeyId: gone.keyId })).KeyMetadata!.KeyState, 'Enabled', 'the restored key is there, Enabled');
  const err = (await restored.sign({ KeyId: gone.keyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' }).catch((e: unknown) => e)) as {
    name?: string;
    message?: string;
    $fault?: string;
  };
  t.equal(err.name, 'KMSInvalidStateException', 'its use is refused');
  t.equal(err.$fault, 'client', 'a client error, not retried');
  t.match(String(err.message), gone.keyId, 'naming the key');
  t.match(String(err.message), softhsmOptions().tokenLabel, 'and the token');
  t.equal((await restored.describeKey({ KeyId: gone.keyId })).KeyMetadata!.KeyState, 'Enabled', 'and its state does not change');
  // GetPublicKey and Verify need no token: the public key is in the store.
  const v = await restored.verify({ KeyId: gone.keyId, Message: Buffer.from('durability sample message'), Signature: gone.signature!, SigningAlgorithm: 'ECDSA_SHA_256' });
  t.ok(v.SignatureValid, 'an old signature still verifies');
  t.same(await checkSampleKeys(restored, keys.filter((k) => k !== gone)), [], 'the other token keys work in the restored home');
  await restored.close();
  await kms.close();
});

t.test('restore refuses a backup made for a different root key, and changes nothing', async (t) => {
  const a = tempHome();
  const b = tempHome();
  const kmsA = await Kms.open({ home: a });
  await makeSampleKeys(kmsA);
  const file = join(tempHome(), 'a.backup');
  await backupStore(kmsA, file);
  await kmsA.close();
  await (await Kms.open({ home: b })).close();

  const target = join(tempHome(), 'new');
  const err = (await restoreStore(target, file, { rootKeyFile: join(b, 'root.key') }).catch((e: unknown) => e)) as Error;
  t.type(err, DurabilityError, 'a root key file of another store is refused');
  t.match(err.message, /this backup was made for a different root key: it needs the root key with check value [0-9a-f]{32}, and .* holds the one with check value [0-9a-f]{32}\. Nothing was changed\./);
  t.notOk(existsSync(join(target, 'root.key')));
  t.notOk(existsSync(join(target, 'store.sqlite3')));
  t.notOk(existsSync(target), 'nor the folder the restore would have made');
  // Into b, whose own root key is another one.
  const before = readFileSync(join(b, 'store.sqlite3'));
  await t.rejects(restoreStore(b, file), /different root key than the one in/);
  t.ok(readFileSync(join(b, 'store.sqlite3')).equals(before), "b's store is unchanged");
  await t.rejects(restoreStore(target, join(a, 'root.key')), /not an embedded-kms backup/);
  // A folder with a root key of its own and no store (one recovered from escrow): the backup's
  // root key, given with --root-key-file, does not replace it unasked.
  const keyOnly = tempHome();
  copyFileSync(join(b, 'root.key'), join(keyOnly, 'root.key'));
  const own = readFileSync(join(keyOnly, 'root.key'));
  await t.rejects(restoreStore(keyOnly, file, { rootKeyFile: join(a, 'root.key') }), /holds another root key .* than the backup's, which restoring would replace/);
  t.ok(readFileSync(join(keyOnly, 'root.key')).equals(own), 'its root key is unchanged');
  await restoreStore(keyOnly, file, { rootKeyFile: join(a, 'root.key'), replace: true });
  t.ok(readFileSync(join(keyOnly, 'root.key')).equals(readFileSync(join(a, 'root.key'))), 'replaced when asked');
});

t.test('restoring over a store with keys needs replace, and then brings the backup back', async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home });
  const keys = await makeSampleKeys(kms);
  const file = join(tempHome(), 'backup');
  await backupStore(home, file);
  const later = (await kms.createKey({})).KeyMetadata!.KeyId!;
  await t.rejects(restoreStore(home, file), /already holds a key store with 5 key/);
  // Restored while kms is open: it sees the restored state on its next operation.
  await restoreStore(home, file, { replace: true });
  await t.rejects(kms.describeKey({ KeyId: later }), { name: 'NotFoundException' });
  t.same(await checkSampleKeys(kms, keys), []);
  await kms.close();
  t.same(keyIds(join(home, 'store.sqlite3')), keys.map((k) => k.keyId).sort());
});

t.test('an old backup restores with its old root key after a root key rotation', async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home });
  const keys = await makeSampleKeys(kms);
  const file = join(tempHome(), 'before-rotation.backup');
  await backupStore(kms, file);
  const oldRoot = join(tempHome(), 'old-root.key');
  await rotateRootKey(kms, { keepPreviousRootKeyAs: oldRoot });
  const newKey = (await kms.createKey({})).KeyMetadata!.KeyId!;
  t.same(await checkSampleKeys(kms, keys), [], 'keys work after the rotation');

  // The rotated home's root key is not the backup's.
  const fresh = join(tempHome(), 'fresh');
  await t.rejects(restoreStore(fresh, file, { rootKeyFile: join(home, 'root.key') }), /made for a different root key/);
  await restoreStore(fresh, file, { rootKeyFile: oldRoot });
  const restored = await Kms.open({ home: fresh });
  t.same(await checkSampleKeys(restored, keys), [], 'the old backup works with the old root key');
  await restored.close();

  // A backup made after the rotation needs the new root key.
  const file2 = join(tempHome(), 'after-rotation.backup');
  await backupStore(kms, file2);
  const fresh2 = join(tempHome(), 'fresh2');
  await t.rejects(restoreStore(fresh2, file2, { rootKeyFile: oldRoot }), /made for a different root key/);
  await restoreStore(fresh2, file2, { rootKeyFile: join(home, 'root.key') });

  // Over the rotated home itself, with the old root key: the home goes back to the old key, and
  // the open kms follows.
  await restoreStore(home, file, { rootKeyFile: oldRoot, replace: true });
  t.ok(readFileSync(join(home, 'root.key')).equals(readFileSync(oldRoot)), 'root.key is the old key again');
  t.same(await checkSampleKeys(kms, keys), [], 'the open Kms follows the restored root key');
  await t.rejects(kms.describeKey({ KeyId: newKey }), { name: 'NotFoundException' });
  await kms.close();
  t.same(storeProblems(join(home, 'store.sqlite3')), []);
});

t.test('restore --replace brings back a home whose root key is lost or damaged (the disaster it is for)', async (t) => {
  for (const harm of ['lost', 'damaged'] as const) {
    const home = tempHome();
    const kms = await Kms.open({ home });
    const keys = await makeSampleKeys(kms);
    const file = join(tempHome(), 'backup');
    await backupStore(kms, file);
    const oldRoot = join(tempHome(), 'old-root.key');
    await rotateRootKey(kms, { keepPreviousRootKeyAs: oldRoot });
    await kms.close();
    if (harm === 'lost') unlinkSync(join(home, 'root.key'));
    else writeFileSync(join(home, 'root.key'), readFileSync(oldRoot).subarray(0, 20));
    if (harm === 'damaged') {
      // Not unasked: the message says what to do, and nothing changes.
      await t.rejects(restoreStore(home, file, { rootKeyFile: oldRoot }), /root\.key is not a readable embedded-kms root key file .*replace it .*Nothing was changed/);
      t.equal(readFileSync(join(home, 'root.key')).length, 20, 'the damaged file is left alone');
    }
    await restoreStore(home, file, { rootKeyFile: oldRoot, replace: true });
    t.ok(readFileSync(join(home, 'root.key')).equals(readFileSync(oldRoot)), `${harm}: root.key is the backup's`);
    const restored = await Kms.open({ home });
    t.same(await checkSampleKeys(restored, keys), [], `${harm}: every key works`);
    await restored.close();
  }
});

t.test('a restore that fails puts no root key in a home that had none', async (t) => {
  // A store without keys, rotated since its backup, its root key lost: without replace the
  // restore stops inside its transaction (the store records another root key), after it has put
  // the backup's root key in place; that file goes again.
  const home = tempHome();
  const kms = await Kms.open({ home });
  const file = join(tempHome(), 'backup');
  await backupStore(kms, file);
  const oldRoot = join(tempHome(), 'old-root.key');
  await rotateRootKey(kms, { keepPreviousRootKeyAs: oldRoot });
  await kms.close();
  unlinkSync(join(home, 'root.key'));
  await t.rejects(restoreStore(home, file, { rootKeyFile: oldRoot }), /nothing was changed/);
  t.notOk(existsSync(join(home, 'root.key')), 'no root key left behind');
});

t.test("a killed restore's copy of the backup is removed by the next open (it holds every wrapped key)", async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home });
  await kms.createKey({});
  const file = join(tempHome(), 'backup');
  await backupStore(kms, file);
  await kms.close();
  // As a restore killed mid-way leaves it: named for a process that is gone.
  const gone = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => gone.on('exit', resolve));
  const names = ['', '-wal', '-shm'].map((suffix) => `.restore.${gone.pid}.0a1b2c3d.sqlite3${suffix}`);
  for (const name of names) copyFileSync(file, join(home, name));
  const mine = `.restore.${process.pid}.0a1b2c3d.sqlite3`; // a live process's: in use
  copyFileSync(file, join(home, mine));
  await (await Kms.open({ home })).close();
  for (const name of names) t.notOk(existsSync(join(home, name)), `${name} removed`);
  t.ok(existsSync(join(home, mine)), "a live process's copy stays");
});

t.test('a backup taken while another process writes is consistent', async (t) => {
  const home = tempHome();
  await (await Kms.open({ home })).close();
  const log = join(tempHome(), 'writer.log');
  writeFileSync(log, '');
  const child = spawn(process.execPath, [writer, home, log, '400'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const backups: string[] = [];
  const dir = tempHome();
  // Back up repeatedly while the writer creates and tags keys.
  while (child.exitCode === null && backups.length < 20) {
    await new Promise((r) => setTimeout(r, 40));
    const file = join(dir, `b${backups.length}`);
    await backupStore(home, file);
    backups.push(file);
  }
  t.equal(await exited, 0, 'the writer finished without errors');
  t.ok(backups.length >= 2, `took ${backups.length} backups during the writes`);
  for (const file of backups) {
    const problems = storeProblems(file);
    t.same(problems, [], `${file} is consistent`);
  }
  // The last backup restores and its keys work.
  const last = backups[backups.length - 1]!;
  const target = join(tempHome(), 'r');
  await restoreStore(target, last, { rootKeyFile: join(home, 'root.key') });
  const kms = await Kms.open({ home: target });
  const ids = keyIds(join(target, 'store.sqlite3'));
  for (const id of ids.slice(0, 20)) {
    const ct = await kms.encrypt({ KeyId: id, Plaintext: Buffer.from('x') });
    t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: ct.CiphertextBlob! })).Plaintext!).toString(), 'x');
  }
  await kms.close();
  // An unrelated file copied over the backup is refused as damaged or foreign.
  copyFileSync(join(home, 'root.key'), join(dir, 'not-a-backup'));
  await t.rejects(restoreStore(join(tempHome(), 'x'), join(dir, 'not-a-backup'), { rootKeyFile: join(home, 'root.key') }), DurabilityError);
});
