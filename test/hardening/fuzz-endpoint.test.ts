// Hostile input through the endpoint: AWS JSON 1.1 request bodies made from the generated
// inputs of fuzz-gen.ts, then mutated at the wire level (invalid base64, strings for numbers,
// huge and negative numbers, lone surrogate escapes, invalid UTF-8, broken and deeply nested
// JSON, __proto__ members, wrong headers). Most cases go through processRequest (the endpoint's
// request processing without a socket); a share goes over HTTP to a real server. Every answer
// must be a 200 or an AWS-shaped client error: JSON {__type, message} with x-amzn-ErrorType;
// a 5xx is a finding. When the endpoint module is absent the test says so and skips.
//
// Knobs: EKMS_FUZZ_SEED, EKMS_FUZZ_ENDPOINT_CASES (default 30000), EKMS_FUZZ_HTTP_CASES (default
// 3000), EKMS_FUZZ_ENDPOINT_SECONDS (time cap, default 40).
import { Agent, request } from 'node:http';

import t from 'tap';

import { DEFAULT_MAX_BODY_BYTES } from '../../src/endpoint/wire.js';

import { errorNames, Kms, operationTable } from '../../src/index.js';
import { encodeInput } from '../../src/model/codec.js';
import { shapes, operations, type OperationName } from '../../src/model/service-model.js';
import { cleanupLater, tempHome } from '../helpers/backends.js';
import { auditPath } from './fixtures/audit-path.js';
import { envNumber, makeCase, makeWorld, Rng, seedFromEnv, type World } from './fixtures/fuzz-gen.js';
import { fullGc, rssMiB } from './fixtures/gc.js';

type Endpoint = typeof import('../../src/endpoint/index.js');

const seed = seedFromEnv();
const maxCases = envNumber('EKMS_FUZZ_ENDPOINT_CASES', 30_000);
const httpCases = envNumber('EKMS_FUZZ_HTTP_CASES', 3000);
const maxSeconds = envNumber('EKMS_FUZZ_ENDPOINT_SECONDS', 40);
const names = new Set(errorNames());

let endpoint: Endpoint | undefined;
try {
  endpoint = await import('../../src/endpoint/index.js');
} catch {
  endpoint = undefined;
}

interface WireCase {
  headers: Record<string, string>;
  body: Buffer;
  method: string;
  path: string;
  description: string;
}

const BAD_BASE64 = ['!!!!', 'abc', 'YQ=', 'YQ==YQ==', 'Y Q==', '-_-_', '====', 'YR==', '\u00e9\u00e9\u00e9\u00e9', '%%%%'];

function jsonText(r: Rng, op: OperationName, input: unknown): { text: string; notes: string[] } {
  const notes: string[] = [];
  let body: Record<string, unknown>;
  try {
    body = encodeInput(op, input);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) body = {};
  } catch {
    body = {};
  }
  const def = operations[op]?.input ? shapes[operations[op]!.input!] : undefined;
  const members = Object.entries(def?.members ?? {});
  for (let i = 0, n = r.int(3); i < n && members.length; i++) {
    const [m, d] = r.pick(members);
    const type = shapes[d.shape]?.type;
    const k = r.int(6);
    if (type === 'blob' && k < 3) {
      body[m] = r.pick(BAD_BASE64);
      notes.push(`bad base64 ${m}`);
    } else if ((type === 'integer' || type === 'long') && k < 3) {
      body[m] = r.pick(['5', -1, 2 ** 64, -(2 ** 63), 1.5, '1e400']);
      notes.push(`odd number ${m}`);
    } else if (k < 4) {
      body[m] = r.pick([null, [], {}, true, 0, '', [null], { S: 'x' }]);
      notes.push(`wire type ${m}`);
    }
  }
  let text: string;
  try {
    text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
  } catch {
    text = '{}';
  }
  return { text, notes };
}

function makeWireCase(r: Rng, w: World, ops: readonly OperationName[]): WireCase {
  const op = r.pick(ops);
  const c = makeCase(r, w, op);
  let { text, notes } = jsonText(r, op, c.input);
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': `TrentService.${op}`,
    host: '127.0.0.1',
  };
  let method = 'POST';
  let path = '/';
  let body = Buffer.from(text, 'utf8');
  const k = r.int(40);
  if (k === 0) {
    text = text.replace(/"([^"]*)"/, '"\\ud800$1\\udfff\\ud800"');
    body = Buffer.from(text, 'utf8');
    notes.push('lone surrogate escapes');
  } else if (k === 1) {
    body = Buffer.concat([body.subarray(0, Math.max(1, body.length - 3)), Buffer.from([0xff, 0xc0, 0x80, 0xe2, 0x82]), Buffer.from('"}')]);
    notes.push('invalid UTF-8');
  } else if (k === 2) {
    body = body.subarray(0, r.int(body.length));
    notes.push('truncated JSON');
  } else if (k === 3) {
    const depth = r.chance(0.5) ? 100 : 20000;
    body = Buffer.from(`{"KeyId":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    notes.push(`nested ${depth}`);
  } else if (k === 4) {
    body = Buffer.from(`{"__proto__":{"KeyId":"x","Plaintext":"YQ=="},"constructor":{"prototype":{"polluted":1}},${text.slice(1)}`);
    notes.push('__proto__ members');
  } else if (k === 5) {
    body = Buffer.from(text.replace(/:(\d+)/, ':1e400'));
    notes.push('1e400');
  } else if (k === 6) {
    headers['x-amz-target'] = r.pick(['', 'TrentService.', 'TrentService.constructor', 'TrentService.__proto__', 'Other.CreateKey', `TrentService.${op}x`, 'TrentService.toString']);
    notes.push(`target ${headers['x-amz-target']}`);
  } else if (k === 7) {
    headers['content-type'] = r.pick(['text/plain', '', 'application/json; charset=latin1', 'application/x-amz-json-1.0']);
    notes.push('content type');
  } else if (k === 8) {
    method = r.pick(['GET', 'PUT', 'DELETE']);
    path = r.pick(['/', '/x', '/?a=b', '//']);
    notes.push(`${method} ${path}`);
  } else if (k === 9) {
    body = Buffer.from(r.pick(['', 'null', '[]', '"str"', '7', 'true', '{}{}', '{"a":1,}']));
    notes.push('odd top-level JSON');
  } else if (k === 10) {
    body = Buffer.from(r.bytes(r.int(200)));
    notes.push('random bytes');
  }
  return { headers, body, method, path, description: `${op}: ${notes.join(', ') || 'as generated'}` };
}

function checkResponse(status: number, headers: Record<string, string | string[] | undefined>, text: string): string | undefined {
  if (status === 200) return undefined;
  if (status >= 500) return `status ${status}: ${text.slice(0, 300)}`;
  let json: { __type?: unknown; message?: unknown };
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    return `status ${status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 100))}`;
  }
  const type = json.__type;
  if (typeof type !== 'string' || !(names.has(type) || /^[A-Z][A-Za-z0-9]*Exception$/.test(type))) return `error type ${String(type)}`;
  // AWS leaves the member out of errors it gives no message (a bad ciphertext): never empty or another type.
  if (json.message !== undefined && (typeof json.message !== 'string' || json.message === '')) return `${type} with the message ${JSON.stringify(json.message)}`;
  if (headers['x-amzn-errortype'] !== type) return `x-amzn-ErrorType ${String(headers['x-amzn-errortype'])} for ${type}`;
  if (!headers['x-amzn-requestid']) return 'no x-amzn-RequestId';
  return undefined;
}

t.test('the endpoint answers hostile requests with AWS errors only', { skip: endpoint ? false : 'src/endpoint not present (n/a)' }, async (t) => {
  const { processRequest, startServer } = endpoint!;
  const home = tempHome('ekms-fuzz-ep-');
  cleanupLater(home);
  const kms = await Kms.open({ home, audit: { path: auditPath(home) } });
  t.teardown(() => kms.close());
  const world = await makeWorld(kms, 'ep');
  const r = new Rng(seed ^ 0x5eed);
  const ops = [...operationTable.keys()];
  t.comment(`fuzz-endpoint seed ${seed} (reproduce with EKMS_FUZZ_SEED=${seed})`);
  const findings: string[] = [];
  const started = Date.now();
  let cases = 0;
  let ok = 0;
  fullGc();
  const rss0 = rssMiB();

  // 1. The request processing, without sockets.
  while (cases < maxCases && Date.now() - started < maxSeconds * 1000 * 0.7) {
    const batch: Promise<void>[] = [];
    for (let i = 0; i < 16 && cases < maxCases; i++, cases++) {
      const c = makeWireCase(r, world, ops);
      const index = cases;
      batch.push(
        processRequest(kms, { method: c.method, path: c.path, headers: c.headers, body: c.body, sourceAddress: '127.0.0.1' }, { callerKind: 'endpoint' }).then(
          (res) => {
            if (res.statusCode === 200) ok++;
            const problem = checkResponse(res.statusCode, res.headers, res.body.toString('utf8'));
            if (problem) findings.push(`#${index} ${c.description}: ${problem}`);
          },
          (err: unknown) => {
            findings.push(`#${index} ${c.description}: processRequest threw ${String((err as Error)?.stack ?? err).slice(0, 300)}`);
          },
        ),
      );
    }
    await Promise.all(batch);
  }

  // 2. Over HTTP, keep-alive, 8 at a time.
  const server = await startServer(kms, { port: 0 });
  t.teardown(() => server.close({ graceMs: 1000 }));
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  t.teardown(() => agent.destroy());
  let sent = 0;
  const serverMaxBodyBytes = DEFAULT_MAX_BODY_BYTES;
  // A reused keep-alive socket can be closed by the server just as the client writes on it
  // (EPIPE/ECONNRESET): every HTTP client retries that once on a new connection, and so do we. A
  // second transport failure, on a fresh connection, is a finding.
  const send = (c: WireCase, index: number, retry = true): Promise<void> =>
    new Promise<void>((resolve) => {
      const req = request(
        { host: server.host, port: server.port, method: c.method, path: c.path, headers: { ...c.headers, host: `127.0.0.1:${server.port}`, 'content-length': String(c.body.length) }, agent: retry ? agent : false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            if (res.statusCode === 200) ok++;
            const problem = checkResponse(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'));
            if (problem) findings.push(`#http${index} ${c.description}: ${problem}`);
            resolve();
          });
        },
      );
      req.setTimeout(15_000, () => {
        findings.push(`#http${index} ${c.description}: no answer in 15 s`);
        req.destroy();
        resolve();
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        const closed = err.code === 'EPIPE' || err.code === 'ECONNRESET';
        // A body over the server's limit is refused without being read: the server answers 413
        // and closes, and a client still writing a large body sees the connection close first.
        if (closed && c.body.length > serverMaxBodyBytes) {
          resolve();
          return;
        }
        if (retry && closed) {
          resolve(send(c, index, false));
          return;
        }
        findings.push(`#http${index} ${c.description}: ${err.message}`);
        resolve();
      });
      req.end(c.body);
    });
  while (sent < httpCases && Date.now() - started < maxSeconds * 1000) {
    const batch: Promise<void>[] = [];
    for (let i = 0; i < 8 && sent < httpCases; i++, sent++) batch.push(send(makeWireCase(r, world, ops), sent));
    await Promise.all(batch);
  }
  // An oversized body is refused with 413, not read.
  await send({ headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt' }, body: Buffer.alloc(2 * 1024 * 1024, 0x20), method: 'POST', path: '/', description: 'oversized' }, -1);

  fullGc();
  const rss1 = rssMiB();
  t.comment(`${cases} processed + ${sent} HTTP requests in ${((Date.now() - started) / 1000).toFixed(1)} s (${ok} succeeded); RSS ${rss0.toFixed(0)} → ${rss1.toFixed(0)} MiB`);
  for (const f of findings.slice(0, 25)) t.fail(f);
  t.equal(findings.length, 0, `no findings (seed ${seed})`);
  t.ok(cases + sent >= Math.min(maxCases, 1000), 'enough cases ran');
  t.ok(ok > 0, 'some requests succeeded');
  t.ok(rss1 - rss0 < envNumber('EKMS_FUZZ_RSS_MIB', 256), `RSS grew by ${(rss1 - rss0).toFixed(0)} MiB`);
});
