#!/usr/bin/env node
// `npm test`: the native unit tests (ctest) and the tap suites, then one closing line
// `N passed, N failed` that counts both (tap's own summary line is not one CI reads).
// The full tap output goes to test-artifacts/tap.log; failures are echoed here.
//
// Options, among the test files: `--no-native` leaves ctest out (scripts/test-node-versions.mjs
// runs tap suites only, under other Node.js majors), `--log=FILE` puts the tap output elsewhere.
//
// Every temporary home, token and log the suites make (their processes' and the CLIs' they
// spawn) goes under one folder of this run (TMPDIR), removed at the end: a test that leaves
// its home behind, or a process killed on purpose, leaves nothing in the machine's /tmp.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
mkdirSync('test-artifacts', { recursive: true });
const options = { native: true, log: 'test-artifacts/tap.log' };
const files = [];
for (const arg of process.argv.slice(2)) {
  if (arg === '--no-native') options.native = false;
  else if (arg.startsWith('--log=')) options.log = arg.slice('--log='.length);
  else files.push(arg);
}
const runTmp = mkdtempSync(join(tmpdir(), 'ekms-tests-'));
const env = { ...process.env, TMPDIR: runTmp };

let passed = 0;
let failed = 0;

// 1. ctest: each native test executable reports "N passed, N failed" for its own cases (-V
// prefixes each line with its test's number, so two at a time still count line by line; each
// makes its own temporary token, and they are single-threaded: one at a time left a core idle).
if (options.native) {
  const ctest = spawnSync('ctest', ['--test-dir', 'build', '--output-on-failure', '-V', '-j', '2'], { encoding: 'utf8', env });
  const ctestOut = `${ctest.stdout ?? ''}${ctest.stderr ?? ''}`;
  let nativeCounted = false;
  for (const m of ctestOut.matchAll(/^\d+: (\d+) passed, (\d+) failed$/gm)) {
    passed += Number(m[1]);
    failed += Number(m[2]);
    nativeCounted = true;
  }
  if (ctest.status !== 0 || !nativeCounted) {
    process.stdout.write(ctestOut);
    if (!nativeCounted) failed += 1;
  }
  process.stdout.write(`native (ctest): ${passed} passed, ${failed} failed\n`);
}

// 2. tap runs its test files with the loaders of the plugins it was built with, and rebuilds
// itself for a changed plugin list (package.json tap.plugin: ours swaps @tapjs/typescript's
// ts-node for tsx) only during a run, for the runs after it. A fresh install would run every file
// through ts-node once, about 4 minutes more: rebuild first when the built list is not ours.
function tapNeedsBuild() {
  const wanted = JSON.parse(readFileSync('package.json', 'utf8')).tap?.plugin ?? [];
  let built;
  try {
    built = /export const signature = `([^`]*)`/.exec(readFileSync('node_modules/@tapjs/test/test-built/dist/esm/index.js', 'utf8'))?.[1];
  } catch {
    return true;
  }
  if (built === undefined) return true;
  const names = new Set(built.split('\n').map((s) => s.trim()));
  return wanted.some((p) => (p.startsWith('!') ? names.has(p.slice(1)) : !names.has(p)));
}
if (tapNeedsBuild()) {
  const build = spawnSync('npx', ['tap', 'build'], { encoding: 'utf8', env });
  if (build.status !== 0) process.stdout.write(`tap build failed (${build.status}): ${build.stderr}\n`);
}

// 3. tap, with the TAP reporter into a log; top-level results and failures shown here. Two test
// files at a time (package.json tap.jobs): tap's own default on a 2-core machine is one, and most
// files spend their time waiting on child processes, servers and the token, so the suite took
// 8.8 minutes alone and 5.6 two at a time on these machines.
const args = ['tap', '-R', 'tap', ...files];
const log = createWriteStream(options.log);
// stderr goes to the log too: dependencies' warnings (the AWS SDK's Node version notice) are noise here.
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'pipe'], env });
child.stderr.on('data', (chunk) => log.write(chunk));
// Interrupted (Ctrl-C, a CI timeout): the suites stop, and their folder goes with them.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    child.kill(signal);
    child.once('close', () => {
      rmSync(runTmp, { recursive: true, force: true });
      process.exit(130);
    });
  });
}
let summary;
let buffered = '';
let failureContext = [];
child.stdout.on('data', (chunk) => {
  log.write(chunk);
  buffered += chunk.toString();
  const lines = buffered.split('\n');
  buffered = lines.pop() ?? '';
  for (const line of lines) {
    // e.g. "# { total: 12, pass: 9, fail: 1, skip: 2 }"
    if (/^# \{ total: /.test(line)) summary = Object.fromEntries([...line.matchAll(/(\w+): (\d+)/g)].map((m) => [m[1], Number(m[2])]));
    if (/^(not )?ok \d+ - /.test(line)) process.stdout.write(`${line}\n`);
    else if (/^\s+not ok /.test(line)) failureContext.push(line.trim());
  }
});
const code = await new Promise((resolve) => child.on('close', resolve));
log.end();
try {
  rmSync(runTmp, { recursive: true, force: true });
} catch (err) {
  process.stdout.write(`could not remove ${runTmp}: ${err.message}\n`); // the results stand
}
if (failureContext.length) process.stdout.write(`failed assertions:\n  ${failureContext.join('\n  ')}\n(see ${options.log})\n`);
let skipped = 0;
if (summary) {
  passed += summary.pass ?? 0;
  failed += summary.fail ?? 0;
  skipped = (summary.skip ?? 0) + (summary.todo ?? 0);
} else {
  failed += 1;
  process.stdout.write('tap printed no summary\n');
}
if (code !== 0 && failed === 0) failed += 1;
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed === 0 ? 0 : 1);
