// Timing primitives: run an operation for a while, one at a time or with N in flight, and
// report throughput, latency percentiles and the process's CPU time per operation.
//
// The machine is small and shared, so its speed drifts by the second. `compare` therefore
// alternates the subject and its baselines in short slices (A B A B …) and sums each one's
// slices: a drift hits both sides of a ratio alike.
import { performance } from 'node:perf_hooks';

const now = () => performance.now();

export class Meter {
  constructor() {
    this.buf = new Float64Array(1 << 16);
    this.n = 0;
    this.ops = 0;
    this.ms = 0;
    this.cpuUs = 0;
    this.rounds = []; // operations per second of each slice compare() measured, in order
  }
  add(ms) {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = ms;
  }
  summary() {
    const sorted = this.buf.slice(0, this.n).sort();
    const seconds = this.ms / 1000;
    return {
      ops: this.ops,
      seconds,
      opsPerSec: this.ops / seconds,
      p50us: percentile(sorted, 50) * 1000,
      p99us: percentile(sorted, 99) * 1000,
      cpuUsPerOp: this.cpuUnknown ? undefined : this.cpuUs / this.ops,
      cpuUtilisation: this.cpuUnknown ? undefined : this.cpuUs / 1e6 / seconds,
      roundRates: this.rounds.length > 0 ? this.rounds : undefined,
    };
  }
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Runs `fn` for `seconds`, `concurrency` calls in flight (a sync fn runs one at a time). */
export async function slice(fn, { concurrency = 1, seconds, sync = false, external }, meter) {
  if (external) {
    // Measured elsewhere (another process): it reports its own rate for the slice, and its CPU
    // time per operation when it can.
    const r = await external(seconds);
    if (meter) {
      meter.ops += r.opsPerSec * r.seconds;
      meter.ms += r.seconds * 1000;
      if (r.cpuUsPerOp !== undefined) meter.cpuUs += r.cpuUsPerOp * r.opsPerSec * r.seconds;
      else meter.cpuUnknown = true;
    }
    return r.opsPerSec * r.seconds;
  }
  const cpu0 = process.cpuUsage();
  const t0 = now();
  const end = t0 + seconds * 1000;
  let ops = 0;
  if (sync) {
    while (true) {
      const t = now();
      fn();
      const d = now();
      meter?.add(d - t);
      ops++;
      if (d >= end) break;
    }
  } else {
    const worker = async () => {
      while (true) {
        const t = now();
        await fn();
        const d = now();
        meter?.add(d - t);
        ops++;
        if (d >= end) return;
      }
    };
    const workers = [];
    for (let i = 0; i < concurrency; i++) workers.push(worker());
    await Promise.all(workers);
  }
  if (meter) {
    const cpu = process.cpuUsage(cpu0);
    meter.ops += ops;
    meter.ms += now() - t0;
    meter.cpuUs += cpu.user + cpu.system;
  }
  return ops;
}

/**
 * Runs a subject unmeasured first: `warmup` seconds and `warmupCalls` calls, whichever ends later,
 * but no longer than `warmupMax` seconds. V8 optimises a function only once it has run many times,
 * and the JavaScript of one kms call settles over several thousand calls: one RSA-2048 Sign at a
 * time on SoftHSM2 costs about 850 µs of CPU in its first second and 730 µs from its fifth, when
 * a direct call of the native handle costs 700-710 µs throughout. A warm-up by seconds alone
 * measured V8's warm-up for slow operations and steady state for fast ones. Returns what it ran.
 */
export async function warmUp(subject, { warmup = 0.2, warmupCalls = 0, warmupMax = 10 } = {}) {
  const t0 = now();
  let calls = warmup > 0 ? await slice(subject.fn, { ...subject, seconds: Math.min(warmup, warmupMax) }) : 0;
  while (calls < warmupCalls && now() - t0 < warmupMax * 1000) calls += await slice(subject.fn, { ...subject, seconds: 0.1 });
  return { warmupCalls: calls, warmupSeconds: (now() - t0) / 1000 };
}

/** One subject, measured alone: warm-up (see warmUp), then `seconds` in one go. */
export async function measure(fn, { concurrency = 1, seconds = 1, warmup = 0.2, warmupCalls = 0, warmupMax = 10, sync = false } = {}) {
  const warmed = await warmUp({ fn, concurrency, sync }, { warmup, warmupCalls, warmupMax });
  const m = new Meter();
  await slice(fn, { concurrency, seconds, sync }, m);
  return { ...m.summary(), ...warmed };
}

/**
 * Several subjects ({ fn, concurrency, sync }) measured in alternating slices: each gets
 * `seconds` in total, in `rounds` slices, after a warm-up of each (see warmUp; an external
 * subject, a process of its own, warms up itself), each slice of an in-process subject after
 * `sliceWarmup` seconds unmeasured. Returns one summary per subject.
 */
export async function compare(subjects, { seconds = 1, warmup = 0.2, warmupCalls = 0, warmupMax = 10, sliceWarmup = 0, rounds = 4 } = {}) {
  const warmed = [];
  for (const s of subjects) warmed.push(s.external ? {} : await warmUp(s, { warmup, warmupCalls, warmupMax }));
  const meters = subjects.map(() => new Meter());
  for (let r = 0; r < rounds; r++) {
    // Alternate the order too, so neither side always runs right after the other's slice.
    const order = r % 2 === 0 ? subjects.map((_, i) => i) : subjects.map((_, i) => subjects.length - 1 - i);
    for (const i of order) {
      const s = subjects[i];
      // A process that sat idle while another subject ran starts slower (cold caches): the
      // external subjects start their timed part after their start-up and warm-up, so ours too.
      if (!s.external && sliceWarmup > 0) await slice(s.fn, { ...s, seconds: sliceWarmup });
      const before = { ops: meters[i].ops, ms: meters[i].ms };
      await slice(s.fn, { ...s, seconds: seconds / rounds }, meters[i]);
      meters[i].rounds.push(((meters[i].ops - before.ops) * 1000) / (meters[i].ms - before.ms));
    }
  }
  return meters.map((m, i) => ({ ...m.summary(), ...warmed[i] }));
}

/**
 * a ÷ b from two summaries of one compare(): the median of the rounds' ratios (each round's
 * slices ran back to back), and the lowest and highest of them. The machine's speed swings by
 * more than half within seconds here; a swing during one slice skews that round's ratio alone,
 * where in the ratio of the sums it skews the whole figure. Without rounds: the sums' ratio.
 */
export function ratioOf(a, b) {
  const total = a.opsPerSec / b.opsPerSec;
  if (!a.roundRates || !b.roundRates || a.roundRates.length !== b.roundRates.length) return { ratio: total };
  const rs = a.roundRates.map((x, i) => x / b.roundRates[i]).sort((x, y) => x - y);
  const mid = rs.length >> 1;
  const median = rs.length % 2 ? rs[mid] : (rs[mid - 1] + rs[mid]) / 2;
  return { ratio: median, low: rs[0], high: rs[rs.length - 1], ofTotals: total };
}

export async function latencies(fns) {
  const m = new Meter();
  for (const fn of fns) {
    const t = now();
    await fn();
    m.add(now() - t);
  }
  const sorted = m.buf.slice(0, m.n).sort();
  return { n: m.n, p50us: percentile(sorted, 50) * 1000, p99us: percentile(sorted, 99) * 1000, meanUs: (sorted.reduce((a, b) => a + b, 0) / m.n) * 1000 };
}
