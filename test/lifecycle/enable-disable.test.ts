// EnableKey, DisableKey and UpdateKeyDescription: the state DescribeKey reports, and
// DisabledException in AWS's words when a disabled key is used.
import t from 'tap';

import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';

type Test = typeof t;

eachBackend('DisableKey stops use of the key; EnableKey restores it', async (t: Test, kms) => {
  const md = (await kms.createKey({})).KeyMetadata!;
  const keyId = md.KeyId!;
  const blob = (await kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('secret') })).CiphertextBlob!;

  t.same(await kms.disableKey({ KeyId: md.Arn! }), {});
  const disabled = (await kms.describeKey({ KeyId: keyId })).KeyMetadata!;
  t.equal(disabled.KeyState, 'Disabled');
  t.equal(disabled.Enabled, false);
  await rejectsAws(t, kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('x') }), 'DisabledException', `${md.Arn} is disabled.`);
  await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob }), 'DisabledException', `${md.Arn} is disabled.`);
  t.same(await kms.disableKey({ KeyId: keyId }), {}, 'disabling twice is no error');

  t.same(await kms.enableKey({ KeyId: keyId }), {});
  const enabled = (await kms.describeKey({ KeyId: keyId })).KeyMetadata!;
  t.equal(enabled.KeyState, 'Enabled');
  t.equal(enabled.Enabled, true);
  t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: blob })).Plaintext!).toString(), 'secret');
  t.same(await kms.enableKey({ KeyId: keyId }), {}, 'enabling twice is no error');
});

eachBackend('a disabled signing key refuses Sign, Verify and GetPublicKey', async (t: Test, kms) => {
  const md = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  const sig = (await kms.sign({ KeyId: md.KeyId!, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' })).Signature!;
  await kms.disableKey({ KeyId: md.KeyId! });
  const disabled = `${md.Arn} is disabled.`;
  await rejectsAws(t, kms.sign({ KeyId: md.KeyId!, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' }), 'DisabledException', disabled);
  await rejectsAws(
    t,
    kms.verify({ KeyId: md.KeyId!, Message: Buffer.from('m'), Signature: sig, SigningAlgorithm: 'ECDSA_SHA_256' }),
    'DisabledException',
    disabled,
  );
  await rejectsAws(t, kms.getPublicKey({ KeyId: md.KeyId! }), 'DisabledException', disabled);
  // The state comes before the key usage and the algorithm, as in AWS.
  await rejectsAws(t, kms.encrypt({ KeyId: md.KeyId!, Plaintext: Buffer.from('x') }), 'DisabledException', disabled);
});

eachBackend('UpdateKeyDescription', async (t: Test, kms) => {
  const keyId = (await kms.createKey({ Description: 'before' })).KeyMetadata!.KeyId!;
  t.same(await kms.updateKeyDescription({ KeyId: keyId, Description: 'after' }), {});
  t.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.Description, 'after');
  await kms.disableKey({ KeyId: keyId });
  await kms.updateKeyDescription({ KeyId: keyId, Description: '' });
  t.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.Description, '', 'an empty description is allowed, on a disabled key too');
  await rejectsAws(
    t,
    kms.updateKeyDescription({ KeyId: keyId, Description: 'd'.repeat(8193) }),
    'ValidationException',
    /at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192$/,
  );
  await rejectsAws(t, kms.updateKeyDescription({ KeyId: '11111111-2222-4333-8444-555555555555', Description: 'x' }), 'NotFoundException');
});
