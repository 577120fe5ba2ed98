// Root key escrow: the root key comes back from the escrow file with the right passphrase only,
// the file holds no root key bytes, and recovery refuses to write a key the store does not use.
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { DurabilityError, Kms, escrowRootKey, escrowedRootKeyCheckValue, recoverRootKey } from '../../src/index.js';
import { tempHome } from '../helpers/backends.js';
import { checkSampleKeys, makeSampleKeys } from './helpers.js';

const passphrase = 'a long enough escrow passphrase';

t.test('a root key escrowed under a passphrase recovers into a home that lost it', async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home });
  const keys = await makeSampleKeys(kms);
  const out = join(tempHome(), 'root.escrow');
  const escrowed = await escrowRootKey(kms, passphrase, out, { workFactor: 14 });
  await kms.close();
  t.equal(statSync(out).mode & 0o777, 0o600, 'escrow file is 0600');
  t.equal(escrowed.rootKeyCheckValue, kms.engine.checkValue().toString('hex'));
  t.equal(escrowedRootKeyCheckValue(out), escrowed.rootKeyCheckValue, 'check value readable without the passphrase');
  // The 32 key bytes are at the end of root.key; they must not appear in the escrow file.
  const keyBytes = readFileSync(join(home, 'root.key')).subarray(-32);
  t.equal(readFileSync(out).indexOf(keyBytes), -1, 'no root key bytes in the escrow file');

  rmSync(join(home, 'root.key'));
  await t.rejects(recoverRootKey(out, 'a long enough escrow passphrasf', home), DurabilityError, 'wrong passphrase refused');
  t.throws(() => statSync(join(home, 'root.key')), 'nothing written on a wrong passphrase');
  const newFolder = join(tempHome(), 'not-yet');
  await t.rejects(recoverRootKey(out, 'a long enough escrow passphrasf', newFolder), DurabilityError);
  t.notOk(existsSync(newFolder), 'a folder the failed recovery made is removed again');
  const recovered = await recoverRootKey(out, Buffer.from(passphrase), home);
  t.equal(recovered.rootKeyCheckValue, escrowed.rootKeyCheckValue);
  t.equal(statSync(join(home, 'root.key')).mode & 0o777, 0o600);
  t.ok(readFileSync(join(home, 'root.key')).subarray(-32).equals(keyBytes), 'the same root key is back');
  await t.rejects(recoverRootKey(out, passphrase, home), /exists/, 'never replaces a root key file');

  const again = await Kms.open({ home });
  t.same(await checkSampleKeys(again, keys), [], 'every key works with the recovered root key');
  await again.close();
});

t.test('escrow refuses weak settings and recovery refuses another store', async (t) => {
  const a = tempHome();
  const b = tempHome();
  await (await Kms.open({ home: a })).close();
  await (await Kms.open({ home: b })).close();
  const dir = tempHome();
  await t.rejects(escrowRootKey(a, 'short', join(dir, 'x')), /at least 12/);
  await t.rejects(escrowRootKey(a, passphrase, join(dir, 'x'), { workFactor: 10 }), /workFactor/);
  const out = join(dir, 'a.escrow');
  await escrowRootKey(a, passphrase, out, { workFactor: 14 });
  await t.rejects(escrowRootKey(a, passphrase, out, { workFactor: 14 }), /exists/, 'never replaces an escrow file');
  rmSync(join(b, 'root.key'));
  await t.rejects(recoverRootKey(out, passphrase, b), /another root key/, "store b's key is not in a's escrow");
  t.throws(() => statSync(join(b, 'root.key')));
  await t.rejects(recoverRootKey(join(a, 'root.key'), passphrase, b), DurabilityError, 'a root key file is not an escrow file');
});
