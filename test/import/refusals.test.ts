// Every refusal of the import operations, with AWS's error type (and AWS's recorded message where
// there is one): keys that cannot take imported material, tokens that are foreign, altered or
// expired (the clock option moves time), material that does not decrypt, does not fit the key
// spec, or is not the material the key had, and the wrong import types.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import { Kms } from '../../src/index.js';
import { tempHome, cleanupLater } from '../helpers/backends.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';
import { TestClock } from '../symmetric/helpers.js';
import { externalKey, importInto, makeMaterial, wrapMaterial } from './helpers.js';

const hour = 3600_000;

function explicitP256(): Buffer {
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1', paramEncoding: 'explicit' });
  return pair.privateKey.export({ format: 'der', type: 'pkcs8' });
}

eachBackend('keys that are not EXTERNAL, and keys before their material', async (t, kms) => {
  const own = (await kms.createKey({})).KeyMetadata!;
  const originRefusal = `${own.Arn} origin is ${own.Origin} which is not valid for this operation.`;
  // Recorded (test_get_parameters_for_import_raises_for_non_external_kms_keys).
  await rejectsAws(t, kms.getParametersForImport({ KeyId: own.KeyId!, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }), 'UnsupportedOperationException', originRefusal);
  await rejectsAws(t, kms.importKeyMaterial({ KeyId: own.KeyId!, ImportToken: randomBytes(64), EncryptedKeyMaterial: randomBytes(256), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }), 'UnsupportedOperationException', originRefusal);
  await rejectsAws(t, kms.deleteImportedKeyMaterial({ KeyId: own.KeyId! }), 'UnsupportedOperationException', originRefusal);

  const ext = await externalKey(kms);
  // Recorded (test_import_key_symmetric): a key pending import refuses use.
  await rejectsAws(t, kms.encrypt({ KeyId: ext.KeyId!, Plaintext: Buffer.from('x') }), 'KMSInvalidStateException', `${ext.Arn} is pending import.`);
  // Recorded (test_rotate_key_on_demand_on_external_key_with_no_key_material).
  await rejectsAws(t, kms.rotateKeyOnDemand({ KeyId: ext.KeyId! }), 'KMSInvalidStateException', `${ext.Arn} is pending import.`);
  await rejectsAws(t, kms.enableKey({ KeyId: ext.KeyId! }), 'KMSInvalidStateException', `${ext.Arn} is pending import.`);
  // KeyId is "key ID or key ARN": an alias is not a key id.
  await kms.createAlias({ AliasName: 'alias/imported', TargetKeyId: ext.KeyId! });
  await rejectsAws(t, kms.getParametersForImport({ KeyId: 'alias/imported', WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }), 'InvalidArnException');
  // Deleting material a key never had changes nothing.
  t.same(await kms.deleteImportedKeyMaterial({ KeyId: ext.KeyId! }), { KeyId: ext.Arn });
  t.equal((await kms.describeKey({ KeyId: ext.KeyId! })).KeyMetadata!.KeyState, 'PendingImport');

  // A key pending deletion takes no import.
  await kms.scheduleKeyDeletion({ KeyId: ext.KeyId!, PendingWindowInDays: 7 });
  await rejectsAws(t, kms.getParametersForImport({ KeyId: ext.KeyId!, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }), 'KMSInvalidStateException', `${ext.Arn} is pending deletion.`);

  // A key that can never hold imported material is refused for its origin, whatever its state
  // (AWS's key state table).
  await kms.scheduleKeyDeletion({ KeyId: own.KeyId!, PendingWindowInDays: 7 });
  for (const call of [
    kms.getParametersForImport({ KeyId: own.KeyId!, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }),
    kms.importKeyMaterial({ KeyId: own.KeyId!, ImportToken: randomBytes(64), EncryptedKeyMaterial: randomBytes(256), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }),
    kms.deleteImportedKeyMaterial({ KeyId: own.KeyId! }),
  ])
    await rejectsAws(t, call, 'UnsupportedOperationException', originRefusal);

  // Origins that cannot be created here stay refused.
  await rejectsAws(t, kms.createKey({ Origin: 'EXTERNAL_KEY_STORE' }), 'UnsupportedOperationException');
});

eachBackend('wrapping algorithms and wrapping key specs AWS does not accept', async (t, kms) => {
  const ext = await externalKey(kms);
  await rejectsAws(t, kms.getParametersForImport({ KeyId: ext.KeyId!, WrappingAlgorithm: 'RSAES_PKCS1_V1_5', WrappingKeySpec: 'RSA_2048' }), 'ValidationException', /RSAES_PKCS1_V1_5/);
  await rejectsAws(t, kms.getParametersForImport({ KeyId: ext.KeyId!, WrappingAlgorithm: 'SM2PKE', WrappingKeySpec: 'SM2' }), 'UnsupportedOperationException');
  await rejectsAws(t, kms.getParametersForImport({ KeyId: ext.KeyId!, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_1024' as 'RSA_2048' }), 'ValidationException');
  const rsa = await externalKey(kms, 'RSA_2048', 'SIGN_VERIFY');
  // RSA private keys need an RSA_AES wrapping algorithm (AWS documents it; OAEP cannot carry them).
  await rejectsAws(t, kms.getParametersForImport({ KeyId: rsa.KeyId!, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_4096' }), 'ValidationException', /RSA_AES_KEY_WRAP/);
});

eachBackend('ExpirationModel and ValidTo', async (t, kms) => {
  const ext = await externalKey(kms);
  const m = makeMaterial('SYMMETRIC_DEFAULT');
  // Recorded (test_import_key_symmetric), and KEY_MATERIAL_EXPIRES is the default.
  const expiring = 'A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES';
  await rejectsAws(t, importInto(kms, ext.KeyId!, m.bytes, { expirationModel: 'KEY_MATERIAL_EXPIRES' }), 'ValidationException', expiring);
  const params = await kms.getParametersForImport({ KeyId: ext.KeyId!, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
  const encrypted = wrapMaterial(m.bytes, params.PublicKey!, 'RSAES_OAEP_SHA_256');
  await rejectsAws(t, kms.importKeyMaterial({ KeyId: ext.KeyId!, ImportToken: params.ImportToken!, EncryptedKeyMaterial: encrypted }), 'ValidationException', expiring);
  const now = Date.now();
  await rejectsAws(t, kms.importKeyMaterial({ KeyId: ext.KeyId!, ImportToken: params.ImportToken!, EncryptedKeyMaterial: encrypted, ValidTo: new Date(now - hour) }), 'ValidationException', /future/);
  await rejectsAws(t, kms.importKeyMaterial({ KeyId: ext.KeyId!, ImportToken: params.ImportToken!, EncryptedKeyMaterial: encrypted, ValidTo: new Date(now + 366 * 24 * hour) }), 'ValidationException', /365 days/);
  await rejectsAws(
    t,
    kms.importKeyMaterial({ KeyId: ext.KeyId!, ImportToken: params.ImportToken!, EncryptedKeyMaterial: encrypted, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ValidTo: new Date(now + hour) }),
    'ValidationException',
  );
  t.equal((await kms.describeKey({ KeyId: ext.KeyId! })).KeyMetadata!.KeyState, 'PendingImport', 'nothing was imported');
  // The same token and material then go in.
  await kms.importKeyMaterial({ KeyId: ext.KeyId!, ImportToken: params.ImportToken!, EncryptedKeyMaterial: encrypted, ValidTo: new Date(now + hour) });
  t.equal((await kms.describeKey({ KeyId: ext.KeyId! })).KeyMetadata!.KeyState, 'Enabled');
});

eachBackend('import tokens: another key, another store, altered, expired', async (t, kms, backend) => {
  const clock = new TestClock(new Date('2031-03-01T00:00:00Z'));
  const home = tempHome();
  cleanupLater(home);
  const timed = await backend.open({ home, clock: clock.read });
  t.teardown(() => timed.close());
  const a = await externalKey(timed);
  const b = await externalKey(timed);
  const m = makeMaterial('SYMMETRIC_DEFAULT');
  const params = await timed.getParametersForImport({ KeyId: a.KeyId!, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
  t.same(params.ParametersValidTo, new Date(clock.now.getTime() + 24 * hour), 'parameters are valid for 24 hours');
  const encrypted = wrapMaterial(m.bytes, params.PublicKey!, 'RSAES_OAEP_SHA_256');
  const input = { ImportToken: params.ImportToken!, EncryptedKeyMaterial: encrypted, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const };

  await rejectsAws(t, timed.importKeyMaterial({ ...input, KeyId: b.KeyId! }), 'InvalidImportTokenException', /another KMS key/);
  for (const i of [0, 5, 20, params.ImportToken!.length - 1]) {
    const altered = Buffer.from(params.ImportToken!);
    altered[i] = (altered[i] as number) ^ 1;
    await rejectsAws(t, timed.importKeyMaterial({ ...input, KeyId: a.KeyId!, ImportToken: altered }), 'InvalidImportTokenException');
  }
  await rejectsAws(t, timed.importKeyMaterial({ ...input, KeyId: a.KeyId!, ImportToken: randomBytes(120) }), 'InvalidImportTokenException');
  // Another store (another root key) does not accept this store's token, even for a key of the same id.
  const other = await Kms.open({ home: tempHome(), audit: false });
  t.teardown(() => other.close());
  const c = await externalKey(other);
  await rejectsAws(t, other.importKeyMaterial({ ...input, KeyId: c.KeyId! }), 'InvalidImportTokenException');

  // 24 hours later the token has expired.
  clock.now = new Date(clock.now.getTime() + 24 * hour);
  await rejectsAws(t, timed.importKeyMaterial({ ...input, KeyId: a.KeyId! }), 'ExpiredImportTokenException', /expired/);
  clock.now = new Date(clock.now.getTime() - 1);
  const ok = await timed.importKeyMaterial({ ...input, KeyId: a.KeyId! });
  t.equal(ok.KeyId, a.Arn, 'a millisecond earlier it was still valid');
  // A token can be used again while it is valid (reimport of the same material).
  await timed.importKeyMaterial({ ...input, KeyId: a.KeyId! });
});

eachBackend('material that does not decrypt, does not fit the key spec, or is not the key\'s', async (t, kms) => {
  const sym = await externalKey(kms);
  const params = await kms.getParametersForImport({ KeyId: sym.KeyId!, WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: 'RSA_2048' });
  const go = (encrypted: Uint8Array, keyId = sym.KeyId!) =>
    kms.importKeyMaterial({ KeyId: keyId, ImportToken: params.ImportToken!, EncryptedKeyMaterial: encrypted, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
  const aes = makeMaterial('SYMMETRIC_DEFAULT').bytes;
  // Wrapped with another algorithm than the token's, with another public key, or altered.
  await rejectsAws(t, go(wrapMaterial(aes, params.PublicKey!, 'RSA_AES_KEY_WRAP_SHA_1')), 'InvalidCiphertextException');
  await rejectsAws(t, go(wrapMaterial(aes, params.PublicKey!, 'RSAES_OAEP_SHA_256')), 'InvalidCiphertextException');
  const another = await kms.getParametersForImport({ KeyId: sym.KeyId!, WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: 'RSA_2048' });
  await rejectsAws(t, go(wrapMaterial(aes, another.PublicKey!, 'RSA_AES_KEY_WRAP_SHA_256')), 'InvalidCiphertextException');
  const altered = wrapMaterial(aes, params.PublicKey!, 'RSA_AES_KEY_WRAP_SHA_256');
  altered[altered.length - 3] = (altered[altered.length - 3] as number) ^ 0x40;
  await rejectsAws(t, go(altered), 'InvalidCiphertextException');
  await rejectsAws(t, go(randomBytes(10)), 'InvalidCiphertextException');
  // Material of the wrong size for SYMMETRIC_DEFAULT.
  // On a token the length is known exactly or to within AES key wrap's padding; either way it is said.
  for (const n of [16, 40, 27])
    await rejectsAws(
      t,
      go(wrapMaterial(randomBytes(n), params.PublicKey!, 'RSA_AES_KEY_WRAP_SHA_256')),
      'IncorrectKeyMaterialException',
      new RegExp(`must be 256 bits \\(32 bytes\\) long(, not ${n} bytes|; this material is \\d+ to \\d+ bytes long)`),
    );
  t.equal((await kms.describeKey({ KeyId: sym.KeyId! })).KeyMetadata!.KeyState, 'PendingImport');

  const cases: [string, string, 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC', Buffer][] = [
    ['ECC_NIST_P256', 'ECC_NIST_P384', 'SIGN_VERIFY', makeMaterial('ECC_NIST_P384').bytes],
    ['ECC_NIST_P256', 'ECC_SECG_P256K1', 'SIGN_VERIFY', makeMaterial('ECC_SECG_P256K1').bytes],
    ['ECC_NIST_P256', 'ECC_NIST_EDWARDS25519', 'SIGN_VERIFY', makeMaterial('ECC_NIST_EDWARDS25519').bytes],
    ['RSA_3072', 'RSA_2048', 'SIGN_VERIFY', makeMaterial('RSA_2048').bytes],
    ['ECC_NIST_P256', 'raw bytes', 'SIGN_VERIFY', randomBytes(32)],
    // P-256 itself, but spelled as explicit curve parameters: its public key would come back the same way.
    ['ECC_NIST_P256', 'explicit parameters', 'SIGN_VERIFY', explicitP256()],
    ['HMAC_384', '32 bytes', 'GENERATE_VERIFY_MAC', randomBytes(32)],
    ['HMAC_256', '65 bytes', 'GENERATE_VERIFY_MAC', randomBytes(65)],
  ];
  for (const [spec, what, usage, material] of cases) {
    const key = await externalKey(kms, spec as 'HMAC_256', usage);
    await rejectsAws(t, importInto(kms, key.KeyId!, material), 'IncorrectKeyMaterialException', undefined);
    t.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'PendingImport', `${spec} refuses ${what}`);
  }

  // Asymmetric and HMAC keys keep their material for life: other material is refused, even after a delete.
  for (const [spec, usage] of [
    ['ECC_NIST_P256', 'SIGN_VERIFY'],
    ['HMAC_256', 'GENERATE_VERIFY_MAC'],
  ] as const) {
    const key = await externalKey(kms, spec, usage);
    const first = makeMaterial(spec);
    await importInto(kms, key.KeyId!, first.bytes);
    await rejectsAws(t, importInto(kms, key.KeyId!, makeMaterial(spec).bytes), 'IncorrectKeyMaterialException');
    await kms.deleteImportedKeyMaterial({ KeyId: key.KeyId! });
    await rejectsAws(t, importInto(kms, key.KeyId!, makeMaterial(spec).bytes), 'IncorrectKeyMaterialException');
    await importInto(kms, key.KeyId!, first.bytes);
    t.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'Enabled', `${spec}: the same material goes back in`);
    // ImportType, KeyMaterialId and KeyMaterialDescription are for symmetric keys only.
    await rejectsAws(t, importInto(kms, key.KeyId!, first.bytes, { importType: 'EXISTING_KEY_MATERIAL' }), 'ValidationException');
    await rejectsAws(t, importInto(kms, key.KeyId!, first.bytes, { description: 'x' }), 'ValidationException');
  }
});

eachBackend('symmetric keys: import types, material ids, one pending rotation', async (t, kms) => {
  const key = await externalKey(kms);
  const one = makeMaterial('SYMMETRIC_DEFAULT').bytes;
  const two = makeMaterial('SYMMETRIC_DEFAULT').bytes;
  const three = makeMaterial('SYMMETRIC_DEFAULT').bytes;
  await rejectsAws(t, importInto(kms, key.KeyId!, one, { importType: 'EXISTING_KEY_MATERIAL' }), 'IncorrectKeyMaterialException', /not associated/);
  await rejectsAws(t, importInto(kms, key.KeyId!, one, { importType: 'NEW_KEY_MATERIAL', keyMaterialId: 'a'.repeat(64) }), 'ValidationException');
  const first = (await importInto(kms, key.KeyId!, one)).KeyMaterialId!;
  // After the first import the default is EXISTING_KEY_MATERIAL: other material is refused.
  await rejectsAws(t, importInto(kms, key.KeyId!, two), 'IncorrectKeyMaterialException', /not associated/);
  await rejectsAws(t, importInto(kms, key.KeyId!, one, { importType: 'NEW_KEY_MATERIAL' }), 'IncorrectKeyMaterialException', /already associated/);
  await rejectsAws(t, importInto(kms, key.KeyId!, one, { keyMaterialId: 'b'.repeat(64) }), 'IncorrectKeyMaterialException');
  t.equal((await importInto(kms, key.KeyId!, one, { keyMaterialId: first })).KeyMaterialId, first, 'reimport naming its id');
  const second = (await importInto(kms, key.KeyId!, two, { importType: 'NEW_KEY_MATERIAL' })).KeyMaterialId!;
  t.not(second, first);
  // Recorded (test_import_key_material_raises_if_there_is_already_key_material_pending).
  const thirdId = await importInto(kms, key.KeyId!, three, { importType: 'NEW_KEY_MATERIAL' }).catch((e: Error) => e.message);
  t.match(thirdId, new RegExp(`^New key material \\(id: [0-9a-f]{64}\\) cannot be imported into KMS key ${key.Arn!.replace(/[/:.-]/g, '\\$&')}, because another key material \\(id: ${second}\\) is pending rotation\\.$`));
  await rejectsAws(t, importInto(kms, key.KeyId!, three, { importType: 'NEW_KEY_MATERIAL' }), 'KMSInvalidStateException');
  // A DeleteImportedKeyMaterial naming a material the key does not have.
  await rejectsAws(t, kms.deleteImportedKeyMaterial({ KeyId: key.KeyId!, KeyMaterialId: 'c'.repeat(64) }), 'NotFoundException');
});

eachBackend('RotateKeyOnDemand of an EXTERNAL key without pending material', async (t, kms) => {
  const key = await externalKey(kms);
  await importInto(kms, key.KeyId!, makeMaterial('SYMMETRIC_DEFAULT').bytes);
  // Recorded (test_rotate_key_on_demand_raises_for_no_pending_key_material).
  await rejectsAws(t, kms.rotateKeyOnDemand({ KeyId: key.KeyId! }), 'KMSInvalidStateException', `No available key material pending rotation for the key: ${key.Arn}.`);
  // Automatic rotation is not for imported material.
  await rejectsAws(t, kms.enableKeyRotation({ KeyId: key.KeyId! }), 'UnsupportedOperationException', `${key.Arn} origin is EXTERNAL which is not valid for this operation.`);
  const asym = await externalKey(kms, 'ECC_NIST_P256', 'SIGN_VERIFY');
  await importInto(kms, asym.KeyId!, makeMaterial('ECC_NIST_P256').bytes);
  await rejectsAws(t, kms.rotateKeyOnDemand({ KeyId: asym.KeyId! }), 'UnsupportedOperationException', '');
});

eachBackend('EXTERNAL keys and PKCS#11 tokens', async (t, kms) => {
  const meta = await externalKey(kms);
  t.equal(meta.CustomKeyStoreId, undefined, 'an EXTERNAL key is a software key, also where new keys go to a token');
  await rejectsAws(t, kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: 'cks-00000000000000000' }), 'CustomKeyStoreNotFoundException');
  if (kms.token) {
    // In the token's custom key store the material will be unwrapped inside the token
    // (test/pkcs11/import.test.ts); Ed25519 cannot be, as the token gives no public key for it.
    const onToken = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: kms.token.customKeyStoreId })).KeyMetadata!;
    t.equal(onToken.Origin, 'EXTERNAL');
    t.equal(onToken.CustomKeyStoreId, kms.token.customKeyStoreId);
    t.equal(onToken.KeyState, 'PendingImport');
    await rejectsAws(
      t,
      kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: kms.token.customKeyStoreId, KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' }),
      'UnsupportedOperationException',
      /Ed25519/,
    );
  }
});
