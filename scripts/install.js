#!/usr/bin/env node
// npm install: use a prebuilt addon when one matches this platform, else build from source
// with cmake-js (needs cmake, a C++17 compiler and OpenSSL 3's headers and static library).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prebuilds = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const hasPrebuilt = existsSync(prebuilds) && readdirSync(prebuilds).some((f) => f.endsWith('.node'));
const hasLocal = existsSync(join(root, 'build', 'Release', 'embedded_kms.node'));

if ((hasPrebuilt || hasLocal) && !process.env.EKMS_BUILD_FROM_SOURCE) process.exit(0);

const cmakeJs = join(root, 'node_modules', '.bin', 'cmake-js');
const result = spawnSync(existsSync(cmakeJs) ? cmakeJs : 'cmake-js', ['compile'], { cwd: root, stdio: 'inherit' });
if (result.error?.code === 'ENOENT') {
  // `npm install /path/to/a/clone` links the folder as it is, without its dependencies.
  console.error(
    `\nembedded-kms: cmake-js, which builds the native addon, is not installed in ${root}.\n` +
      'Run `npm ci` there first (installing a folder does not install its own dependencies).\n',
  );
  process.exit(1);
}
if (result.status !== 0) {
  console.error(
    '\nembedded-kms: building the native addon failed. It needs cmake, a C++17 compiler and OpenSSL 3 ' +
      '(headers and static library).\nOn Debian or Ubuntu: apt-get install cmake g++ libssl-dev libp11-kit-dev\n',
  );
  process.exit(result.status ?? 1);
}
