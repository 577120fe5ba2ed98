// A software key's work that does not run on the event loop's thread goes to threads of our own
// (binding/job_threads.hpp), not to libuv's pool, as a token's does (test/pkcs11/token-threads).
// What a caller relies on:
// - with many software signatures waiting, the file system (and DNS, zlib, our audit trail's
//   writes), which use libuv's pool, does not queue behind them;
// - each call settles with its own result, checked by node:crypto;
// - those threads yield to the event loop's thread, which every call passes through;
// - a worker thread ended while its calls wait for those threads takes nothing down with it.
import { spawnSync } from 'node:child_process';
import { constants, createPublicKey, verify } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';

import t from 'tap';

import { Kms } from '../../src/index.js';
import { tempHome } from '../helpers/backends.js';
import { ownNice, threadsNamed } from '../helpers/threads.js';

const root = join(import.meta.dirname, '..', '..');

t.test('a file system call made while 64 software signatures wait does not queue behind them', async (tt) => {
  const kms = await Kms.open({ home: tempHome('ekms-software-threads-'), audit: false });
  tt.teardown(() => kms.close());
  // RSA-4096: a few milliseconds per signature, so 64 of them are 100 ms and more on 2 cores.
  const KeyId = (await kms.createKey({ KeySpec: 'RSA_4096', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const input = { KeyId, Message: Buffer.from('queued'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' as const };
  await kms.sign(input); // the key is loaded and cached
  const publicKey = createPublicKey({ key: Buffer.from((await kms.getPublicKey({ KeyId })).PublicKey!), format: 'der', type: 'spki' });

  let signed = 0;
  const signs = Array.from({ length: 64 }, () =>
    kms.sign(input).then(({ Signature }) => {
      signed++;
      return Signature!;
    }),
  );
  // Every call reaches the addon through microtasks only: by the next tick all 64 are with the
  // software threads (at most one ran on this thread, as a lone call may), before the stat goes
  // to libuv's pool.
  await new Promise((resolve) => process.nextTick(resolve));
  // libuv's pool has 4 threads. Had the signatures gone there, this stat would wait for all but
  // the last 4 of them to start and settle after about 60 of them; its own work takes
  // microseconds.
  await stat(root);
  const signedBeforeStat = signed;
  const signatures = await Promise.all(signs);
  tt.equal(signed, 64);
  tt.ok(signedBeforeStat < 32, `the stat settled after ${signedBeforeStat} of 64 signatures, not behind them`);
  const bad = signatures.filter((s) => !verify('sha256', input.Message, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, s));
  tt.equal(bad.length, 0, 'every signature verifies with node:crypto');
});

t.test("the software threads run at a nice value 5 above the event loop's", async (tt) => {
  // Under contention a software thread that takes the core the event loop waits for stalls every
  // call in flight (binding/job_threads.cpp, lowerPriority).
  const kms = await Kms.open({ home: tempHome('ekms-software-threads-nice-'), audit: false });
  tt.teardown(() => kms.close());
  const KeyId = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const input = { KeyId, Message: Buffer.from('nice'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' as const };
  await Promise.all(Array.from({ length: 8 }, () => kms.sign(input))); // the threads exist by now
  const threads = threadsNamed('ekms-software');
  tt.ok(threads.length >= 2, `${threads.length} software threads`);
  const loop = ownNice();
  tt.same(
    threads.map((th) => th.nice),
    threads.map(() => Math.min(loop + 5, 19)),
    `each at nice ${Math.min(loop + 5, 19)}, the event loop at ${loop}`,
  );
});

t.test('a worker ended while its software signatures wait: the process goes on signing', async (tt) => {
  // The worker's calls still queued are taken back from the threads and dropped with it, those
  // running finish first (job_inbox.cpp, teardown); the main thread's own calls are untouched.
  const home = tempHome('ekms-software-threads-worker-');
  const index = JSON.stringify(join(root, 'dist', 'index.js'));
  const script = `
    import { Worker } from 'node:worker_threads';
    import { Kms } from ${index};
    const w = new Worker(\`
      (async () => {
        const { parentPort } = await import('node:worker_threads');
        const { Kms } = await import(\${JSON.stringify(${index})});
        const kms = await Kms.open({ home: \${JSON.stringify(${JSON.stringify(home)})}, audit: false });
        const k = (await kms.createKey({ KeySpec: 'RSA_3072', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
        const input = { KeyId: k, Message: Buffer.from('x'), SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' };
        await kms.sign(input);
        for (let i = 0; i < 200; i++) kms.sign(input);
        parentPort.postMessage('queued');
      })();
    \`, { eval: true });
    w.on('error', (e) => { console.error('worker error', e); process.exitCode = 3; });
    w.once('message', async () => {
      await w.terminate();
      const kms = await Kms.open({ home: ${JSON.stringify(home)}, audit: false });
      const { Keys } = await kms.listKeys({});
      const input = { KeyId: Keys[0].KeyId, Message: Buffer.from('y'), SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' };
      const sigs = await Promise.all(Array.from({ length: 16 }, () => kms.sign(input)));
      await kms.close();
      console.log('main thread signed ' + sigs.length + ' after the worker ended');
    });
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000, env: process.env });
  tt.equal(r.signal, null, `no crash ${r.stderr.slice(-400)}`);
  tt.equal(r.status, 0, r.stderr.slice(-400));
  tt.match(r.stdout, /main thread signed 16 after the worker ended/);
});
