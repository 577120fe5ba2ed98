// The paths that must not grow with the store (issue 7: a store of 100,000 keys opens and answers
// a key's first use about as fast as a store of 1,000): every query that opening a store or a
// key's first touch runs is an index search, never a scan of keys or key_materials; and a key
// record cached without its materials (DescribeKey reads only the record) still sees a change
// another connection made before its materials are first used.
import t from 'tap';

import { Kms, type KmsOptions } from '../../src/index.js';
import { lookupSql, mmapBytes } from '../../src/store/store.js';
import { tempHome } from '../helpers/backends.js';
import { eachBackend } from '../helpers/kms-fixture.js';

const day = 86_400_000;

/** EXPLAIN QUERY PLAN's lines for one statement (parameters bound to placeholders). */
function plan(kms: Kms, sql: string): string[] {
  const params = Array.from(sql.matchAll(/\?/g), () => 0);
  return (kms.store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
}

t.test('the queries of opening a store and of a first touch search indexes, never scan', async (t) => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  const kms = await Kms.open({ home: tempHome(), clock: () => new Date(now) });
  t.teardown(() => kms.close());
  // Keys in the states those queries look for: rotating, pending deletion, aliased, tagged.
  const rotating = (await kms.createKey({})).KeyMetadata!.KeyId!;
  await kms.enableKeyRotation({ KeyId: rotating, RotationPeriodInDays: 90 });
  const deleting = (await kms.createKey({ Tags: [{ TagKey: 'k', TagValue: 'v' }] })).KeyMetadata!.KeyId!;
  await kms.scheduleKeyDeletion({ KeyId: deleting, PendingWindowInDays: 7 });
  await kms.createAlias({ AliasName: 'alias/plans', TargetKeyId: rotating });

  for (const [name, sql] of Object.entries(lookupSql)) {
    if (name === 'dataVersion') continue;
    const lines = plan(kms, sql);
    t.notOk(
      lines.some((l) => /^SCAN (keys|key_materials|aliases|tags)\b/.test(l)),
      `${name}: ${lines.join('; ')}`,
    );
  }
  // The rotation schedule's two queries use the index made for them (schema migration 5).
  t.match(plan(kms, lookupSql.dueRotations).join(';'), /USING INDEX keys_by_next_rotation \(next_rotation_date<\?\)/);
  t.match(plan(kms, lookupSql.earliestRotation).join(';'), /USING COVERING INDEX keys_by_next_rotation/);

  // And the index answers them: the rotating key is due at its date, not before.
  t.same(kms.store.dueRotations(new Date(now + 89 * day)), []);
  t.same(kms.store.dueRotations(new Date(now + 90 * day)), [rotating]);
  t.equal(kms.store.earliestRotation()?.getTime(), now + 90 * day);
  // A disabled key does not rotate: it leaves the index, and comes back when enabled.
  await kms.disableKey({ KeyId: rotating });
  t.same(kms.store.dueRotations(new Date(now + 400 * day)), []);
  t.equal(kms.store.earliestRotation(), undefined);
  await kms.enableKey({ KeyId: rotating });
  t.same(kms.store.dueRotations(new Date(now + 400 * day)), [rotating]);
});

t.test('the store is read through a memory map', async (t) => {
  const kms = await Kms.open({ home: tempHome() });
  t.teardown(() => kms.close());
  t.equal(kms.store.db.pragma('mmap_size', { simple: true }), mmapBytes);
});

eachBackend('DescribeKey reads no key material; a rotation by another connection is seen by the next use', async (t, kms) => {
  const { home, region, accountId, pkcs11 } = kms.config;
  // The PIN by name: the config keeps it out of JSON (config.ts, withHiddenPin).
  const options: KmsOptions = { home, region, accountId, ...(pkcs11 ? { pkcs11: { ...pkcs11, pin: pkcs11.pin } } : {}) };
  const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const plaintext = Buffer.from('lookup path');

  // A second connection on the same store, with a cold cache: its first touch is DescribeKey.
  const other = await Kms.open(options);
  t.teardown(() => other.close());
  let materialReads = 0;
  const getMaterials = other.store.getMaterials.bind(other.store);
  other.store.getMaterials = (id: string) => {
    materialReads++;
    return getMaterials(id);
  };
  const described = (await other.describeKey({ KeyId: keyId })).KeyMetadata!;
  t.equal(materialReads, 0, 'DescribeKey read the record only');

  // The first connection rotates the key; the second, whose record is cached without materials,
  // encrypts under the new material at once.
  await kms.rotateKeyOnDemand({ KeyId: keyId });
  const current = (await kms.describeKey({ KeyId: keyId })).KeyMetadata!.CurrentKeyMaterialId;
  t.not(current, described.CurrentKeyMaterialId, 'rotated');
  const enc = await other.encrypt({ KeyId: keyId, Plaintext: plaintext });
  t.equal(materialReads, 1, 'materials read on their first use');
  await other.encrypt({ KeyId: keyId, Plaintext: plaintext });
  t.equal(materialReads, 1, 'and then cached');
  // Decrypt names the material a ciphertext was made under.
  const dec = await kms.decrypt({ CiphertextBlob: enc.CiphertextBlob! });
  t.equal(dec.KeyMaterialId, current, 'the other connection encrypted under the new material');
  t.same(Buffer.from(dec.Plaintext!), plaintext);

  // Disabled by the first connection after the second cached record and materials: refused at once.
  await kms.disableKey({ KeyId: keyId });
  await t.rejects(other.encrypt({ KeyId: keyId, Plaintext: plaintext }), { name: 'DisabledException' });
});
