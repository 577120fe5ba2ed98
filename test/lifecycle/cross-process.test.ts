// Several processes on one home: a key disabled, deleted or re-aliased in one process is seen
// by the next operation in another — both ways, and with the other process's caches warm.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import t from 'tap';

import type { Kms, KmsOptions, OperationName } from '../../src/index.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';

type Test = typeof t;
const day = 86_400_000;
const start = Date.parse('2030-01-01T00:00:00Z');
const childScript = fileURLToPath(new URL('./fixtures/kms-child.ts', import.meta.url));

interface Reply {
  id?: number;
  ready?: boolean;
  ok?: boolean;
  result?: unknown;
  error?: { name: string; message: string };
}

/** The other process: runs operations on the same home and reports results or AWS errors. */
class Child {
  private next = 0;
  private waiting = new Map<number, (r: Reply) => void>();
  private constructor(private readonly proc: ChildProcess) {
    proc.on('message', (r: Reply) => {
      if (r.id !== undefined) this.waiting.get(r.id)?.(r);
    });
  }

  /** A process that opens the same key store as `kms` (same home, ARNs and token). */
  static start(kms: Kms, now: number): Promise<Child> {
    const { home, region, accountId, pkcs11 } = kms.config;
    // The PIN by name: the config keeps it out of JSON (config.ts, withHiddenPin).
    const options: KmsOptions = { home, region, accountId, ...(pkcs11 ? { pkcs11: { ...pkcs11, pin: pkcs11.pin } } : {}) };
    const proc = fork(childScript, [JSON.stringify(options), String(now)], {
      // The TypeScript loader tap runs this test with (package.json, tap.node-arg), so the child
      // runs the same sources.
      execArgv: process.execArgv.filter((a) => a.startsWith('--import=tsx')),
      env: { ...process.env, NODE_OPTIONS: '' },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
      proc.once('message', (r: Reply) => (r.ready ? resolve(new Child(proc)) : reject(new Error('unexpected first message'))));
    });
  }

  private send(command: object): Promise<Reply> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.proc.send({ id, ...command });
    });
  }

  /** Runs an operation in the child; resolves with its result or rejects with its AWS error. */
  async run(op: OperationName, input: object): Promise<Record<string, unknown>> {
    const r = await this.send({ op, input });
    if (r.ok) return r.result as Record<string, unknown>;
    throw Object.assign(new Error(r.error!.message), { name: r.error!.name });
  }

  async setClock(ms: number): Promise<void> {
    await this.send({ clock: ms });
  }

  async cachedKeys(): Promise<number> {
    return (await this.send({ cachedKeys: true })).result as number;
  }

  async close(): Promise<void> {
    if (this.proc.connected) await this.send({ close: true });
    if (this.proc.exitCode === null) await new Promise((resolve) => this.proc.once('exit', resolve));
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill();
  }
}

async function describe(kms: Kms, KeyId: string): Promise<string | undefined> {
  return (await kms.describeKey({ KeyId })).KeyMetadata!.KeyState;
}

eachBackend('two processes on one home see each other\'s disables, re-aliases and deletions', async (t: Test, _kms, backend) => {
  const clock = { now: start };
  const kms = await backend.open({ clock: () => new Date(clock.now) });
  t.teardown(() => kms.close());
  const child = await Child.start(kms, start);
  t.teardown(() => child.kill());
  const plaintext = Buffer.from('shared');

  const a = (await kms.createKey({})).KeyMetadata!;
  const b = (await kms.createKey({})).KeyMetadata!;
  await kms.createAlias({ AliasName: 'alias/shared', TargetKeyId: a.KeyId! });

  // The child warms its caches: the alias and key A's unwrapped material.
  t.equal((await child.run('Encrypt', { KeyId: 'alias/shared', Plaintext: plaintext })).KeyId, a.Arn);

  await kms.disableKey({ KeyId: a.KeyId! });
  await rejectsAws(t, child.run('Encrypt', { KeyId: 'alias/shared', Plaintext: plaintext }), 'DisabledException', `${a.Arn} is disabled.`);
  await kms.enableKey({ KeyId: a.KeyId! });
  t.equal((await child.run('Encrypt', { KeyId: a.KeyId!, Plaintext: plaintext })).KeyId, a.Arn, 'enabled again, seen at once');

  await kms.updateAlias({ AliasName: 'alias/shared', TargetKeyId: b.KeyId! });
  t.equal((await child.run('Encrypt', { KeyId: 'alias/shared', Plaintext: plaintext })).KeyId, b.Arn, 're-aliased, seen at once');

  // The child disables, the parent sees it.
  await child.run('DisableKey', { KeyId: b.KeyId! });
  t.equal(await describe(kms, 'alias/shared'), 'Disabled');
  await rejectsAws(t, kms.encrypt({ KeyId: 'alias/shared', Plaintext: plaintext }), 'DisabledException', `${b.Arn} is disabled.`);
  await child.run('EnableKey', { KeyId: b.KeyId! });

  // The parent schedules deletion of A: the child refuses it at once ...
  await kms.scheduleKeyDeletion({ KeyId: a.KeyId!, PendingWindowInDays: 7 });
  await rejectsAws(t, child.run('Encrypt', { KeyId: a.KeyId!, Plaintext: plaintext }), 'KMSInvalidStateException', `${a.Arn} is pending deletion.`);
  // ... and once the parent has destroyed it, the child finds nothing and wipes what it held.
  // (Keys on a token are never unwrapped in native memory: then there is nothing to count.)
  const unwrappedInChild = await child.cachedKeys();
  clock.now = start + 7 * day;
  await rejectsAws(t, kms.describeKey({ KeyId: a.KeyId! }), 'NotFoundException', `Key '${a.Arn}' does not exist`);
  await rejectsAws(t, child.run('Encrypt', { KeyId: a.KeyId!, Plaintext: plaintext }), 'NotFoundException', `Key '${a.Arn}' does not exist`);
  t.equal(await child.cachedKeys(), Math.max(0, unwrappedInChild - 1), 'the child wiped key A, and only A, from its native memory');

  // The other way round: the parent schedules B, the child's clock passes the date, and the
  // child's next operation destroys it; the parent sees it gone, alias and all.
  await kms.scheduleKeyDeletion({ KeyId: b.KeyId!, PendingWindowInDays: 7 });
  await child.setClock(start + 14 * day);
  await rejectsAws(t, child.run('DescribeKey', { KeyId: 'alias/shared' }), 'NotFoundException', /alias\/shared is not found\.$/);
  t.equal(kms.store.getKey(b.KeyId!), undefined, 'the child destroyed it (the parent\'s clock has not reached the date)');
  await rejectsAws(t, kms.describeKey({ KeyId: b.KeyId! }), 'NotFoundException', `Key '${b.Arn}' does not exist`);
  t.same((await kms.listAliases({})).Aliases, []);

  // An alias the child creates is usable by the parent at once.
  const c = (await kms.createKey({})).KeyMetadata!;
  await child.run('CreateAlias', { AliasName: 'alias/from-child', TargetKeyId: c.KeyId! });
  t.equal((await kms.encrypt({ KeyId: 'alias/from-child', Plaintext: plaintext })).KeyId, c.Arn);
  await child.run('DeleteAlias', { AliasName: 'alias/from-child' });
  await rejectsAws(t, kms.encrypt({ KeyId: 'alias/from-child', Plaintext: plaintext }), 'NotFoundException', /alias\/from-child is not found\.$/);

  await child.close();
});
