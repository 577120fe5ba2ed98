#!/usr/bin/env node
// Lets prebuildify (which only drives node-gyp) build with cmake-js: prebuildify calls
// `<this> rebuild --target=… --devdir=… --arch=… --release`, we run `cmake-js compile` and leave
// the addon in build/Release, where prebuildify picks it up, strips it and moves it to
// prebuilds/<platform>-<arch>/. Our addon is Node-API, so one build serves every Node version.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arch = process.argv.find((a) => a.startsWith('--arch='))?.slice('--arch='.length) ?? process.arch;
const result = spawnSync(join(root, 'node_modules', '.bin', 'cmake-js'), ['compile', '--arch', arch], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
