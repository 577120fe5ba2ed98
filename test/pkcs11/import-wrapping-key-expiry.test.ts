// The RSA wrapping key of GetParametersForImport lives on the token for as long as its parameters
// are valid (24 hours); then the calls of a store in use destroy it (keys/import-expiry.ts), not
// only the next GetParametersForImport, deletion or open.
import t from 'tap';

import { backendOf, openOnToken } from './helpers.js';

t.test('a wrapping key leaves the token within a minute of its parameters expiring, while calls go on', async (t) => {
  let now = Date.now();
  const kms = await openOnToken({ clock: () => new Date(now) });
  t.teardown(() => kms.close());
  const keyId = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId })).KeyMetadata!.KeyId!;
  const wrappingKeys = async () => (await backendOf(kms).listTokenRefs()).filter((r) => r.startsWith(`${keyId}/import-`));
  await kms.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' });
  t.equal((await wrappingKeys()).length, 1, 'the wrapping key is on the token');

  now += 24 * 3600_000 - 1000; // a second before the parameters expire
  await kms.describeKey({ KeyId: keyId });
  await kms.importExpiry.settled();
  t.equal((await wrappingKeys()).length, 1, 'kept while its parameters are valid');

  now += 61_000; // expired a minute ago
  await kms.listKeys({});
  await kms.importExpiry.settled();
  t.same(await wrappingKeys(), [], 'destroyed once they expired');
  // The key itself is untouched: new parameters can be asked for.
  await kms.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' });
  t.equal((await wrappingKeys()).length, 1);
});
