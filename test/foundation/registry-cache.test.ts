// The key-record cache is bounded: keys this process makes count against the bound as keys it
// reads do (CreateKey used to add to it without limit: about 2.4 KB of heap per key made, for as
// long as the Kms stayed open). The bound is lowered here to see it at work.
import t from 'tap';

import { Kms } from '../../src/index.js';
import { tempHome } from '../helpers/backends.js';

t.test('keys made and keys read share one bounded cache; every key still works', async (t) => {
  const kms = await Kms.open({ home: tempHome(), audit: false });
  t.teardown(() => kms.close());
  const registry = kms.keys as unknown as { maxCachedRecords: number; cache: Map<string, unknown> };
  registry.maxCachedRecords = 10;
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push((await kms.createKey({})).KeyMetadata!.KeyId!);
  t.equal(registry.cache.size, 10, 'made: the newest ten');
  t.ok(registry.cache.has(ids[29]!) && !registry.cache.has(ids[0]!));
  for (const KeyId of ids) {
    const { CiphertextBlob } = await kms.encrypt({ KeyId, Plaintext: Buffer.from(KeyId) });
    t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob })).Plaintext!).toString(), KeyId);
  }
  t.ok(registry.cache.size <= 10, 'read back: still within the bound');
});
