// ScheduleKeyDeletion, CancelKeyDeletion, and the destruction of a key when its waiting period
// has passed: checked on open and on use, with the clock moved through Kms.open({ clock }).
import { join } from 'node:path';

import Database from 'better-sqlite3';
import t from 'tap';

import type { TokenBackend } from '../../src/backends/token.js';
import { destroyDueKeys } from '../../src/keys/deletion.js';
import type { Kms } from '../../src/index.js';
import type { KeyRecord, MaterialRecord } from '../../src/store/records.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';
import type { Backend } from '../helpers/backends.js';

type Test = typeof t;
const day = 86_400_000;
const start = Date.parse('2030-01-01T00:00:00Z');

/** A Kms whose clock the test moves. */
async function openWithClock(t: Test, backend: Backend, home?: string): Promise<{ kms: Kms; clock: { now: number } }> {
  const clock = { now: start };
  const kms = await backend.open({ clock: () => new Date(clock.now), ...(home === undefined ? {} : { home }) });
  t.teardown(() => kms.close());
  return { kms, clock };
}

eachBackend('ScheduleKeyDeletion puts the key in PendingDeletion for the waiting period', async (t: Test, _kms, backend) => {
  const { kms } = await openWithClock(t, backend);
  const md = (await kms.createKey({})).KeyMetadata!;
  const out = await kms.scheduleKeyDeletion({ KeyId: md.KeyId!, PendingWindowInDays: 7 });
  t.same(out, { KeyId: md.Arn, DeletionDate: new Date(start + 7 * day), KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
  const described = (await kms.describeKey({ KeyId: md.KeyId! })).KeyMetadata!;
  t.equal(described.KeyState, 'PendingDeletion');
  t.equal(described.Enabled, false);
  t.same(described.DeletionDate, new Date(start + 7 * day));
  t.notOk('PendingDeletionWindowInDays' in described, 'AWS reports the window only for PendingReplicaDeletion');
  await rejectsAws(t, kms.scheduleKeyDeletion({ KeyId: md.KeyId! }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
  await rejectsAws(t, kms.encrypt({ KeyId: md.KeyId!, Plaintext: Buffer.from('x') }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);

  const other = (await kms.createKey({})).KeyMetadata!;
  const byDefault = await kms.scheduleKeyDeletion({ KeyId: other.Arn! });
  t.equal(byDefault.PendingWindowInDays, 30, 'the waiting period is 30 days by default');
  t.same(byDefault.DeletionDate, new Date(start + 30 * day));
});

eachBackend('the waiting period is 7 to 30 days', async (t: Test, kms) => {
  const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  for (const days of [1, 6, 31, 365]) {
    await rejectsAws(
      t,
      kms.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: days }),
      'ValidationException',
      'PendingWindowInDays must be between 7 and 30', // AWS's words (src/operations/lifecycle/deletion.ts)
    );
  }
  await rejectsAws(
    t,
    kms.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 366 }),
    'ValidationException',
    "1 validation error detected: Value '366' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to 365",
  );
  t.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'Enabled');
  t.equal((await kms.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 30 })).PendingWindowInDays, 30);
});

eachBackend('CancelKeyDeletion leaves the key Disabled, as AWS does', async (t: Test, kms) => {
  const md = (await kms.createKey({})).KeyMetadata!;
  await kms.createAlias({ AliasName: 'alias/kept', TargetKeyId: md.KeyId! });
  await kms.scheduleKeyDeletion({ KeyId: md.KeyId!, PendingWindowInDays: 7 });
  t.same(await kms.cancelKeyDeletion({ KeyId: md.KeyId! }), { KeyId: md.Arn });
  const described = (await kms.describeKey({ KeyId: 'alias/kept' })).KeyMetadata!;
  t.equal(described.KeyState, 'Disabled');
  t.equal(described.Enabled, false);
  t.notOk('DeletionDate' in described);
  t.notOk('PendingDeletionWindowInDays' in described);
  await rejectsAws(t, kms.cancelKeyDeletion({ KeyId: md.KeyId! }), 'KMSInvalidStateException', `${md.Arn} is not pending deletion.`);
  await kms.enableKey({ KeyId: md.KeyId! });
  t.ok((await kms.encrypt({ KeyId: 'alias/kept', Plaintext: Buffer.from('x') })).CiphertextBlob, 'usable again once enabled');
});

eachBackend('when the waiting period has passed the key is destroyed', async (t: Test, _kms, backend) => {
  const { kms, clock } = await openWithClock(t, backend);
  const doomed = (await kms.createKey({ Tags: [{ TagKey: 't', TagValue: 'v' }] })).KeyMetadata!;
  const kept = (await kms.createKey({})).KeyMetadata!;
  await kms.createAlias({ AliasName: 'alias/doomed', TargetKeyId: doomed.KeyId! });
  await kms.createAlias({ AliasName: 'alias/kept', TargetKeyId: kept.KeyId! });
  const blob = (await kms.encrypt({ KeyId: doomed.KeyId!, Plaintext: Buffer.from('gone') })).CiphertextBlob!;
  await kms.encrypt({ KeyId: kept.KeyId!, Plaintext: Buffer.from('kept') });
  const unwrappedBefore = kms.engine.cachedKeys();
  await kms.scheduleKeyDeletion({ KeyId: doomed.KeyId!, PendingWindowInDays: 7 });

  clock.now = start + 7 * day - 1;
  t.equal((await kms.describeKey({ KeyId: doomed.KeyId! })).KeyMetadata!.KeyState, 'PendingDeletion', 'not before its date');

  clock.now = start + 7 * day;
  await rejectsAws(t, kms.describeKey({ KeyId: doomed.KeyId! }), 'NotFoundException', `Key '${doomed.Arn}' does not exist`);
  await rejectsAws(t, kms.describeKey({ KeyId: 'alias/doomed' }), 'NotFoundException', /^Alias arn:aws:kms:.*:alias\/doomed is not found\.$/);
  await rejectsAws(t, kms.cancelKeyDeletion({ KeyId: doomed.KeyId! }), 'NotFoundException', `Key '${doomed.Arn}' does not exist`);
  await t.rejects(kms.decrypt({ CiphertextBlob: blob }), 'its ciphertexts can no longer be decrypted');
  t.same((await kms.listAliases({})).Aliases!.map((a) => a.AliasName), ['alias/kept'], 'its alias is gone, others stay');
  t.notOk((await kms.listKeys({})).Keys!.some((k) => k.KeyId === doomed.KeyId), 'ListKeys no longer lists it');
  t.equal(kms.store.getKey(doomed.KeyId!), undefined, 'the record is gone');
  t.same(kms.store.getMaterials(doomed.KeyId!), [], 'its key material (wrapped blob or token reference) is gone');
  t.same(kms.store.tags(doomed.KeyId!), [], 'its tags are gone');
  // (Keys on a token are never unwrapped in native memory: then there is nothing to count.)
  t.equal(kms.engine.cachedKeys(), Math.max(0, unwrappedBefore - 1), 'its unwrapped material, and only its, was wiped from native memory');
  t.equal((await kms.describeKey({ KeyId: 'alias/kept' })).KeyMetadata!.KeyState, 'Enabled', 'the other key is untouched');
  t.equal(kms.usage.lastUsage(doomed.KeyId!), undefined, 'its last use is forgotten (key-usage.sqlite3 keeps no row for it)');
  t.equal(kms.usage.lastUsage(kept.KeyId!)?.operation, 'Encrypt', "the other key's is kept");
});

eachBackend('keys whose date passed while the store was closed are destroyed on open', async (t: Test, _kms, backend) => {
  const first = await openWithClock(t, backend);
  const home = first.kms.config.home;
  const keyId = (await first.kms.createKey({})).KeyMetadata!.KeyId!;
  const later = (await first.kms.createKey({})).KeyMetadata!.KeyId!;
  await first.kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('used') });
  await first.kms.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 7 });
  await first.kms.scheduleKeyDeletion({ KeyId: later, PendingWindowInDays: 30 });
  await first.kms.close();

  const clock = { now: start + 8 * day };
  const kms = await backend.open({ home, clock: () => new Date(clock.now) });
  t.teardown(() => kms.close());
  t.equal(kms.store.getKey(keyId), undefined, 'destroyed by Kms.open, before any operation');
  t.equal(kms.store.getKey(later)?.state, 'PendingDeletion', 'a key whose date has not come stays');
  t.equal(kms.usage.lastUsage(keyId), undefined, 'its last use is forgotten too');
});

eachBackend("a deleted key's usage row goes once the usage file is free again", async (t: Test, _kms, backend) => {
  const { kms, clock } = await openWithClock(t, backend);
  const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const other = (await kms.createKey({})).KeyMetadata!.KeyId!;
  await kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('used') });
  kms.usage.flush();
  await kms.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 7 });
  // Another process (a second `ekms serve` worker) holds the usage file's write lock.
  const otherProcess = new Database(join(kms.config.home, 'key-usage.sqlite3'));
  t.teardown(() => otherProcess.close());
  const rows = () => otherProcess.prepare('SELECT COUNT(*) FROM key_last_usage WHERE key_id = ?').pluck().get(keyId);
  t.equal(rows(), 1);
  otherProcess.exec('BEGIN IMMEDIATE');
  const warnings: string[] = [];
  const onWarning = (w: Error) => void warnings.push(w.message);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  clock.now = start + 7 * day;
  await kms.describeKey({ KeyId: other }); // runs the due deletion
  t.equal(kms.store.getKey(keyId), undefined, 'the key is deleted while the usage file is locked');
  kms.usage.flush(); // busy: kept for the next flush
  otherProcess.exec('COMMIT');
  t.equal(rows(), 1, 'the row could not go yet');
  kms.usage.flush();
  t.equal(rows(), 0, 'the next flush removed it');
  await new Promise((resolve) => setImmediate(resolve));
  t.match(warnings.join('\n'), /cannot record key usage/, 'the busy file was reported');
});

eachBackend('token objects of a destroyed key are destroyed, and retried until they are', async (t: Test, _kms, backend) => {
  const { kms, clock } = await openWithClock(t, backend);
  const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  // A material that lives on a token (as a PKCS#11 key's does), beside the key's own.
  kms.store.insertMaterial({ keyId, materialId: 'on-token', createdAt: new Date(start), tokenRef: 'object-7' });
  kms.store.updateKey(keyId, { customKeyStoreId: 'cks-1234567890abcdef0' });
  await kms.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 7 });
  clock.now = start + 7 * day;

  const destroyed: [KeyRecord, MaterialRecord][] = [];
  let failed = false;
  const token = {
    customKeyStoreId: 'cks-1234567890abcdef0',
    async destroyMaterial(key: KeyRecord, material: MaterialRecord) {
      if (material.materialId === 'on-token' && !failed) {
        failed = true;
        throw new Error('token not logged in');
      }
      destroyed.push([key, material]);
    },
  } as unknown as TokenBackend;
  const otherToken = { customKeyStoreId: 'cks-00000000000000000', destroyMaterial: () => t.fail('wrong token') } as unknown as TokenBackend;
  // (On a token backend the key's own material is a token object too.)
  const listed = () => kms.store.pendingTokenDestructions().map((d) => d.material.tokenRef);

  const deps = { store: kms.store, keys: kms.keys, now: () => new Date(clock.now) };
  t.same(await destroyDueKeys({ ...deps, token }), [keyId], 'the key is destroyed even though its token failed');
  t.equal(kms.store.getKey(keyId), undefined);
  t.same(listed(), ['object-7'], 'the token object that failed stays listed for a retry');
  await destroyDueKeys({ ...deps, token: otherToken });
  t.same(listed(), ['object-7'], 'another token does not touch it');
  t.same(await destroyDueKeys({ ...deps, token }), [], 'nothing more is due');
  const entry = destroyed.find(([, m]) => m.materialId === 'on-token');
  t.ok(entry, 'the retry destroyed it');
  t.equal(entry?.[0].keyId, keyId);
  t.equal(entry?.[0].customKeyStoreId, 'cks-1234567890abcdef0');
  t.same(entry?.[0].deletionDate, new Date(start + 7 * day), 'the key record is passed as it was');
  t.equal(entry?.[1].tokenRef, 'object-7');
  t.same(kms.store.pendingTokenDestructions(), [], 'done once the token has destroyed it');
});

eachBackend('a due deletion that fails (a full disk) fails no other call; it is done once it can be', async (t: Test, _kms, backend) => {
  const { kms, clock } = await openWithClock(t, backend);
  const kept = (await kms.createKey({})).KeyMetadata!;
  const doomed = (await kms.createKey({})).KeyMetadata!;
  const sealed = (await kms.encrypt({ KeyId: kept.KeyId!, Plaintext: Buffer.from('kept') })).CiphertextBlob!;
  await kms.scheduleKeyDeletion({ KeyId: doomed.KeyId!, PendingWindowInDays: 7 });
  // SQLite's answer on a full disk, from the write that deletes the key.
  const store = kms.store as unknown as { deleteDueKey: (...args: unknown[]) => boolean };
  const realDelete = store.deleteDueKey;
  store.deleteDueKey = () => {
    throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  };
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  clock.now += 8 * day;
  for (let i = 0; i < 3; i++) {
    t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: sealed })).Plaintext!).toString(), 'kept', `call ${i + 1} goes on`);
    t.equal((await kms.describeKey({ KeyId: kept.KeyId! })).KeyMetadata!.KeyState, 'Enabled');
    clock.now += 400;
  }
  await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
  t.equal(warnings.filter((w) => /deletions and rotations that fell due .* failed \(database or disk is full\)/.test(w)).length, 1, 'reported once');
  t.equal((await kms.describeKey({ KeyId: doomed.KeyId! })).KeyMetadata!.KeyState, 'PendingDeletion', 'not deleted yet');
  store.deleteDueKey = realDelete; // space is back
  clock.now += 2000;
  await rejectsAws(t, kms.describeKey({ KeyId: doomed.KeyId! }), 'NotFoundException');
});

eachBackend('a sweep that fails partway keeps the DeleteKey events of the keys it did delete', async (t: Test, _kms, backend) => {
  const { kms, clock } = await openWithClock(t, backend);
  const first = (await kms.createKey({})).KeyMetadata!;
  const second = (await kms.createKey({})).KeyMetadata!;
  await kms.scheduleKeyDeletion({ KeyId: first.KeyId!, PendingWindowInDays: 7 });
  clock.now += day;
  await kms.scheduleKeyDeletion({ KeyId: second.KeyId!, PendingWindowInDays: 7 });
  const recorded: string[] = [];
  const audit = kms.audit!;
  const realRecord = audit.recordServiceEvent.bind(audit);
  audit.recordServiceEvent = (name, arn, time, details) => {
    recorded.push(`${name} ${arn}`);
    return realRecord(name, arn, time, details);
  };
  const store = kms.store as unknown as { deleteDueKey: (keyId: string, now: Date) => boolean };
  const realDelete = store.deleteDueKey.bind(kms.store);
  // The first deletion commits; the second's write fails (a full disk).
  store.deleteDueKey = (keyId, now) => {
    if (keyId === second.KeyId) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    return realDelete(keyId, now);
  };
  const onWarning = () => undefined;
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  clock.now += 8 * day;
  await kms.listKeys({});
  t.same(recorded, [`DeleteKey ${first.Arn}`], 'the committed deletion is recorded though the sweep failed');
  store.deleteDueKey = realDelete;
  clock.now += 2000;
  await kms.listKeys({});
  t.same(recorded, [`DeleteKey ${first.Arn}`, `DeleteKey ${second.Arn}`], 'and the other one once it is done');
});
