// EnableKeyRotation, DisableKeyRotation and GetKeyRotationStatus: the schedule as AWS reports
// it, and the keys and states AWS refuses.
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';
import { TestClock, addDays, setKeyState } from '../symmetric/helpers.js';

const start = new Date('2030-01-01T00:00:00.000Z');

eachBackend('rotation schedule: enable, change the period, disable', async (t, _kms, backend) => {
  const clock = new TestClock(start);
  const kms = await backend.open({ clock: clock.read });
  t.teardown(() => kms.close());
  const meta = (await kms.createKey({})).KeyMetadata!;
  t.same(await kms.getKeyRotationStatus({ KeyId: meta.KeyId! }), { KeyRotationEnabled: false, KeyId: meta.Arn }, 'off by default');

  t.same(await kms.enableKeyRotation({ KeyId: meta.KeyId! }), {});
  t.same(
    await kms.getKeyRotationStatus({ KeyId: meta.KeyId! }),
    { KeyRotationEnabled: true, KeyId: meta.Arn, RotationPeriodInDays: 365, NextRotationDate: addDays(start, 365) },
    'default period 365 days from enabling',
  );

  for (const days of [90, 180]) {
    const fresh = (await kms.createKey({})).KeyMetadata!;
    await kms.enableKeyRotation({ KeyId: fresh.Arn!, RotationPeriodInDays: days });
    t.same(await kms.getKeyRotationStatus({ KeyId: fresh.KeyId! }), { KeyRotationEnabled: true, KeyId: fresh.Arn, RotationPeriodInDays: days, NextRotationDate: addDays(start, days) });
  }

  // A new period keeps the start of the current period.
  clock.advanceDays(10);
  await kms.enableKeyRotation({ KeyId: meta.KeyId!, RotationPeriodInDays: 100 });
  t.same(await kms.getKeyRotationStatus({ KeyId: meta.KeyId! }), { KeyRotationEnabled: true, KeyId: meta.Arn, RotationPeriodInDays: 100, NextRotationDate: addDays(start, 100) });
  // Enabling again without a period keeps the period and the date.
  await kms.enableKeyRotation({ KeyId: meta.KeyId! });
  t.same(await kms.getKeyRotationStatus({ KeyId: meta.KeyId! }), { KeyRotationEnabled: true, KeyId: meta.Arn, RotationPeriodInDays: 100, NextRotationDate: addDays(start, 100) });

  t.same(await kms.disableKeyRotation({ KeyId: meta.KeyId! }), {});
  t.same(await kms.getKeyRotationStatus({ KeyId: meta.KeyId! }), { KeyRotationEnabled: false, KeyId: meta.Arn });
  // Enabling after disabling starts over, with the default period.
  await kms.enableKeyRotation({ KeyId: meta.KeyId! });
  t.same(await kms.getKeyRotationStatus({ KeyId: meta.KeyId! }), { KeyRotationEnabled: true, KeyId: meta.Arn, RotationPeriodInDays: 365, NextRotationDate: addDays(clock.now, 365) });

  for (const [days, bound] of [[89, 'greater than or equal to 90'], [2561, 'less than or equal to 2560']] as const) {
    await rejectsAws(
      t,
      kms.enableKeyRotation({ KeyId: meta.KeyId!, RotationPeriodInDays: days }),
      'ValidationException',
      `1 validation error detected: Value '${days}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value ${bound}`,
    );
  }
});

eachBackend('rotation settings refuse the keys and states AWS refuses', async (t, kms) => {
  const hmac = (await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!;
  const rsa = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!;
  const ecc = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  for (const meta of [hmac, rsa, ecc]) {
    // Asymmetric and HMAC keys: empty message (AWS's, recorded for RotateKeyOnDemand).
    await rejectsAws(t, kms.enableKeyRotation({ KeyId: meta.KeyId! }), 'UnsupportedOperationException', '');
    await rejectsAws(t, kms.disableKeyRotation({ KeyId: meta.KeyId! }), 'UnsupportedOperationException', '');
    await rejectsAws(t, kms.rotateKeyOnDemand({ KeyId: meta.KeyId! }), 'UnsupportedOperationException', '');
    await rejectsAws(t, kms.listKeyRotations({ KeyId: meta.KeyId! }), 'UnsupportedOperationException', '');
    t.same(await kms.getKeyRotationStatus({ KeyId: meta.KeyId! }), { KeyRotationEnabled: false, KeyId: meta.Arn }, `${meta.KeySpec}: status false`);
  }

  // The state is checked before the kind of key (recorded: a disabled RSA key is DisabledException).
  setKeyState(kms, rsa.KeyId!, 'Disabled');
  await rejectsAws(t, kms.rotateKeyOnDemand({ KeyId: rsa.KeyId! }), 'DisabledException', `${rsa.Arn} is disabled.`);

  const meta = (await kms.createKey({})).KeyMetadata!;
  if (meta.Origin === 'AWS_KMS') {
    await kms.enableKeyRotation({ KeyId: meta.KeyId! });
    setKeyState(kms, meta.KeyId!, 'Disabled');
    await rejectsAws(t, kms.enableKeyRotation({ KeyId: meta.KeyId! }), 'DisabledException', `${meta.Arn} is disabled.`);
    await rejectsAws(t, kms.disableKeyRotation({ KeyId: meta.KeyId! }), 'DisabledException', `${meta.Arn} is disabled.`);
    await rejectsAws(t, kms.rotateKeyOnDemand({ KeyId: meta.KeyId! }), 'DisabledException', `${meta.Arn} is disabled.`);
    t.equal((await kms.getKeyRotationStatus({ KeyId: meta.KeyId! })).KeyRotationEnabled, true, 'a disabled key keeps its rotation status');
    setKeyState(kms, meta.KeyId!, 'PendingDeletion');
    await rejectsAws(t, kms.enableKeyRotation({ KeyId: meta.KeyId! }), 'KMSInvalidStateException', `${meta.Arn} is pending deletion.`);
    await rejectsAws(t, kms.rotateKeyOnDemand({ KeyId: meta.KeyId! }), 'KMSInvalidStateException', `${meta.Arn} is pending deletion.`);
    t.same(await kms.getKeyRotationStatus({ KeyId: meta.KeyId! }), { KeyRotationEnabled: false, KeyId: meta.Arn }, 'false while pending deletion');
    setKeyState(kms, meta.KeyId!, 'Disabled');
    t.equal((await kms.getKeyRotationStatus({ KeyId: meta.KeyId! })).KeyRotationEnabled, true, 'back once the deletion is cancelled');
  }

  // These operations take a key ID or key ARN only, as AWS documents them.
  const aliased = (await kms.createKey({})).KeyMetadata!;
  await kms.createAlias({ AliasName: 'alias/rotation-test', TargetKeyId: aliased.KeyId! });
  for (const call of [
    kms.enableKeyRotation({ KeyId: 'alias/rotation-test' }),
    kms.getKeyRotationStatus({ KeyId: 'alias/rotation-test' }),
    kms.rotateKeyOnDemand({ KeyId: 'alias/rotation-test' }),
    kms.listKeyRotations({ KeyId: 'alias/rotation-test' }),
  ])
    await rejectsAws(t, call, 'InvalidArnException', 'Key Aliases are not supported for this operation.');

  const missing = meta.Arn!.replace(meta.KeyId!, '1234abcd-12ab-34cd-56ef-1234567890ab');
  for (const call of [
    kms.rotateKeyOnDemand({ KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab' }),
    kms.enableKeyRotation({ KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab' }),
    kms.getKeyRotationStatus({ KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab' }),
    kms.listKeyRotations({ KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab' }),
  ])
    await rejectsAws(t, call, 'NotFoundException', `Key '${missing}' does not exist`);
});
