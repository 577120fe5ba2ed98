// ML-DSA keys (FIPS 204), where the addon's OpenSSL has them (3.5 on: Debian 13): created, signed
// with RAW messages and with EXTERNAL_MU, and verified by another verifier: Node's crypto where it
// has ML-DSA (Node 24), else the system's `openssl` command. μ is computed here, from FIPS 204
// §6.2, not by the code under test. Where OpenSSL lacks ML-DSA (Debian 12), the keys are refused
// with the reason, as any key spec we cannot offer is.
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import tap from 'tap';

import { Kms, native, type KeySpec } from '../../src/index.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';

type Test = typeof tap;

const levels: [KeySpec, number, number][] = [
  // spec, public key bytes, signature bytes (FIPS 204 table 2)
  ['ML_DSA_44', 1312, 2420],
  ['ML_DSA_65', 1952, 3309],
  ['ML_DSA_87', 2592, 4627],
];

/** μ = SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || M, 64): pure ML-DSA, empty context (FIPS 204 §6.2, §5.2). */
function mu(publicKey: Buffer, message: Buffer): Buffer {
  const tr = createHash('shake256', { outputLength: 64 }).update(publicKey).digest();
  return createHash('shake256', { outputLength: 64 }).update(tr).update(Buffer.from([0, 0])).update(message).digest();
}

/** Verifies with Node's crypto where it has ML-DSA, else with the `openssl` command; says which. */
function independentVerify(spki: Uint8Array, message: Buffer, signature: Uint8Array): { ok: boolean; by: string } {
  try {
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType?.startsWith('ml-dsa')) return { ok: nodeVerify(null, message, key, signature), by: `Node ${process.version}'s crypto` };
  } catch {
    // this Node does not know ML-DSA keys: the openssl command below
  }
  const dir = mkdtempSync(join(tmpdir(), 'ekms-ml-dsa-'));
  try {
    writeFileSync(join(dir, 'pub.der'), spki);
    writeFileSync(join(dir, 'msg'), message);
    writeFileSync(join(dir, 'sig'), signature);
    const args = ['pkeyutl', '-verify', '-pubin', '-keyform', 'DER', '-inkey', join(dir, 'pub.der'), '-rawin', '-in', join(dir, 'msg'), '-sigfile', join(dir, 'sig')];
    let ok = true;
    try {
      execFileSync('openssl', args, { stdio: 'pipe' });
    } catch {
      ok = false;
    }
    const version = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
    return { ok, by: `the openssl command (${version})` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function signAndCheck(t: Test, kms: Kms, spec: KeySpec, pkLen: number, sigLen: number, origin: 'AWS_KMS' | undefined): Promise<void> {
  const { KeyMetadata } = await kms.createKey({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY', ...(origin ? { Origin: origin } : {}) });
  t.equal(KeyMetadata!.KeySpec, spec);
  t.same(KeyMetadata!.SigningAlgorithms, ['ML_DSA_SHAKE_256'], `${spec}: its one signing algorithm`);
  const keyId = KeyMetadata!.KeyId!;
  const pub = await kms.getPublicKey({ KeyId: keyId });
  t.same(pub.SigningAlgorithms, ['ML_DSA_SHAKE_256']);
  const spki = Buffer.from(pub.PublicKey!);
  const raw = spki.subarray(spki.length - pkLen);

  const message = Buffer.from(`a message for ${spec}`);
  const signed = await kms.sign({ KeyId: keyId, Message: message, SigningAlgorithm: 'ML_DSA_SHAKE_256' });
  t.equal(signed.Signature!.length, sigLen, `${spec}: a ${sigLen}-byte signature`);
  const check = independentVerify(spki, message, signed.Signature!);
  t.ok(check.ok, `${spec}: ${check.by} verifies the RAW signature`);
  t.notOk(independentVerify(spki, Buffer.concat([message, Buffer.from('!')]), signed.Signature!).ok, `${spec}: not over another message`);
  t.equal((await kms.verify({ KeyId: keyId, Message: message, Signature: signed.Signature!, SigningAlgorithm: 'ML_DSA_SHAKE_256' })).SignatureValid, true);

  // EXTERNAL_MU: μ computed here; the signature verifies over the message μ stands for.
  const m = mu(raw, message);
  const viaMu = await kms.sign({ KeyId: keyId, Message: m, MessageType: 'EXTERNAL_MU', SigningAlgorithm: 'ML_DSA_SHAKE_256' });
  t.ok(independentVerify(spki, message, viaMu.Signature!).ok, `${spec}: the EXTERNAL_MU signature verifies over the message itself`);
  t.equal((await kms.verify({ KeyId: keyId, Message: m, MessageType: 'EXTERNAL_MU', Signature: signed.Signature!, SigningAlgorithm: 'ML_DSA_SHAKE_256' })).SignatureValid, true, 'Verify takes μ for a RAW signature');
  await rejectsAws(t, kms.verify({ KeyId: keyId, Message: mu(raw, Buffer.from('other')), MessageType: 'EXTERNAL_MU', Signature: signed.Signature!, SigningAlgorithm: 'ML_DSA_SHAKE_256' }), 'KMSInvalidSignatureException', '');

  await rejectsAws(t, kms.sign({ KeyId: keyId, Message: m.subarray(0, 63), MessageType: 'EXTERNAL_MU', SigningAlgorithm: 'ML_DSA_SHAKE_256' }), 'ValidationException', /64-byte/);
  await rejectsAws(t, kms.sign({ KeyId: keyId, Message: m, MessageType: 'DIGEST', SigningAlgorithm: 'ML_DSA_SHAKE_256' }), 'ValidationException', 'Digest is invalid length for algorithm ML_DSA_SHAKE_256.');
  await rejectsAws(t, kms.sign({ KeyId: keyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }), 'InvalidKeyUsageException', `Algorithm ECDSA_SHA_256 is incompatible with key spec ${spec}.`);
}

eachBackend('ML-DSA keys sign RAW messages and EXTERNAL_MU, checked elsewhere; refused where OpenSSL lacks them', async (t, kms, backend) => {
  const ec = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Origin: 'AWS_KMS' })).KeyMetadata!;
  await rejectsAws(t, kms.sign({ KeyId: ec.KeyId!, Message: Buffer.alloc(64), MessageType: 'EXTERNAL_MU', SigningAlgorithm: 'ECDSA_SHA_256' }), 'ValidationException', 'MessageType EXTERNAL_MU is valid only with ML-DSA keys.');
  if (!native.mlDsa()) {
    t.notOk(/OpenSSL 3\.([5-9]|\d\d)/.test(native.opensslVersion()), 'only an OpenSSL before 3.5 lacks ML-DSA');
    await rejectsAws(t, kms.createKey({ KeySpec: 'ML_DSA_65', KeyUsage: 'SIGN_VERIFY' }), 'UnsupportedOperationException', /ML-DSA keys need OpenSSL 3\.5 or later/);
    return;
  }
  await rejectsAws(t, kms.createKey({ KeySpec: 'ML_DSA_65', KeyUsage: 'SIGN_VERIFY', Origin: 'EXTERNAL' }), 'UnsupportedOperationException', 'Importing key material for ML_DSA_65 keys is not supported by embedded-kms.');
  await rejectsAws(t, kms.createKey({ KeySpec: 'ML_DSA_65', KeyUsage: 'ENCRYPT_DECRYPT' }), 'ValidationException', 'KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ML_DSA_65');
  if (backend.name === 'softhsm') {
    // The token cannot hold them (PKCS#11 3.2's mechanisms); software keys beside it can.
    await rejectsAws(t, kms.createKey({ KeySpec: 'ML_DSA_65', KeyUsage: 'SIGN_VERIFY', Origin: 'AWS_CLOUDHSM' }), 'UnsupportedOperationException', /PKCS#11 3\.2/);
  }
  for (const [spec, pkLen, sigLen] of levels) await signAndCheck(t, kms, spec, pkLen, sigLen, backend.name === 'softhsm' ? 'AWS_KMS' : undefined);
});

// A store made by a build whose OpenSSL has ML-DSA (Debian 13), opened by one without (Debian 12):
// its ML-DSA keys are described and their public keys given, but using the private key is refused
// for the missing algorithm, not blamed on the root key (the material cannot be loaded here). The
// key is simulated: a P-256 key whose record is made to say ML_DSA_65, as such a store's would.
tap.test('an ML-DSA key in a store opened by a build without ML-DSA: refused for that reason', { skip: native.mlDsa() ? "this build's OpenSSL has ML-DSA" : false }, async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'ekms-ml-dsa-elsewhere-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const kms = await Kms.open({ home, audit: false });
  t.teardown(() => kms.close());
  const keyId = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const db = new Database(join(home, 'store.sqlite3'));
  db.prepare("UPDATE keys SET key_spec = 'ML_DSA_65' WHERE key_id = ?").run(keyId); // another connection: the Kms reloads the record
  db.close();

  t.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeySpec, 'ML_DSA_65', 'described');
  t.ok((await kms.getPublicKey({ KeyId: keyId })).PublicKey!.length > 0, 'its public key is given');
  const why = /^ML-DSA keys need OpenSSL 3\.5 or later; embedded-kms was built with OpenSSL 3\./;
  await rejectsAws(t, kms.sign({ KeyId: keyId, Message: Buffer.from('m'), SigningAlgorithm: 'ML_DSA_SHAKE_256' }), 'UnsupportedOperationException', why);
  await rejectsAws(t, kms.verify({ KeyId: keyId, Message: Buffer.from('m'), Signature: Buffer.alloc(3309), SigningAlgorithm: 'ML_DSA_SHAKE_256' }), 'UnsupportedOperationException', why);
  await kms.disableKey({ KeyId: keyId });
  await rejectsAws(t, kms.sign({ KeyId: keyId, Message: Buffer.from('m'), SigningAlgorithm: 'ML_DSA_SHAKE_256' }), 'DisabledException', /is disabled\.$/);
  t.equal((await kms.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 7 })).KeyState, 'PendingDeletion', 'and it can still be deleted');
});
