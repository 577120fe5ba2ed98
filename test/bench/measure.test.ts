// The benchmark's measuring harness: the warm-up runs until V8 can have optimised the call
// (a number of calls, not only seconds), bounded in time; each measured slice of an in-process
// subject follows a short unmeasured one; external subjects are left to warm up themselves.
import t from 'tap';

// @ts-expect-error: plain JavaScript without declarations
import { compare, ratioOf, warmUp } from '../../bench/lib/measure.js';

t.test('the warm-up runs its calls even when its seconds are over', async (t) => {
  let calls = 0;
  const r = await warmUp({ fn: async () => void calls++, concurrency: 1 }, { warmup: 0.01, warmupCalls: 5000, warmupMax: 30 });
  t.ok(calls >= 5000, `${calls} calls`);
  t.equal(r.warmupCalls, calls);
});

t.test('the warm-up stops at its longest, however few calls it made', async (t) => {
  let calls = 0;
  const slow = () => new Promise<void>((resolve) => setTimeout(() => resolve(void calls++), 20));
  const t0 = performance.now();
  const r = await warmUp({ fn: slow, concurrency: 1 }, { warmup: 0.01, warmupCalls: 1_000_000, warmupMax: 0.3 });
  const took = (performance.now() - t0) / 1000;
  t.ok(calls < 1_000_000 && calls > 0, `${calls} calls`);
  t.ok(took < 5, 'it stopped'); // not a timing assertion: only that it ended, far below a million calls' 20 ms
  t.equal(r.warmupCalls, calls);
});

t.test('each measured slice of an in-process subject follows an unmeasured one; external ones run as they are', async (t) => {
  const calls: string[] = [];
  let phase = 'warm';
  const inProcess = { fn: async () => void calls.push(phase), concurrency: 1 };
  const externalSlices: number[] = [];
  const external = {
    external: async (seconds: number) => {
      externalSlices.push(seconds);
      phase = 'after-external'; // our next calls come after another process's slice
      return { opsPerSec: 100, seconds, cpuUsPerOp: 10 };
    },
  };
  const [ours, theirs] = await compare([inProcess, external], { seconds: 0.08, rounds: 4, warmup: 0.01, warmupCalls: 10, warmupMax: 1, sliceWarmup: 0.005 });
  t.equal(externalSlices.length, 4, 'the external subject ran its four slices, with no warm-up of ours');
  t.ok(ours.warmupCalls >= 10, 'ours warmed up first');
  t.equal(theirs.warmupCalls, undefined, 'the external one did not');
  // Every call made after an external slice and counted is preceded by uncounted ones: the
  // operations measured are fewer than the calls made after the first external slice.
  const afterExternal = calls.filter((p) => p === 'after-external').length;
  const measured = Math.round(ours.opsPerSec * ours.seconds);
  t.ok(afterExternal > 0 && measured < calls.length - ours.warmupCalls, `${measured} measured of ${calls.length - ours.warmupCalls} after the warm-up`);
});

t.test('a ratio is the median of the rounds: one slow slice moves one round, not the figure', async (t) => {
  // Both subjects are external and report what they are told, so the figures are exact on a
  // busy machine: ours runs at 50/s throughout, theirs at 100/s except one slice at 20/s (the
  // machine slowed down during it).
  const rates = [100, 100, 20, 100, 100];
  let slice = 0;
  const theirs = { external: async (seconds: number) => ({ opsPerSec: rates[slice++], seconds }) };
  const ours = { external: async (seconds: number) => ({ opsPerSec: 50, seconds }) };
  const [a, b] = await compare([ours, theirs], { seconds: 0.1, rounds: 5, warmup: 0.01, warmupCalls: 10, warmupMax: 1 });
  t.equal(a.roundRates.length, 5, 'one rate per round for ours');
  t.same(b.roundRates.map((x: number) => Math.round(x)), rates, 'and for theirs, in order');
  const r = ratioOf(a, b);
  const perRound = a.roundRates.map((x: number, i: number) => x / b.roundRates[i]).sort((x: number, y: number) => x - y);
  t.equal(r.ratio, perRound[2], 'the median round');
  t.equal(r.low, perRound[0]);
  t.equal(r.high, perRound[4]);
  const near = (x: number, y: number) => Math.abs(x - y) < 1e-9; // rates are ops over seconds, in floating point
  t.ok(near(r.ratio, 0.5), `the figure is that of the four ordinary rounds: ${r.ratio}`);
  t.ok(near(r.high, 2.5), `the slow slice is its own round, the highest: ${r.high}`);
  t.equal(r.ofTotals, a.opsPerSec / b.opsPerSec, 'the ratio of the sums is kept beside it');
});

t.test('without rounds on both sides, the ratio is that of the sums', async (t) => {
  t.same(ratioOf({ opsPerSec: 50 }, { opsPerSec: 100 }), { ratio: 0.5 });
  t.same(ratioOf({ opsPerSec: 50, roundRates: [50] }, { opsPerSec: 100, roundRates: [90, 110] }), { ratio: 0.5 });
});
