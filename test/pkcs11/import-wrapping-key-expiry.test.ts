// The RSA wrapping key of GetParametersForImport lives on the token for as long as its parameters
// are valid (24 hours) and a minute more (an import accepted just before their expiry may still be
// unwrapping with it); then the calls of a store in use destroy it (keys/import-expiry.ts), not
// only the next GetParametersForImport, deletion or open. Calls look once a minute, and list the
// token only when some parameters expired; a look whose sweep fails is made again.
import t from 'tap';

import { backendOf, openOnToken } from './helpers.js';

const minute = 60_000;

t.test('a wrapping key leaves the token within two minutes of its parameters expiring, while calls go on', async (t) => {
  let now = Date.now();
  const kms = await openOnToken({ clock: () => new Date(now) });
  t.teardown(() => kms.close());
  const backend = backendOf(kms);
  const list = backend.listTokenRefs.bind(backend);
  const keyId = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backend.customKeyStoreId })).KeyMetadata!.KeyId!;
  const wrappingKeys = async () => (await list()).filter((r) => r.startsWith(`${keyId}/import-`));
  await kms.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' });
  t.equal((await wrappingKeys()).length, 1, 'the wrapping key is on the token');

  // The calls' own listings of the token, and a way to make the next one fail.
  let listings = 0;
  let failNext = false;
  backend.listTokenRefs = async () => {
    listings += 1;
    if (failNext) {
      failNext = false;
      throw new Error('the token cannot be reached');
    }
    return list();
  };
  const call = async () => {
    await kms.listKeys({});
    await kms.importExpiry.settled();
  };

  now += 24 * 3600_000 + 30_000; // expired half a minute ago: within the grace
  await call();
  t.equal((await wrappingKeys()).length, 1, 'kept while its parameters are valid, and a minute after');
  t.equal(listings, 0, 'nothing expired past the grace: the token is not listed');

  now += minute; // the next look; the token fails it
  failNext = true;
  await call();
  t.equal(listings, 1, 'looked');
  t.equal((await wrappingKeys()).length, 1, 'the failed sweep left it');
  now += 1000;
  await call();
  t.equal(listings, 1, 'at most one look a minute');

  now += minute; // looked again, since the last sweep failed
  await call();
  t.same(await wrappingKeys(), [], 'destroyed by the next look');
  now += minute;
  await call();
  t.equal(listings, 2, 'once swept, no more listings until other parameters expire');
  // The key itself is untouched: new parameters can be asked for.
  await kms.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' });
  t.equal((await wrappingKeys()).length, 1);
});
