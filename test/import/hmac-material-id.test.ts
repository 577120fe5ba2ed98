// The material id of imported HMAC material must not be a MAC the key makes. It was once
// HMAC-SHA-256 under the material of a fixed message, which is exactly what GenerateMac returns for
// that message under an HMAC_256 key, kept in the store's clear columns. It is now a hash of that
// value (native/include/ekms/import.hpp); material imported before keeps its old id, and a
// reimport of it is still recognised.
import { createHash, createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import Database from 'better-sqlite3';

import type { Kms } from '../../src/index.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';
import { externalKey, importInto, makeMaterial } from './helpers.js';

const LABEL = 'ekms imported key material v1';

/** M of import.hpp, computed with Node's crypto: what the id used to be. */
function oldId(material: Uint8Array, keyId: string): Buffer {
  return createHmac('sha256', material).update(`${LABEL}\0${keyId}`).digest();
}

function currentMaterialId(kms: Kms, keyId: string): string | undefined {
  return kms.keys.resolve(keyId).record.currentMaterialId;
}

/** The home's files that hold `bytes` (raw) or their hex. */
function filesHolding(home: string, bytes: Buffer): string[] {
  const hex = Buffer.from(bytes.toString('hex'));
  return readdirSync(home, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .filter((name) => {
      const data = readFileSync(join(home, name));
      return data.includes(bytes) || data.includes(hex);
    });
}

/**
 * Makes the store look as one made before the id changed: the key's (deleted) material is
 * renamed to its old id. Only possible once the material is deleted: a wrapped blob is bound to
 * its id.
 */
function renameMaterial(home: string, keyId: string, from: string, to: string): void {
  const db = new Database(join(home, 'store.sqlite3'));
  try {
    db.pragma('foreign_keys = OFF');
    db.transaction(() => {
      db.prepare('UPDATE key_materials SET material_id = ? WHERE key_id = ? AND material_id = ?').run(to, keyId, from);
      db.prepare('UPDATE imported_materials SET material_id = ? WHERE key_id = ? AND material_id = ?').run(to, keyId, from);
      db.prepare('UPDATE keys SET current_material_id = ? WHERE key_id = ? AND current_material_id = ?').run(to, keyId, from);
    })();
  } finally {
    db.close();
  }
}

eachBackend('imported HMAC material: its id is no MAC of the key, and old ids still match', async (t, kms) => {
  const home = kms.config.home;
  const key = await externalKey(kms, 'HMAC_256', 'GENERATE_VERIFY_MAC');
  const keyId = key.KeyId!;
  const m = makeMaterial('HMAC_256');
  await importInto(kms, keyId, m.bytes);

  const old = oldId(m.bytes, keyId);
  const viaKms = await kms.generateMac({ KeyId: keyId, Message: Buffer.from(`${LABEL}\0${keyId}`), MacAlgorithm: 'HMAC_SHA_256' });
  t.same(Buffer.from(viaKms.Mac!), old, 'the old id is a MAC the key makes (GenerateMac of a fixed message)');
  const id = createHash('sha256').update(Buffer.concat([Buffer.from(`${LABEL}\0${keyId}\0`), old])).digest('hex');
  t.equal(currentMaterialId(kms, keyId), id, 'the id is SHA-256 of label, key id and that value');
  t.same(filesHolding(home, old), [], "no file of the home holds that MAC, raw or in hex");

  // A store made before: the material (deleted, then renamed) has its old id.
  await kms.deleteImportedKeyMaterial({ KeyId: keyId });
  renameMaterial(home, keyId, id, old.toString('hex'));
  await rejectsAws(t, importInto(kms, keyId, makeMaterial('HMAC_256').bytes), 'IncorrectKeyMaterialException', /not the key material that was previously imported/);
  await importInto(kms, keyId, m.bytes);
  t.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'Enabled', 'the same material goes back in');
  t.equal(currentMaterialId(kms, keyId), old.toString('hex'), 'and keeps the id it had');
  const message = Buffer.from('after the reimport');
  const mac = await kms.generateMac({ KeyId: keyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' });
  t.same(Buffer.from(mac.Mac!), createHmac('sha256', m.bytes).update(message).digest(), 'and MACs with the material imported');
});
