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

/** One subject, measured alone: warm-up, then `seconds` in one go. */
export async function measure(fn, { concurrency = 1, seconds = 1, warmup = 0.2, sync = false } = {}) {
  if (warmup > 0) await slice(fn, { concurrency, seconds: warmup, sync });
  const m = new Meter();
  await slice(fn, { concurrency, seconds, sync }, m);
  return m.summary();
}

/**
 * Several subjects ({ fn, concurrency, sync }) measured in alternating slices: each gets
 * `seconds` in total, in `rounds` slices, after a warm-up of each. Returns one summary per subject.
 */
export async function compare(subjects, { seconds = 1, warmup = 0.2, rounds = 4 } = {}) {
  for (const s of subjects) if (warmup > 0 && !s.external) await slice(s.fn, { ...s, seconds: warmup });
  const meters = subjects.map(() => new Meter());
  for (let r = 0; r < rounds; r++) {
    // Alternate the order too, so neither side always runs right after the other's slice.
    const order = r % 2 === 0 ? subjects.map((_, i) => i) : subjects.map((_, i) => subjects.length - 1 - i);
    for (const i of order) await slice(subjects[i].fn, { ...subjects[i], seconds: seconds / rounds }, meters[i]);
  }
  return meters.map((m) => m.summary());
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
