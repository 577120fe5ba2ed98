// Private keys are not left in freed memory: OpenSSL copies a key through ordinary heap buffers
// when it decodes or encodes it, and every allocation of our OpenSSL is wiped when freed
// (native/include/ekms/wiping_heap.hpp). The child uses EC, RSA, AES and HMAC keys, closes the
// store, and scans its own memory (what a core dump or swap could hold) for its keys' private DER.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import t from 'tap';

import { addon } from '../../src/native/addon.js';
import { cleanupLater, tempHome } from '../helpers/backends.js';

const fixture = join(import.meta.dirname, 'fixtures', 'freed-memory-child.mjs');

t.test('the addon wipes what OpenSSL frees', async (t) => {
  t.equal(addon.secureHeap().wipesFrees, true);
});

t.test('no private key of a used and closed store is left in the process memory', { skip: process.platform !== 'linux' && 'reads /proc/self/mem' }, async (t) => {
  const home = tempHome('ekms-freed-');
  cleanupLater(home);
  const r = spawnSync(process.execPath, [fixture, home], { encoding: 'utf8', timeout: 240_000 });
  t.equal(r.status, 0, r.stderr.slice(-1000));
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { afterClose: { ec: number; rsa: number; bytes: number }; control: { ec: number; rsa: number } };
  t.ok(out.afterClose.bytes > 10 * 1024 * 1024, `the scan read the process's memory (${out.afterClose.bytes} bytes)`);
  t.ok(out.control.ec >= 1 && out.control.rsa >= 1, 'the scan finds EC and RSA private keys that are in memory');
  t.equal(out.afterClose.ec, 0, 'no copy of the EC private key');
  t.equal(out.afterClose.rsa, 0, 'no copy of the RSA private key');
});
