// A store whose database file is deleted (its folder removed) or replaced (a file restored over
// it) while a process has it open: SQLite would go on committing into the unlinked file, so the
// process refuses to write and says why, rather than acknowledge changes no later open will see.
// Work that falls due meanwhile (here the expiry of imported material) fails without failing the
// calls on other keys.
import { copyFileSync, linkSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { Kms } from '../../src/index.js';
import { tempHome } from '../helpers/backends.js';
import { rejectsAws } from '../helpers/kms-fixture.js';
import { collectWarnings, warningsOut } from '../helpers/warnings.js';
import { externalKey, importInto, makeMaterial } from '../import/helpers.js';
import { TestClock, addDays } from '../symmetric/helpers.js';

t.test('a store whose folder was removed refuses writes; what it read still answers', async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home });
  t.teardown(() => kms.close());
  const key = (await kms.createKey({})).KeyMetadata!.KeyId!;
  rmSync(home, { recursive: true, force: true });
  await rejectsAws(t, kms.createKey({}), 'KMSInternalException', /database .*store\.sqlite3 was deleted while open: nothing more is written/);
  await rejectsAws(t, kms.createAlias({ AliasName: 'alias/lost', TargetKeyId: key }), 'KMSInternalException', /was deleted while open/);
  t.equal((await kms.describeKey({ KeyId: key })).KeyMetadata!.KeyId, key, 'reads go on');
  const ct = (await kms.encrypt({ KeyId: key, Plaintext: Buffer.from('still here') })).CiphertextBlob!;
  t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: ct })).Plaintext!).toString(), 'still here');
});

t.test('a database file replaced under an open store: its writes are refused, the replacement is untouched', async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home });
  const before = (await kms.createKey({ Description: 'before the copy' })).KeyMetadata!.KeyId!;
  await kms.close();
  const db = join(home, 'store.sqlite3');
  const copy = join(tempHome(), 'copy.sqlite3');
  copyFileSync(db, copy);

  const open = await Kms.open({ home });
  t.teardown(() => open.close());
  renameSync(copy, db); // the restore of an older copy, say, by hand
  await rejectsAws(t, open.createKey({}), 'KMSInternalException', /was replaced by another file while open/);
  await rejectsAws(t, open.updateKeyDescription({ KeyId: before, Description: 'changed' }), 'KMSInternalException', /replaced/);

  const reopened = await Kms.open({ home });
  t.teardown(() => reopened.close());
  t.same((await reopened.listKeys({})).Keys!.map((k) => k.KeyId), [before], 'the file in place has only what it had');
  t.equal((await reopened.describeKey({ KeyId: before })).KeyMetadata!.Description, 'before the copy');
  t.ok((await reopened.createKey({})).KeyMetadata!.KeyId, 'and a store opened on it writes');
});

const start = new Date('2026-01-01T00:00:00Z');

/** A store on a test clock with one imported key whose material expires a day after `start`. */
async function withExpiringKey(tt: Pick<typeof t, 'teardown'>) {
  const home = tempHome();
  const clock = new TestClock(start);
  const kms = await Kms.open({ home, clock: clock.read });
  tt.teardown(() => kms.close());
  const key = await externalKey(kms);
  const material = makeMaterial('SYMMETRIC_DEFAULT').bytes;
  await importInto(kms, key.KeyId!, material, { validTo: addDays(start, 1) });
  return { home, clock, kms, key, material };
}

t.test('an expiry of imported material that cannot be recorded refuses that material only, and is reported once', async (t) => {
  const { home, clock, kms, key: imported } = await withExpiringKey(t);
  const later = await externalKey(kms);
  await importInto(kms, later.KeyId!, makeMaterial('SYMMETRIC_DEFAULT').bytes, { validTo: new Date(addDays(start, 2).getTime() + 500) });
  const blob = (await kms.encrypt({ KeyId: imported.KeyId!, Plaintext: Buffer.from('expires') })).CiphertextBlob!;
  const other = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const warnings = collectWarnings(t);
  rmSync(home, { recursive: true, force: true });
  clock.advanceDays(2);

  const pendingImport = `${imported.Arn} is pending import.`;
  for (let call = 0; call < 3; call++) {
    const ct = (await kms.encrypt({ KeyId: other, Plaintext: Buffer.from(`other ${call}`) })).CiphertextBlob!;
    t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: ct })).Plaintext!).toString(), `other ${call}`, 'another key goes on');
    // As once the expiry is written: the key is pending import.
    await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob }), 'KMSInvalidStateException', pendingImport);
    await rejectsAws(t, kms.encrypt({ KeyId: imported.KeyId!, Plaintext: Buffer.from('x') }), 'KMSInvalidStateException', pendingImport);
    if (call === 0) {
      // Within the second before the write is tried again, a material that expires is refused at once.
      clock.now = new Date(clock.now.getTime() + 600);
      await rejectsAws(t, kms.encrypt({ KeyId: later.KeyId!, Plaintext: Buffer.from('x') }), 'KMSInvalidStateException', `${later.Arn} is pending import.`);
    }
    clock.now = new Date(clock.now.getTime() + 1500); // past the retry interval: the write is tried again, and fails again
  }
  await warningsOut();
  t.equal(warnings.filter((w) => /expiry of imported key material/.test(w)).length, 1, 'reported once while it keeps failing');
  t.match(warnings.join('\n'), /was deleted while open/);
});

t.test('a material refused while its expiry could not be written is usable again once another process reimports it', async (t) => {
  const { home, clock, kms, key, material } = await withExpiringKey(t);
  await kms.describeKey({ KeyId: key.KeyId! });
  // The database file taken away for a while (a hard link keeps it), then put back.
  const db = join(home, 'store.sqlite3');
  const kept = join(home, 'kept.sqlite3');
  linkSync(db, kept);
  unlinkSync(db);
  clock.advanceDays(2);
  await rejectsAws(t, kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('x') }), 'KMSInvalidStateException', `${key.Arn} is pending import.`);
  linkSync(kept, db);
  unlinkSync(kept);

  // Another process records the expiry (at open) and imports the material again, without ValidTo.
  const second = await Kms.open({ home, clock: clock.read });
  t.equal((await second.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'PendingImport', 'the other process wrote the expiry');
  await importInto(second, key.KeyId!, material);
  await second.close();
  const ct = (await kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('again') })).CiphertextBlob!;
  t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: ct })).Plaintext!).toString(), 'again', 'this process no longer refuses it');
});
