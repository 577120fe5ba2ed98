// Key deletion destroys the key's objects on the token once its deletion date has come.
import t from 'tap';

import { backendOf, openOnToken } from './helpers.js';

t.test('a deleted token key leaves no object on the token', async (tt) => {
  let now = Date.now();
  const kms = await openOnToken({ clock: () => new Date(now) });
  tt.teardown(() => kms.close());
  const backend = backendOf(kms);
  const kept = (await kms.createKey({})).KeyMetadata!;
  const doomed = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  const material = kms.store.getMaterials(doomed.KeyId!)[0]!;
  tt.ok((await backend.attributesOf(material)).found, 'the object exists');
  tt.equal((await backend.listTokenRefs()).length, 2);

  await kms.scheduleKeyDeletion({ KeyId: doomed.KeyId!, PendingWindowInDays: 7 });
  tt.ok((await backend.attributesOf(material)).found, 'still there while pending deletion');
  now += 8 * 86_400_000;
  await kms.describeKey({ KeyId: kept.KeyId! }); // any operation runs the due deletions first
  tt.notOk((await backend.attributesOf(material)).found, 'the private key object is destroyed');
  tt.same(await backend.listTokenRefs(), [`${kept.KeyId}/${kept.CurrentKeyMaterialId}`], 'only the kept key remains');
});
