// Knobs of `npm run bench`: command-line flags win over environment variables, which win over
// the defaults. The defaults keep one run near six minutes on a 2-core machine (most of it the
// warm-up of the slow rows: see bench/README.md).
import { parseArgs } from 'node:util';

const spec = {
  seconds: { env: 'EKMS_BENCH_SECONDS', type: 'number', def: 0.8, help: 'measured seconds per row (each kms row and each Node baseline)' },
  rounds: { env: 'EKMS_BENCH_ROUNDS', type: 'number', def: 4, help: 'slices per row: kms and its Node baseline alternate (A B B A …) so drift hits both' },
  warmup: { env: 'EKMS_BENCH_WARMUP', type: 'number', def: 0.2, help: 'unmeasured warm-up seconds before each row (at least)' },
  'warmup-calls': { env: 'EKMS_BENCH_WARMUP_CALLS', type: 'number', def: 8000, help: 'unmeasured calls before each row (at least): until V8 has optimised the JavaScript of the call, it costs several times more (see bench/README.md)' },
  'slice-warmup': { env: 'EKMS_BENCH_SLICE_WARMUP', type: 'number', def: 0.05, help: 'unmeasured seconds before each measured slice of an in-process subject: the first tens of milliseconds after the process sat idle (while a baseline ran in its own process) cost about 10% more CPU per call; the baselines in processes of their own have their start-up and warm-up before their timed part' },
  'warmup-max': { env: 'EKMS_BENCH_WARMUP_MAX', type: 'number', def: 6, help: 'at most this many seconds of warm-up per row, whatever warmup-calls says' },
  'openssl-seconds': { env: 'EKMS_BENCH_OPENSSL_SECONDS', type: 'number', def: 1, help: 'openssl speed -seconds (integer)' },
  concurrency: { env: 'EKMS_BENCH_CONCURRENCY', type: 'string', def: '1,64', help: 'comma-separated in-flight counts' },
  'message-type': { env: 'EKMS_BENCH_MESSAGE_TYPE', type: 'string', def: 'DIGEST', help: 'Sign/Verify MessageType for ECDSA and RSA rows (RAW or DIGEST); Ed25519 always RAW' },
  only: { env: 'EKMS_BENCH_ONLY', type: 'string', def: '', help: 'regex over "section operation spec" to select rows' },
  sections: { env: 'EKMS_BENCH_SECTIONS', type: 'string', def: 'ops,cpu,lag,scale,endpoint', help: 'sections to run: ops,cpu,lag,scale,endpoint' },
  backends: { env: 'EKMS_BENCH_BACKENDS', type: 'string', def: 'software,softhsm', help: 'key backends for the ops table' },
  'scale-keys': { env: 'EKMS_BENCH_SCALE_KEYS', type: 'number', def: 2000, help: 'keys in the large store (100000 for the issue target)' },
  'scale-base-keys': { env: 'EKMS_BENCH_SCALE_BASE_KEYS', type: 'number', def: 1000, help: 'keys in the reference store' },
  'scale-sign-keys': { env: 'EKMS_BENCH_SCALE_SIGN_KEYS', type: 'number', def: 500, help: 'ECC_NIST_P256 keys spread through each store (the rest are SYMMETRIC_DEFAULT, which create faster)' },
  'scale-sample': { env: 'EKMS_BENCH_SCALE_SAMPLE', type: 'number', def: 300, help: 'keys sampled for the cold and warm DescribeKey/Sign latencies' },
  'scale-store-dir': { env: 'EKMS_BENCH_SCALE_STORE_DIR', type: 'string', def: '', help: 'keep the scale stores here and reuse them on later runs (default: temporary, removed)' },
  'lag-seconds': { env: 'EKMS_BENCH_LAG_SECONDS', type: 'number', def: 2, help: 'seconds of 64 concurrent RSA-4096 signs for the event-loop lag' },
  'endpoint-seconds': { env: 'EKMS_BENCH_ENDPOINT_SECONDS', type: 'number', def: 3, help: 'seconds of load on the endpoint' },
  'endpoint-warmup': { env: 'EKMS_BENCH_ENDPOINT_WARMUP', type: 'number', def: 2, help: 'unmeasured seconds of the same load first: the request path runs several times slower until V8 has optimised it, which in a 3 s run put p99 near 100 ms (12 s runs: p99 15 ms)' },
  'endpoint-workers': { env: 'EKMS_BENCH_ENDPOINT_WORKERS', type: 'number', def: 2, help: 'also measure `ekms serve --workers <n>` (n processes on one store); 0 or 1: only the in-process server' },
  'endpoint-connections': { env: 'EKMS_BENCH_ENDPOINT_CONNECTIONS', type: 'number', def: 64, help: 'keep-alive connections of the load generator' },
  'load-generator': { env: 'EKMS_BENCH_LOAD_GENERATOR', type: 'string', def: 'auto', help: 'wrk, autocannon, node or auto (first available in that order)' },
  'pkcs11js-bind': { env: 'EKMS_BENCH_PKCS11JS_BIND', type: 'string', def: 'deepbind', help: 'how the pkcs11js baseline loads the token module: deepbind (as embedded-kms and the C loop do, so all three run the same OpenSSL inside the token) or plain (as pkcs11js does by itself: the module then runs the OpenSSL of the node binary)' },
  out: { env: 'EKMS_BENCH_OUT', type: 'string', def: 'bench/results/latest.json', help: 'JSON results file' },
  help: { env: '', type: 'boolean', def: false, help: 'print this help' },
};

export function parseOptions(argv = process.argv.slice(2), env = process.env) {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.entries(spec).map(([k, s]) => [k, { type: s.type === 'boolean' ? 'boolean' : 'string' }])),
    strict: true,
  });
  const out = {};
  for (const [k, s] of Object.entries(spec)) {
    let v = values[k] ?? (s.env ? env[s.env] : undefined) ?? s.def;
    if (s.type === 'number') {
      v = Number(v);
      if (!Number.isFinite(v) || v < 0) throw new Error(`--${k} must be a non-negative number`);
    }
    out[camel(k)] = v;
  }
  out.concurrency = String(out.concurrency).split(',').map((x) => Number(x.trim())).filter((x) => x > 0);
  out.sections = new Set(String(out.sections).split(',').map((x) => x.trim()).filter(Boolean));
  out.backends = String(out.backends).split(',').map((x) => x.trim()).filter(Boolean);
  out.opensslSeconds = Math.max(1, Math.round(out.opensslSeconds));
  out.only = out.only ? new RegExp(out.only, 'i') : undefined;
  if (!['deepbind', 'plain'].includes(out.pkcs11jsBind)) throw new Error('--pkcs11js-bind must be deepbind or plain');
  return out;
}

export function usage() {
  const lines = ['usage: npm run bench -- [flags]   (or: node bench/run.js [flags] after npm run build:ts)', ''];
  for (const [k, s] of Object.entries(spec)) {
    lines.push(`  --${k}${s.type === 'boolean' ? '' : ' <v>'}`.padEnd(30) + `${s.help}${s.env ? ` [${s.env}, default ${s.def}]` : ''}`);
  }
  return lines.join('\n');
}

function camel(s) {
  return s.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
}
