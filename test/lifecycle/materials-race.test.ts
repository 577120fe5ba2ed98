// A key's materials are read on first use, after its record (keys/registry.ts). When another
// process deletes the key, or takes its imported material away, in between, the material's use
// fails with the error the key's state now means, as DescribeKey and the key-state table would
// say: NotFoundException for a deleted key, the state's refusal for a key pending import.
import t from 'tap';

import type { Kms } from '../../src/index.js';
import type { Backend } from '../helpers/backends.js';
import { eachBackend } from '../helpers/kms-fixture.js';
import { importInto } from '../import/helpers.js';

type Test = typeof t;
const day = 86_400_000;

/** The other process: a second Kms on the same home, with a clock of its own. */
async function other(t: Test, kms: Kms, backend: Backend): Promise<{ kms: Kms; clock: { now: number } }> {
  const clock = { now: Date.now() };
  const second = await backend.open({ home: kms.config.home, clock: () => new Date(clock.now) });
  t.teardown(() => second.close());
  return { kms: second, clock };
}

function throwsAws(t: Test, fn: () => unknown, name: string, message: string): void {
  try {
    fn();
  } catch (err) {
    const e = err as { name?: string; message?: string };
    t.equal(e.name, name, `error type ${name}`);
    t.equal(e.message, message, 'error message');
    return;
  }
  t.fail(`expected ${name}, but the call succeeded`);
}

eachBackend('a key deleted by another process after its record was read: its material is NotFoundException', async (t: Test, kms, backend) => {
  const md = (await kms.createKey({})).KeyMetadata!;
  await kms.encrypt({ KeyId: md.KeyId!, Plaintext: Buffer.from('x') });
  kms.keys.invalidate(md.KeyId!, { wipe: true });
  const b = await other(t, kms, backend);
  // Read as an operation reads it: the record now, the materials on first use.
  const loaded = kms.keys.resolve(md.KeyId!);
  const named = loaded.record.currentMaterialId!;
  await b.kms.scheduleKeyDeletion({ KeyId: md.KeyId!, PendingWindowInDays: 7 });
  b.clock.now += 8 * day;
  await b.kms.listKeys({}); // the deletion is applied before the operation
  t.equal((await b.kms.listKeys({})).Keys!.length, 0, 'the other process deleted the key');
  const notFound = `Key '${md.Arn}' does not exist`;
  throwsAws(t, () => loaded.material(named), 'NotFoundException', notFound);
  throwsAws(t, () => loaded.handle(), 'NotFoundException', notFound);
});

eachBackend('imported material taken away by another process after the record was read: the key is pending import', async (t: Test, kms, backend) => {
  const md = (await kms.createKey({ Origin: 'EXTERNAL' })).KeyMetadata!;
  await importInto(kms, md.KeyId!, Buffer.alloc(32, 7));
  kms.keys.invalidate(md.KeyId!, { wipe: true });
  const b = await other(t, kms, backend);
  const loaded = kms.keys.resolve(md.KeyId!);
  t.equal(loaded.record.state, 'Enabled');
  await b.kms.deleteImportedKeyMaterial({ KeyId: md.KeyId! });
  throwsAws(t, () => loaded.handle(), 'KMSInvalidStateException', `${md.Arn} is pending import.`);
});
