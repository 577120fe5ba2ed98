// `ekms import-key`: a PEM private key or raw key bytes become an EXTERNAL key, in the local
// store or through an endpoint; the key then signs / encrypts with exactly that key (checked
// with Node's crypto); mistakes are usage errors (252) or AWS errors (254).
import { generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { startServer } from '../../src/endpoint/index.js';
import { Kms } from '../../src/index.js';
import { backends, cleanupLater, tempHome } from '../helpers/backends.js';
import { ekms } from '../cli/run.js';
import { openOutside } from './helpers.js';

interface Described {
  KeyMetadata: { KeyId: string; KeySpec: string; KeyState: string; Origin: string; ExpirationModel?: string; ValidTo?: string; Description: string };
}

t.test('a PEM private key and a raw AES key, into the local store', async (t) => {
  const home = tempHome();
  cleanupLater(home);
  const pair = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  writeFileSync(join(home, 'signer.pem'), pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  const signer = await ekms(['import-key', '--key-spec', 'ECC_NIST_P384', '--key-usage', 'SIGN_VERIFY', '--key-file', join(home, 'signer.pem'), '--alias', 'alias/cli-signer', '--description', 'from a PEM file', '--home', home]);
  t.equal(signer.code, 0, signer.stderr);
  const md = (JSON.parse(signer.stdout) as Described).KeyMetadata;
  t.match(md, { KeySpec: 'ECC_NIST_P384', KeyState: 'Enabled', Origin: 'EXTERNAL', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', Description: 'from a PEM file' });

  const aes = randomBytes(32);
  writeFileSync(join(home, 'aes.bin'), aes);
  const validTo = new Date(Date.now() + 30 * 86_400_000);
  const data = await ekms(['import-key', '--key-spec', 'SYMMETRIC_DEFAULT', '--key-file', join(home, 'aes.bin'), '--valid-to', validTo.toISOString(), '--home', home, '--query', 'KeyMetadata.KeyId', '--output', 'text']);
  t.equal(data.code, 0, data.stderr);
  const dataKeyId = data.stdout.trim();

  const kms = await Kms.open({ home, audit: false });
  t.teardown(() => kms.close());
  t.equal((await kms.describeKey({ KeyId: 'alias/cli-signer' })).KeyMetadata!.KeyId, md.KeyId);
  t.same(Buffer.from((await kms.getPublicKey({ KeyId: md.KeyId })).PublicKey!), pair.publicKey.export({ format: 'der', type: 'spki' }));
  const message = Buffer.from('signed by an imported key');
  const sig = (await kms.sign({ KeyId: 'alias/cli-signer', Message: message, SigningAlgorithm: 'ECDSA_SHA_384' })).Signature!;
  t.ok(verify('sha384', message, pair.publicKey, Buffer.from(sig)), 'the signature verifies with the PEM file\'s public key');
  const meta = (await kms.describeKey({ KeyId: dataKeyId })).KeyMetadata!;
  t.equal(meta.ExpirationModel, 'KEY_MATERIAL_EXPIRES');
  t.same(meta.ValidTo, validTo);
  const blob = (await kms.encrypt({ KeyId: dataKeyId, Plaintext: Buffer.from('z') })).CiphertextBlob!;
  t.same(openOutside(blob, aes).plaintext, Buffer.from('z'), 'encrypts under the raw key of the file');
});

t.test('--valid-to that names no time zone is UTC, as in import-key-material, whatever the machine\'s zone', async (t) => {
  const home = tempHome();
  cleanupLater(home);
  writeFileSync(join(home, 'aes.bin'), randomBytes(32));
  const zone = process.env.TZ;
  process.env.TZ = 'Asia/Tokyo'; // nine hours ahead of UTC: a local reading would be off by that
  t.teardown(() => {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  });
  const day = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10); // within AWS's 365 days
  const run = await ekms(['import-key', '--key-spec', 'SYMMETRIC_DEFAULT', '--key-file', join(home, 'aes.bin'), '--valid-to', `${day}T00:00:00`, '--home', home, '--query', 'KeyMetadata.KeyId', '--output', 'text']);
  t.equal(run.code, 0, run.stderr);
  const kms = await Kms.open({ home, audit: false });
  t.teardown(() => kms.close());
  t.same((await kms.describeKey({ KeyId: run.stdout.trim() })).KeyMetadata!.ValidTo, new Date(`${day}T00:00:00Z`));
  const bad = await ekms(['import-key', '--key-spec', 'SYMMETRIC_DEFAULT', '--key-file', join(home, 'aes.bin'), '--valid-to', 'soon', '--home', home]);
  t.equal(bad.code, 252, 'not a date: a refused command line');
});

t.test('RSA PKCS#1 PEM through an endpoint', async (t) => {
  const [backend] = backends();
  const kms = await backend!.open();
  const server = await startServer(kms, { port: 0, auth: 'sigv4', accessKeys: new Map([['AKIDIMP', 'import-secret']]) });
  t.teardown(async () => {
    await server.close();
    await kms.close();
  });
  const dir = tempHome();
  cleanupLater(dir);
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'rsa.pem'), pair.privateKey.export({ format: 'pem', type: 'pkcs1' }));
  const env = { AWS_ACCESS_KEY_ID: 'AKIDIMP', AWS_SECRET_ACCESS_KEY: 'import-secret', AWS_REGION: 'us-east-1' };
  const out = await ekms(['import-key', '--key-spec', 'RSA_2048', '--key-usage', 'SIGN_VERIFY', '--key-file', join(dir, 'rsa.pem'), '--endpoint-url', server.url], env);
  t.equal(out.code, 0, out.stderr);
  const keyId = (JSON.parse(out.stdout) as Described).KeyMetadata.KeyId;
  t.same(Buffer.from((await kms.getPublicKey({ KeyId: keyId })).PublicKey!), pair.publicKey.export({ format: 'der', type: 'spki' }), 'the key is in the served store');
});

t.test('mistakes', async (t) => {
  const home = tempHome();
  cleanupLater(home);
  const pem = join(home, 'p256.pem');
  writeFileSync(pem, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
  const help = await ekms(['import-key', 'help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--key-file/);
  const missing = await ekms(['import-key', '--key-spec', 'ECC_NIST_P256', '--home', home]);
  t.equal(missing.code, 252);
  t.match(missing.stderr, /the following arguments are required: --key-file/);
  const pemForAes = await ekms(['import-key', '--key-spec', 'SYMMETRIC_DEFAULT', '--key-file', pem, '--home', home]);
  t.equal(pemForAes.code, 252);
  t.match(pemForAes.stderr, /raw key bytes, not PEM/);
  const notAKey = join(home, 'junk');
  writeFileSync(notAKey, 'not a key');
  const junk = await ekms(['import-key', '--key-spec', 'ECC_NIST_P256', '--key-usage', 'SIGN_VERIFY', '--key-file', notAKey, '--home', home]);
  t.equal(junk.code, 252);
  t.notMatch(junk.stderr, /not a key/, 'the file\'s contents are not echoed');
  const wrongCurve = await ekms(['import-key', '--key-spec', 'ECC_NIST_P384', '--key-usage', 'SIGN_VERIFY', '--key-file', pem, '--home', home]);
  t.equal(wrongCurve.code, 254);
  t.match(wrongCurve.stderr, /An error occurred \(IncorrectKeyMaterialException\) when calling the ImportKeyMaterial operation/);
  const noUsage = await ekms(['import-key', '--key-spec', 'ECC_NIST_P256', '--key-file', pem, '--home', home]);
  t.equal(noUsage.code, 254);
  t.match(noUsage.stderr, /ValidationException.*CreateKey/);
  // An --alias CreateAlias would refuse stops the command before a key is made.
  const aes = join(home, 'aes.bin');
  writeFileSync(aes, randomBytes(32));
  const keysBefore = (await ekms(['list-keys', '--home', home, '--query', 'length(Keys)'])).stdout.trim();
  const noPrefix = await ekms(['import-key', '--key-spec', 'SYMMETRIC_DEFAULT', '--key-file', aes, '--alias', 'oops', '--home', home]);
  t.equal(noPrefix.code, 252);
  t.match(noPrefix.stderr, /--alias: 'oops' is not a name for a new alias.*nothing was imported/);
  const createdKey = await ekms(['create-key', '--home', home, '--query', 'KeyMetadata.KeyId', '--output', 'text']);
  t.equal(createdKey.code, 0, createdKey.stderr);
  const made = createdKey.stdout.trim();
  t.equal((await ekms(['create-alias', '--alias-name', 'alias/taken', '--target-key-id', made, '--home', home])).code, 0);
  const taken = await ekms(['import-key', '--key-spec', 'SYMMETRIC_DEFAULT', '--key-file', aes, '--alias', 'alias/taken', '--home', home]);
  t.equal(taken.code, 252);
  t.match(taken.stderr, /alias\/taken exists already .*nothing was imported/);
  t.equal((await ekms(['list-keys', '--home', home, '--query', 'length(Keys)'])).stdout.trim(), String(Number(keysBefore) + 1), 'only the create-key made a key');
  const badRegion = await ekms(['import-key', '--key-spec', 'SYMMETRIC_DEFAULT', '--key-file', aes, '--endpoint-url', 'http://127.0.0.1:9', '--region', 'not a region!']);
  t.equal(badRegion.code, 255);
  t.match(badRegion.stderr, /Provided region_name 'not a region!' doesn't match a supported format\./);
});
