// The addon runs its own statically linked OpenSSL (DESIGN.md §7), not Node's: the version it
// reports is the system's (from the headers it was built with), and Node's crypto still works
// beside it, on the main thread and in a worker thread.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import t from 'tap';

import { Kms, native } from '../../src/index.js';
import { tempHome } from '../helpers/backends.js';

t.test('the addon reports the OpenSSL it was built against, not Node\'s', async (t) => {
  const addonVersion = native.opensslVersion();
  t.match(addonVersion, /^OpenSSL 3\./);
  // `openssl version` prints the system library's version, which is what we link statically.
  const system = execFileSync('openssl', ['version'], { encoding: 'utf8' }).split(' ')[1];
  t.equal(addonVersion.split(' ')[1], system, `addon runs the system OpenSSL ${system}`);
  t.comment(`Node's own OpenSSL here: ${process.versions.openssl}`);
});

t.test('the addon exports only its Node-API entry points (our OpenSSL stays private)', async (t) => {
  const addonPath = fileURLToPath(new URL('../../build/Release/embedded_kms.node', import.meta.url));
  const symbols = execFileSync('nm', ['-D', '--defined-only', addonPath], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.split(' ').pop());
  t.same(symbols.sort(), ['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
});

t.test('Node\'s crypto keeps working beside the addon, also in a worker thread', async (t) => {
  const kms = await Kms.open({ home: tempHome() });
  const key = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  await kms.sign({ KeyId: key.KeyId!, Message: Buffer.from('x'), SigningAlgorithm: 'ECDSA_SHA_256' });
  t.equal(createHash('sha256').update('abc').digest('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const worker = new Worker(
    `const { createHash } = require('node:crypto'); const { parentPort } = require('node:worker_threads');
     parentPort.postMessage(createHash('sha256').update('abc').digest('hex'));`,
    { eval: true },
  );
  const digest = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  t.equal(digest, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  await kms.close();
});
