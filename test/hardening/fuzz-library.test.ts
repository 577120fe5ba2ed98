// Hostile input through the library: every operation of the operation table (and a few that
// are not implemented or do not exist) gets generated inputs, model-driven and then mutated (see
// fuzz-gen.ts). Every call must settle within a timeout, and every failure must be a KmsError
// with an AWS name and a $fault; a server fault is a finding unless the case used a hostile
// getter. The process's memory must stay bounded, and the store must still work afterwards.
//
// It runs on both key backends: on the SoftHSM2 token (its keys made and used there) for a
// shorter time, since what it adds is the token's own paths, not more of the shared validation.
//
// Knobs: EKMS_FUZZ_SEED (reproduce), EKMS_FUZZ_CASES (default 100000), EKMS_FUZZ_SECONDS
// (time cap on the software backend, default 75), EKMS_FUZZ_TOKEN_SECONDS (on the token, default
// 10), EKMS_FUZZ_RSS_MIB (allowed RSS growth after warm-up, default 256: RSS
// moves by 100 MiB either way with V8's heap sizing here; memory-safety.test.ts is the precise
// leak check).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

import t from 'tap';

import { errorNames, KmsError, operationTable } from '../../src/index.js';
import { operationNames, type OperationName } from '../../src/model/service-model.js';
import { type Backend, cleanupLater, software, tempHome } from '../helpers/backends.js';
import { softhsm } from '../helpers/softhsm.js';
import { describeInput, envNumber, makeCase, makeWorld, Rng, seedFromEnv, type Case } from './fixtures/fuzz-gen.js';
import { auditPath } from './fixtures/audit-path.js';
import { fullGc, rssMiB } from './fixtures/gc.js';

const seed = seedFromEnv();
const maxCases = envNumber('EKMS_FUZZ_CASES', 100_000);
const runs: readonly { backend: Backend; maxSeconds: number }[] = [
  { backend: software, maxSeconds: envNumber('EKMS_FUZZ_SECONDS', 75) },
  { backend: softhsm, maxSeconds: envNumber('EKMS_FUZZ_TOKEN_SECONDS', 10) },
];
const rssBudget = envNumber('EKMS_FUZZ_RSS_MIB', 256);
const CALL_TIMEOUT_MS = 15_000;
const CONCURRENCY = 16;
const names = new Set(errorNames());

t.comment(`fuzz-library seed ${seed} (reproduce with EKMS_FUZZ_SEED=${seed})`);

const RSA = /^RSA_/;

for (const { backend, maxSeconds } of runs)
t.test(`every operation survives hostile input (${backend.name})`, async (t) => {
  const home = tempHome('ekms-fuzz-lib-');
  cleanupLater(home);
  // The audit trail stays on (its redaction is fuzzed too), on tmpfs where there is one: each
  // successful management call fsyncs, and a disk's fsyncs would dominate the run.
  const audit = auditPath(home);
  const kms = await backend.open({ home, audit: { path: audit } });
  // A token makes RSA keys slowly (RSA-4096 can take longer than a call's timeout here).
  const expensiveCap = backend === software ? 12 : 4;
  t.teardown(() => kms.close());
  const world = await makeWorld(kms, 'fz');
  const r = new Rng(seed);
  const implemented = [...operationTable.keys()];
  const others = operationNames.filter((n) => !operationTable.has(n));
  let expensive = 0;

  const findings: string[] = [];
  const outcomes = new Map<string, number>();
  let cases = 0;
  let ok = 0;

  function tame(c: Case): void {
    // Key generation is the one slow thing: a few RSA keys and pairs, then elliptic curves.
    const input = c.input as Record<string, unknown> | null;
    if (!input || typeof input !== 'object') return;
    for (const m of ['KeySpec', 'CustomerMasterKeySpec', 'KeyPairSpec']) {
      const v = input[m];
      if (typeof v === 'string' && RSA.test(v) && (c.operation === 'CreateKey' || c.operation.startsWith('GenerateDataKeyPair'))) {
        const set = (value: string) => Object.defineProperty(input, m, { value, enumerable: true, writable: true, configurable: true });
        if (expensive++ >= expensiveCap) set('ECC_NIST_P256');
        else if (v !== 'RSA_2048' && (expensive > 3 || backend !== software)) set('RSA_2048');
      }
    }
  }

  async function one(index: number, c: Case): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), CALL_TIMEOUT_MS)));
    let call: Promise<unknown>;
    try {
      call = kms.execute(c.operation, c.input as never);
    } catch (err) {
      findings.push(`#${index} ${c.operation} threw synchronously (${(err as Error)?.name}): ${c.description} ${describeInput(c.input)}`);
      clearTimeout(timer);
      return;
    }
    c.afterCall?.();
    const settled = await Promise.race([call.then(() => 'ok' as const, (err: unknown) => err), timeout]);
    clearTimeout(timer);
    if (settled === 'timeout') {
      findings.push(`#${index} ${c.operation} did not settle in ${CALL_TIMEOUT_MS} ms: ${c.description} ${describeInput(c.input)}`);
      return;
    }
    if (settled === 'ok') {
      ok++;
      outcomes.set(`${c.operation} ok`, (outcomes.get(`${c.operation} ok`) ?? 0) + 1);
      return;
    }
    const e = settled as KmsError;
    const key = `${c.operation} ${e?.name}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    // Names outside the model's list are AWS's too when they are AWS-shaped (NotAuthorizedException).
    const awsShaped = e instanceof KmsError && (names.has(e.name) || /^[A-Z][A-Za-z0-9]*Exception$/.test(e.name)) && (e.$fault === 'client' || e.$fault === 'server') && typeof e.message === 'string';
    if (!awsShaped) {
      const stack = String((e as Error)?.stack ?? '').split('\n').slice(1, 5).map((l) => l.trim()).join(' < ');
      findings.push(`#${index} ${c.operation} rejected with a non-AWS error ${String((e as Error)?.name)}: ${String((e as Error)?.message).slice(0, 200)} — ${c.description} ${describeInput(c.input)} — at ${stack}`);
    } else if (e.$fault === 'server' && !c.hostile) {
      findings.push(`#${index} ${c.operation} server fault ${e.name}: ${e.message.slice(0, 300)} — ${c.description} ${describeInput(c.input)}`);
    }
  }

  const started = Date.now();
  let rssAfterWarmup = 0;
  const warmup = Math.min(5000, Math.floor(maxCases / 10));
  while (cases < maxCases && Date.now() - started < maxSeconds * 1000) {
    const batch: Promise<void>[] = [];
    for (let i = 0; i < CONCURRENCY && cases < maxCases; i++, cases++) {
      const k = r.int(100);
      const operation = (k < 97 ? r.pick(implemented) : k < 99 ? r.pick(others) : r.pick(['NoSuchOperation', '', 'constructor', '__proto__'])) as OperationName;
      const c = makeCase(r, world, operation);
      tame(c);
      batch.push(one(cases, c));
    }
    await Promise.all(batch);
    if (rssAfterWarmup === 0 && cases >= warmup) {
      fullGc();
      rssAfterWarmup = rssMiB();
    }
  }
  const seconds = (Date.now() - started) / 1000;
  fullGc();
  const rssEnd = rssMiB();
  t.comment(`${cases} cases in ${seconds.toFixed(1)} s (${ok} succeeded); RSS ${rssAfterWarmup.toFixed(0)} → ${rssEnd.toFixed(0)} MiB`);
  const top = [...outcomes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  t.comment(`most frequent outcomes: ${top.map(([k, v]) => `${k}=${v}`).join(', ')}`);

  for (const f of findings.slice(0, 25)) t.fail(f);
  t.equal(findings.length, 0, `no findings (seed ${seed})`);
  if (cases < maxCases) t.comment(`time cap reached before ${maxCases} cases (EKMS_FUZZ_SECONDS=${maxSeconds})`);
  t.ok(cases >= Math.min(maxCases, 1000), 'enough cases ran');
  t.ok(ok > 0, 'some generated inputs were valid and succeeded');
  t.ok(rssEnd - rssAfterWarmup < rssBudget, `RSS grew by ${(rssEnd - rssAfterWarmup).toFixed(0)} MiB after warm-up (budget ${rssBudget} MiB)`);

  // Every call left one well-formed event in the audit trail, hostile input included.
  await kms.audit!.flush();
  let events = 0;
  let malformed = 0;
  // Line by line: a long run (EKMS_FUZZ_SECONDS=240) writes more than the longest string V8 makes.
  for await (const line of createInterface({ input: createReadStream(audit), crlfDelay: Infinity })) {
    if (!line) continue;
    events++;
    try {
      const e = JSON.parse(line) as { eventSource?: string };
      if (e.eventSource !== 'kms.amazonaws.com') malformed++;
    } catch {
      malformed++;
    }
  }
  t.equal(malformed, 0, `every audit line is a JSON event (${events} lines)`);
  t.ok(events >= cases, 'one event per call at least');

  // The store still works.
  const { KeyMetadata } = await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
  const sig = await kms.sign({ KeyId: KeyMetadata!.KeyId!, Message: Buffer.from('after'), SigningAlgorithm: 'ECDSA_SHA_256' });
  const v = await kms.verify({ KeyId: KeyMetadata!.KeyId!, Message: Buffer.from('after'), Signature: sig.Signature!, SigningAlgorithm: 'ECDSA_SHA_256' });
  t.equal(v.SignatureValid, true, 'the store works after the run');
});
