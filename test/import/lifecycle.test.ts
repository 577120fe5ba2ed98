// The life of imported material: DeleteImportedKeyMaterial and reimport (ciphertexts made before
// decrypt again: the material id derives from key id and material), expiry at ValidTo (moved
// with the clock option; applied on use and when a store is opened), on-demand rotation of
// symmetric keys to material imported for it, ListKeyRotations' import states, and DescribeKey's
// shapes against AWS's recorded responses.
import { randomBytes } from 'node:crypto';

import type { Kms } from '../../src/index.js';
import { tempHome, cleanupLater, type Backend } from '../helpers/backends.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';
import { TestClock, addDays } from '../symmetric/helpers.js';
import { externalKey, importInto, makeMaterial, openOutside } from './helpers.js';

const start = new Date('2031-06-01T00:00:00.000Z');

/** A fresh store on `backend` whose clock starts at `start`, closed when the test ends. */
async function clockedStore(t: { teardown(fn: () => unknown): void }, backend: Backend): Promise<{ kms: Kms; clock: TestClock }> {
  const clock = new TestClock(start);
  const home = tempHome();
  cleanupLater(home);
  const kms = await backend.open({ home, clock: clock.read });
  t.teardown(() => kms.close());
  return { kms, clock };
}

eachBackend('delete and reimport: the key comes back with the same material id', async (t, kms) => {
  const key = await externalKey(kms);
  const material = makeMaterial('SYMMETRIC_DEFAULT').bytes;
  const id = (await importInto(kms, key.KeyId!, material, { algorithm: 'RSAES_OAEP_SHA_1' })).KeyMaterialId!;
  const blob = (await kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('before') })).CiphertextBlob!;

  t.same(await kms.deleteImportedKeyMaterial({ KeyId: key.KeyId! }), { KeyId: key.Arn, KeyMaterialId: id });
  // Shape recorded by AWS (describe-key-after-deleted-import): PendingImport, disabled, the
  // current material id kept, no ExpirationModel.
  const deleted = (await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!;
  t.equal(deleted.KeyState, 'PendingImport');
  t.equal(deleted.Enabled, false);
  t.equal(deleted.CurrentKeyMaterialId, id);
  t.equal(deleted.ExpirationModel, undefined);
  await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob }), 'KMSInvalidStateException', `${key.Arn} is pending import.`);
  await rejectsAws(t, kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('x') }), 'KMSInvalidStateException', `${key.Arn} is pending import.`);
  t.same(await kms.listKeyRotations({ KeyId: key.KeyId!, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }), {
    Rotations: [{ KeyId: key.KeyId, KeyMaterialId: id, ImportState: 'PENDING_IMPORT', KeyMaterialState: 'CURRENT' }],
    Truncated: false,
  });

  // The same material again, through another wrapping algorithm and key spec.
  const again = await importInto(kms, key.KeyId!, material, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256', wrappingKeySpec: 'RSA_3072', description: 'the first material' });
  t.equal(again.KeyMaterialId, id, 'same material, same id');
  const meta = (await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!;
  t.equal(meta.KeyState, 'Enabled');
  t.equal(meta.ExpirationModel, 'KEY_MATERIAL_DOES_NOT_EXPIRE');
  t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: blob })).Plaintext!).toString(), 'before', 'the ciphertext made before decrypts again');
  t.same(await kms.listKeyRotations({ KeyId: key.KeyId!, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }), {
    Rotations: [
      {
        KeyId: key.KeyId,
        KeyMaterialId: id,
        KeyMaterialDescription: 'the first material',
        ImportState: 'IMPORTED',
        KeyMaterialState: 'CURRENT',
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      },
    ],
    Truncated: false,
  });
  t.same((await kms.listKeyRotations({ KeyId: key.KeyId! })).Rotations, [], 'no rotations yet');

  // Asymmetric keys: the same, without material ids in the responses.
  const ec = await externalKey(kms, 'ECC_NIST_P256', 'SIGN_VERIFY');
  const ecMaterial = makeMaterial('ECC_NIST_P256');
  t.same(await importInto(kms, ec.KeyId!, ecMaterial.bytes), { KeyId: ec.Arn });
  const sig = (await kms.sign({ KeyId: ec.KeyId!, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' })).Signature!;
  t.same(await kms.deleteImportedKeyMaterial({ KeyId: ec.KeyId! }), { KeyId: ec.Arn });
  await rejectsAws(t, kms.verify({ KeyId: ec.KeyId!, Message: Buffer.from('m'), Signature: sig, SigningAlgorithm: 'ECDSA_SHA_256' }), 'KMSInvalidStateException');
  await importInto(kms, ec.KeyId!, ecMaterial.bytes);
  t.equal((await kms.verify({ KeyId: ec.KeyId!, Message: Buffer.from('m'), Signature: sig, SigningAlgorithm: 'ECDSA_SHA_256' })).SignatureValid, true);
  t.same(Buffer.from((await kms.getPublicKey({ KeyId: ec.KeyId! })).PublicKey!), ecMaterial.publicKey);
});

eachBackend('material expires at ValidTo, on use and at open; reimport revives it', async (t, _kms, backend) => {
  const home = tempHome();
  cleanupLater(home);
  const clock = new TestClock(start);
  let kms = await backend.open({ home, clock: clock.read });
  const key = await externalKey(kms);
  const mac = await externalKey(kms, 'HMAC_256', 'GENERATE_VERIFY_MAC');
  const material = makeMaterial('SYMMETRIC_DEFAULT').bytes;
  const macMaterial = makeMaterial('HMAC_256').bytes;
  const validTo = addDays(start, 10);
  const id = (await importInto(kms, key.KeyId!, material, { validTo })).KeyMaterialId!;
  await importInto(kms, mac.KeyId!, macMaterial, { validTo: addDays(start, 20) });
  const meta = (await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!;
  t.equal(meta.ExpirationModel, 'KEY_MATERIAL_EXPIRES');
  t.same(meta.ValidTo, validTo, 'DescribeKey reports ValidTo');
  const blob = (await kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('kept') })).CiphertextBlob!;
  t.same(openOutside(blob, material).plaintext, Buffer.from('kept'));

  clock.now = new Date(validTo.getTime() - 1);
  t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: blob })).Plaintext!).toString(), 'kept', 'usable until ValidTo');
  clock.now = validTo;
  // The next operation sees the expiry.
  await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob }), 'KMSInvalidStateException', `${key.Arn} is pending import.`);
  const expired = (await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!;
  t.equal(expired.KeyState, 'PendingImport');
  t.equal(expired.ValidTo, undefined);
  t.equal(expired.ExpirationModel, undefined);
  t.equal((await kms.listKeyRotations({ KeyId: key.KeyId!, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })).Rotations![0]!.ImportState, 'PENDING_IMPORT');
  t.equal((await kms.describeKey({ KeyId: mac.KeyId! })).KeyMetadata!.KeyState, 'Enabled', 'the other key expires later');

  // Reimport with a new ValidTo; the ciphertext decrypts again.
  t.equal((await importInto(kms, key.KeyId!, material, { validTo: addDays(validTo, 30) })).KeyMaterialId, id);
  t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: blob })).Plaintext!).toString(), 'kept');

  // Expiry while no process has the store open is applied when it is opened.
  await kms.close();
  clock.now = addDays(start, 25);
  kms = await backend.open({ home, clock: clock.read });
  t.teardown(() => kms.close());
  t.equal((await kms.describeKey({ KeyId: mac.KeyId! })).KeyMetadata!.KeyState, 'PendingImport', 'the HMAC key expired while closed');
  t.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'Enabled', 'the reimported one has not');
  await importInto(kms, mac.KeyId!, macMaterial);
  t.equal((await kms.describeKey({ KeyId: mac.KeyId! })).KeyMetadata!.ExpirationModel, 'KEY_MATERIAL_DOES_NOT_EXPIRE', 'reimported without expiry');
  clock.now = addDays(start, 400);
  t.equal((await kms.describeKey({ KeyId: mac.KeyId! })).KeyMetadata!.KeyState, 'Enabled', 'and it does not expire');
});

eachBackend('on-demand rotation of a symmetric key with imported material', async (t, _kms, backend) => {
  const { kms, clock } = await clockedStore(t, backend);
  const key = await externalKey(kms);
  const one = makeMaterial('SYMMETRIC_DEFAULT').bytes;
  const two = makeMaterial('SYMMETRIC_DEFAULT').bytes;
  const first = (await importInto(kms, key.KeyId!, one)).KeyMaterialId!;
  const before = (await kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('one') })).CiphertextBlob!;

  clock.advanceDays(1);
  const second = (await importInto(kms, key.KeyId!, two, { importType: 'NEW_KEY_MATERIAL', description: 'next' })).KeyMaterialId!;
  // Recorded (test_rotate_key_on_demand_updates_current_key_material_for_external_keys): the
  // new material waits; DescribeKey still names the first.
  t.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.CurrentKeyMaterialId, first);
  t.equal(openOutside((await kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('x') })).CiphertextBlob!, one).materialId, first);
  // The model's IncludeKeyMaterial: material pending rotation is listed with ALL_KEY_MATERIAL only.
  t.same((await kms.listKeyRotations({ KeyId: key.KeyId! })).Rotations, [], 'no rotation yet');
  t.same((await kms.listKeyRotations({ KeyId: key.KeyId!, IncludeKeyMaterial: 'ROTATIONS_ONLY' })).Rotations, []);
  t.same((await kms.listKeyRotations({ KeyId: key.KeyId!, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })).Rotations, [
    { KeyId: key.KeyId, KeyMaterialId: first, ImportState: 'IMPORTED', KeyMaterialState: 'CURRENT', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
    { KeyId: key.KeyId, KeyMaterialId: second, KeyMaterialDescription: 'next', ImportState: 'IMPORTED', KeyMaterialState: 'PENDING_ROTATION', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
  ]);

  clock.advanceDays(1);
  t.same(await kms.rotateKeyOnDemand({ KeyId: key.KeyId! }), { KeyId: key.Arn });
  t.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.CurrentKeyMaterialId, second);
  const after = (await kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('two') })).CiphertextBlob!;
  t.same(openOutside(after, two).plaintext, Buffer.from('two'), 'new ciphertexts use the imported new material');
  t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: before })).Plaintext!).toString(), 'one', 'old ones still decrypt');
  t.same(await kms.listKeyRotations({ KeyId: key.KeyId!, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }), {
    Rotations: [
      { KeyId: key.KeyId, KeyMaterialId: first, ImportState: 'IMPORTED', KeyMaterialState: 'NON_CURRENT', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
      {
        KeyId: key.KeyId,
        KeyMaterialId: second,
        KeyMaterialDescription: 'next',
        ImportState: 'IMPORTED',
        KeyMaterialState: 'CURRENT',
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        RotationDate: clock.now,
        RotationType: 'ON_DEMAND',
      },
    ],
    Truncated: false,
  });
  await rejectsAws(t, kms.rotateKeyOnDemand({ KeyId: key.KeyId! }), 'KMSInvalidStateException', `No available key material pending rotation for the key: ${key.Arn}.`);

  // Deleting a non-current material sends the key to PendingImport until it is back.
  await kms.deleteImportedKeyMaterial({ KeyId: key.KeyId!, KeyMaterialId: first });
  t.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'PendingImport');
  await importInto(kms, key.KeyId!, one);
  t.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'Enabled');

  // A pending material that is deleted is simply gone; the key stays usable.
  const three = randomBytes(32);
  const third = (await importInto(kms, key.KeyId!, three, { importType: 'NEW_KEY_MATERIAL' })).KeyMaterialId!;
  t.same(await kms.deleteImportedKeyMaterial({ KeyId: key.KeyId!, KeyMaterialId: third }), { KeyId: key.Arn, KeyMaterialId: third });
  t.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'Enabled');
  t.equal((await kms.listKeyRotations({ KeyId: key.KeyId!, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })).Rotations!.length, 2);
});

eachBackend('DeleteImportedKeyMaterial on a key pending deletion leaves its state', async (t, kms) => {
  const key = await externalKey(kms);
  await importInto(kms, key.KeyId!, makeMaterial('SYMMETRIC_DEFAULT').bytes);
  await kms.scheduleKeyDeletion({ KeyId: key.KeyId!, PendingWindowInDays: 7 });
  await kms.deleteImportedKeyMaterial({ KeyId: key.KeyId! });
  t.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'PendingDeletion');
});

eachBackend('CreateKey with Origin EXTERNAL: shapes as AWS records them', async (t, kms) => {
  const sym = (await kms.createKey({ Origin: 'EXTERNAL', Description: 'd' })).KeyMetadata!;
  // Recorded (test_import_key_symmetric, created-key): no CurrentKeyMaterialId, no ExpirationModel.
  t.same(Object.keys(sym), [
    'AWSAccountId',
    'KeyId',
    'Arn',
    'CreationDate',
    'Enabled',
    'Description',
    'KeyUsage',
    'KeyState',
    'Origin',
    'KeyManager',
    'CustomerMasterKeySpec',
    'KeySpec',
    'EncryptionAlgorithms',
    'MultiRegion',
  ]);
  t.match(sym, { Enabled: false, KeyState: 'PendingImport', Origin: 'EXTERNAL', KeySpec: 'SYMMETRIC_DEFAULT' });
  const mrk = (await kms.createKey({ Origin: 'EXTERNAL', MultiRegion: true, KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  t.match(mrk.KeyId, /^mrk-/);
  t.equal(mrk.KeyState, 'PendingImport');
  // After the import, ExpirationModel follows Origin (member order as the model's).
  await importInto(kms, sym.KeyId!, makeMaterial('SYMMETRIC_DEFAULT').bytes, { validTo: new Date(Date.now() + 86_400_000) });
  const keys = Object.keys((await kms.describeKey({ KeyId: sym.KeyId! })).KeyMetadata!);
  t.ok(keys.indexOf('ValidTo') > keys.indexOf('KeyState') && keys.indexOf('ValidTo') < keys.indexOf('Origin'));
  t.ok(keys.indexOf('ExpirationModel') > keys.indexOf('Origin') && keys.indexOf('ExpirationModel') < keys.indexOf('KeyManager'));
});

eachBackend('a cancelled deletion leaves an imported key without material PendingImport, one with material Disabled', async (t, kms) => {
  const bare = await externalKey(kms);
  await kms.scheduleKeyDeletion({ KeyId: bare.KeyId!, PendingWindowInDays: 7 });
  await kms.cancelKeyDeletion({ KeyId: bare.KeyId! });
  t.equal((await kms.describeKey({ KeyId: bare.KeyId! })).KeyMetadata!.KeyState, 'PendingImport', 'no material: PendingImport');

  const imported = await externalKey(kms);
  await importInto(kms, imported.KeyId!, makeMaterial('SYMMETRIC_DEFAULT').bytes, { algorithm: 'RSAES_OAEP_SHA_256' });
  await kms.scheduleKeyDeletion({ KeyId: imported.KeyId!, PendingWindowInDays: 7 });
  await kms.cancelKeyDeletion({ KeyId: imported.KeyId! });
  t.equal((await kms.describeKey({ KeyId: imported.KeyId! })).KeyMetadata!.KeyState, 'Disabled', 'with material: Disabled');
});

eachBackend('a key whose older material expires reports that ValidTo with KEY_MATERIAL_EXPIRES', async (t, _kms, backend) => {
  // The model: ValidTo is "the earliest time at which any imported key material permanently
  // associated with this KMS key expires", present only with ExpirationModel KEY_MATERIAL_EXPIRES.
  const { kms, clock } = await clockedStore(t, backend);
  const key = await externalKey(kms);
  const validTo = addDays(start, 5);
  await importInto(kms, key.KeyId!, randomBytes(32), { validTo });
  await importInto(kms, key.KeyId!, randomBytes(32), { importType: 'NEW_KEY_MATERIAL' });
  await kms.rotateKeyOnDemand({ KeyId: key.KeyId! });
  const meta = (await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!;
  t.equal(meta.ExpirationModel, 'KEY_MATERIAL_EXPIRES', 'the current material does not expire, the first does');
  t.same(meta.ValidTo, validTo);
  clock.now = addDays(start, 6);
  t.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'PendingImport', 'that expiry takes the key out of use');
});

eachBackend('a KeyMaterialId on a first import is refused: ImportType is NEW_KEY_MATERIAL by default then', async (t, kms) => {
  // The model: ImportType "defaults to NEW_KEY_MATERIAL" when no material was ever imported, and
  // "You cannot specify a key material ID with ImportType set to NEW_KEY_MATERIAL".
  const key = await externalKey(kms);
  const material = makeMaterial('SYMMETRIC_DEFAULT').bytes;
  const refusal = 'You cannot specify a KeyMaterialId with ImportType NEW_KEY_MATERIAL.';
  await rejectsAws(t, importInto(kms, key.KeyId!, material, { keyMaterialId: 'a'.repeat(64) }), 'ValidationException', refusal);
  await rejectsAws(t, importInto(kms, key.KeyId!, material, { keyMaterialId: 'a'.repeat(64), importType: 'NEW_KEY_MATERIAL' }), 'ValidationException', refusal);
  t.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'PendingImport', 'nothing was imported');
  const id = (await importInto(kms, key.KeyId!, material)).KeyMaterialId!;
  // Once material was imported, the default is EXISTING_KEY_MATERIAL, which takes the id to check.
  t.equal((await importInto(kms, key.KeyId!, material, { keyMaterialId: id })).KeyMaterialId, id);
  await rejectsAws(t, importInto(kms, key.KeyId!, material, { keyMaterialId: 'a'.repeat(64) }), 'IncorrectKeyMaterialException');
});
