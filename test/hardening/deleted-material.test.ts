// Deleting key material destroys it: once a key's deletion completes, or its imported material is
// deleted, its wrapped blob is in none of the home's files. The root key beside them would still
// unwrap it, so a copy left in the database's free space or in the WAL would bring the key back
// (crypto-shredding would be a promise only). src/store/store.ts: secure_delete and shred().
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import t from 'tap';

import { Kms } from '../../src/index.js';
import { tempHome } from '../helpers/backends.js';
import { externalKey, importInto } from '../import/helpers.js';

function wrappedBlobs(home: string, keyId: string): Buffer[] {
  const db = new Database(join(home, 'store.sqlite3'), { readonly: true });
  try {
    return (db.prepare('SELECT wrapped FROM key_materials WHERE key_id = ? AND wrapped IS NOT NULL').pluck().all(keyId) as Buffer[]).map((b) => Buffer.from(b));
  } finally {
    db.close();
  }
}

/** The home's files (store, WAL, shared memory, usage database, audit trail...) that hold `blob`. */
function filesHolding(home: string, blob: Buffer): string[] {
  return readdirSync(home, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .filter((name) => readFileSync(join(home, name)).includes(blob));
}

/** A store in a new home with an EXTERNAL key whose imported material is its one wrapped blob. */
async function importedKey(prefix: string): Promise<{ home: string; kms: Kms; keyId: string; blob: Buffer }> {
  const home = tempHome(prefix);
  const kms = await Kms.open({ home });
  const keyId = (await externalKey(kms)).KeyId!;
  await importInto(kms, keyId, randomBytes(32));
  return { home, kms, keyId, blob: wrappedBlobs(home, keyId)[0]! };
}

t.test("a deleted key's wrapped material is in none of the home's files", async (t) => {
  const home = tempHome('ekms-shred-');
  let now = Date.now();
  const clock = () => new Date(now);
  let kms = await Kms.open({ home, clock });
  const kept = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const doomed = (await kms.createKey({})).KeyMetadata!.KeyId!;
  await kms.rotateKeyOnDemand({ KeyId: doomed }); // two materials
  const blobs = wrappedBlobs(home, doomed);
  t.equal(blobs.length, 2, 'the key has two wrapped materials');
  for (const b of blobs) t.not(filesHolding(home, b).length, 0, 'each is in the store before the deletion');
  await kms.encrypt({ KeyId: doomed, Plaintext: Buffer.from('x') });
  await kms.scheduleKeyDeletion({ KeyId: doomed, PendingWindowInDays: 7 });
  await kms.close();

  now += 8 * 86_400_000;
  kms = await Kms.open({ home, clock }); // the deletion completes as the store opens
  await t.rejects(kms.describeKey({ KeyId: doomed }), { name: 'NotFoundException' });
  // While the store is open (its last close would checkpoint and remove the WAL anyway).
  for (const b of blobs) t.same(filesHolding(home, b), [], 'the deleted material is in no file, the store open');
  await kms.encrypt({ KeyId: kept, Plaintext: Buffer.from('the store still works') });
  await kms.close();
  for (const b of blobs) t.same(filesHolding(home, b), [], 'nor after it closed');
  t.equal(wrappedBlobs(home, kept).length, 1, 'the other key keeps its material');
});

t.test('a shred that another reader held up is finished by the next write', async (t) => {
  const { home, kms, keyId, blob } = await importedKey('ekms-shred-reader-');
  t.teardown(() => kms.close());
  // Another connection (another process's, say) in a read transaction: the checkpoint cannot pass it.
  const reader = new Database(join(home, 'store.sqlite3'), { readonly: true });
  reader.exec('BEGIN');
  reader.prepare('SELECT count(*) FROM keys').get();
  await kms.deleteImportedKeyMaterial({ KeyId: keyId });
  reader.exec('COMMIT');
  reader.close();
  await kms.createKey({}); // the next write of this Kms
  t.same(filesHolding(home, blob), [], 'in no file once the reader let go and the store wrote again');
});

t.test('deleted imported material is in none of the files either', async (t) => {
  const { home, kms, keyId, blob } = await importedKey('ekms-shred-import-');
  t.teardown(() => kms.close());
  t.ok(blob && filesHolding(home, blob).length > 0, 'the imported material is in the store');
  await kms.deleteImportedKeyMaterial({ KeyId: keyId });
  t.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'PendingImport');
  t.same(filesHolding(home, blob), [], 'after DeleteImportedKeyMaterial, in no file (the Kms still open)');
});

t.test('imported material deleted by another Kms of the store is wiped here at the next use of the key', async (t) => {
  const { home, kms, keyId } = await importedKey('ekms-shred-other-');
  t.teardown(() => kms.close());
  const { CiphertextBlob } = await kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('x') });
  const cached = kms.engine.cachedKeys();
  t.ok(cached >= 1, 'the material is unwrapped here');
  const other = await Kms.open({ home });
  await other.deleteImportedKeyMaterial({ KeyId: keyId });
  await other.close();
  await t.rejects(kms.decrypt({ CiphertextBlob }), { name: 'KMSInvalidStateException' });
  t.equal(kms.engine.cachedKeys(), cached - 1, 'and wiped from this process');
});
