// Shared by the tests that run the installed command as a child process (spawn, serve-workers,
// aws-cli-listings): `node bin/ekms.js …` from dist/ (built here when stale), `ekms serve` started
// on a free port, and the process facts the tests read from /proc.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import t from 'tap';

import { cleanupLater, tempHome } from '../helpers/backends.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bin = join(root, 'bin', 'ekms.js');

function newest(dir: string): number {
  let m = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    m = Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return m;
}

/** Builds dist/ when src/ is newer (for a t.before): the children run the built command. */
export function buildDistWhenStale(): void {
  const main = join(root, 'dist', 'cli', 'main.js');
  if (!existsSync(main) || statSync(main).mtimeMs < newest(join(root, 'src'))) {
    // Type errors elsewhere in a tree under work do not stop tsc from emitting.
    spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'ignore' });
  }
  if (!existsSync(main)) throw new Error('dist/cli/main.js is missing: run `npm run build:ts`');
}

export function home(): string {
  const h = tempHome('ekms-bin-');
  cleanupLater(h);
  return h;
}

export function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
}

/** `detached`: in a process group of its own (the primary and its workers), as a shell runs a job. */
export function startServe(args: string[], env: NodeJS.ProcessEnv = {}, { detached = false } = {}): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /on (https?:\/\/\S+) \(auth/.exec(out);
      if (m) resolve({ child, url: m[1]!, stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`ekms serve exited early (${code}): ${err}`)));
  });
}

export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

/** The pids of a process's children (from /proc). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The `aws --version` of the machine's AWS CLI, or undefined when it has none. */
const aws = spawnSync('aws', ['--version'], { encoding: 'utf8' });
export const awsVersion = aws.status === 0 ? `${aws.stdout}${aws.stderr}`.trim() : undefined;

// A Ctrl-C signals the whole process group at once: the primary and every worker of --workers,
// which then stop together (a worker's goodbye to a primary already closing its channel must not
// fail it). Signalled as soon as the address is read: the handlers must be in place by then.
export function ctrlCStopsCleanly(workers: string[]): void {
  t.test(`ekms serve ${workers.join(' ')}: a Ctrl-C to its process group stops it cleanly`, async (tt) => {
    const { child, stderr } = await startServe(['--home', home(), ...workers], {}, { detached: true });
    const exited = exitOf(child);
    process.kill(-child.pid!, 'SIGINT');
    const { code, signal } = await exited;
    tt.same({ code, signal }, { code: 0, signal: null }, 'exit code 0, not killed by the signal');
    await until(() => /ekms: stopped\n$/.test(stderr()), 'the last words', 5_000).catch(() => undefined);
    tt.match(stderr(), /SIGINT: finishing requests in flight\nekms: stopped\n$/, 'stopped cleanly');
    tt.notMatch(stderr(), /Error|EPIPE/, 'no worker failed');
  });
}
