// Token work runs on threads of its own (binding/job_threads.hpp), not on libuv's pool, and its
// results reach the event loop in batches while those threads have a backlog
// (binding/job_inbox.hpp). What a caller relies on:
// - with many token calls waiting, the file system (and DNS, zlib, Node's crypto, our own audit
//   trail's writes), which use libuv's pool, does not queue behind them;
// - every call still settles with its own result or error, whether it waited in a batch or not;
// - a store on a token that is never closed does not keep the process alive;
// - the threads outlive every environment: a worker that alone loaded the addon may end.
import { spawnSync } from 'node:child_process';
import { constants, createPublicKey, verify } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';

import t from 'tap';

import { tempHome } from '../helpers/backends.js';
import { ownNice, threadsNamed } from '../helpers/threads.js';
import { softhsmOptions } from '../helpers/softhsm.js';
import { openOnToken } from './helpers.js';

const root = join(import.meta.dirname, '..', '..');

t.test('a file system call made while 64 token signatures wait does not queue behind them', async (tt) => {
  const kms = await openOnToken({ audit: false });
  tt.teardown(() => kms.close());
  // RSA-4096: about 5 ms per signature in SoftHSM2, so 64 of them are 150 ms of work on 2 cores.
  const KeyId = (await kms.createKey({ KeySpec: 'RSA_4096', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const input = { KeyId, Message: Buffer.from('queued'), SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' as const };
  await kms.sign(input); // the key is loaded and cached

  let signed = 0;
  const signs = Array.from({ length: 64 }, () => kms.sign(input).then(() => signed++));
  // Every call reaches the addon through microtasks only (key checks, no I/O): by the next tick
  // all 64 are with the token threads, before the stat goes to libuv's pool.
  await new Promise((resolve) => process.nextTick(resolve));
  // libuv's pool has 4 threads. Had the signatures gone there, this stat would wait for all but
  // the last 4 of them to start and settle after about 60 of them; its own work takes
  // microseconds.
  await stat(root);
  const signedBeforeStat = signed;
  await Promise.all(signs);
  tt.equal(signed, 64);
  tt.ok(signedBeforeStat < 32, `the stat settled after ${signedBeforeStat} of 64 signatures, not behind them`);
});

t.test('token threads keep the nice value of the process (software threads yield, these do not)', async (tt) => {
  const kms = await openOnToken({ audit: false });
  tt.teardown(() => kms.close());
  const KeyId = (await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!.KeyId!;
  await Promise.all(Array.from({ length: 8 }, () => kms.generateMac({ KeyId, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_256' })));
  const threads = threadsNamed('ekms-token');
  tt.ok(threads.length >= 2, `${threads.length} token threads`);
  tt.same(threads.map((th) => th.nice), threads.map(() => ownNice()));
});

t.test('256 calls in flight on two keys, some failing: each settles with its own outcome', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const rsa = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const ec = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const pub = async (KeyId: string) =>
    createPublicKey({ key: Buffer.from((await kms.getPublicKey({ KeyId })).PublicKey!), format: 'der', type: 'spki' });
  const keys = { [rsa]: await pub(rsa), [ec]: await pub(ec) };

  const calls = Array.from({ length: 256 }, async (_, i) => {
    const message = Buffer.from(`call ${i}`);
    const KeyId = i % 2 === 0 ? rsa : ec;
    // Every fifth call asks for an algorithm its key cannot do, so refusals are mixed in with
    // results (the refusal itself comes before the token).
    const wrong = i % 5 === 0;
    const SigningAlgorithm = (KeyId === rsa) !== wrong ? 'RSASSA_PSS_SHA_256' : 'ECDSA_SHA_256';
    try {
      const { Signature, KeyId: arn } = await kms.sign({ KeyId, Message: message, SigningAlgorithm });
      const key = KeyId === rsa ? { key: keys[KeyId]!, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : keys[KeyId]!;
      const ok = verify('sha256', message, key, Signature!);
      return { i, outcome: ok && arn!.endsWith(KeyId) && !wrong ? 'verified' : 'WRONG' };
    } catch (e) {
      return { i, outcome: wrong && (e as Error).name === 'InvalidKeyUsageException' ? 'refused' : `WRONG ${(e as Error).name}` };
    }
  });
  const outcomes = await Promise.all(calls);
  tt.same(
    outcomes.filter((o) => o.outcome.startsWith('WRONG')),
    [],
    'each call got its own signature, verified by node:crypto, or its own refusal',
  );
  tt.equal(outcomes.filter((o) => o.outcome === 'refused').length, 52, 'the 52 wrong calls were refused');
  tt.equal(outcomes.filter((o) => o.outcome === 'verified').length, 204, 'the 204 others verified');
});

t.test('a process with a token store it never closes still ends by itself', async (tt) => {
  const home = tempHome('ekms-token-threads-exit-');
  const script = `
    import { Kms } from ${JSON.stringify(join(root, 'dist', 'index.js'))};
    const kms = await Kms.open({ home: ${JSON.stringify(home)}, pkcs11: ${JSON.stringify(softhsmOptions())} });
    const { KeyMetadata } = await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    const input = { KeyId: KeyMetadata.KeyId, Message: Buffer.from('m'), SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' };
    await Promise.all(Array.from({ length: 32 }, () => kms.sign(input)));
    console.log('signed, leaving the store open');
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000, env: process.env });
  tt.equal(r.signal, null, `ended without being killed ${r.stderr.slice(-400)}`);
  tt.equal(r.status, 0);
  tt.match(r.stdout, /signed, leaving the store open/);
});

t.test('a worker that alone used the token threads ends, and the process after it', async (tt) => {
  // Node unloads a worker's addons when the worker ends; the token threads stay, so the addon
  // must stay loaded (it is linked -z nodelete). Unloaded, the threads ran into unmapped code.
  const home = tempHome('ekms-token-threads-worker-');
  const script = `
    import { Worker } from 'node:worker_threads';
    const w = new Worker(\`
      (async () => {
        const { Kms } = await import(\${JSON.stringify(${JSON.stringify(join(root, 'dist', 'index.js'))})});
        const kms = await Kms.open({ home: \${JSON.stringify(${JSON.stringify(home)})}, audit: false, pkcs11: \${JSON.stringify(${JSON.stringify(softhsmOptions())})} });
        const k = (await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata.KeyId;
        const mac = { KeyId: k, Message: Buffer.from('x'), MacAlgorithm: 'HMAC_SHA_256' };
        await Promise.all(Array.from({ length: 400 }, () => kms.generateMac(mac)));
        await kms.close();
      })();
    \`, { eval: true });
    w.on('error', (e) => { console.error('worker error', e); process.exitCode = 3; });
    w.on('exit', () => setTimeout(() => console.log('main thread alive after the worker'), 300));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000, env: process.env });
  tt.equal(r.signal, null, `no crash ${r.stderr.slice(-400)}`);
  tt.equal(r.status, 0);
  tt.match(r.stdout, /main thread alive after the worker/);
});
