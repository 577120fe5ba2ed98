// The endpoint's ECDSA P-256 Sign requests per second with keep-alive, from a load generator on
// loopback: wrk (Debian package) if on PATH, else autocannon (npm) if installed, else a small
// keep-alive generator in a child Node process. The server is the project's own
// (src/endpoint, found at runtime by its `startServer` export); n/a while it does not exist.
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const distDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
const ekmsBin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'ekms.js');
const candidates = ['index.js', 'endpoint/index.js', 'endpoint/server.js', 'endpoint.js'];

export async function findStartServer() {
  for (const c of candidates) {
    try {
      const mod = await import(join(distDir, c));
      if (typeof mod.startServer === 'function') return { startServer: mod.startServer, from: `dist/${c}` };
    } catch {
      // not there (yet)
    }
  }
  return undefined;
}

function portOf(started) {
  const s = started?.server ?? started;
  if (typeof s?.address === 'function') {
    const a = s.address();
    if (a && typeof a === 'object') return a.port;
  }
  if (typeof started?.port === 'number') return started.port;
  if (typeof started?.url === 'string') return Number(new URL(started.url).port);
  if (typeof started?.address === 'string') return Number(new URL(started.address).port);
  return undefined;
}

async function stopServer(started) {
  for (const target of [started, started?.server]) {
    if (target && typeof target.close === 'function') {
      await new Promise((res) => {
        const r = target.close((err) => res(err));
        if (r && typeof r.then === 'function') r.then(res, res);
      });
      return;
    }
  }
}

class Sha256 {
  constructor(secret) {
    this.h = secret ? crypto.createHmac('sha256', secret) : crypto.createHash('sha256');
  }
  update(data) {
    this.h.update(data);
  }
  async digest() {
    return new Uint8Array(this.h.digest());
  }
}

/** Signs the request with SigV4 when @smithy/signature-v4 is at hand (a server that checks accepts it; one that does not ignores it). */
async function requestHeaders(port, body) {
  const headers = {
    host: `127.0.0.1:${port}`,
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': 'TrentService.Sign',
  };
  try {
    const { SignatureV4 } = await import('@smithy/signature-v4');
    const signer = new SignatureV4({
      service: 'kms',
      region: process.env.EKMS_REGION ?? 'us-east-1',
      sha256: Sha256,
      credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test' },
    });
    const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: '/', headers, body });
    return signed.headers;
  } catch {
    return headers;
  }
}

const run = promisify(execFile);

async function which(cmd) {
  try {
    await run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

async function withWrk({ port, headers, body, seconds, connections }) {
  const dir = mkdtempSync(join(tmpdir(), 'ekms-wrk-'));
  try {
    const lua = join(dir, 'sign.lua');
    const hdrs = Object.entries(headers)
      .filter(([k]) => k.toLowerCase() !== 'host' && k.toLowerCase() !== 'content-length')
      .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
      .join('\n');
    writeFileSync(lua, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\n${hdrs}\n`);
    const { stdout } = await run('wrk', ['-t', '1', '-c', String(connections), '-d', `${seconds}s`, '--latency', '-s', lua, `http://127.0.0.1:${port}/`], {
      timeout: Math.ceil((seconds + 30) * 1000),
    });
    const num = (re) => Number(re.exec(stdout)?.[1]);
    const lat = (p) => {
      const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(stdout);
      if (!m) return NaN;
      return Number(m[1]) * { us: 1, ms: 1000, s: 1e6 }[m[2]];
    };
    return {
      generator: 'wrk -t1',
      requestsPerSec: num(/Requests\/sec:\s+([\d.]+)/),
      p50us: lat(50),
      p99us: lat(99),
      errors: num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withAutocannon(autocannon, { port, headers, body, seconds, connections }) {
  const r = await autocannon({ url: `http://127.0.0.1:${port}/`, method: 'POST', headers, body, connections, duration: seconds });
  return { generator: 'autocannon', requestsPerSec: r.requests.average, p50us: r.latency.p50 * 1000, p99us: r.latency.p99 * 1000, errors: r.non2xx + r.errors };
}

const nodeGenerator = `
const http = require('node:http');
const [port, seconds, connections, headers, body] = [Number(process.argv[1]), Number(process.argv[2]), Number(process.argv[3]), JSON.parse(process.argv[4]), process.argv[5]];
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const lat = []; let errors = 0; const end = Date.now() + seconds * 1000; const t0 = process.hrtime.bigint();
function one() { return new Promise((res) => { const t = process.hrtime.bigint();
  const req = http.request({ host: '127.0.0.1', port, path: '/', method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (r) => {
    r.resume(); r.on('end', () => { if (r.statusCode !== 200) errors++; lat.push(Number(process.hrtime.bigint() - t) / 1e3); res(); }); });
  req.on('error', () => { errors++; res(); }); req.end(body); }); }
async function worker() { while (Date.now() < end) await one(); }
Promise.all(Array.from({ length: connections }, worker)).then(() => {
  const s = (Number(process.hrtime.bigint() - t0) / 1e9); lat.sort((a, b) => a - b);
  const p = (q) => lat[Math.min(lat.length - 1, Math.ceil(q * lat.length) - 1)];
  console.log(JSON.stringify({ requestsPerSec: lat.length / s, p50us: p(0.5), p99us: p(0.99), errors })); agent.destroy(); });
`;

async function withNode({ port, headers, body, seconds, connections }) {
  const child = spawn(process.execPath, ['-e', nodeGenerator, String(port), String(seconds), String(connections), JSON.stringify(headers), body], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise((res) => child.on('exit', res));
  return { generator: 'node http keep-alive (child process)', ...JSON.parse(out.trim().split('\n').pop()) };
}

/** `ekms serve --workers n` in a child process on `home`; resolves its port and a stop(). */
async function spawnWorkers(home, workers) {
  const child = spawn(process.execPath, [ekmsBin, 'serve', '--workers', String(workers), '--port', '0', '--home', home, '--no-console'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /on https?:\/\/[^:]+:(\d+) /.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`ekms serve --workers exited (${code}): ${err.slice(0, 300)}`)));
  });
  const close = () =>
    new Promise((resolve) => {
      child.on('exit', resolve);
      child.kill('SIGTERM');
    });
  return { port, close };
}

/**
 * `workers` 0: the server in this process (startServer on the bench's Kms); n: `ekms serve
 * --workers n`, n processes on one store (the issue allows the server both cores that way).
 */
export async function endpointSection({ Kms, seconds, warmupSeconds = 0, connections, loadGenerator, log, workers = 0 }) {
  const found = await findStartServer();
  if (!found) return { unavailable: 'no endpoint yet (no startServer export in dist/)' };
  const dir = mkdtempSync(join(tmpdir(), 'ekms-bench-endpoint-'));
  let kms;
  let started;
  try {
    const home = join(dir, 'home');
    kms = await Kms.open({ home });
    const { KeyMetadata } = await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    if (workers > 0) {
      await kms.close();
      kms = undefined;
      started = await spawnWorkers(home, workers);
    } else {
      // startServer(kms, options) → { url, host, port, close() } (src/endpoint/server.ts).
      started = await found.startServer(kms, { host: '127.0.0.1', port: 0, auth: 'none', console: false });
    }
    const port = portOf(started);
    if (!port) return { unavailable: `startServer (${found.from}) returned no address I can read` };
    const body = JSON.stringify({ KeyId: KeyMetadata.KeyId, Message: crypto.randomBytes(32).toString('base64'), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' });
    const headers = await requestHeaders(port, body);
    const probe = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'host')), body });
    if (probe.status !== 200) return { unavailable: `probe Sign request answered ${probe.status}: ${(await probe.text()).slice(0, 200)}` };
    let gen = loadGenerator;
    let autocannon;
    if (gen === 'auto' || gen === 'autocannon') {
      try {
        autocannon = (await import('autocannon')).default;
      } catch {
        // not installed
      }
    }
    if (gen === 'auto') gen = (await which('wrk')) ? 'wrk' : autocannon ? 'autocannon' : 'node';
    const server = workers > 0 ? `ekms serve --workers ${workers}` : `in-process startServer (${found.from})`;
    const load = (args) => {
      if (gen === 'wrk') return withWrk(args);
      if (gen === 'autocannon' && autocannon) return withAutocannon(autocannon, args);
      return withNode(args);
    };
    if (warmupSeconds > 0) {
      log(`endpoint: ${warmupSeconds}s of warm-up, ${server}`);
      await load({ port, headers, body, seconds: warmupSeconds, connections });
    }
    log(`endpoint: ${seconds}s of Sign with ${connections} keep-alive connections (${gen}), ${server}`);
    const result = await load({ port, headers, body, seconds, connections });
    return { server, workers, connections, seconds, ...result };
  } catch (e) {
    return { unavailable: `endpoint failed: ${e.name}: ${e.message}` };
  } finally {
    if (started) await stopServer(started).catch(() => {});
    if (kms) await kms.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
