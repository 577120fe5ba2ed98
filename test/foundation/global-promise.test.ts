// An application may replace the global Promise (`global.Promise = Bluebird`). The engine tells a
// call still running from one done inline by its own Promise (src/promise.ts), so a replaced
// global changes nothing: results are the work's, failures are audited as failures, and close()
// waits for calls in flight.
import { createPublicKey, createVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { Kms } from '../../src/index.js';
import { tempHome } from '../helpers/backends.js';

t.test('with the global Promise replaced, calls settle with their work and are audited as they ended', async (t) => {
  const home = tempHome('ekms-promise-');
  const kms = await Kms.open({ home });
  const signing = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const symmetric = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const { PublicKey } = await kms.getPublicKey({ KeyId: signing });
  const Original = globalThis.Promise;
  class Replacement<T> extends Original<T> {}
  globalThis.Promise = Replacement as unknown as PromiseConstructor;
  let outcomes: unknown[];
  try {
    const message = Buffer.from('replaced promises');
    // First uses go to a pool (a pending result); later ones run inline.
    const signatures = [await kms.sign({ KeyId: signing, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })];
    signatures.push(await kms.sign({ KeyId: signing, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
    const { CiphertextBlob } = await kms.encrypt({ KeyId: symmetric, Plaintext: message });
    const { Plaintext } = await kms.decrypt({ CiphertextBlob });
    outcomes = await Original.allSettled([
      kms.describeKey({ KeyId: '00000000-1111-2222-3333-444444444444' }),
      kms.sign({ KeyId: signing, Message: message, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }),
      kms.decrypt({ CiphertextBlob: Buffer.from(CiphertextBlob!).fill(0, 40, 60) }),
    ]);
    const last = kms.describeKey({ KeyId: symmetric });
    const closing = kms.close(); // waits for the call in flight
    for (const s of signatures) {
      t.ok(s.Signature instanceof Uint8Array, 'the signature itself, not a pending result');
      const verifier = createVerify('SHA256').update(message);
      t.ok(verifier.verify(createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' }), Buffer.from(s.Signature!)), "Node's crypto verifies it");
    }
    t.same(Buffer.from(Plaintext!), message, 'decrypts what it encrypted');
    t.same((await last).KeyMetadata?.KeyId, symmetric, 'a call started before close() completes');
    await closing;
  } finally {
    globalThis.Promise = Original;
  }
  t.same(
    (outcomes as PromiseSettledResult<unknown>[]).map((o) => (o.status === 'rejected' ? (o.reason as Error).name : o.status)),
    ['NotFoundException', 'InvalidKeyUsageException', 'InvalidCiphertextException'],
  );
  const events = readFileSync(join(home, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const tail = events.slice(-8).map((e) => `${String(e.eventName)}:${String(e.errorCode ?? 'ok')}`);
  t.same(tail.slice(0, 4), ['Sign:ok', 'Sign:ok', 'Encrypt:ok', 'Decrypt:ok'], 'one event per call, in order');
  // The three failures ran together: their events come in the order they ended.
  t.same(tail.slice(4, 7).sort(), ['Decrypt:InvalidCiphertextException', 'DescribeKey:NotFoundException', 'Sign:InvalidKeyUsageException'], 'failures audited as failures');
  t.equal(tail[7], 'DescribeKey:ok');
});
