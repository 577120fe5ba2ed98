// Kms.open's options: a name it does not know (a misspelling such as `storeDir` for `home`) is
// reported as a process warning, once per name, instead of being ignored without a word.
import t from 'tap';

import { resolveConfig } from '../../src/config.js';

function warningsDuring(fn: () => void): Promise<string[]> {
  const seen: string[] = [];
  const onWarning = (w: Error) => {
    if (w.name === 'EmbeddedKmsWarning') seen.push(w.message);
  };
  process.on('warning', onWarning);
  fn();
  // Warnings are emitted on the next tick.
  return new Promise((resolve) =>
    setImmediate(() => {
      process.off('warning', onWarning);
      resolve(seen);
    }),
  );
}

t.test('an unknown option is warned about once; known ones are not', async (t) => {
  const home = '/nonexistent/ekms-options-test';
  const known = await warningsDuring(() =>
    resolveConfig({ home, region: 'eu-west-1', accountId: '123456789012', keyCacheSize: 10, audit: false, testing: true, port: 4599, host: '127.0.0.1' } as never, {}),
  );
  t.same(known, [], 'no warning for the options and the endpoint settings');

  const first = await warningsDuring(() => {
    const config = resolveConfig({ home, storeDir: '/elsewhere' } as never, {});
    t.equal(config.home, home, 'the unknown option changes nothing');
  });
  t.equal(first.length, 1);
  t.match(first[0], /unknown option 'storeDir' is ignored \(the options are home, region/);
  const again = await warningsDuring(() => resolveConfig({ home, storeDir: '/elsewhere' } as never, {}));
  t.same(again, [], 'once per name');
});

t.test('an option of the wrong type is refused, naming the option and what it takes', async (t) => {
  const { Kms } = await import('../../src/index.js');
  const { mkdtempSync, existsSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const parent = mkdtempSync(join(tmpdir(), 'ekms-options-'));
  t.teardown(() => rmSync(parent, { recursive: true, force: true }));
  const home = join(parent, 'home');
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ fixtures: { Keys: [] } }, /option 'fixtures' must be the path of a fixtures file \(JSON or YAML\), not an object/],
    [{ keyCacheSize: '10' }, /option 'keyCacheSize' must be a whole number from 0 to 1048576, not string "10"/],
    [{ keyCacheSize: -1 }, /option 'keyCacheSize' must be a whole number/],
    [{ keyCacheSize: 1.5 }, /option 'keyCacheSize' must be a whole number/],
    [{ home: 42 }, /option 'home' must be a string, not number 42/],
    [{ audit: true }, /option 'audit' must be false, or \{ path: '<file>' \}, not boolean true/],
    [{ audit: { path: 7 } }, /option 'audit' must be false/],
    [{ clock: new Date() }, /option 'clock' must be a function that returns a Date, not an object/],
    [{ testing: 'yes' }, /option 'testing' must be true or false/],
    [{ pkcs11: '/usr/lib/softhsm/libsofthsm2.so' }, /option 'pkcs11' must be \{ module, tokenLabel, pin or pinFile \}/],
  ];
  for (const [options, message] of cases)
    await t.rejects(Kms.open({ home, ...options } as never), { name: 'TypeError', message }, JSON.stringify(options));
  t.notOk(existsSync(home), 'nothing was created');
  t.doesNotThrow(() => resolveConfig({ home, keyCacheSize: 0, audit: { path: join(parent, 'a.log') }, clock: () => new Date(), testing: false, fixtures: 'f.json' }, {}), 'the right types pass');
});

t.test('environment values the addon cannot use as given are said, not ignored', async (t) => {
  const { nativeEnvWarnings } = await import('../../src/native/addon.js');
  t.same(nativeEnvWarnings({ EKMS_SECURE_HEAP_BYTES: '0', EKMS_PKCS11_THREADS: '4' }), [], 'usable values: nothing to say');
  t.same(nativeEnvWarnings({ EKMS_SECURE_HEAP_BYTES: '', EKMS_PKCS11_THREADS: '' }), [], 'empty: the defaults, as unset');
  t.match(nativeEnvWarnings({ EKMS_SECURE_HEAP_BYTES: '4MiB' }), [/EKMS_SECURE_HEAP_BYTES="4MiB" is not a number of bytes: the default, 4 MiB, is used/]);
  t.match(nativeEnvWarnings({ EKMS_SECURE_HEAP_BYTES: String(2 ** 31) }), [/more than 1 GiB: 1 GiB is used/]);
  for (const v of ['0', '-2', '2x', 'many'])
    t.match(nativeEnvWarnings({ EKMS_PKCS11_THREADS: v }), [/EKMS_PKCS11_THREADS=.* is not a number of threads from 1 to 1024: the default/], v);
  t.match(nativeEnvWarnings({ EKMS_PKCS11_THREADS: '5000' }), [/more than 1024: 1024 are used/]);
  // And said as the package loads, as a process warning.
  const { spawnSync } = await import('node:child_process');
  const index = new URL('../../dist/index.js', import.meta.url).href;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(index)})`], {
    env: { ...process.env, EKMS_SECURE_HEAP_BYTES: 'lots' },
    encoding: 'utf8',
  });
  t.equal(run.status, 0);
  t.match(run.stderr, /EmbeddedKmsWarning: embedded-kms: EKMS_SECURE_HEAP_BYTES="lots" is not a number of bytes/);
});

t.test('EKMS_PORT that is not a port is refused, naming the variable and the value', async (t) => {
  const { Kms } = await import('../../src/index.js');
  const { startServer } = await import('../../src/endpoint/index.js');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const home = mkdtempSync(join(tmpdir(), 'ekms-port-'));
  const kms = await Kms.open({ home });
  t.teardown(async () => {
    await kms.close();
    rmSync(home, { recursive: true, force: true });
    delete process.env.EKMS_PORT;
  });
  for (const v of ['abc', '70000', '4599x']) {
    process.env.EKMS_PORT = v;
    await t.rejects(startServer(kms), { message: `invalid port in EKMS_PORT: ${JSON.stringify(v)}` }, v);
  }
});
