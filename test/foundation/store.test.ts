// The key store: keys survive a restart and another process sees them; a wrong or missing root
// key refuses to open and alters nothing; no private key structure is ever stored in the clear
// or returned by an operation.
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, verify as nodeVerify } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import t from 'tap';

import { Kms, KeyStoreOpenError, type KeySpec, type KeyUsageType } from '../../src/index.js';
import { shapes } from '../../src/model/service-model.js';
import { tempHome } from '../helpers/backends.js';
import { rejectsAws } from '../helpers/kms-fixture.js';
import { findPrivateKeys } from '../helpers/private-key-scan.js';
import { collectWarnings, warningsOut } from '../helpers/warnings.js';

const childScript = fileURLToPath(new URL('../fixtures/sign-in-child.mjs', import.meta.url));

function digestOfFiles(home: string): string {
  const h = createHash('sha256');
  for (const f of readdirSync(home).sort()) h.update(f).update(readFileSync(join(home, f)));
  return h.digest('hex');
}

t.test('a signature made by another process before a restart verifies after it', async (t) => {
  const home = tempHome();
  let kms = await Kms.open({ home });
  const keyId = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  // Another process, with the first one still open, finds the key and signs.
  const sigB64 = execFileSync(process.execPath, [childScript, home, keyId, 'hello from a child'], { encoding: 'utf8' });
  await kms.close();
  kms = await Kms.open({ home });
  const sig = Buffer.from(sigB64, 'base64');
  const ok = await kms.verify({ KeyId: keyId, Message: Buffer.from('hello from a child'), Signature: sig, SigningAlgorithm: 'ECDSA_SHA_256' });
  t.equal(ok.SignatureValid, true);
  const pub = createPublicKey({ key: Buffer.from((await kms.getPublicKey({ KeyId: keyId })).PublicKey!), format: 'der', type: 'spki' });
  t.ok(nodeVerify('sha256', Buffer.from('hello from a child'), pub, sig), "Node's crypto verifies it too");
  await kms.close();
});

t.test('the root key file is created 0600 and the store refuses a wrong or missing one', async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home });
  await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
  await kms.close();
  t.equal(statSync(join(home, 'root.key')).mode & 0o777, 0o600);
  t.equal(statSync(join(home, 'store.sqlite3')).mode & 0o777, 0o600);

  const before = digestOfFiles(home);
  const rootKey = readFileSync(join(home, 'root.key'));
  renameSync(join(home, 'root.key'), join(home, 'root.key.saved'));
  await t.rejects(Kms.open({ home }), KeyStoreOpenError, 'missing root key refuses to open');
  t.throws(() => statSync(join(home, 'root.key')), 'no new root key was created');

  // A different, valid root key: refused by its check value.
  const other = tempHome();
  await (await Kms.open({ home: other })).close();
  writeFileSync(join(home, 'root.key'), readFileSync(join(other, 'root.key')), { mode: 0o600 });
  await t.rejects(Kms.open({ home }), /not the one this key store was created with/);
  writeFileSync(join(home, 'root.key'), Buffer.from('garbage'), { mode: 0o600 });
  await t.rejects(Kms.open({ home }), KeyStoreOpenError);

  renameSync(join(home, 'root.key.saved'), join(home, 'root.key'));
  t.ok(readFileSync(join(home, 'root.key')).equals(rootKey));
  t.same(readdirSync(home).sort(), ['audit.log', 'key-usage.sqlite3', 'root.key', 'store.sqlite3'], 'the refused opens made no file (no -wal or -shm left)');
  t.equal(digestOfFiles(home), before, 'and changed none');
  const reopened = await Kms.open({ home });
  t.equal((await reopened.listKeys()).Keys!.length, 1, 'the original root key opens the store again');
  await reopened.close();
});

t.test('a root key file that others can read is said at open, with its mode', async (t) => {
  const home = tempHome();
  await (await Kms.open({ home })).close();
  const warnings = collectWarnings(t);
  await (await Kms.open({ home })).close();
  await warningsOut();
  t.same(warnings, [], 'none for the 0600 file the store made');
  chmodSync(join(home, 'root.key'), 0o644);
  const kms = await Kms.open({ home });
  await warningsOut();
  t.equal(warnings.length, 1);
  t.match(warnings[0], /root\.key can be read by other users \(mode 0644\): it holds the root key.*chmod 600 it/);
  t.equal((await kms.listKeys()).Keys!.length, 0, 'and the store still opens');
  await kms.close();
  // What the mode allows is said as it is: a group that may write could replace the root key.
  for (const [mode, said] of [
    [0o620, 'can be written by other users (mode 0620)'],
    [0o666, 'can be read and written by other users (mode 0666)'],
    [0o711, undefined],
  ] as const) {
    chmodSync(join(home, 'root.key'), mode);
    warnings.length = 0;
    await (await Kms.open({ home })).close();
    await warningsOut();
    if (said === undefined) t.same(warnings, [], `none for mode ${mode.toString(8)}: execute bits give nothing away`);
    else t.match(warnings[0], said);
  }
});

const specs: [KeySpec, KeyUsageType][] = [
  ['RSA_2048', 'SIGN_VERIFY'],
  ['RSA_3072', 'ENCRYPT_DECRYPT'],
  ['ECC_NIST_P256', 'SIGN_VERIFY'],
  ['ECC_NIST_P384', 'KEY_AGREEMENT'],
  ['ECC_NIST_P521', 'SIGN_VERIFY'],
  ['ECC_SECG_P256K1', 'SIGN_VERIFY'],
  ['ECC_NIST_EDWARDS25519', 'SIGN_VERIFY'],
  ['SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'],
  ['HMAC_256', 'GENERATE_VERIFY_MAC'],
];

t.test('a store file SQLite cannot open: KeyStoreOpenError naming the file and the likely cause', async (t) => {
  // Root may write anywhere, so the unopenable file is a folder in its place; a read-only or full
  // file system gives SQLITE_READONLY or SQLITE_FULL the same way.
  const home = tempHome();
  mkdirSync(join(home, 'store.sqlite3'));
  const err = (await Kms.open({ home }).then(
    () => undefined,
    (e: unknown) => e,
  )) as Error | undefined;
  t.equal(err?.name, 'KeyStoreOpenError');
  t.match(String(err?.message), `cannot open the key store ${join(home, 'store.sqlite3')}: unable to open database file (SQLITE_CANTOPEN); the folder must exist`);
});

t.test('an open that fails after the store is open closes what it opened', async (t) => {
  const fds = () => readdirSync('/proc/self/fd').length;
  const home = tempHome();
  await (await Kms.open({ home })).close();
  mkdirSync(join(home, 'audit-folder'));
  const before = fds();
  // The audit log is opened after the store and the usage file: a folder in its place fails it.
  await t.rejects(Kms.open({ home, audit: { path: join(home, 'audit-folder') } }), /cannot open the audit log .*audit-folder/);
  t.equal(fds(), before, 'no file left open');
  const again = await Kms.open({ home });
  t.same((await again.listKeys()).Keys, [], 'the store opens again');
  await again.close();
});

t.test('no private key structure in the store files or in any operation output', async (t) => {
  // The scanner itself must find a real private key, or this test proves nothing.
  const probe = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'der', type: 'pkcs8' });
  t.ok(findPrivateKeys(Buffer.concat([Buffer.alloc(7), probe, Buffer.alloc(5)])).length > 0, 'the scanner finds a PKCS#8 key');

  const home = tempHome();
  const kms = await Kms.open({ home });
  const outputs: unknown[] = [];
  for (const [spec, usage] of specs) {
    const created = await kms.createKey({ KeySpec: spec, KeyUsage: usage });
    const keyId = created.KeyMetadata!.KeyId!;
    outputs.push(created, await kms.describeKey({ KeyId: keyId }));
    if (spec !== 'SYMMETRIC_DEFAULT' && !spec.startsWith('HMAC')) outputs.push(await kms.getPublicKey({ KeyId: keyId }));
  }
  outputs.push(await kms.listKeys());
  await kms.close();
  for (const f of readdirSync(home)) {
    if (f === 'root.key') continue;
    t.same(findPrivateKeys(readFileSync(join(home, f))), [], `${f} holds no private key`);
  }
  const blobs: Uint8Array[] = [];
  const collect = (v: unknown): void => {
    if (v instanceof Uint8Array) blobs.push(v);
    else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object') Object.values(v).forEach(collect);
  };
  collect(outputs);
  t.ok(blobs.length > 0);
  for (const b of blobs) t.same(findPrivateKeys(b), [], 'no output carries a private key');
});

t.test('CreateKey metadata has every field of AWS examples, algorithms in AWS order', async (t) => {
  const kms = await Kms.open({ home: tempHome() });
  t.teardown(() => kms.close());
  const rsa = (await kms.createKey({ KeySpec: 'RSA_4096', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!;
  t.same(Object.keys(rsa).sort(), ['AWSAccountId', 'Arn', 'CreationDate', 'CustomerMasterKeySpec', 'Description', 'Enabled', 'EncryptionAlgorithms', 'KeyId', 'KeyManager', 'KeySpec', 'KeyState', 'KeyUsage', 'MultiRegion', 'Origin'].sort());
  t.match(rsa, { AWSAccountId: '111122223333', CustomerMasterKeySpec: 'RSA_4096', Description: '', Enabled: true, KeyManager: 'CUSTOMER', KeyState: 'Enabled', MultiRegion: false, Origin: 'AWS_KMS' });
  t.match(rsa.KeyId!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.equal(rsa.Arn, `arn:aws:kms:us-east-1:111122223333:key/${rsa.KeyId}`);
  t.ok(rsa.CreationDate instanceof Date);
  const signer = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', Description: 'signer', Tags: [{ TagKey: 'a', TagValue: 'b' }] })).KeyMetadata!;
  t.same(signer.SigningAlgorithms, ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512', 'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512']);
  t.equal(signer.Description, 'signer');
  const p521 = (await kms.createKey({ KeySpec: 'ECC_NIST_P521', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  t.same(p521.SigningAlgorithms, ['ECDSA_SHA_512']);
  const legacy = (await kms.createKey({ CustomerMasterKeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  t.equal(legacy.KeySpec, 'ECC_NIST_P256', 'the deprecated CustomerMasterKeySpec is accepted');
  await rejectsAws(t, kms.createKey({ CustomerMasterKeySpec: 'RSA_2048', KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }), 'ValidationException');
  await rejectsAws(t, kms.createKey({ KeySpec: 'ECC_NIST_P256' }), 'ValidationException', 'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.');
  await rejectsAws(t, kms.createKey({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'KEY_AGREEMENT' }), 'ValidationException', 'KeyUsage KEY_AGREEMENT is not compatible with KeySpec ECC_SECG_P256K1');
  await rejectsAws(t, kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'GENERATE_VERIFY_MAC' }), 'ValidationException', 'KeyUsage GENERATE_VERIFY_MAC is not compatible with KeySpec RSA_2048');
  const described = (await kms.describeKey({ KeyId: signer.Arn! })).KeyMetadata!;
  t.same(described, signer, 'DescribeKey by ARN returns what CreateKey returned');
});

t.test('the deprecated CustomerMasterKeySpec has the KeySpec value for every spec, beyond its enum too', async (t) => {
  // The model: "The KeySpec and CustomerMasterKeySpec fields have the same value"; real output for
  // an ML-DSA key has "CustomerMasterKeySpec": "ML_DSA_65" (AWS Security Blog, ML-DSA in AWS KMS).
  const kms = await Kms.open({ home: tempHome() });
  t.teardown(() => kms.close());
  const legacy = new Set(shapes.CustomerMasterKeySpec!.enum);
  t.notOk(legacy.has('ECC_NIST_EDWARDS25519'), 'the model has Ed25519 as a KeySpec only');
  t.ok(specs.some(([spec]) => !legacy.has(spec)), 'specs beyond the enum are among those checked');
  for (const [spec, usage] of specs) {
    const created = (await kms.createKey({ KeySpec: spec, KeyUsage: usage })).KeyMetadata!;
    const described = (await kms.describeKey({ KeyId: created.KeyId! })).KeyMetadata!;
    const pub = usage === 'SIGN_VERIFY' || usage === 'KEY_AGREEMENT' || (usage === 'ENCRYPT_DECRYPT' && spec !== 'SYMMETRIC_DEFAULT') ? await kms.getPublicKey({ KeyId: created.KeyId! }) : undefined;
    t.equal(created.CustomerMasterKeySpec, spec, `${spec}: CreateKey`);
    t.equal(described.CustomerMasterKeySpec, spec, `${spec}: DescribeKey`);
    if (pub) t.equal(pub.CustomerMasterKeySpec, spec, `${spec}: GetPublicKey`);
  }
});

t.test('ListKeys pages with Limit, Marker and Truncated', async (t) => {
  const kms = await Kms.open({ home: tempHome() });
  t.teardown(() => kms.close());
  const created: string[] = [];
  for (let i = 0; i < 7; i++) created.push((await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!);
  const seen: string[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    const page = await kms.listKeys({ Limit: 3, Marker: marker });
    pages++;
    seen.push(...page.Keys!.map((k) => k.KeyId!));
    for (const k of page.Keys!) t.equal(k.KeyArn, kms.arns.key(k.KeyId!));
    t.equal(page.Truncated, page.NextMarker !== undefined);
    marker = page.NextMarker;
  } while (marker);
  t.equal(pages, 3);
  t.same(seen, created, 'every key once, in creation order');
  await rejectsAws(t, kms.listKeys({ Marker: 'bogus' }), 'InvalidMarkerException');
  // Markers that look like ours but that we never made are refused, not read as the first page.
  for (const junk of ['ekms1:', 'ekms1:0', 'ekms1:0x1', 'ekms1: 1', 'ekms1:1e3', 'ekms1:-1', 'ekms1:01'])
    await rejectsAws(t, kms.listKeys({ Marker: junk }), 'InvalidMarkerException');
  await rejectsAws(t, kms.listKeys({ Limit: 0 }), 'ValidationException', "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1");
});

t.test("another program's SQLite database named store.sqlite3 is left alone", async (t) => {
  const home = tempHome('ekms-foreign-');
  const path = join(home, 'store.sqlite3');
  const db = new Database(path);
  db.exec('CREATE TABLE app_data (a); INSERT INTO app_data VALUES (1)');
  db.close();
  const before = readFileSync(path);
  await t.rejects(Kms.open({ home, audit: false }), { name: KeyStoreOpenError.name, message: /is a SQLite database of another program/ });
  t.same(readdirSync(home), ['store.sqlite3'], 'nothing made beside it (no root key)');
  t.ok(readFileSync(path).equals(before), 'the database is unchanged');
  // An empty file (a first open that stopped before its schema) is still a store to make.
  const empty = tempHome('ekms-foreign-');
  writeFileSync(join(empty, 'store.sqlite3'), '');
  const kms = await Kms.open({ home: empty, audit: false });
  await kms.createKey({});
  await kms.close();
});

t.test('a root key file that is there but cannot be read is not reported as one to create', async (t) => {
  const home = tempHome('ekms-rootkey-');
  mkdirSync(join(home, 'root.key'));
  await t.rejects(Kms.open({ home, audit: false }), { name: KeyStoreOpenError.name, message: /^cannot read the root key .*root\.key: / });
});
