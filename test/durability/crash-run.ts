// The crash test's machinery (crash.test.ts on software keys, crash-token.test.ts on a SoftHSM2
// token): child processes create keys, encrypt, sign, rotate, alias, tag, disable and schedule
// deletions while the test SIGKILLs them at random moments (during startup and opening too).
// After each kill the store must open, hold every acknowledged change (and nothing half-made: no
// record without its material, no material without its record), pass SQLite's integrity check,
// and every key touched must still work. Several homes may be worked in parallel to reach the
// number of kills quickly.
import { spawn } from 'node:child_process';
import { constants, createPublicKey, publicEncrypt, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import type tap from 'tap';

import type { Kms } from '../../src/index.js';
import { tempHome } from '../helpers/backends.js';
import { allows, settle, StoreModel, tagKeys, type KeyModel } from './crash-model.js';
import { storeProblems } from './helpers.js';

const child = fileURLToPath(new URL('../fixtures/durability-crash-child.mjs', import.meta.url));
let seed = Number(process.env.EKMS_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31)) >>> 0 || 1;

export interface CrashVariant {
  kills: number;
  /** Homes worked at once (each by one child at a time). */
  parallel: number;
  open(home: string): Promise<Kms>;
  /** The children's environment, beside this process's. */
  childEnv?: NodeJS.ProcessEnv;
  /** More checks of the store after each kill (the token's objects against the records, say). */
  checkLife?(kms: Kms, home: string, problems: string[]): Promise<void>;
}

function random(): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 0x100000000;
}

const message = Buffer.from('crash test message');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Slot {
  home: string;
  logs: string;
  model: StoreModel;
  lives: number;
}

interface Tally {
  kills: number;
  inFlight: Map<string, number>;
  beforeReady: number;
}

/** Runs one child until it is killed; returns its log lines. */
async function life(slot: Slot, tally: Tally, childEnv: NodeJS.ProcessEnv | undefined): Promise<string[]> {
  const logFile = join(slot.logs, `life-${slot.lives++}.log`);
  const p = spawn(process.execPath, [child, slot.home, logFile, String(Math.floor(random() * 2 ** 31))], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(childEnv ? { env: { ...process.env, ...childEnv } } : {}),
  });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => p.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<void>((resolve) => p.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
  if (random() < 0.15) {
    // Early: while Node starts, the package loads, or the store opens (and, the first time, is created).
    await sleep(random() * 400);
    if (p.exitCode === null) tally.beforeReady++;
  } else {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ready, exited, new Promise((r) => (timer = setTimeout(r, 30_000)))]);
    clearTimeout(timer);
    await sleep(random() * 700);
  }
  p.kill('SIGKILL');
  const end = await exited;
  if (end.signal !== 'SIGKILL') throw new Error(`the crash child ended by itself (${end.code}): ${stderr}`);
  tally.kills++;
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    // Killed before it opened its log.
  }
  // A line cut by the kill has no newline: it was never acknowledged.
  return text.split('\n').slice(0, -1);
}

interface Row {
  key_id: string;
  key_spec: string;
  key_state: string;
  materials: number;
  public_key: Buffer | null;
}

function readStore(home: string) {
  const db = new Database(join(home, 'store.sqlite3'), { readonly: true });
  try {
    const keys = db
      .prepare(
        `SELECT k.key_id, k.key_spec, k.key_state, (SELECT COUNT(*) FROM key_materials m WHERE m.key_id = k.key_id) AS materials,
                (SELECT public_key FROM key_materials m WHERE m.key_id = k.key_id AND m.material_id = k.current_material_id) AS public_key
           FROM keys k`,
      )
      .all() as Row[];
    const tags = db.prepare('SELECT key_id, tag_key, tag_value FROM tags').all() as { key_id: string; tag_key: string; tag_value: string }[];
    const aliases = db.prepare("SELECT alias_name, key_id FROM aliases WHERE alias_name LIKE 'alias/c-%'").all() as { alias_name: string; key_id: string }[];
    return { keys: new Map(keys.map((r) => [r.key_id, r])), tags, aliases: new Map(aliases.map((a) => [a.alias_name, a.key_id])) };
  } finally {
    db.close();
  }
}

/** Compares the store with the model, settling what a call in flight left open. */
function checkAgainstModel(slot: Slot, createInFlight: boolean, problems: string[]): void {
  const { model } = slot;
  const s = readStore(slot.home);
  for (const [keyId, k] of model.keys) {
    const row = s.keys.get(keyId);
    if (!row) {
      problems.push(`acknowledged key ${keyId} is missing`);
      continue;
    }
    if (!allows(k.state, row.key_state)) problems.push(`${keyId}: state ${row.key_state}, expected ${[k.state.v, ...k.state.alt].join(' or ')}`);
    settle(k.state, row.key_state);
    if (!allows(k.materials, row.materials))
      problems.push(`${keyId}: ${row.materials} materials, expected ${[k.materials.v, ...k.materials.alt].join(' or ')}`);
    settle(k.materials, row.materials);
  }
  const unknown = [...s.keys.keys()].filter((id) => !model.keys.has(id));
  if (unknown.length > (createInFlight ? 1 : 0)) problems.push(`keys nobody acknowledged or was creating: ${unknown.join(', ')}`);
  for (const id of unknown) {
    const row = s.keys.get(id) as Row;
    model.newKey(id, row.key_spec, row.key_state, row.materials);
    model.touched.add(id);
  }
  const actualTags = new Map<string, string>();
  for (const tg of s.tags) actualTags.set(`${tg.key_id} ${tg.tag_key}`, tg.tag_value);
  for (const [keyId, k] of model.keys)
    for (const tk of tagKeys) {
      const actual = actualTags.get(`${keyId} ${tk}`) ?? null;
      let a = k.tags.get(tk);
      if (!a) k.tags.set(tk, (a = { v: null, alt: [] }));
      if (!allows(a, actual)) problems.push(`${keyId} tag ${tk}: ${actual}, expected ${[a.v, ...a.alt].join(' or ')}`);
      settle(a, actual);
    }
  for (const name of new Set([...model.aliases.keys(), ...s.aliases.keys()])) {
    const actual = s.aliases.get(name) ?? null;
    let a = model.aliases.get(name);
    if (!a) model.aliases.set(name, (a = { v: null, alt: [] }));
    if (!allows(a, actual)) problems.push(`alias ${name}: ${actual}, expected ${[a.v, ...a.alt].join(' or ')}`);
    settle(a, actual);
  }
}

/** Every acknowledged output of these keys still checks, and keys that may be used still work. */
async function checkKeysWork(kms: Kms, home: string, model: StoreModel, keyIds: Iterable<string>, problems: string[]): Promise<void> {
  const rows = readStore(home).keys;
  for (const keyId of keyIds) {
    const k = model.keys.get(keyId) as KeyModel;
    const row = rows.get(keyId);
    if (!row) continue;
    const enabled = row.key_state === 'Enabled';
    try {
      if (k.spec === 'ECC_NIST_P256') {
        const pub = createPublicKey({ key: row.public_key as Buffer, format: 'der', type: 'spki' });
        for (const sig of k.signatures.slice(-3))
          if (!nodeVerify('sha256', message, pub, Buffer.from(sig, 'base64'))) problems.push(`${keyId}: acknowledged signature does not verify`);
        if (enabled) {
          const sig = (await kms.sign({ KeyId: keyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })).Signature!;
          if (!nodeVerify('sha256', message, pub, Buffer.from(sig))) problems.push(`${keyId}: new signature does not verify`);
        }
      } else if (enabled && k.spec === 'SYMMETRIC_DEFAULT') {
        for (const ct of [...k.ciphertexts.slice(-3), Buffer.from((await kms.encrypt({ KeyId: keyId, Plaintext: message })).CiphertextBlob!).toString('base64')]) {
          const pt = (await kms.decrypt({ CiphertextBlob: Buffer.from(ct, 'base64') })).Plaintext!;
          if (!Buffer.from(pt).equals(message)) problems.push(`${keyId}: ciphertext decrypts wrong`);
        }
      } else if (enabled && k.spec === 'HMAC_256') {
        for (const mac of k.macs.slice(-3)) {
          const v = await kms.verifyMac({ KeyId: keyId, Message: message, Mac: Buffer.from(mac, 'base64'), MacAlgorithm: 'HMAC_SHA_256' });
          if (!v.MacValid) problems.push(`${keyId}: acknowledged MAC does not verify`);
        }
      } else if (enabled && k.spec === 'RSA_2048') {
        const pub = createPublicKey({ key: row.public_key as Buffer, format: 'der', type: 'spki' });
        const ct = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, message);
        const pt = (await kms.decrypt({ KeyId: keyId, CiphertextBlob: ct, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).Plaintext!;
        if (!Buffer.from(pt).equals(message)) problems.push(`${keyId}: RSA private key does not decrypt`);
      }
    } catch (err) {
      problems.push(`${keyId} (${k.spec}, ${row.key_state}): ${(err as Error).name}: ${(err as Error).message}`);
    }
  }
}

function sample<T>(items: T[], n: number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out.slice(0, n);
}

/** Runs the crash test: `variant.kills` kills, then every key of every store checked. */
export async function crashTest(t: Pick<typeof tap, 'comment' | 'same' | 'ok'>, variant: CrashVariant): Promise<void> {
  const { kills, parallel } = variant;
  t.comment(`EKMS_CRASH_SEED=${seed} kills=${kills} parallel=${parallel}`);
  const tally: Tally = { kills: 0, inFlight: new Map(), beforeReady: 0 };
  const slots: Slot[] = Array.from({ length: parallel }, () => ({ home: tempHome('ekms-crash-'), logs: tempHome('ekms-crash-logs-'), model: new StoreModel(), lives: 0 }));
  const failures: string[] = [];
  let started = 0;

  async function runSlot(slot: Slot): Promise<void> {
    while (started < kills && failures.length === 0) {
      started++;
      const lines = await life(slot, tally, variant.childEnv);
      const problems: string[] = [];
      const inFlight = slot.model.applyLife(lines, problems);
      if (inFlight) tally.inFlight.set(inFlight.op, (tally.inFlight.get(inFlight.op) ?? 0) + 1);
      let kms: Kms;
      try {
        kms = await variant.open(slot.home);
      } catch (err) {
        failures.push(`${slot.home} life ${slot.lives - 1}: the store does not open: ${(err as Error).message}`);
        return;
      }
      try {
        problems.push(...storeProblems(join(slot.home, 'store.sqlite3')));
        checkAgainstModel(slot, inFlight?.op === 'CreateKey' || lines.length === 0, problems);
        const others = sample([...slot.model.keys.keys()].filter((id) => !slot.model.touched.has(id)), 10);
        await checkKeysWork(kms, slot.home, slot.model, [...slot.model.touched, ...others], problems);
        await variant.checkLife?.(kms, slot.home, problems);
      } finally {
        await kms.close();
      }
      for (const p of problems) failures.push(`${slot.home} life ${slot.lives - 1} (in flight: ${inFlight?.op ?? 'nothing'}): ${p}`);
    }
  }

  await Promise.all(slots.map(runSlot));
  t.same(failures.slice(0, 20), [], 'every acknowledged change survived every kill');
  t.ok(tally.kills >= kills || failures.length > 0, `${tally.kills} kills`);

  // At the end, every key of every store, not just a sample.
  for (const slot of slots) {
    const problems: string[] = [];
    const kms = await variant.open(slot.home);
    try {
      await checkKeysWork(kms, slot.home, slot.model, slot.model.keys.keys(), problems);
    } finally {
      await kms.close();
    }
    t.same(problems, [], `${slot.home}: all ${slot.model.keys.size} keys work`);
  }
  const acknowledged = slots.reduce((n, s) => n + s.model.acknowledged, 0);
  t.ok(acknowledged > kills, `${acknowledged} acknowledged operations checked`);
  t.comment(
    `kills: ${tally.kills}, before ready: ${tally.beforeReady}, with a call in flight: ${[...tally.inFlight].map(([op, n]) => `${op} ${n}`).join(', ')}`,
  );
}
