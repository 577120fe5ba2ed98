// Which addon binary is loaded: a local build first, then a prebuilt one, else an error that
// says what to install.
import t from 'tap';

import { locateAddon, missingAddonMessage } from '../../src/native/addon.js';

t.test('a local build wins over a prebuilt binary', async (t) => {
  const found = locateAddon('/pkg', (p) => p === '/pkg/build/Release/embedded_kms.node', () => '/pkg/prebuilds/linux-x64/embedded-kms.node');
  t.equal(found, '/pkg/build/Release/embedded_kms.node');
});

t.test('the prebuilt binary is used when there is no local build', async (t) => {
  const found = locateAddon('/pkg', () => false, () => '/pkg/prebuilds/linux-x64/embedded-kms.node');
  t.equal(found, '/pkg/prebuilds/linux-x64/embedded-kms.node');
});

t.test('with neither, the error names what to install', async (t) => {
  t.throws(() => locateAddon('/pkg', () => false, () => undefined), { message: missingAddonMessage });
  t.match(missingAddonMessage, /apt-get install cmake g\+\+ libssl-dev/);
});

t.test('installed from a folder whose own dependencies are missing, the install says to run npm ci there', async (t) => {
  // `npm install /path/to/a/clone` runs the clone's install script without its node_modules:
  // a copy of the script in a folder with neither a build nor cmake-js stands for that clone.
  const { cpSync, mkdtempSync, rmSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const clone = mkdtempSync(join(tmpdir(), 'ekms-install-'));
  t.teardown(() => rmSync(clone, { recursive: true, force: true }));
  cpSync(new URL('../../scripts/install.js', import.meta.url), join(clone, 'scripts', 'install.js'));
  cpSync(new URL('../../package.json', import.meta.url), join(clone, 'package.json'));
  const run = spawnSync(process.execPath, [join(clone, 'scripts', 'install.js')], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
  t.equal(run.status, 1);
  t.match(run.stderr, /cmake-js, which builds the native addon, is not installed/);
  t.match(run.stderr, /Run `npm ci` there first/);
});
