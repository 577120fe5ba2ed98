// Scale: a store of N keys against a reference store (1,000 keys by default), both built the
// same way, measured in the same run. Most keys are SYMMETRIC_DEFAULT (they create fastest);
// `signKeys` ECC_NIST_P256 keys are spread evenly through each store for the Sign latencies.
import crypto from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

import { percentile } from './measure.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

function settle() {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

/**
 * Latencies of the calls one at a time (p50, p99, mean in µs, as measure.js's `latencies`), and
 * what was going on during each call slower than `slowUs`: the process's context switches
 * (getrusage, taken outside the timed span) and the GC pauses that overlapped it. On a shared
 * 2-core machine a p99 over a few hundred calls is a handful of such calls; this says whether they
 * were the scheduler (involuntary switches: another process ran), a blocking read (voluntary
 * switches in a call that does no I/O of its own, such as DescribeKey), a GC pause, or neither
 * (work of ours). Counts are per process, every thread included: a Sign always has voluntary
 * switches (the event loop waits for the thread pool).
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
    const r0 = process.resourceUsage();
    const t = performance.now();
    await fns[i]();
    const d = performance.now();
    const r1 = process.resourceUsage();
    ms[i] = d - t;
    if ((d - t) * 1000 >= slowUs)
      calls.push({
        start: t,
        end: d,
        us: Math.round((d - t) * 1000),
        cpuUs: r1.userCPUTime + r1.systemCPUTime - r0.userCPUTime - r0.systemCPUTime,
        involuntary: r1.involuntaryContextSwitches - r0.involuntaryContextSwitches,
        voluntary: r1.voluntaryContextSwitches - r0.voluntaryContextSwitches,
      });
  }
  // GC entries arrive on a later turn of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 20));
  obs.disconnect();
  for (const c of calls) {
    c.gcUs = Math.round(gcs.reduce((sum, g) => sum + Math.max(0, Math.min(g.end, c.end) - Math.max(g.start, c.start)), 0) * 1000);
    delete c.start;
    delete c.end;
  }
  const sorted = ms.slice().sort();
  const slow = {
    thresholdUs: slowUs,
    count: calls.length,
    withGc: calls.filter((c) => c.gcUs > 0).length,
    preempted: calls.filter((c) => c.gcUs === 0 && c.involuntary > 0).length,
    neither: calls.filter((c) => c.gcUs === 0 && c.involuntary === 0).length,
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
  return (
    `${what}: ${s.count} of ${r.n} calls over ${s.thresholdUs / 1000} ms (${s.withGc} overlapping a GC pause, ${s.preempted} more preempted, ${s.neither} neither): ` +
    [...s.calls]
      .sort((a, b) => b.us - a.us)
      .slice(0, 6)
      .map((c) => `${c.us} µs [cpu ${c.cpuUs} µs, invol ${c.involuntary}, vol ${c.voluntary}${c.gcUs ? `, gc ${c.gcUs} µs` : ''}]`)
      .join(', ') +
    (s.count > 6 ? ', …' : '')
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
  const m0 = settle();
  for (const KeyId of restRecords) await kms.describeKey({ KeyId });
  const m1 = settle();
  for (const KeyId of restSign) await kms.sign({ KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' });
  const m2 = settle();
  const cachedNative = kms.engine?.cachedKeys?.();

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
