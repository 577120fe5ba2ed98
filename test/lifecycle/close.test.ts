// Kms.close(): the calls in flight finish first (their audit events too), then the store
// closes; a call made after close() fails in AWS's vocabulary.
import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

import t from 'tap';

import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';

type Test = typeof t;

const auditedNames = (path: string): string[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => (JSON.parse(l) as { eventName: string }).eventName);

eachBackend('close() waits for the calls in flight, then refuses new ones', async (t: Test, kms) => {
  const publicKeys = new Map<string, KeyObject>();
  const newKey = async (KeySpec: 'RSA_4096' | 'ECC_NIST_P256') => {
    const keyId = (await kms.createKey({ KeySpec, KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
    const { PublicKey } = await kms.getPublicKey({ KeyId: keyId });
    publicKeys.set(keyId, createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' }));
    return keyId;
  };
  const rsa = await newKey('RSA_4096');
  const ec = await newKey('ECC_NIST_P256');
  const message = Buffer.from('signed while the store closes');
  const auditPath = kms.config.audit!.path;
  const signsBefore = auditedNames(auditPath).filter((n) => n === 'Sign').length;

  // Slow ones (RSA-4096: milliseconds, on the thread pool) beside fast ones (P-256, often inline).
  let closed = false;
  const calls = [
    ...Array.from({ length: 6 }, () => ({ keyId: rsa, alg: 'RSASSA_PSS_SHA_256' as const })),
    ...Array.from({ length: 20 }, () => ({ keyId: ec, alg: 'ECDSA_SHA_256' as const })),
  ].map(({ keyId, alg }) =>
    kms.sign({ KeyId: keyId, Message: message, SigningAlgorithm: alg }).then((r) => ({ keyId, alg, signature: Buffer.from(r.Signature!), closedFirst: closed })),
  );
  const closing = kms.close().then(() => (closed = true));
  const settled = await Promise.allSettled(calls);
  await closing;

  t.ok(
    settled.every((s) => s.status === 'fulfilled'),
    'every call started before close() succeeded',
  );
  const results = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  t.ok(
    results.every((v) => !v.closedFirst),
    'close() settled only after every call in flight',
  );
  const bad = results.filter(({ keyId, alg, signature }) => {
    const key = publicKeys.get(keyId)!;
    return alg === 'ECDSA_SHA_256'
      ? !verify('sha256', message, key, signature)
      : !verify('sha256', message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
  });
  t.equal(bad.length, 0, 'every signature made while closing verifies with Node crypto');
  t.equal(auditedNames(auditPath).filter((n) => n === 'Sign').length - signsBefore, calls.length, 'each call is in the audit trail');

  await rejectsAws(t, kms.sign({ KeyId: ec, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }), 'KMSInternalException', 'The key store is closed.');
  await kms.close(); // a second close is harmless
});

eachBackend('a clock that throws fails its call and does not hold close()', async (t: Test, kms, backend) => {
  // Its own store: the clock is an option of Kms.open (which reads it too, before it breaks).
  let failing = false;
  const other = await backend.open({
    clock: () => {
      if (failing) throw new Error('the clock is broken');
      return new Date();
    },
  });
  failing = true;
  await t.rejects(other.listKeys({}), /the clock is broken/);
  failing = false;
  t.ok((await other.listKeys({})).Keys, 'the next call works');
  let closed = false;
  const closing = other.close().then(() => (closed = true));
  await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 5000))]);
  t.ok(closed, 'close() settled: the failed call is not counted in flight');
  void kms;
});

eachBackend('a part that fails to close does not keep the others open', async (t: Test, _kms, backend) => {
  const kms = await backend.open(); // (no teardown: its close() fails on purpose)
  const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  await kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('x') });
  const failure = new Error('the audit log could not be closed');
  kms.audit!.close = () => Promise.reject(failure);
  await t.rejects(kms.close(), failure, 'close() reports the failure');
  t.equal(kms.engine.cachedKeys(), 0, 'the unwrapped keys are wiped all the same');
  t.equal(kms.store.db.open, false, 'and the store is closed');
});
