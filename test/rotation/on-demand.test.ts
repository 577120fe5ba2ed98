// RotateKeyOnDemand and ListKeyRotations: a rotation makes a new current material; ciphertexts
// name their material, so old ones still decrypt (also after reopening the store) and new ones
// use the newest; AWS's per-key limit; paging.
import { native } from '../../src/index.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';
import { TestClock, addDays } from '../symmetric/helpers.js';
import { tempHome, cleanupLater } from '../helpers/backends.js';

const start = new Date('2030-01-01T00:00:00.000Z');

eachBackend('an on-demand rotation: new material, old ciphertexts still decrypt', async (t, _kms, backend) => {
  const home = tempHome();
  cleanupLater(home);
  const clock = new TestClock(start);
  let kms = await backend.open({ home, clock: clock.read });
  const meta = (await kms.createKey({})).KeyMetadata!;
  const first = meta.CurrentKeyMaterialId!;
  const context = { c: 'before' };
  const before = (await kms.encrypt({ KeyId: meta.KeyId!, Plaintext: Buffer.from('before'), EncryptionContext: context })).CiphertextBlob!;
  await kms.enableKeyRotation({ KeyId: meta.KeyId! });
  const schedule = await kms.getKeyRotationStatus({ KeyId: meta.KeyId! });

  clock.advanceDays(3);
  t.same(await kms.rotateKeyOnDemand({ KeyId: meta.KeyId! }), { KeyId: meta.Arn }, 'the response names the key by ARN');
  const second = (await kms.describeKey({ KeyId: meta.KeyId! })).KeyMetadata!.CurrentKeyMaterialId!;
  t.match(second, /^[0-9a-f]{64}$/);
  t.not(second, first, 'DescribeKey shows the new current material');
  t.same(await kms.getKeyRotationStatus({ KeyId: meta.KeyId! }), schedule, 'the automatic schedule is unchanged');

  const old = await kms.decrypt({ CiphertextBlob: before, EncryptionContext: context });
  t.equal(Buffer.from(old.Plaintext!).toString(), 'before', 'the old ciphertext decrypts');
  t.equal(old.KeyMaterialId, first, 'with its own material');
  const after = (await kms.encrypt({ KeyId: meta.KeyId!, Plaintext: Buffer.from('after') })).CiphertextBlob!;
  t.equal(native.parseCiphertext(after).materialId, second, 'new ciphertexts use the new material');
  t.equal((await kms.decrypt({ CiphertextBlob: after })).KeyMaterialId, second);
  t.equal((await kms.generateDataKey({ KeyId: meta.KeyId!, KeySpec: 'AES_256' })).KeyMaterialId, second);
  const moved = await kms.reEncrypt({ CiphertextBlob: before, SourceEncryptionContext: context, DestinationKeyId: meta.KeyId! });
  t.equal(moved.SourceKeyMaterialId, first, 'ReEncrypt moves an old ciphertext…');
  t.equal(moved.DestinationKeyMaterialId, second, '…to the new material');

  t.same(await kms.listKeyRotations({ KeyId: meta.KeyId! }), {
    Rotations: [{ KeyId: meta.KeyId, KeyMaterialId: second, KeyMaterialState: 'CURRENT', RotationDate: addDays(start, 3), RotationType: 'ON_DEMAND' }],
    Truncated: false,
  });
  t.same(await kms.listKeyRotations({ KeyId: meta.Arn!, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }), {
    Rotations: [
      { KeyId: meta.KeyId, KeyMaterialId: first, KeyMaterialState: 'NON_CURRENT' },
      { KeyId: meta.KeyId, KeyMaterialId: second, KeyMaterialState: 'CURRENT', RotationDate: addDays(start, 3), RotationType: 'ON_DEMAND' },
    ],
    Truncated: false,
  });

  // Everything is in the store: another Kms on the same home sees the same.
  await kms.close();
  kms = await backend.open({ home, clock: clock.read });
  t.teardown(() => kms.close());
  t.equal((await kms.describeKey({ KeyId: meta.KeyId! })).KeyMetadata!.CurrentKeyMaterialId, second);
  t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: before, EncryptionContext: context })).Plaintext!).toString(), 'before');
  t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: after })).Plaintext!).toString(), 'after');
});

eachBackend('on-demand rotations stop at AWS\'s limit; ListKeyRotations pages', async (t, kms) => {
  const meta = (await kms.createKey({})).KeyMetadata!;
  const blobs: Uint8Array[] = [];
  for (let i = 0; i < 25; i++) {
    blobs.push((await kms.encrypt({ KeyId: meta.KeyId!, Plaintext: Buffer.from(`generation ${i}`) })).CiphertextBlob!);
    await kms.rotateKeyOnDemand({ KeyId: meta.KeyId! });
  }
  await rejectsAws(
    t,
    kms.rotateKeyOnDemand({ KeyId: meta.KeyId! }),
    'LimitExceededException',
    `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${meta.Arn}`,
  );
  const wrong: number[] = [];
  for (const [i, blob] of blobs.entries()) {
    if (Buffer.from((await kms.decrypt({ CiphertextBlob: blob })).Plaintext!).toString() !== `generation ${i}`) wrong.push(i);
  }
  t.same(wrong, [], 'a ciphertext of every generation still decrypts');

  const seen: string[] = [];
  const truncations: boolean[] = [];
  let marker: string | undefined;
  do {
    const page = await kms.listKeyRotations({ KeyId: meta.KeyId!, Limit: 10, ...(marker ? { Marker: marker } : {}) });
    seen.push(...page.Rotations!.map((r) => r.KeyMaterialId!));
    truncations.push(page.Truncated!);
    t.equal(page.NextMarker === undefined, !page.Truncated, 'NextMarker exactly when truncated');
    marker = page.NextMarker;
  } while (marker);
  t.same(truncations, [true, true, false]);
  t.equal(seen.length, 25);
  t.equal(new Set(seen).size, 25, 'each rotation once');
  t.equal(seen[24], (await kms.describeKey({ KeyId: meta.KeyId! })).KeyMetadata!.CurrentKeyMaterialId, 'oldest first, the current one last');
  await rejectsAws(t, kms.listKeyRotations({ KeyId: meta.KeyId!, Marker: 'not-a-marker' }), 'InvalidMarkerException');
});
