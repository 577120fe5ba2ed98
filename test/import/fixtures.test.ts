// Fixtures: one fixtures file, two fresh stores: equal key ids, aliases and public keys, and
// ciphertexts of one store decrypt in the other; a reopen creates nothing twice and gives back
// material that was deleted; stores not created for testing refuse fixtures; EKMS_FIXTURES and
// EKMS_TESTING; YAML; mistakes in the file fail the open with a message that names them.
import { createHmac, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t from 'tap';

import { Kms, KeyStoreOpenError } from '../../src/index.js';
import { cleanupLater, tempHome } from '../helpers/backends.js';
import { eachBackend } from '../helpers/kms-fixture.js';
import { openOutside } from './helpers.js';

const ids = {
  signer: '0b1c2d3e-4f50-4a61-8b72-839495a6b7c8',
  rsa: '1a2b3c4d-5e6f-4a70-8b81-92a3b4c5d6e7',
  aes: '2b3c4d5e-6f70-4b81-9c92-a3b4c5d6e7f8',
  hmac: '3c4d5e6f-7081-4c92-8da3-b4c5d6e7f809',
  ed: 'mrk-4d5e6f708192a3b4c5d6e7f8091a2b3c',
};

function writeFixtures() {
  const dir = mkdtempSync(join(tmpdir(), 'ekms-fixtures-'));
  cleanupLater(dir);
  const signer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  const aes = randomBytes(32);
  const hmac = randomBytes(40);
  // PKCS#1 PEM in a file, DER PKCS#8 in another: both forms are accepted.
  writeFileSync(join(dir, 'rsa.pem'), rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }));
  writeFileSync(join(dir, 'ed.der'), ed.privateKey.export({ format: 'der', type: 'pkcs8' }));
  const file = {
    Keys: [
      {
        KeyId: ids.signer,
        KeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        Description: 'the test signer',
        Aliases: ['alias/test/signer', 'alias/test/signer-2'],
        Tags: [{ TagKey: 'purpose', TagValue: 'tests' }],
        Material: { Pem: signer.privateKey.export({ format: 'pem', type: 'sec1' }) as string },
      },
      { KeyId: ids.rsa, KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT', Material: { PemFile: 'rsa.pem' } },
      { KeyId: ids.aes, Aliases: ['alias/test/data'], Material: { Hex: aes.toString('hex') } },
      { KeyId: ids.hmac, KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC', Material: { Base64: hmac.toString('base64') } },
      { KeyId: ids.ed, KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY', Material: { File: 'ed.der' } },
    ],
  };
  const path = join(dir, 'fixtures.json');
  writeFileSync(path, JSON.stringify(file, null, 2));
  return { dir, path, signer, rsa, ed, aes, hmac, file };
}

const fx = writeFixtures();

eachBackend('two fresh stores with one fixtures file: the same keys', async (t, _kms, backend) => {
  const a = await backend.open({ testing: true, fixtures: fx.path });
  t.teardown(() => a.close());
  const b = await backend.open({ testing: true, fixtures: fx.path });
  t.teardown(() => b.close());
  for (const kms of [a, b]) {
    const keys = (await kms.listKeys({})).Keys!.map((k) => k.KeyId).sort();
    t.same(keys, Object.values(ids).sort(), 'exactly the fixture keys, with their ids');
    const signer = (await kms.describeKey({ KeyId: 'alias/test/signer' })).KeyMetadata!;
    t.match(signer, { KeyId: ids.signer, KeyState: 'Enabled', Origin: 'EXTERNAL', Description: 'the test signer', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    t.equal((await kms.describeKey({ KeyId: 'alias/test/signer-2' })).KeyMetadata!.KeyId, ids.signer);
    t.same(await kms.listResourceTags({ KeyId: ids.signer }), { Tags: [{ TagKey: 'purpose', TagValue: 'tests' }], Truncated: false });
    t.match((await kms.describeKey({ KeyId: ids.ed })).KeyMetadata!, { MultiRegion: true, KeySpec: 'ECC_NIST_EDWARDS25519' });
  }
  for (const [id, pair] of [
    [ids.signer, fx.signer],
    [ids.rsa, fx.rsa],
    [ids.ed, fx.ed],
  ] as const) {
    const expected = pair.publicKey.export({ format: 'der', type: 'spki' });
    t.same(Buffer.from((await a.getPublicKey({ KeyId: id })).PublicKey!), expected, `${id}: the fixture's public key`);
    t.same(Buffer.from((await b.getPublicKey({ KeyId: id })).PublicKey!), expected, `${id}: the same in the other store`);
  }
  const message = Buffer.from('signed in a test');
  const sig = (await a.sign({ KeyId: 'alias/test/signer', Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })).Signature!;
  t.ok(verify('sha256', message, fx.signer.publicKey, Buffer.from(sig)), 'signatures verify with the fixture public key');
  t.equal((await b.verify({ KeyId: ids.signer, Message: message, Signature: sig, SigningAlgorithm: 'ECDSA_SHA_256' })).SignatureValid, true);
  const mac = (await b.generateMac({ KeyId: ids.hmac, Message: message, MacAlgorithm: 'HMAC_SHA_256' })).Mac!;
  t.same(Buffer.from(mac), createHmac('sha256', fx.hmac).update(message).digest(), 'HMAC with the fixture key');

  // Symmetric fixtures: same key id and material give the same material id, so a ciphertext of
  // one store decrypts in the other (and opens with the fixture key outside).
  const blob = (await a.encrypt({ KeyId: 'alias/test/data', Plaintext: Buffer.from('shared'), EncryptionContext: { k: 'v' } })).CiphertextBlob!;
  t.same(openOutside(blob, fx.aes, { k: 'v' }).plaintext, Buffer.from('shared'));
  const there = await b.decrypt({ CiphertextBlob: blob, EncryptionContext: { k: 'v' } });
  t.equal(Buffer.from(there.Plaintext!).toString(), 'shared', 'a ciphertext of one store decrypts in the other');
  t.equal(there.KeyId, `arn:aws:kms:us-east-1:111122223333:key/${ids.aes}`);
});

eachBackend('reopening with the fixtures creates nothing twice and restores lost material', async (t, _kms, backend) => {
  const home = tempHome();
  cleanupLater(home);
  let kms = await backend.open({ home, testing: true, fixtures: fx.path });
  const blob = (await kms.encrypt({ KeyId: ids.aes, Plaintext: Buffer.from('x') })).CiphertextBlob!;
  await kms.deleteImportedKeyMaterial({ KeyId: ids.aes });
  t.equal((await kms.describeKey({ KeyId: ids.aes })).KeyMetadata!.KeyState, 'PendingImport');
  await kms.close();
  // `testing` on a reopen is not needed: the store was marked when it was created.
  kms = await backend.open({ home, fixtures: fx.path });
  t.teardown(() => kms.close());
  t.equal((await kms.listKeys({})).Keys!.length, Object.keys(ids).length, 'no key made twice');
  t.equal((await kms.listAliases({})).Aliases!.filter((a) => a.AliasName!.startsWith('alias/test/')).length, 3);
  t.equal((await kms.describeKey({ KeyId: ids.aes })).KeyMetadata!.KeyState, 'Enabled', 'the material is back');
  t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: blob })).Plaintext!).toString(), 'x');
});

eachBackend('a fixture refused for its material makes no key; a store key whose declared material changed is refused', async (t, _kms, backend) => {
  const home = tempHome();
  cleanupLater(home);
  const write = (name: string, keys: unknown[]) => {
    const path = join(fx.dir, name);
    writeFileSync(path, JSON.stringify({ Keys: keys }));
    return path;
  };
  const pem = (key: ReturnType<typeof generateKeyPairSync>['privateKey']) => ({ Pem: key.export({ format: 'pem', type: 'pkcs8' }) as string });
  const rsaId = '5e6f7081-92a3-4b4c-8d6e-7f8091a2b3c4';
  // A 2048-bit key declared as RSA_4096: refused, and no key is left to block the corrected file.
  const wrongSize = write('wrong-size.json', [{ KeyId: rsaId, KeySpec: 'RSA_4096', KeyUsage: 'SIGN_VERIFY', Material: pem(fx.rsa.privateKey) }]);
  await t.rejects(backend.open({ home, testing: true, fixtures: wrongSize }), /must be a 4096-bit RSA key|4096/);
  const right = write('right-size.json', [{ KeyId: rsaId, KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', Material: pem(fx.rsa.privateKey) }]);
  let kms = await backend.open({ home, testing: true, fixtures: right });
  t.equal((await kms.describeKey({ KeyId: rsaId })).KeyMetadata!.KeySpec, 'RSA_2048', 'the corrected fixture made its key');
  await kms.close();

  // The same key id declared with other material: the key keeps its material, so the open says so.
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const changed = write('changed.json', [{ KeyId: rsaId, KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', Material: pem(other.privateKey) }]);
  await t.rejects(backend.open({ home, fixtures: changed }), /holds other key material than the fixture declares/);
  kms = await backend.open({ home, fixtures: right });
  t.teardown(() => kms.close());
  const { PublicKey } = await kms.getPublicKey({ KeyId: rsaId });
  t.same(Buffer.from(PublicKey!), fx.rsa.publicKey.export({ format: 'der', type: 'spki' }), 'the declared material, as before');
});

t.test('stores not created for testing refuse fixtures', async (t) => {
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();
  await t.rejects(Kms.open({ home: tempHome(), fixtures: fx.path }), KeyStoreOpenError);
  t.equal(fds(), before, 'the refused open closed what it opened (store, usage file, audit log)');
  const fresh = tempHome();
  const err = (await Kms.open({ home: fresh, fixtures: fx.path, audit: false }).catch((e: unknown) => e)) as Error;
  t.match(err.message, /not created for testing/);
  t.same(readdirSync(fresh), [], 'nothing was made: the home can still become a testing store');
  const testing = await Kms.open({ home: fresh, testing: true, fixtures: fx.path, audit: false });
  t.equal((await testing.describeKey({ KeyId: 'alias/test/signer' })).KeyMetadata!.KeyId, ids.signer, 'as it does, with its fixtures');
  await testing.close();
  // A production store stays one: `testing` on a later open does not mark it.
  const home = tempHome();
  const prod = await Kms.open({ home, audit: false });
  await prod.close();
  await t.rejects(Kms.open({ home, testing: true, fixtures: fx.path, audit: false }), /not created for testing/);
  const again = await Kms.open({ home, audit: false });
  t.same((await again.listKeys({})).Keys, [], 'and nothing was created in it');
  await again.close();
});

t.test('EKMS_FIXTURES and EKMS_TESTING', async (t) => {
  const saved = { fixtures: process.env.EKMS_FIXTURES, testing: process.env.EKMS_TESTING };
  t.teardown(() => {
    for (const [name, value] of [
      ['EKMS_FIXTURES', saved.fixtures],
      ['EKMS_TESTING', saved.testing],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  process.env.EKMS_FIXTURES = fx.path;
  process.env.EKMS_TESTING = '1';
  const kms = await Kms.open({ home: tempHome(), audit: false });
  t.equal((await kms.describeKey({ KeyId: 'alias/test/signer' })).KeyMetadata!.KeyId, ids.signer);
  await kms.close();
  delete process.env.EKMS_TESTING;
  await t.rejects(Kms.open({ home: tempHome(), audit: false }), /not created for testing/);
});

t.test('YAML fixtures', async (t) => {
  const path = join(fx.dir, 'fixtures.yaml');
  writeFileSync(
    path,
    [
      'Keys:',
      `  - KeyId: ${ids.aes}`,
      '    Aliases: [alias/yaml/data]',
      '    Material:',
      `      Hex: ${fx.aes.toString('hex')}`,
      '',
    ].join('\n'),
  );
  const kms = await Kms.open({ home: tempHome(), testing: true, fixtures: path, audit: false });
  t.teardown(() => kms.close());
  const blob = (await kms.encrypt({ KeyId: 'alias/yaml/data', Plaintext: Buffer.from('y') })).CiphertextBlob!;
  t.same(openOutside(blob, fx.aes).plaintext, Buffer.from('y'));
});

t.test('mistakes in a fixtures file fail the open and name the mistake', async (t) => {
  const bad = (name: string, content: unknown) => {
    const path = join(fx.dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  const open = (path: string) => Kms.open({ home: tempHome(), testing: true, fixtures: path, audit: false });
  const aes = { Hex: fx.aes.toString('hex') };
  const cases: [string, unknown, RegExp][] = [
    ['not-json.json', '{', /not valid JSON/],
    // The mistake right after a key's material: the parsers' messages quote the text around it.
    ['broken-after-material.json', `{ "Keys": [ { "KeyId": "${ids.aes}", "Material": { "Hex": "${fx.aes.toString('hex')}" x } } ] }`, /^cannot apply the fixtures file .*: not valid JSON( at line 1, column \d+)?$/],
    ['broken-after-material.yaml', `Keys:\n  - KeyId: ${ids.aes}\n    Material: { Hex: ${fx.aes.toString('hex')}\n`, /: not valid YAML at line \d+, column \d+ \([A-Z_]+\)$/],
    ['no-keys.json', {}, /"Keys" list/],
    ['bad-id.json', { Keys: [{ KeyId: 'not-a-key-id', Material: aes }] }, /KeyId must be a key id/],
    ['twice.json', { Keys: [{ KeyId: ids.aes, Material: aes }, { KeyId: ids.aes, Material: aes }] }, /declared twice/],
    ['no-usage.json', { Keys: [{ KeyId: ids.rsa, KeySpec: 'RSA_2048', Material: aes }] }, /KeyUsage is required/],
    ['unknown-field.json', { Keys: [{ KeyId: ids.aes, Material: aes, Origin: 'AWS_KMS' }] }, /unknown field Origin/],
    ['short-aes.json', { Keys: [{ KeyId: ids.aes, Material: { Hex: 'abcd' } }] }, /Material: key material for SYMMETRIC_DEFAULT must be 256 bits \(32 bytes\) long, not 2 bytes/],
    ['wrong-curve.json', { Keys: [{ KeyId: ids.signer, KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY', Material: { Pem: fx.signer.privateKey.export({ format: 'pem', type: 'pkcs8' }) } }] }, /Material: key material for ECC_NIST_P384 must be a key on curve P-384/],
    ['plain-id-multi-region.json', { Keys: [{ KeyId: ids.aes, MultiRegion: true, Material: aes }] }, /MultiRegion true does not fit its KeyId: multi-Region key ids, and only they, start with mrk-/],
    ['mrk-single-region.json', { Keys: [{ KeyId: ids.ed, KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY', MultiRegion: false, Material: { File: 'ed.der' } }] }, /MultiRegion false does not fit its KeyId/],
    ['pem-for-aes.json', { Keys: [{ KeyId: ids.aes, Material: { PemFile: 'rsa.pem' } }] }, /raw key bytes, not PEM/],
    ['missing-file.json', { Keys: [{ KeyId: ids.aes, Material: { File: 'nope.bin' } }] }, /cannot read nope\.bin/],
    ['aws-alias.json', { Keys: [{ KeyId: ids.aes, Aliases: ['alias/aws/s3'], Material: aes }] }, /alias names/],
  ];
  for (const [name, content, message] of cases) {
    const err = (await open(bad(name, content)).catch((e: unknown) => e)) as Error;
    t.type(err, KeyStoreOpenError, name);
    t.match(err.message, message, name);
    // Any part of it: parsers quote a line cut short ("81c772485694…").
    t.notMatch(err.message, new RegExp(fx.aes.toString('hex').slice(0, 16)), `${name}: no key material in the message`);
  }
  // An alias that already names another key of the store.
  const home = tempHome();
  const first = await Kms.open({ home, testing: true, audit: false });
  const other = (await first.createKey({})).KeyMetadata!;
  await first.createAlias({ AliasName: 'alias/test/data', TargetKeyId: other.KeyId! });
  await first.close();
  await t.rejects(Kms.open({ home, fixtures: fx.path, audit: false }), /alias\/test\/data already names another key/);
});
