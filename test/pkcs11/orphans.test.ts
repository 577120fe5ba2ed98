// Orphaned token objects: a process that dies between generating a key on the token and storing
// its record leaves an object with no record. Opening the store destroys those, and only those:
// objects noted by this store as being made, longer ago than the grace period, whose material has
// no record. Objects of work still in progress (a fresh note) or made by others (no note) stay.
import { randomUUID } from 'node:crypto';

import t from 'tap';

import { noteTokenCreation, orphanGraceMs } from '../../src/backends/token-orphans.js';
import { newMaterialId } from '../../src/keys/ids.js';
import { Kms } from '../../src/index.js';
import { cleanupLater, tempHome } from '../helpers/backends.js';
import { softhsmOptions } from '../helpers/softhsm.js';
import { backendOf } from './helpers.js';

t.test('opening the store destroys its old orphans and nothing else', async (t) => {
  const home = tempHome('ekms-p11-orphans-');
  cleanupLater(home);
  const options = { home, pkcs11: softhsmOptions() };
  let kms = await Kms.open(options);
  const token = backendOf(kms);

  // A real key: record and object; its creation note is gone once the record is stored.
  const real = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  t.equal(kms.store.db.prepare('SELECT COUNT(*) FROM token_creations').pluck().get(), 0, 'CreateKey leaves no note behind');

  const now = new Date();
  const make = async (noteAt: Date | undefined) => {
    const keyId = randomUUID();
    const materialId = newMaterialId();
    if (noteAt) noteTokenCreation(kms.store, keyId, materialId, noteAt);
    const made = await token.createKey('ECC_NIST_P256', 'SIGN_VERIFY', keyId, materialId);
    return made.tokenRef;
  };
  const orphan = await make(new Date(now.getTime() - orphanGraceMs - 60_000)); // a crash long ago
  const inProgress = await make(now); // another process may be about to store its record
  const foreign = await make(undefined); // not ours to judge
  const before = await token.listTokenRefs();
  for (const ref of [orphan, inProgress, foreign]) t.ok(before.includes(ref), `${ref} is on the token`);
  await kms.close();

  kms = await Kms.open(options);
  t.teardown(() => kms.close());
  const after = await backendOf(kms).listTokenRefs();
  t.notOk(after.includes(orphan), 'the old orphan is destroyed');
  t.ok(after.includes(inProgress), 'an object of work in progress stays');
  t.ok(after.includes(foreign), 'an object without a note stays');
  const sig = await kms.sign({ KeyId: real.KeyId!, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' });
  t.ok(sig.Signature!.length > 0, 'the real key still works');
  t.equal(kms.store.db.prepare('SELECT COUNT(*) FROM token_creations').pluck().get(), 1, 'only the fresh note remains');
});
