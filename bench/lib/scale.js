// Scale: a store of N keys against a reference store (1,000 keys by default), both built the
// same way, measured in the same run. Most keys are SYMMETRIC_DEFAULT (they create fastest);
// `signKeys` ECC_NIST_P256 keys are spread evenly through each store for the Sign latencies.
import crypto from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

import { percentile } from './measure.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

// The audit trail buffers read-only events and writes them off the event loop within a second;
// a loop of awaited calls never yields to the event loop, so right after it the heap still holds
// every line of the loop (about 2.3 KB per DescribeKey: the heap per cached record measured 4.4 KB
// that way, 2.1 KB once the lines were written, the same as with the audit trail off).
const auditFlushed = () => new Promise((resolve) => setTimeout(resolve, 1500));

function settle() {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

/**
 * Waits until the process's other threads are idle: after settle()'s full GCs, V8 sweeps the
 * heap on helper threads. With the 100,000-key store's records cached (about 230 MB of heap) that
 * was 33-40 ms of helper-thread CPU during the next 300 DescribeKey calls (1,000 keys: 2-3 ms), on
 * a 2-core machine: the main thread waited for a CPU, and the wait was the store's p99 (measured
 * per thread through /proc). Returns the milliseconds waited (0 without /proc).
 */
async function quiesce(maxMs = 5000) {
  const others = () => {
    let ns = 0;
    for (const t of readdirSync('/proc/self/task')) {
      if (t === String(process.pid)) continue;
      try {
        ns += Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'latin1').split(' ')[0]);
      } catch {
        // the thread ended
      }
    }
    return ns;
  };
  let last;
  try {
    last = others();
  } catch {
    return 0;
  }
  const t0 = performance.now();
  while (performance.now() - t0 < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = others();
    if (now - last < 1e6) break; // under 1 ms of CPU in 50 ms
    last = now;
  }
  return performance.now() - t0;
}

/**
 * The main thread's time spent runnable but waiting for a CPU, in ns (Linux /proc schedstat; the
 * kernel adds it up when the thread gets a CPU back, so it is exact at the end of a call). Its
 * first field, time on a CPU, is brought up to date only at scheduler ticks: not used.
 */
const schedstat = (() => {
  let fd;
  try {
    fd = openSync(`/proc/self/task/${process.pid}/schedstat`, 'r');
  } catch {
    return undefined;
  }
  const buf = Buffer.alloc(128);
  return () => {
    const n = readSync(fd, buf, 0, buf.length, 0);
    return Number(buf.toString('latin1', 0, n).split(' ')[1]);
  };
})();

/**
 * Latencies of the calls one at a time (p50, p99, mean in µs, as measure.js's `latencies`), and
 * where the time of each call slower than `slowUs` went: the main thread runnable but waiting for
 * a CPU (another thread or process had it), the GC pauses that overlapped the call, and the rest
 * (our code running, or the thread blocked on a read or a lock). The wait comes from /proc (read
 * outside the timed span). On a shared 2-core machine a p99 over a few hundred calls is a handful
 * of such calls: this says whose time they were.
 */
async function latencies(fns, slowUs = 1000) {
  const gcs = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  obs.observe({ entryTypes: ['gc'] });
  const ms = new Float64Array(fns.length);
  const calls = [];
  for (let i = 0; i < fns.length; i++) {
    const s0 = schedstat?.();
    const t = performance.now();
    await fns[i]();
    const d = performance.now();
    const s1 = schedstat?.();
    ms[i] = d - t;
    if ((d - t) * 1000 >= slowUs)
      calls.push({
        start: t,
        end: d,
        us: Math.round((d - t) * 1000),
        ...(s0 !== undefined && s1 !== undefined ? { waitingForCpuUs: Math.round((s1 - s0) / 1000) } : {}),
      });
  }
  // GC entries arrive on a later turn of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 20));
  obs.disconnect();
  for (const c of calls) {
    c.gcUs = Math.round(gcs.reduce((sum, g) => sum + Math.max(0, Math.min(g.end, c.end) - Math.max(g.start, c.start)), 0) * 1000);
    delete c.start;
    delete c.end;
    // What most of the call's time was.
    if (c.gcUs * 2 >= c.us) c.mostly = 'gc';
    else if (c.waitingForCpuUs === undefined) c.mostly = 'unknown';
    else if (c.waitingForCpuUs * 2 >= c.us) c.mostly = 'waitingForCpu';
    else c.mostly = 'ours';
  }
  const sorted = ms.slice().sort();
  const count = (what) => calls.filter((c) => c.mostly === what).length;
  const slow = {
    thresholdUs: slowUs,
    count: calls.length,
    mostly: { gc: count('gc'), waitingForCpu: count('waitingForCpu'), ours: count('ours'), unknown: count('unknown') },
    calls,
  };
  return {
    n: ms.length,
    p50us: percentile(sorted, 50) * 1000,
    p99us: percentile(sorted, 99) * 1000,
    meanUs: (sorted.reduce((a, b) => a + b, 0) / ms.length) * 1000,
    slow,
  };
}

function slowText(what, r) {
  const s = r.slow;
  if (s.count === 0) return `${what}: no call over ${s.thresholdUs / 1000} ms`;
  const m = s.mostly;
  return (
    `${what}: ${s.count} of ${r.n} calls over ${s.thresholdUs / 1000} ms; most of their time: waiting for a CPU ${m.waitingForCpu}, ` +
    `a GC pause ${m.gc}, neither (running or blocked) ${m.ours}${m.unknown ? `, unknown ${m.unknown}` : ''}; slowest: ` +
    [...s.calls]
      .sort((a, b) => b.us - a.us)
      .slice(0, 5)
      .map((c) => `${c.us} µs [waiting for a CPU ${c.waitingForCpuUs ?? '?'}${c.gcUs ? `, gc ${c.gcUs}` : ''}]`)
      .join(', ') +
    (s.count > 5 ? ', …' : '')
  );
}

function sampleOf(ids, n, exclude = new Set()) {
  const pool = ids.filter((id) => !exclude.has(id));
  for (let i = pool.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, n);
}

async function buildStore(Kms, home, total, signKeys, log) {
  const manifestPath = join(home, 'bench-manifest.json');
  if (existsSync(manifestPath)) {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (m.total === total && m.signKeys === signKeys) return { ...m, reused: true };
    rmSync(home, { recursive: true, force: true });
  }
  mkdirSync(home, { recursive: true });
  const kms = await Kms.open({ home });
  // A scratch store: the builder's connection skips the per-commit fsync (the store's own
  // setting, synchronous=FULL, is what every measured open below uses).
  let syncOff = false;
  try {
    kms.store.db.pragma('synchronous = OFF');
    syncOff = true;
  } catch {
    // store internals changed: build at the normal speed
  }
  const stride = Math.max(1, Math.floor(total / Math.max(1, signKeys)));
  let fillerSpec = 'SYMMETRIC_DEFAULT';
  const all = [];
  const sign = [];
  const t0 = performance.now();
  let next = 0;
  let lastLog = t0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const isSign = i % stride === 0 && i / stride < signKeys;
      let meta;
      if (isSign || fillerSpec !== 'SYMMETRIC_DEFAULT') {
        meta = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata;
      } else {
        try {
          meta = (await kms.createKey({ KeySpec: 'SYMMETRIC_DEFAULT' })).KeyMetadata;
        } catch {
          fillerSpec = 'ECC_NIST_P256';
          meta = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata;
        }
      }
      all.push(meta.KeyId);
      if (meta.KeySpec === 'ECC_NIST_P256' && sign.length < signKeys) sign.push(meta.KeyId);
      const t = performance.now();
      if (t - lastLog > 10_000) {
        lastLog = t;
        log(`  …${all.length}/${total} keys`);
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  const ms = performance.now() - t0;
  await kms.close();
  const manifest = { total, signKeys, fillerSpec, buildMs: ms, keysPerSec: (total / ms) * 1000, syncOff, all, sign };
  writeFileSync(manifestPath, JSON.stringify(manifest));
  return { ...manifest, reused: false };
}

async function measureStore(Kms, home, manifest, sample, log) {
  const opens = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const k = await Kms.open({ home });
    opens.push(performance.now() - t);
    await k.close();
  }
  const kms = await Kms.open({ home });
  const signSample = sampleOf(manifest.sign, Math.min(sample, manifest.sign.length));
  const describeSample = sampleOf(manifest.all, Math.min(sample, manifest.all.length - signSample.length), new Set(signSample));
  const digest = crypto.randomBytes(32);
  const signFns = signSample.map((KeyId) => () => kms.sign({ KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
  const describeFns = describeSample.map((KeyId) => () => kms.describeKey({ KeyId }));

  // Memory first, on a fresh Kms (later phases leave garbage that makes RSS move both ways):
  // touch every key outside the samples, DescribeKey for records (the JS record cache), then Sign
  // for the signing keys (record + unwrapped native key), and divide the growth by the count.
  const restRecords = manifest.all.filter((id) => !describeSample.includes(id) && !manifest.sign.includes(id));
  const restSign = manifest.sign.filter((id) => !signSample.includes(id));
  await auditFlushed();
  const m0 = settle();
  for (const KeyId of restRecords) await kms.describeKey({ KeyId });
  await auditFlushed();
  const m1 = settle();
  for (const KeyId of restSign) await kms.sign({ KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' });
  await auditFlushed();
  const m2 = settle();
  const cachedNative = kms.engine?.cachedKeys?.();
  const quiesceMs = await quiesce();

  const describeCold = await latencies(describeFns);
  const describeWarm = await latencies(describeFns);
  const signCold = await latencies(signFns);
  const signWarm = await latencies(signFns);
  for (const [what, r] of [['DescribeKey first touch', describeCold], ['DescribeKey cached', describeWarm], ['Sign first touch', signCold], ['Sign cached', signWarm]])
    log(`scale: ${manifest.total} keys, ${slowText(what, r)}`);
  const per = (a, b, n) => (n > 0 ? { rss: (b.rss - a.rss) / n, heap: (b.heapUsed - a.heapUsed) / n, n } : { rss: NaN, heap: NaN, n });

  const tl = performance.now();
  let pages = 0;
  let listed = 0;
  let Marker;
  do {
    const page = await kms.listKeys({ Limit: 1000, ...(Marker ? { Marker } : {}) });
    pages++;
    listed += page.Keys.length;
    Marker = page.Truncated ? page.NextMarker : undefined;
  } while (Marker);
  const listMs = performance.now() - tl;
  await kms.close();
  const sortedOpens = [...opens].sort((a, b) => a - b);
  return {
    keys: manifest.total,
    quiesceMs,
    openMs: { first: opens[0], median: sortedOpens[1] },
    describeCold,
    describeWarm,
    signCold,
    signWarm,
    memory: {
      perCachedRecordBytes: per(m0, m1, restRecords.length),
      perCachedSigningKeyBytes: per(m1, m2, restSign.length),
      cachedNativeKeys: cachedNative,
    },
    listKeys: { ms: listMs, pages, keys: listed, usPerKey: (listMs * 1000) / Math.max(1, listed) },
  };
}

export async function scaleSection({ Kms, keys, baseKeys, signKeys, sample, storeDir, log }) {
  const root = storeDir || mkdtempSync(join(tmpdir(), 'ekms-bench-scale-'));
  const out = { built: {}, stores: {} };
  try {
    for (const [name, total] of [['base', baseKeys], ['large', keys]]) {
      const home = join(root, `store-${total}`);
      log(`scale: ${existsSync(join(home, 'bench-manifest.json')) ? 'reusing' : 'building'} a store of ${total} keys (${Math.min(signKeys, total)} ECC_NIST_P256)`);
      const manifest = await buildStore(Kms, home, total, Math.min(signKeys, total), log);
      out.built[name] = { keys: total, signKeys: manifest.sign.length, fillerSpec: manifest.fillerSpec, buildSeconds: manifest.buildMs / 1000, keysPerSec: manifest.keysPerSec, reused: manifest.reused, syncOff: manifest.syncOff };
      log(`scale: measuring the ${total}-key store`);
      out.stores[name] = await measureStore(Kms, home, manifest, sample, log);
    }
  } finally {
    if (!storeDir) rmSync(root, { recursive: true, force: true });
  }
  return out;
}
