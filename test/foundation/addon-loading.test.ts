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
