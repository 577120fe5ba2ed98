#!/usr/bin/env node
// npm's prepare (after `npm ci` / `npm install` in a clone): compiles the TypeScript into dist/,
// which is not committed, so that `npx ekms …` works right after the install. Skipped where the
// compiler is not installed (`npm ci --omit=dev`, e.g. a production image that copies a dist/
// built elsewhere); a failed compile is reported without failing the install, so `npm test`
// (which compiles first) reports it with the tests.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  console.error('embedded-kms: TypeScript is not installed (dev dependencies left out): dist/ is not compiled here');
  process.exit(0);
}
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) console.error('embedded-kms: compiling the TypeScript failed (above); `npm run build:ts` runs it again');
