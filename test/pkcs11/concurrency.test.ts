// Concurrency on one token: 64 operations in flight at once complete correctly (the session
// pool gives each its own session: no CKR_OPERATION_ACTIVE), and a worker thread using the same
// module opens and closes its store while the main thread keeps working (the module is
// initialised once per process and finalised only by its last user).
import { execFile } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import t from 'tap';

import { tempHome } from '../helpers/backends.js';
import { softhsm, softhsmOptions } from '../helpers/softhsm.js';
import { backendOf, openOnToken } from './helpers.js';

t.test('64 operations in flight on one token', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const ec = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const rsa = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const aes = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const ecPub = createPublicKey({ key: Buffer.from((await kms.getPublicKey({ KeyId: ec })).PublicKey!), format: 'der', type: 'spki' });
  const rsaPub = createPublicKey({ key: Buffer.from((await kms.getPublicKey({ KeyId: rsa })).PublicKey!), format: 'der', type: 'spki' });

  const ops = Array.from({ length: 64 }, async (_, i) => {
    const message = Buffer.from(`operation ${i}`);
    switch (i % 3) {
      case 0: {
        const { Signature } = await kms.sign({ KeyId: ec, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' });
        return verify('sha256', message, ecPub, Signature!);
      }
      case 1: {
        const { Signature } = await kms.sign({ KeyId: rsa, Message: message, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' });
        return verify('sha256', message, rsaPub, Signature!);
      }
      default: {
        const { CiphertextBlob } = await kms.encrypt({ KeyId: aes, Plaintext: message });
        const { Plaintext } = await kms.decrypt({ CiphertextBlob });
        return Buffer.from(Plaintext!).equals(message);
      }
    }
  });
  const results = await Promise.allSettled(ops);
  const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
  tt.same(failures, [], 'no operation failed');
  tt.equal(results.filter((r) => r.status === 'fulfilled' && r.value === true).length, 64, 'all 64 results are right');
});

// SoftHSM2 fails a C_GenerateKey(Pair) or C_DestroyObject now and then (CKR_GENERAL_ERROR) while
// another session of the process creates or destroys an object (SoftHSMv2 #573). The lock that
// keeps them one at a time was a store's own, so several stores of one process on the token
// (worker threads, or stores opened side by side) failed each other's key generation: 3 stores
// × 60 CreateKey at once failed in 3 runs of 3. It is the module's now, shared by every store.
t.test('several stores of one process create and delete token keys at once', async (tt) => {
  let now = Date.now();
  const stores = await Promise.all([0, 1, 2].map(() => openOnToken({ clock: () => new Date(now) })));
  tt.teardown(() => Promise.all(stores.map((k) => k.close())));
  const work = stores.map(async (kms, i) => {
    const ids: string[] = [];
    for (let n = 0; n < 45; n++) {
      const spec = n % 3 === 0 ? { KeySpec: 'ECC_NIST_P256' as const, KeyUsage: 'SIGN_VERIFY' as const } : {};
      ids.push((await kms.createKey(spec)).KeyMetadata!.KeyId!);
      if (n % 4 === 3) await kms.scheduleKeyDeletion({ KeyId: ids.shift()!, PendingWindowInDays: 7 });
    }
    return { i, ids };
  });
  const results = await Promise.allSettled(work);
  tt.same(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), [], 'every CreateKey succeeded');
  // The deletions fall due at once in every store: their token objects are destroyed side by side.
  now += 8 * 86_400_000;
  const swept = await Promise.allSettled(stores.map((kms) => kms.listKeys({})));
  tt.same(swept.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), [], 'every deletion went through');
  for (const [i, kms] of stores.entries()) {
    const kept = (results[i] as PromiseFulfilledResult<{ ids: string[] }>).value.ids;
    tt.same((await kms.listKeys({})).Keys!.map((k) => k.KeyId).sort(), [...kept].sort(), `store ${i} keeps its other keys`);
    tt.equal((await backendOf(kms).listTokenRefs()).length, kept.length, `store ${i}: only their objects are on the token`);
  }
});

for (const close of [true, false])
t.test(`a worker thread shares the module and releases only its own use (${close ? 'closing its store' : 'exiting with it open'})`, async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const key = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const sign = () => kms.sign({ KeyId: key, Message: Buffer.from('main'), SigningAlgorithm: 'ECDSA_SHA_256' });

  const worker = new Worker(new URL('./fixtures/worker-sign.mjs', import.meta.url), {
    workerData: { home: tempHome('ekms-p11-worker-'), pkcs11: softhsmOptions(), rounds: 20, close },
  });
  const busy = Promise.all(Array.from({ length: 20 }, sign));
  const result = await new Promise<{ publicKey: Uint8Array; signatures: Uint8Array[] }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await busy;
  await new Promise((resolve) => worker.once('exit', resolve));
  const workerKey = createPublicKey({ key: Buffer.from(result.publicKey), format: 'der', type: 'spki' });
  tt.ok(result.signatures.every((s, i) => verify('sha256', Buffer.from(`worker ${i}`), workerKey, s)), "the worker's signatures verify");
  // The worker's close (or its teardown) released its use of the module; the main thread's store still works.
  const { Signature } = await sign();
  const { PublicKey } = await kms.getPublicKey({ KeyId: key });
  tt.ok(verify('sha256', Buffer.from('main'), createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' }), Signature!));
});

// SoftHSM2 reads a token's file when it is initialised and rewrites it at every login, so a
// process starting while another logs in found no token (or a failed login): with 6 processes
// opening and closing stores at once, 5 to 11 opens in 144 failed. `serve --workers` starts so.
t.test('processes opening stores on one token at once all open', async (tt) => {
  const home = tempHome('ekms-p11-race-');
  await (await openOnToken({ home })).close();
  const env = { ...process.env, ...softhsm.env() };
  const script = fileURLToPath(new URL('./fixtures/open-close.mjs', import.meta.url));
  const runs = await Promise.all(
    Array.from({ length: 6 }, () => new Promise<string[]>((resolve, reject) => {
      execFile(process.execPath, [script, home, '8'], { env }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as string[])));
    })),
  );
  tt.same(runs.flat(), [], '48 opens, none failed');
});
