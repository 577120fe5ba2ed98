// Event-loop responsiveness under heavy crypto: 64 RSA-4096 signs kept in flight through
// kms.sign while a histogram (monitorEventLoopDelay) and a 1 ms timer watch the loop. The same
// watchers run first on an idle loop for the baseline.
import crypto from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

async function watch(seconds, load) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  let timerMax = 0;
  let last = performance.now();
  let stop = false;
  const tick = () => {
    const t = performance.now();
    timerMax = Math.max(timerMax, t - last - 1);
    last = t;
    if (!stop) setTimeout(tick, 1);
  };
  h.enable();
  setTimeout(tick, 1);
  last = performance.now();
  const ops = await load(seconds);
  stop = true;
  h.disable();
  return {
    ops,
    p50ms: h.percentile(50) / 1e6,
    p99ms: h.percentile(99) / 1e6,
    maxms: h.max / 1e6,
    timerMaxLagMs: timerMax,
  };
}

export async function eventLoopLag({ kms, seconds, concurrency = 64, log }) {
  log('event-loop lag: creating an RSA_4096 key');
  const { KeyMetadata } = await kms.createKey({ KeySpec: 'RSA_4096', KeyUsage: 'SIGN_VERIFY' });
  const input = { KeyId: KeyMetadata.KeyId, Message: crypto.randomBytes(32), MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' };
  await kms.sign(input);
  const idle = await watch(Math.min(1, seconds), (s) => new Promise((res) => setTimeout(() => res(0), s * 1000)));
  const loaded = await watch(seconds, async (s) => {
    const end = performance.now() + s * 1000;
    let ops = 0;
    const worker = async () => {
      while (performance.now() < end) {
        await kms.sign(input);
        ops++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return ops;
  });
  // What the same work costs the loop when done synchronously on it (Node's crypto.sign): one
  // sign blocks the loop for its whole duration.
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 4096 });
  const t = performance.now();
  crypto.sign('sha256', input.Message, privateKey);
  const syncSignMs = performance.now() - t;
  return { concurrency, seconds, idle, loaded: { ...loaded, opsPerSec: loaded.ops / seconds }, syncSignMs };
}
