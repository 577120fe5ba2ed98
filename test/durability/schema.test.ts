// Schema versions: a store made by an older version is migrated in one transaction when opened
// (here: schema 1, before stores had an id; schema 4, before the rotation index; and an empty
// schema-0 file), and a store from a newer
// version is refused with a clear message and left as it was.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import t from 'tap';

import { Kms, KeyStoreOpenError } from '../../src/index.js';
import { migrations, schemaVersion } from '../../src/store/schema.js';
import { Store } from '../../src/store/store.js';
import { tempHome } from '../helpers/backends.js';
import { checkSampleKeys, makeSampleKeys, storeProblems } from './helpers.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function digest(home: string): string {
  const h = createHash('sha256');
  for (const f of readdirSync(home).sort()) h.update(f).update(readFileSync(join(home, f)));
  return h.digest('hex');
}

function sql(home: string, run: (db: Database.Database) => void): void {
  const db = new Database(join(home, 'store.sqlite3'));
  try {
    run(db);
  } finally {
    db.close();
  }
}

t.test('every store has an id of its own, made when it is created and kept', async (t) => {
  const home = tempHome();
  let kms = await Kms.open({ home });
  const id = kms.store.storeId;
  t.match(id, uuid);
  await kms.close();
  kms = await Kms.open({ home });
  t.equal(kms.store.storeId, id, 'same id after a reopen');
  await kms.close();
  const other = await Kms.open({ home: tempHome() });
  t.not(other.store.storeId, id, 'another store, another id');
  await other.close();
});

t.test('a schema 1 store (before store ids) is migrated when opened, keys intact', async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home });
  const keys = await makeSampleKeys(kms);
  await kms.close();
  // Back to what schema 1 left: no store id, user_version 1.
  sql(home, (db) => {
    db.prepare("DELETE FROM meta WHERE name = 'store_id'").run();
    db.pragma('user_version = 1');
  });
  const again = await Kms.open({ home });
  t.match(again.store.storeId, uuid, 'the migration gave it an id');
  t.same(await checkSampleKeys(again, keys), []);
  await again.close();
  sql(home, (db) => t.equal(db.pragma('user_version', { simple: true }), schemaVersion));
  t.same(storeProblems(join(home, 'store.sqlite3')), []);
});

t.test('a schema 4 store (before the rotation index) is migrated when opened; due rotations still run', async (t) => {
  const home = tempHome();
  const created = Date.parse('2030-01-01T00:00:00Z');
  const kms = await Kms.open({ home, clock: () => new Date(created) });
  const keys = await makeSampleKeys(kms);
  const rotating = (await kms.createKey({})).KeyMetadata!;
  await kms.enableKeyRotation({ KeyId: rotating.KeyId!, RotationPeriodInDays: 90 });
  await kms.close();
  // Back to what schema 4 left: no keys_by_next_rotation, user_version 4.
  sql(home, (db) => {
    db.exec('DROP INDEX keys_by_next_rotation');
    db.pragma('user_version = 4');
  });
  // Opened after the key's rotation date: migrated, then the rotation due at open happens.
  const later = created + 91 * 86_400_000;
  const again = await Kms.open({ home, clock: () => new Date(later) });
  const after = (await again.describeKey({ KeyId: rotating.KeyId! })).KeyMetadata!;
  t.not(after.CurrentKeyMaterialId, rotating.CurrentKeyMaterialId, 'rotated when opened');
  t.equal(again.store.earliestRotation()?.getTime(), created + 180 * 86_400_000, 'next rotation one period after the date it was due');
  t.same(await checkSampleKeys(again, keys), []);
  await again.close();
  sql(home, (db) => {
    t.equal(db.pragma('user_version', { simple: true }), schemaVersion);
    t.equal(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'keys_by_next_rotation'").pluck().get(), 1, 'index made');
  });
  t.same(storeProblems(join(home, 'store.sqlite3')), []);
});

t.test('a migration that fails leaves the store exactly as it was', async (t) => {
  const home = tempHome();
  await (await Kms.open({ home })).close();
  // A schema-1 store whose meta table is broken (renamed): migration 2 cannot insert into it.
  sql(home, (db) => {
    db.prepare("DELETE FROM meta WHERE name = 'store_id'").run();
    db.exec('ALTER TABLE meta RENAME TO meta_gone');
    db.pragma('user_version = 1');
  });
  t.throws(() => Store.open(join(home, 'store.sqlite3')), /no such table: meta/);
  sql(home, (db) => {
    t.equal(db.pragma('user_version', { simple: true }), 1, 'user_version unchanged');
    t.equal(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'meta'").pluck().get(), 0, 'nothing half-made');
  });
});

t.test('an empty schema-0 file becomes a store', async (t) => {
  const home = tempHome();
  sql(home, (db) => db.exec('CREATE TABLE unrelated_probe (x); DROP TABLE unrelated_probe;'));
  const kms = await Kms.open({ home });
  await makeSampleKeys(kms);
  t.match(kms.store.storeId, uuid);
  await kms.close();
  t.equal(migrations.length, schemaVersion);
});

t.test('a store from a newer version is refused clearly and left untouched', async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home });
  await kms.createKey({});
  await kms.close();
  sql(home, (db) => db.pragma(`user_version = ${schemaVersion + 1}`));
  const before = digest(home);
  const err = (await Kms.open({ home }).catch((e: unknown) => e)) as Error;
  t.type(err, KeyStoreOpenError);
  t.match(err.message, new RegExp(`written by a newer embedded-kms \\(schema ${schemaVersion + 1}; this version knows up to ${schemaVersion}\\); upgrade embedded-kms to open it`));
  t.equal(digest(home), before, 'no file changed');
});
