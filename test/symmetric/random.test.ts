// GenerateRandom: the lengths AWS allows, fresh bytes each time, AWS's validation messages.
import { deflateSync } from 'node:zlib';

import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';

eachBackend('GenerateRandom returns NumberOfBytes fresh random bytes', async (t, kms) => {
  for (const n of [1, 12, 44, 91, 1024]) {
    const out = await kms.generateRandom({ NumberOfBytes: n });
    t.same(Object.keys(out), ['Plaintext']);
    t.equal(out.Plaintext!.length, n, `${n} bytes`);
  }
  const a = Buffer.from((await kms.generateRandom({ NumberOfBytes: 32 })).Plaintext!);
  const b = Buffer.from((await kms.generateRandom({ NumberOfBytes: 32 })).Plaintext!);
  t.notOk(a.equals(b), 'two calls differ');
  // Random bytes do not compress (a constant or patterned buffer would shrink to a few bytes).
  const big = Buffer.from((await kms.generateRandom({ NumberOfBytes: 1024 })).Plaintext!);
  t.ok(deflateSync(big).length > 1000, 'incompressible');
});

eachBackend('GenerateRandom validation, as AWS words it', async (t, kms) => {
  await rejectsAws(t, kms.generateRandom({}), 'ValidationException', 'NumberOfBytes is required.');
  await rejectsAws(
    t,
    kms.generateRandom({ NumberOfBytes: 0 }),
    'ValidationException',
    "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1",
  );
  await rejectsAws(
    t,
    kms.generateRandom({ NumberOfBytes: 1025 }),
    'ValidationException',
    "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
  );
  await rejectsAws(t, kms.generateRandom({ NumberOfBytes: 8, CustomKeyStoreId: 'cks-1234567890abcdef0' }), 'CustomKeyStoreNotFoundException');
});
