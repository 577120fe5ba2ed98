// `ekms serve --workers N`: a primary and N worker processes on one store. Stopped together by a
// Ctrl-C or SIGTERM, a dead worker replaced without a request left unanswered, a refused
// configuration said once, and the failures that stop the whole server. With a token configured
// (EKMS_PKCS11_*), every worker logs in to it and serves its keys.
import { spawnSync } from 'node:child_process';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';

import { CreateKeyCommand, KMSClient, ListKeysCommand, SignCommand } from '@aws-sdk/client-kms';
import t from 'tap';

import { softhsm } from '../helpers/softhsm.js';
import { bin, buildDistWhenStale, childrenOf, ctrlCStopsCleanly, exitOf, home, run, startServe, until } from './serve-helpers.js';

t.before(buildDistWhenStale);

ctrlCStopsCleanly(['--workers', '2']);

t.test('ekms serve --workers 2: a refused configuration and the warnings are said once, by the primary', async (tt) => {
  const h = home();
  const refused = spawnSync(process.execPath, [bin, 'serve', '--port', '0', '--home', h, '--host', '0.0.0.0', '--auth', 'sigv4', '--workers', '2'], {
    encoding: 'utf8',
    env: { ...process.env, EKMS_ACCESS_KEYS: '' },
    timeout: 60_000,
  });
  tt.equal(refused.status, 252, 'a usage error');
  tt.equal(refused.stderr.match(/--auth sigv4 needs access keys/g)?.length, 1, 'said once');
  tt.notMatch(refused.stderr, /EmbeddedKmsWarning|worker process/, 'no warning for a server that never started, and no worker started');

  writeFileSync(join(h, 'credentials.json'), JSON.stringify({ accessKeys: [{ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }] }), { mode: 0o644 });
  const { child, stderr } = await startServe(['--home', h, '--host', '0.0.0.0', '--auth', 'sigv4', '--workers', '2'], { EKMS_ACCESS_KEYS: '' });
  const exited = exitOf(child);
  child.kill('SIGTERM');
  tt.equal((await exited).code, 0);
  tt.equal(stderr().match(/over plain HTTP/g)?.length, 1, 'the plain-HTTP warning once');
  tt.equal(stderr().match(/can be read by other users/g)?.length, 1, 'the credentials-file warning once');
});

t.test('ekms serve --workers 2: two processes on one store, a dead one replaced, all stopped by SIGTERM', async (tt) => {
  const h = home();
  const { child, url, stderr } = await startServe(['--home', h, '--workers', '2']);
  tt.teardown(() => {
    for (const pid of childrenOf(child.pid!)) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
  });
  tt.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const workers = childrenOf(child.pid!);
  tt.equal(workers.length, 2, 'two worker processes');
  const client = new KMSClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, endpoint: url, maxAttempts: 1 });
  const created = await Promise.all(Array.from({ length: 8 }, () => client.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))));
  // Keys made through either worker are in the one store: every one is listed and signs.
  const listed = new Set((await client.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId));
  for (const c of created) tt.ok(listed.has(c.KeyMetadata!.KeyId), `key ${c.KeyMetadata!.KeyId} listed`);
  for (const c of created) await client.send(new SignCommand({ KeyId: c.KeyMetadata!.KeyId!, Message: Buffer.alloc(32, 1), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));

  process.kill(workers[0]!, 'SIGKILL');
  await until(() => /a worker process died \(SIGKILL\); starting another/.test(stderr()), 'the primary to notice');
  await until(() => childrenOf(child.pid!).filter((p) => p !== workers[0]).length === 2, 'a replacement worker');
  for (let i = 0; i < 6; i++) tt.equal((await client.send(new ListKeysCommand({}))).Keys!.length, 8, 'still served');
  client.destroy();

  const all = childrenOf(child.pid!);
  const exited = exitOf(child);
  child.kill('SIGTERM');
  const { code } = await exited;
  tt.equal(code, 0, 'exit code 0');
  tt.match(stderr(), /SIGTERM: finishing requests in flight\nekms: stopped\n$/);
  for (const pid of all) tt.notOk(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '), `worker ${pid} exited`);
});

/** One request on a connection of its own (round robin: the workers take turns). */
function post(port: string, target: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: 'POST', path: '/', agent: false, headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `TrentService.${target}` } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text || '{}') as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

t.test('ekms serve --workers 2 on a store with a token: both workers log in and use its keys', async (tt) => {
  const h = home();
  const { child, url } = await startServe(['--home', h, '--workers', '2'], softhsm.env());
  tt.teardown(() => {
    for (const pid of childrenOf(child.pid!)) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
  });
  const workers = childrenOf(child.pid!);
  tt.equal(workers.length, 2, 'two worker processes');
  for (const pid of workers) tt.ok(readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libsofthsm2.so'), `worker ${pid} has the token's module loaded`);
  const { port } = new URL(url);
  const created = await post(port, 'CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
  tt.equal(created.status, 200);
  const meta = created.body.KeyMetadata as { KeyId: string; Origin: string };
  tt.equal(meta.Origin, 'AWS_CLOUDHSM', 'the key is on the token');
  const pub = createPublicKey({ key: Buffer.from((await post(port, 'GetPublicKey', { KeyId: meta.KeyId })).body.PublicKey as string, 'base64'), format: 'der', type: 'spki' });
  // Each on a new connection, so the two workers take turns: each signs on the token.
  const messages = Array.from({ length: 8 }, (_, i) => Buffer.from(`message ${i}`));
  const signed = await Promise.all(messages.map((m) => post(port, 'Sign', { KeyId: meta.KeyId, Message: m.toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' })));
  for (const [i, r] of signed.entries()) {
    tt.equal(r.status, 200, `Sign ${i} answered`);
    tt.ok(nodeVerify('sha256', messages[i]!, pub, Buffer.from(String(r.body.Signature), 'base64')), `signature ${i} verifies with node:crypto`);
  }
  // A token key made through one worker and used through the other: encrypted, then decrypted on new connections.
  const aes = ((await post(port, 'CreateKey', {})).body.KeyMetadata as { KeyId: string }).KeyId;
  const cts = await Promise.all([0, 1, 2, 3].map((i) => post(port, 'Encrypt', { KeyId: aes, Plaintext: Buffer.from(`p${i}`).toString('base64') })));
  const pts = await Promise.all(cts.map((c) => post(port, 'Decrypt', { CiphertextBlob: c.body.CiphertextBlob })));
  tt.same(pts.map((p) => Buffer.from(String(p.body.Plaintext), 'base64').toString()), ['p0', 'p1', 'p2', 'p3'], 'every ciphertext decrypts');
  // A worker killed and replaced: the new one logs in to the token too.
  process.kill(workers[0]!, 'SIGKILL');
  await until(() => childrenOf(child.pid!).filter((p) => p !== workers[0]).length === 2, 'a replacement worker');
  const again = await Promise.all([0, 1, 2, 3].map(() => post(port, 'Sign', { KeyId: meta.KeyId, Message: messages[0]!.toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' })));
  for (const r of again) tt.ok(r.status === 200 && nodeVerify('sha256', messages[0]!, pub, Buffer.from(String(r.body.Signature), 'base64')), 'signed after the replacement');
  const exited = exitOf(child);
  child.kill('SIGTERM');
  tt.equal((await exited).code, 0, 'stopped by SIGTERM');
});

/** What a process's open descriptors point to. */
function openFilesOf(pid: number): string[] {
  const out: string[] = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) out.push(readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' }));
  } catch {
    // the process or one of its descriptors went away meanwhile
  }
  return out;
}

const holdsFile = (pid: number, path: string): boolean => openFilesOf(pid).includes(path);

/** The TCP sockets a process holds open: listening ones, and connections. */
function socketsOf(pid: number): { listening: number; connections: number } {
  const inodes = new Set<string>();
  for (const target of openFilesOf(pid)) {
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]!);
  }
  const n = { listening: 0, connections: 0 };
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (inodes.has(f[9]!)) n[f[3] === '0A' ? 'listening' : 'connections'] += 1; // 0A: LISTEN
    }
  }
  return n;
}

t.test('ekms serve --workers 2: a worker stopped alone by SIGTERM is replaced, not left out', async (tt) => {
  const h = home();
  const { child, url, stderr } = await startServe(['--home', h, '--workers', '2']);
  tt.teardown(() => {
    for (const pid of childrenOf(child.pid!)) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
  });
  // Both workers, one after the other, each once its replacement listens: with the last one
  // gone the port would close for good.
  for (const worker of childrenOf(child.pid!)) {
    process.kill(worker, 'SIGTERM');
    await until(() => {
      const now = childrenOf(child.pid!);
      return !now.includes(worker) && now.length === 2 && now.every((pid) => socketsOf(pid).listening === 1);
    }, `worker ${worker} replaced`);
  }
  tt.equal(stderr().match(/a worker process stopped \(exit code 0\); starting another/g)?.length, 2, 'each replacement said');
  const client = new KMSClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, endpoint: url, maxAttempts: 1 });
  tt.same((await client.send(new ListKeysCommand({}))).Keys, [], 'still served');
  client.destroy();
  const exited = exitOf(child);
  child.kill('SIGTERM');
  tt.equal((await exited).code, 0, 'and stopped as a whole by SIGTERM');
});

t.test('ekms serve --workers: a worker killed under load leaves no request without an answer', async (tt) => {
  const h = home();
  const storeFile = join(h, 'store.sqlite3');
  const { child, url } = await startServe(['--home', h, '--workers', '2']);
  tt.teardown(() => {
    for (const pid of childrenOf(child.pid!)) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
  });
  const { port } = new URL(url);
  let stop = false;
  const tally = { answered: 0, connectionErrors: 0, unanswered: 0 };
  // A new connection per request, as a worker may die holding any of them. A request with no
  // answer at all after 20 s is one that will never get one (a hang, not a slow answer).
  const one = () =>
    new Promise<void>((resolve) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method: 'POST', path: '/', agent: false, headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.GenerateRandom', Connection: 'close' } },
        (res) => {
          res.resume();
          res.on('end', () => (tally.answered++, resolve()));
          res.on('error', () => (tally.connectionErrors++, resolve()));
        },
      );
      req.setTimeout(20_000, () => (tally.unanswered++, req.destroy(), resolve()));
      req.on('error', () => (tally.connectionErrors++, resolve()));
      req.end('{"NumberOfBytes":16}');
    });
  const loops = Array.from({ length: 16 }, async () => {
    while (!stop) await one();
  });
  for (let kill = 0; kill < 3; kill++) {
    await new Promise((r) => setTimeout(r, 400));
    const workers = childrenOf(child.pid!);
    process.kill(workers[0]!, 'SIGKILL');
    // Before the next kill, the replacement has opened the store (it listens right after):
    // killing every worker that listens would close the port until one does, and with --port 0
    // the next one would listen on another port.
    await until(() => {
      const now = childrenOf(child.pid!).filter((p) => p !== workers[0]);
      return now.length === 2 && now.every((p) => holdsFile(p, storeFile));
    }, 'a replacement worker with the store open');
    await new Promise((r) => setTimeout(r, 100));
  }
  stop = true;
  await Promise.all(loops);
  tt.equal(tally.unanswered, 0, `every request was answered or refused (${JSON.stringify(tally)})`);
  tt.ok(tally.answered > 0);
  // With round robin the primary accepted every connection and passed it on; one on its way to a
  // dying worker stayed open in the primary for good.
  tt.equal(socketsOf(child.pid!).connections, 0, 'the primary holds no client connection');
});

t.test('ekms serve --workers stops, failing, when its workers keep dying', async (tt) => {
  const { child, stderr } = await startServe(['--home', home(), '--workers', '2']);
  tt.teardown(() => child.kill('SIGKILL'));
  const exited = exitOf(child);
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    for (const pid of childrenOf(child.pid!)) process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
  }
  const { code } = await exited;
  tt.not(code, 0, 'a failing exit code');
  tt.match(stderr(), /worker processes died within a minute; stopping/);
  tt.ok((stderr().match(/starting another/g) ?? []).length <= 10, 'at most ten replacements');
});

t.test('ekms serve --workers: bad counts are usage errors; a taken port stops every worker', async (tt) => {
  for (const bad of ['0', '65', 'two']) {
    const r = run(['serve', '--workers', bad, '--port', '0', '--home', home()]);
    tt.equal(r.status, 252, `--workers ${bad}`);
    tt.match(r.stderr, /argument --workers: expected a number of processes from 1 to 64/);
  }
  const { child, url } = await startServe(['--home', home()]);
  tt.teardown(() => child.kill('SIGKILL'));
  const port = new URL(url).port;
  const r = run(['serve', '--workers', '2', '--port', port, '--home', home()]);
  tt.not(r.status, 0, 'fails');
  tt.match(r.stderr, /a worker process exited before listening/);
  tt.match(r.stderr, /EADDRINUSE|address already in use/i);
});
