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
