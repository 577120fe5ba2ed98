// The audit log file's writer (src/audit/log.ts): batches written in order off the event loop,
// durable appends settled only once on disk, close() never leaving a write in flight on a
// descriptor it closed, and a trail sent to a device left as it is.
import { spawnSync } from 'node:child_process';
import { pbkdf2 } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { AuditLog } from '../../src/audit/log.js';
import { tempHome } from '../helpers/backends.js';

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);

/** Rejects when `p` has not settled within `ms`: a hang is a failure here, not a stuck run. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

t.test('durable appends one after another each settle, in order, with nothing else going on', async (t) => {
  const path = join(tempHome('ekms-audit-log-'), 'audit.log');
  const log = new AuditLog(path);
  // Awaited directly: the next append starts in the very step after the previous one settles.
  const sequence = async () => {
    for (let i = 0; i < 20; i++) await log.appendDurable(`{"n":${i}}`);
  };
  await within(sequence(), 10_000, 'the durable appends');
  t.same(lines(path), Array.from({ length: 20 }, (_, i) => `{"n":${i}}`), 'on disk before each settled');
  await log.close();
});

t.test('buffered and durable appends, mixed, keep their order and none is lost or doubled', async (t) => {
  const path = join(tempHome('ekms-audit-log-'), 'audit.log');
  const log = new AuditLog(path);
  const expected: string[] = [];
  const pending: Promise<void>[] = [];
  const pad = 'x'.repeat(900); // large enough that the 256 KiB buffer limit is crossed many times
  for (let i = 0; i < 3000; i++) {
    const line = `{"n":${i},"p":"${pad}"}`;
    expected.push(line);
    if (i % 97 === 0) pending.push(log.appendDurable(line));
    else log.append(line);
    if (i % 500 === 0) await new Promise((r) => setImmediate(r));
  }
  await within(Promise.all(pending), 30_000, 'durable appends');
  await log.close();
  t.same(lines(path), expected);
});

t.test('lines buffered while the event loop stays busy reach the file whole, in order, chunks reused', async (t) => {
  const path = join(tempHome('ekms-audit-log-'), 'audit.log');
  const log = new AuditLog(path);
  const expected: string[] = [];
  const add = (line: string) => {
    expected.push(line);
    log.append(line);
  };
  // Three rounds of megabytes across many 64 KiB chunks, lines longer than a chunk among them.
  // Between bursts only microtasks run, as in a loop of awaited inline signatures: a batch is
  // taken and its write starts on the thread pool, but its completion waits for the event loop,
  // so the next bursts fill other chunks meanwhile. A chunk reused before its write completed
  // would show here; the later rounds reuse the chunks the earlier writes gave back.
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 4000; i++) {
      if (i % 1000 === 500) add(`{"round":${round},"big":${i},"p":"${'é'.repeat(40_000 + i)}"}`);
      add(`{"round":${round},"n":${i},"p":"${String(i % 10).repeat(200 + (i % 900))}"}`);
      if (i % 50 === 49) for (let k = 0; k < 8; k++) await null;
    }
    await within(log.flush(), 30_000, 'flush');
  }
  await log.close();
  const written = lines(path);
  t.equal(written.length, expected.length, 'no line lost or doubled');
  t.ok(
    written.every((l, i) => l === expected[i]),
    'every line byte for byte, in order',
  );
});

t.test('an exit without close() writes what is buffered and what was being written', async (t) => {
  const path = join(tempHome('ekms-audit-log-'), 'audit.log');
  const child = spawnSync(process.execPath, [join(import.meta.dirname, 'fixtures', 'audit-exit-child.mjs'), path, '3000', '900'], { encoding: 'utf8' });
  t.equal(child.status, 0, child.stderr);
  // A batch on the thread pool at exit is written again: it may appear twice, never missing.
  const seen = new Set<number>();
  const order: number[] = [];
  for (const l of lines(path)) {
    const n = (JSON.parse(l) as { n: number }).n;
    if (!seen.has(n)) order.push(n);
    seen.add(n);
  }
  t.same(order, Array.from({ length: 3000 }, (_, i) => i), 'every line, in order');
});

t.test("the log's reused buffers are its own, whatever Buffer.poolSize an application sets", async (t) => {
  const dir = tempHome('ekms-audit-log-');
  const child = spawnSync(process.execPath, [join(import.meta.dirname, 'fixtures', 'audit-pool-child.mjs'), dir], { encoding: 'utf8' });
  t.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout) as { victim: string; lines: number };
  t.equal(out.victim, 'VICTIM', 'an unrelated buffer is untouched');
  t.equal(out.lines, 41, 'the new file holds the line after the failure and the 40 after it');
});

t.test('close() waits for a write started while it was flushing, and writes nothing after', async (t) => {
  const dir = tempHome('ekms-audit-log-');
  const path = join(dir, 'audit.log');
  const log = new AuditLog(path);
  log.append('{"first":1}');
  // An append that lands as flush() finishes, before close() goes on: it starts a writer again,
  // whose write waits behind these in the thread pool (so a close that does not wait for it
  // closes the descriptor first).
  const flush = log.flush.bind(log);
  const busy = () => new Promise((r) => pbkdf2(Buffer.alloc(8), Buffer.alloc(8), 200_000, 32, 'sha256', r));
  let late: Promise<void> | undefined;
  log.flush = async () => {
    await flush();
    if (late) return;
    const pool = Array.from({ length: 8 }, busy);
    late = log.appendDurable('{"late":1}');
    void Promise.all(pool);
  };
  await within(log.close(), 10_000, 'close');
  await within(late!, 10_000, 'the late durable append');
  // The closed descriptor's number is reused by the next open: nothing may reach that file.
  const other = join(dir, 'other.db');
  const fd = openSync(other, 'w');
  await new Promise((r) => setTimeout(r, 100));
  closeSync(fd);
  t.equal(statSync(other).size, 0, 'no audit line in a file opened after close()');
  t.same(lines(path), ['{"first":1}', '{"late":1}']);
  log.append('{"after":1}');
  await log.appendDurable('{"after":2}');
  t.same(lines(path), ['{"first":1}', '{"late":1}'], 'appends after close() are dropped');
});

t.test('a trail sent to /dev/null writes there and leaves the device mode alone', async (t) => {
  const before = statSync('/dev/null').mode;
  const log = new AuditLog('/dev/null');
  log.append('{"n":1}');
  await within(log.appendDurable('{"n":2}'), 10_000, 'durable append to /dev/null');
  await log.close();
  t.equal(statSync('/dev/null').mode, before, '/dev/null keeps its mode');
});
