// Operations of AWS's model that embedded-kms does not offer (multi-Region replicas, custom key
// store management): UnsupportedOperationException for a well-formed request, and, as AWS checks
// every request against the model first, a ValidationException for a malformed one.
import t from 'tap';

import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';

eachBackend('operations not offered', async (t, kms) => {
  const { KeyMetadata } = await kms.createKey({ MultiRegion: true, Origin: 'AWS_KMS' });
  const keyId = KeyMetadata!.KeyId!;
  await rejectsAws(t, kms.replicateKey({ KeyId: keyId, ReplicaRegion: 'eu-west-1' }), 'UnsupportedOperationException', 'ReplicateKey is not supported by embedded-kms.');
  await rejectsAws(t, kms.updatePrimaryRegion({ KeyId: keyId, PrimaryRegion: 'eu-west-1' }), 'UnsupportedOperationException', 'UpdatePrimaryRegion is not supported by embedded-kms.');
  await rejectsAws(
    t,
    kms.replicateKey({ KeyId: keyId, ReplicaRegion: 'BAD' }),
    'ValidationException',
    "1 validation error detected: Value 'BAD' at 'replicaRegion' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$",
  );
  await rejectsAws(t, kms.replicateKey({} as never), 'ValidationException', /Value null at 'keyId' failed to satisfy constraint: Member must not be null/);
  await rejectsAws(t, kms.createCustomKeyStore({} as never), 'ValidationException', /Value null at 'customKeyStoreName' failed to satisfy constraint: Member must not be null/);
  await rejectsAws(t, kms.createCustomKeyStore({ CustomKeyStoreName: 'x' }), 'UnsupportedOperationException', 'CreateCustomKeyStore is not supported by embedded-kms.');
});

t.test('a closed Kms refuses every operation, offered or not, before looking at the input', async (t) => {
  const { software } = await import('../helpers/backends.js');
  const kms = await software.open();
  await kms.close();
  await rejectsAws(t, kms.replicateKey({} as never), 'KMSInternalException', 'The key store is closed.');
  await rejectsAws(t, kms.describeKey({} as never), 'KMSInternalException', 'The key store is closed.');
});
