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

  const pkcs11 = { module: '/m.so', tokenLabel: 't', pin: '1234', pinFile: undefined };
  t.same(await warningsDuring(() => resolveConfig({ home, pkcs11 }, {})), [], 'no warning for the pkcs11 options');
  const slot = await warningsDuring(() => resolveConfig({ home, pkcs11: { ...pkcs11, slot: 0 } } as never, {}));
  t.same(slot, ["Kms.open: unknown option 'pkcs11.slot' is ignored (the pkcs11 options are module, tokenLabel, pin, pinFile)"], 'a pkcs11 member it does not know is warned about too');
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
    // No pkcs11 value is shown, only its type: a PIN of the wrong type, or in the wrong member, is still the PIN.
    [{ pkcs11: { module: 5, tokenLabel: 't', pin: '1234' } }, /option 'pkcs11.module' must be the path of a PKCS#11 module, not number$/],
    [{ pkcs11: { module: '/m.so', tokenLabel: 5, pin: '1234' } }, /option 'pkcs11.tokenLabel' must be a string \(the token's label\), not number$/],
    [{ pkcs11: { module: '/m.so', tokenLabel: 't', pinFile: 918273 } }, /^Kms\.open: option 'pkcs11\.pinFile' must be the path of a file, not number$/],
    [{ pkcs11: { module: '/m.so', tokenLabel: 't', pin: 918273 } }, /^Kms\.open: option 'pkcs11\.pin' must be a string, not number$/],
  ];
  for (const [options, message] of cases)
    await t.rejects(Kms.open({ home, ...options } as never), { name: 'TypeError', message }, JSON.stringify(options));
  // A member left out is its variable's (EKMS_PKCS11_MODULE here, unset): what is missing is said at open.
  t.equal(resolveConfig({ home, pkcs11: { tokenLabel: 't', pin: '1234' } }, {}).pkcs11?.module, '', 'no TypeError');
  if (process.env.EKMS_PKCS11_MODULE === undefined)
    await t.rejects(Kms.open({ home, pkcs11: { tokenLabel: 't', pin: '1234' } }), { name: 'KeyStoreOpenError', message: /no PKCS#11 module path is configured \(pkcs11\.module, EKMS_PKCS11_MODULE\)/ });
  t.notOk(existsSync(home), 'nothing was created');
  t.doesNotThrow(() => resolveConfig({ home, keyCacheSize: 0, audit: { path: join(parent, 'a.log') }, clock: () => new Date(), testing: false, fixtures: 'f.json' }, {}), 'the right types pass');
});

t.test('environment values the addon cannot use as given are said, and what is said is what it does', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const addonModule = new URL('../../dist/native/addon.js', import.meta.url).href;
  const script = `const { addon } = await import(${JSON.stringify(addonModule)});
    console.log(JSON.stringify({ heap: addon.secureHeap().size, settings: addon.envSettings() }));`;
  /** Loads the addon in a child with these values; what it uses, and the warnings it gave. */
  const load = (heap: string, threads: string) => {
    const env = { ...process.env, EKMS_SECURE_HEAP_BYTES: heap, EKMS_PKCS11_THREADS: threads };
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
    t.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { heap: number; settings: { name: string; used: number }[] };
    const used = Object.fromEntries(out.settings.map((s) => [s.name, s.used]));
    const warnings = run.stderr.split('\n').filter((l) => l.includes('EmbeddedKmsWarning')).map((l) => l.replace(/^.*embedded-kms: /, ''));
    return { heap: out.heap, threads: used['EKMS_PKCS11_THREADS']!, heapSetting: used['EKMS_SECURE_HEAP_BYTES']!, warnings };
  };
  const defaults = load('', '');
  t.same(defaults.warnings, [], 'unset or empty: the defaults, nothing to say');
  t.equal(defaults.heap, 4 << 20, 'a 4 MiB secure heap');
  t.ok(defaults.threads >= 2, `${defaults.threads} token threads`);
  const usable = load('16384', '3');
  t.same(usable.warnings, [], 'usable values: nothing to say');
  t.equal(usable.heap, 16384);
  t.equal(usable.threads, 3);
  // A sign, a space or a unit: not used, said, and the default is what the addon then uses ("-1"
  // used to give a 1 GiB heap while the warning said 4 MiB).
  for (const [heap, threads] of [['-1', '0'], [' 5', '-2'], ['4MiB', '2x'], ['+8', 'many']]) {
    const r = load(heap!, threads!);
    t.equal(r.heap, 4 << 20, `EKMS_SECURE_HEAP_BYTES=${JSON.stringify(heap)}: the default heap`);
    t.equal(r.threads, defaults.threads, `EKMS_PKCS11_THREADS=${JSON.stringify(threads)}: the default threads`);
    t.same(r.warnings, [
      `EKMS_SECURE_HEAP_BYTES=${JSON.stringify(heap)} is not a usable number of bytes: the default, 4 MiB, is used`,
      `EKMS_PKCS11_THREADS=${JSON.stringify(threads)} is not a usable number of threads: the default, ${defaults.threads} threads, is used`,
    ]);
  }
  // Over the limit: the limit is used, and said (the reading is checked, not the gigabyte's
  // allocation, which a machine's mlock limit may refuse).
  const over = load(String(2 ** 31), '5000');
  t.equal(over.heapSetting, 2 ** 30);
  t.equal(over.threads, 1024);
  t.same(over.warnings, [
    'EKMS_SECURE_HEAP_BYTES=2147483648 is over the limit: 1 GiB, the limit, is used',
    'EKMS_PKCS11_THREADS=5000 is over the limit: 1024 threads, the limit, is used',
  ]);
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

t.test('a region or account id that cannot be in an ARN is refused before anything is made', async (t) => {
  for (const region of ['x y/z', 'not a region!', '', '-us-east-1'])
    t.throws(() => resolveConfig({ region }, {}), { name: 'RangeError', message: `Provided region_name '${region}' doesn't match a supported format.` }, JSON.stringify(region));
  t.throws(() => resolveConfig({}, { EKMS_REGION: 'bad region' }), { name: 'RangeError' }, 'EKMS_REGION too');
  for (const accountId of ['abc', '12345678901', '1234567890123'])
    t.throws(() => resolveConfig({ accountId }, {}), { name: 'RangeError', message: `The account id '${accountId}' is not an AWS account id (12 digits).` });
  t.throws(() => resolveConfig({}, { EKMS_ACCOUNT_ID: 'abc' }), { name: 'RangeError' }, 'EKMS_ACCOUNT_ID too');
  t.equal(resolveConfig({ region: 'eu-central-2', accountId: '000011112222' }, {}).region, 'eu-central-2', 'real ones are taken');
});
