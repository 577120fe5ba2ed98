// Key material in OpenSSL's secure heap (mlock()ed, MADV_DONTDUMP: never swapped, never in a
// core dump): on by default, sized by EKMS_SECURE_HEAP_BYTES, off with 0, and a heap too small
// for the keys in use costs cache evictions, not failures.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import t from 'tap';

import { cleanupLater, tempHome } from '../helpers/backends.js';

const fixture = join(import.meta.dirname, 'fixtures', 'secure-heap-child.mjs');

interface Status {
  enabled: boolean;
  locked: boolean;
  size: number;
  used: number;
}

function run(bytes: string | undefined, count: number): { before: Status; after: Status; signed: number } {
  const home = tempHome('ekms-secure-heap-');
  cleanupLater(home);
  const env = { ...process.env };
  if (bytes === undefined) delete env.EKMS_SECURE_HEAP_BYTES;
  else env.EKMS_SECURE_HEAP_BYTES = bytes;
  const r = spawnSync(process.execPath, [fixture, home, String(count)], { env, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`child failed (${r.status ?? r.signal}): ${r.stderr.slice(-1000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { before: Status; after: Status; signed: number };
}

t.test('software keys live in the secure heap by default', async (t) => {
  const r = run(undefined, 6);
  t.equal(r.after.enabled, true, 'the secure heap is on');
  t.equal(r.after.size, 4 * 1024 * 1024, 'default size 4 MiB');
  t.ok(r.before.used > 0, `key material is there (${r.before.used} bytes in use)`);
  t.equal(r.signed, 12);
});

t.test('EKMS_SECURE_HEAP_BYTES=0 turns it off, and everything works the same', async (t) => {
  const r = run('0', 6);
  t.equal(r.after.enabled, false);
  t.equal(r.after.used, 0);
  t.equal(r.signed, 12);
});

t.test('a heap too small for the keys in use evicts from the cache instead of failing', async (t) => {
  // 16 KiB holds about a dozen RSA-2048 private keys; 30 keys are created and each used twice.
  const r = run('16384', 30);
  t.equal(r.after.size, 16384);
  t.equal(r.signed, 60, 'every key signed, evicted ones after loading again');
  t.ok(r.after.used <= r.after.size, `${r.after.used} of ${r.after.size} bytes in use`);
});
