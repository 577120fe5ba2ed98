// Root key rotation killed mid-way, many times: a process rotates the root key in a loop (and
// creates keys meanwhile, so rotations race writes wrapped under the old key) until it is
// SIGKILLed at a random moment. After each kill the store's root key is in exactly one file, the
// store opens with it, and every key, old or acknowledged since, works. At the end a backup made
// before all the rotations restores with the root key it was made with, and with no other.
//
// Knobs: EKMS_ROTATION_KILLS (default 30), EKMS_ROTATION_PARALLEL (default 3).
import { spawn } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import t from 'tap';

import { Kms, backupStore, restoreStore } from '../../src/index.js';
import { durability } from '../../src/durability/native.js';
import { tempHome } from '../helpers/backends.js';
import { storeProblems } from './helpers.js';

const child = fileURLToPath(new URL('../fixtures/durability-rotate-child.mjs', import.meta.url));
const kills = Number(process.env.EKMS_ROTATION_KILLS ?? 30);
const parallel = Number(process.env.EKMS_ROTATION_PARALLEL ?? 3);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface KeyCt {
  key: string;
  ct: string;
}

function storeCheck(home: string): Buffer {
  const db = new Database(join(home, 'store.sqlite3'), { readonly: true });
  try {
    return db.prepare("SELECT value FROM meta WHERE name = 'root_key_check'").pluck().get() as Buffer;
  } finally {
    db.close();
  }
}

function rootKeyFiles(home: string): { name: string; check?: Buffer }[] {
  return readdirSync(home)
    .filter((n) => n.startsWith('root.key') && !n.includes('.tmp.'))
    .map((name) => {
      try {
        return { name, check: durability.rootKeyCheck(join(home, name)) };
      } catch {
        return { name };
      }
    });
}

async function kill(home: string, logFile: string): Promise<{ lines: string[]; midRotation: boolean }> {
  const p = spawn(process.execPath, [child, home, logFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => p.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve) => {
    p.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    p.on('exit', () => resolve());
  });
  await sleep(Math.random() * 700);
  p.kill('SIGKILL');
  if ((await exited) !== 'SIGKILL') throw new Error(`the rotating child ended by itself: ${stderr}`);
  let lines: string[] = [];
  try {
    lines = readFileSync(logFile, 'utf8').split('\n').slice(0, -1);
  } catch {
    // Killed before it logged anything.
  }
  const last = lines.at(-1);
  return { lines, midRotation: last !== undefined && JSON.parse(last).t === 'rs' };
}

t.test(`a root key rotation SIGKILLed ${kills} times at random points leaves a store that opens and works`, async (t) => {
  let done = 0;
  let midRotation = 0;
  let rotations = 0;
  const failures: string[] = [];

  async function slot(): Promise<void> {
    const home = tempHome('ekms-rotkill-');
    const logs = tempHome('ekms-rotkill-logs-');
    let kms = await Kms.open({ home });
    const keys: KeyCt[] = [];
    for (let i = 0; i < 150; i++) {
      const key = (await kms.createKey({})).KeyMetadata!.KeyId!;
      keys.push({ key, ct: Buffer.from((await kms.encrypt({ KeyId: key, Plaintext: Buffer.from(key) })).CiphertextBlob!).toString('base64') });
    }
    const originalRoot = join(logs, 'original-root.key');
    copyFileSync(join(home, 'root.key'), originalRoot);
    const backup = join(logs, 'before-rotations.backup');
    await backupStore(kms, backup);
    await kms.close();

    for (let life = 0; done < kills && failures.length === 0; life++) {
      done++;
      const { lines, midRotation: mid } = await kill(home, join(logs, `life-${life}.log`));
      if (mid) midRotation++;
      for (const l of lines) {
        const e = JSON.parse(l) as { t: string; key?: string; ct?: string };
        if (e.t === 'key') keys.push({ key: e.key!, ct: e.ct! });
        if (e.t === 'rot') rotations++;
      }
      const problems: string[] = [];
      // Before anyone opens it: the store's root key is in exactly one file.
      const check = storeCheck(home);
      const holders = rootKeyFiles(home).filter((f) => f.check?.equals(check));
      if (holders.length !== 1) problems.push(`the store's root key is in ${holders.length} files: ${holders.map((h) => h.name).join(', ')}`);
      try {
        kms = await Kms.open({ home });
      } catch (err) {
        failures.push(`${home} life ${life}: does not open: ${(err as Error).message}`);
        return;
      }
      try {
        if (!durability.rootKeyCheck(join(home, 'root.key')).equals(storeCheck(home))) problems.push('root.key is not the store\'s root key after opening');
        problems.push(...storeProblems(join(home, 'store.sqlite3')));
        for (const k of keys) {
          try {
            const pt = await kms.decrypt({ CiphertextBlob: Buffer.from(k.ct, 'base64') });
            if (Buffer.from(pt.Plaintext!).toString() !== k.key) problems.push(`${k.key}: decrypts wrong`);
          } catch (err) {
            problems.push(`${k.key}: ${(err as Error).name}: ${(err as Error).message}`);
          }
        }
      } finally {
        await kms.close();
      }
      for (const p of problems.slice(0, 5)) failures.push(`${home} life ${life} (${mid ? 'mid-rotation' : 'between rotations'}): ${p}`);
    }

    // The backup from before every rotation: only the original root key restores it.
    const target = tempHome('ekms-rotkill-restored-');
    await t.rejects(restoreStore(target, backup, { rootKeyFile: join(home, 'root.key') }), /made for a different root key/);
    await restoreStore(target, backup, { rootKeyFile: originalRoot });
    const restored = await Kms.open({ home: target });
    try {
      for (const k of keys.slice(0, 150)) {
        const pt = await restored.decrypt({ CiphertextBlob: Buffer.from(k.ct, 'base64') });
        if (Buffer.from(pt.Plaintext!).toString() !== k.key) failures.push(`restored ${k.key}: decrypts wrong`);
      }
    } finally {
      await restored.close();
    }
  }

  await Promise.all(Array.from({ length: parallel }, slot));
  t.same(failures.slice(0, 20), [], 'every kill left a store that opens with one root key and works');
  t.ok(done >= kills, `${done} kills`);
  t.ok(rotations > 0, `${rotations} rotations completed`);
  t.comment(`kills: ${done}, of which during a rotation: ${midRotation}; rotations completed: ${rotations}`);
});
