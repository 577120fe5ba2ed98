// Importing key material into a SoftHSM2 token (issue 11): CreateKey with Origin EXTERNAL and the
// token's CustomKeyStoreId, GetParametersForImport's wrapping key made on the token, and the
// material unwrapped inside it (C_UnwrapKey). Every material is made and wrapped by Node's crypto
// alone; each imported key is then used and checked against Node's crypto with the known
// material, and its token object read back: sensitive, not extractable, its value refused.
import { constants, createHmac, createPublicKey, diffieHellman, generateKeyPairSync, publicEncrypt, randomBytes, verify } from 'node:crypto';

import t, { type Test } from 'tap';

import { noteTokenCreation, orphanGraceMs } from '../../src/backends/token-orphans.js';
import { Kms, type AlgorithmSpec, type KeySpec, type KeyUsageType } from '../../src/index.js';
import { cleanupLater, tempHome } from '../helpers/backends.js';
import { rejectsAws } from '../helpers/kms-fixture.js';
import { softhsmOptions } from '../helpers/softhsm.js';
import { TestClock } from '../symmetric/helpers.js';
import { makeMaterial, openOutside, sealOutside, wrapMaterial, type Material } from '../import/helpers.js';
import { backendOf, openOnToken } from './helpers.js';

const message = Buffer.from('a message from outside the token');

async function tokenExternalKey(kms: Kms, spec: KeySpec, usage?: KeyUsageType) {
  const meta = (
    await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId, KeySpec: spec, ...(usage ? { KeyUsage: usage } : {}) })
  ).KeyMetadata!;
  return meta;
}

async function importWith(
  kms: Kms,
  keyId: string,
  material: Uint8Array,
  algorithm: AlgorithmSpec,
  extra: { ValidTo?: Date; WrappingKeySpec?: 'RSA_2048' | 'RSA_4096'; ImportType?: 'NEW_KEY_MATERIAL' } = {},
) {
  const params = await kms.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: algorithm, WrappingKeySpec: extra.WrappingKeySpec ?? 'RSA_2048' });
  return kms.importKeyMaterial({
    KeyId: keyId,
    ImportToken: params.ImportToken!,
    EncryptedKeyMaterial: wrapMaterial(material, params.PublicKey!, algorithm),
    ExpirationModel: extra.ValidTo ? 'KEY_MATERIAL_EXPIRES' : 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    ...(extra.ValidTo ? { ValidTo: extra.ValidTo } : {}),
    ...(extra.ImportType ? { ImportType: extra.ImportType } : {}),
  });
}

/** The imported key's object on the token, as the token reports it. */
async function checkProtected(tt: Test, kms: Kms, keyId: string, label: string) {
  const material = kms.store.getMaterials(keyId)[0]!;
  tt.equal(material.wrapped, undefined, `${label}: nothing wrapped in the store`);
  tt.equal(material.tokenRef, `${keyId}/${material.materialId}`, `${label}: CKA_ID names key and material`);
  const a = await backendOf(kms).attributesOf(material);
  tt.ok(a.found, `${label}: the object is on the token`);
  tt.equal(a.token, true, `${label}: CKA_TOKEN`);
  tt.equal(a.private, true, `${label}: CKA_PRIVATE`);
  tt.equal(a.sensitive, true, `${label}: CKA_SENSITIVE`);
  tt.equal(a.extractable, false, `${label}: CKA_EXTRACTABLE false`);
  tt.equal(a.valueRefused, true, `${label}: the token refuses to reveal the value (${a.valueRv})`);
  // An unwrapped key was once outside the token: PKCS#11 says so.
  tt.equal(a.neverExtractable, false, `${label}: CKA_NEVER_EXTRACTABLE false, as for any unwrapped key`);
}

/** Uses the imported key and checks the result with Node's crypto and the known material. */
async function checkUse(tt: Test, kms: Kms, keyId: string, spec: KeySpec, usage: KeyUsageType, m: Material, materialId: string | undefined) {
  if (spec === 'SYMMETRIC_DEFAULT') {
    const context = { purpose: 'token import' };
    const outside = sealOutside(keyId, materialId!, m.bytes, message, context);
    const inside = await kms.decrypt({ CiphertextBlob: outside, EncryptionContext: context });
    tt.same(Buffer.from(inside.Plaintext!), message, 'a ciphertext made outside decrypts inside the token');
    const ours = await kms.encrypt({ KeyId: keyId, Plaintext: message, EncryptionContext: context });
    tt.same(openOutside(ours.CiphertextBlob!, m.bytes, context).plaintext, message, 'the token ciphertext opens outside with the known key');
    return;
  }
  if (usage === 'GENERATE_VERIFY_MAC') {
    const bits = spec.slice(5);
    const mac = await kms.generateMac({ KeyId: keyId, Message: message, MacAlgorithm: `HMAC_SHA_${bits}` as 'HMAC_SHA_256' });
    tt.same(Buffer.from(mac.Mac!), createHmac(`sha${bits}`, m.bytes).update(message).digest(), 'GenerateMac equals createHmac with the known key');
    return;
  }
  const pub = await kms.getPublicKey({ KeyId: keyId });
  tt.same(Buffer.from(pub.PublicKey!), m.publicKey, 'GetPublicKey is the original public key');
  const publicKey = createPublicKey({ key: m.publicKey!, format: 'der', type: 'spki' });
  if (usage === 'SIGN_VERIFY') {
    const hash = spec === 'ECC_NIST_P384' ? '384' : spec === 'ECC_NIST_P521' ? '512' : '256';
    const alg = spec.startsWith('RSA_') ? 'RSASSA_PSS_SHA_256' : (`ECDSA_SHA_${hash}` as 'ECDSA_SHA_256');
    const sig = Buffer.from((await kms.sign({ KeyId: keyId, Message: message, SigningAlgorithm: alg })).Signature!);
    const ok = spec.startsWith('RSA_')
      ? verify('sha256', message, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)
      : verify(`sha${hash}`, message, publicKey, sig);
    tt.ok(ok, `${alg} signature from the token verifies with the original public key`);
  } else if (usage === 'ENCRYPT_DECRYPT') {
    const ct = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, message);
    const out = await kms.decrypt({ KeyId: keyId, CiphertextBlob: ct, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' });
    tt.same(Buffer.from(out.Plaintext!), message, 'an RSA-OAEP ciphertext made outside decrypts inside the token');
  } else {
    const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const peerDer = peer.publicKey.export({ format: 'der', type: 'spki' });
    const out = await kms.deriveSharedSecret({ KeyId: keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: peerDer });
    const expected = diffieHellman({ privateKey: peer.privateKey, publicKey });
    tt.same(Buffer.from(out.SharedSecret!), expected, 'ECDH on the token equals Node with the peer key');
  }
}

const cases: [KeySpec, KeyUsageType, AlgorithmSpec][] = [
  ['SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'RSAES_OAEP_SHA_1'],
  ['SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'RSA_AES_KEY_WRAP_SHA_1'],
  ['HMAC_224', 'GENERATE_VERIFY_MAC', 'RSAES_OAEP_SHA_1'],
  ['HMAC_256', 'GENERATE_VERIFY_MAC', 'RSA_AES_KEY_WRAP_SHA_1'],
  ['HMAC_384', 'GENERATE_VERIFY_MAC', 'RSAES_OAEP_SHA_1'],
  ['HMAC_512', 'GENERATE_VERIFY_MAC', 'RSA_AES_KEY_WRAP_SHA_1'],
  ['RSA_2048', 'SIGN_VERIFY', 'RSA_AES_KEY_WRAP_SHA_1'],
  ['RSA_2048', 'ENCRYPT_DECRYPT', 'RSA_AES_KEY_WRAP_SHA_1'],
  ['RSA_3072', 'SIGN_VERIFY', 'RSA_AES_KEY_WRAP_SHA_1'],
  ['ECC_NIST_P256', 'SIGN_VERIFY', 'RSA_AES_KEY_WRAP_SHA_1'],
  ['ECC_NIST_P256', 'KEY_AGREEMENT', 'RSA_AES_KEY_WRAP_SHA_1'],
  ['ECC_NIST_P384', 'SIGN_VERIFY', 'RSA_AES_KEY_WRAP_SHA_1'],
  ['ECC_NIST_P521', 'SIGN_VERIFY', 'RSA_AES_KEY_WRAP_SHA_1'],
  ['ECC_SECG_P256K1', 'SIGN_VERIFY', 'RSA_AES_KEY_WRAP_SHA_1'],
];

t.test('round trips: material wrapped by Node, unwrapped inside the token, then used', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  for (const [spec, usage, algorithm] of cases) {
    await tt.test(`${spec} ${usage} with ${algorithm}`, async (st) => {
      const key = await tokenExternalKey(kms, spec, usage);
      st.equal(key.Origin, 'EXTERNAL');
      st.equal(key.CustomKeyStoreId, backendOf(kms).customKeyStoreId, 'in the custom key store');
      st.equal(key.KeyState, 'PendingImport');
      const m = makeMaterial(spec);
      const res = await importWith(kms, key.KeyId!, m.bytes, algorithm);
      const meta = (await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!;
      st.equal(meta.KeyState, 'Enabled');
      await checkUse(st, kms, key.KeyId!, spec, usage, m, res.KeyMaterialId);
      await checkProtected(st, kms, key.KeyId!, spec);
    });
  }
});

t.test('the wrapping key lives on the token and can only unwrap', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const key = await tokenExternalKey(kms, 'SYMMETRIC_DEFAULT');
  const params = await kms.getParametersForImport({ KeyId: key.KeyId!, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_3072' });
  const refs = (await backendOf(kms).listTokenRefs()).filter((r) => r.startsWith(`${key.KeyId}/import-`));
  tt.equal(refs.length, 1, 'one wrapping key on the token');
  const a = await backendOf(kms).attributesOf({ keyId: key.KeyId!, materialId: 'x', createdAt: new Date(), tokenRef: refs[0]! });
  tt.equal(a.objectClass, 'CKO_PRIVATE_KEY');
  tt.equal(a.sensitive, true, 'sensitive');
  tt.equal(a.extractable, false, 'not extractable');
  tt.equal(a.valueRefused, true, 'its private exponent is refused');
  tt.equal(a.hasPublicObject, false, 'the public half is not kept on the token');
  const spki = createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' });
  tt.equal(spki.asymmetricKeyDetails?.modulusLength, 3072, 'RSA_3072 as asked');
  tt.same(kms.store.db.prepare('SELECT COUNT(*) FROM token_creations').pluck().get(), 0, 'no note left once the parameters are stored');
});

t.test('what SoftHSM2 cannot do is refused, naming the mechanism; nothing is left on the token', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const mechanisms = backendOf(kms).tokenInfo().mechanisms;
  tt.notOk(mechanisms.includes('CKM_RSA_AES_KEY_WRAP'), 'SoftHSM2 2.6.1 has no CKM_RSA_AES_KEY_WRAP (so RSA-AES is done in two steps)');
  const key = await tokenExternalKey(kms, 'SYMMETRIC_DEFAULT');
  for (const algorithm of ['RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_256'] as const) {
    await rejectsAws(
      tt,
      kms.getParametersForImport({ KeyId: key.KeyId!, WrappingAlgorithm: algorithm, WrappingKeySpec: 'RSA_2048' }),
      'UnsupportedOperationException',
      /CKM_RSA_PKCS_OAEP with hashAlg CKM_SHA256.*refuses \(CKR_ARGUMENTS_BAD\)/,
    );
  }
  tt.same(await backendOf(kms).listTokenRefs(), [], 'no wrapping key left behind');
  await rejectsAws(
    tt,
    kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId, KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' }),
    'UnsupportedOperationException',
    /Ed25519 private key it unwrapped/,
  );
  await rejectsAws(
    tt,
    kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: 'cks-0123456789abcdef0', KeySpec: 'SYMMETRIC_DEFAULT' }),
    'CustomKeyStoreNotFoundException',
  );
});

t.test('EXTERNAL keys without CustomKeyStoreId stay software keys on a token store', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const key = (await kms.createKey({ Origin: 'EXTERNAL', KeySpec: 'SYMMETRIC_DEFAULT' })).KeyMetadata!;
  tt.equal(key.CustomKeyStoreId, undefined);
  const m = makeMaterial('SYMMETRIC_DEFAULT');
  await importWith(kms, key.KeyId!, m.bytes, 'RSAES_OAEP_SHA_256');
  tt.ok(kms.store.getMaterials(key.KeyId!)[0]!.wrapped, 'wrapped under the root key');
});

t.test('the same material again is accepted; other material, misfit material and a foreign wrapping are refused', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const backend = backendOf(kms);
  const objects = async () => (await backend.listTokenRefs()).filter((r) => !r.includes('/import-')).sort();

  // HMAC: the material id is computed by the token (CKM_SHA256_HMAC).
  const hmac = await tokenExternalKey(kms, 'HMAC_256', 'GENERATE_VERIFY_MAC');
  const hm = makeMaterial('HMAC_256');
  await importWith(kms, hmac.KeyId!, hm.bytes, 'RSAES_OAEP_SHA_1');
  const before = await objects();
  await importWith(kms, hmac.KeyId!, hm.bytes, 'RSA_AES_KEY_WRAP_SHA_1');
  tt.same(await objects(), before, 'the same HMAC material again: accepted, one object still');
  await rejectsAws(tt, importWith(kms, hmac.KeyId!, makeMaterial('HMAC_256').bytes, 'RSAES_OAEP_SHA_1'), 'IncorrectKeyMaterialException');
  tt.same(await objects(), before, 'the refused material left nothing on the token');

  // EC: the material id follows the recovered public key.
  const ec = await tokenExternalKey(kms, 'ECC_NIST_P256', 'SIGN_VERIFY');
  const em = makeMaterial('ECC_NIST_P256');
  await importWith(kms, ec.KeyId!, em.bytes, 'RSA_AES_KEY_WRAP_SHA_1');
  await importWith(kms, ec.KeyId!, em.bytes, 'RSA_AES_KEY_WRAP_SHA_1');
  await rejectsAws(tt, importWith(kms, ec.KeyId!, makeMaterial('ECC_NIST_P256').bytes, 'RSA_AES_KEY_WRAP_SHA_1'), 'IncorrectKeyMaterialException');

  // Material that does not fit the key spec.
  const p384 = await tokenExternalKey(kms, 'ECC_NIST_P384', 'SIGN_VERIFY');
  await rejectsAws(tt, importWith(kms, p384.KeyId!, makeMaterial('ECC_NIST_P256').bytes, 'RSA_AES_KEY_WRAP_SHA_1'), 'IncorrectKeyMaterialException', /curve/);
  await rejectsAws(tt, importWith(kms, p384.KeyId!, makeMaterial('RSA_2048').bytes, 'RSA_AES_KEY_WRAP_SHA_1'), 'IncorrectKeyMaterialException', /PKCS#8/);
  const rsa = await tokenExternalKey(kms, 'RSA_3072', 'SIGN_VERIFY');
  await rejectsAws(tt, importWith(kms, rsa.KeyId!, makeMaterial('RSA_2048').bytes, 'RSA_AES_KEY_WRAP_SHA_1'), 'IncorrectKeyMaterialException', /3072-bit/);
  const aes = await tokenExternalKey(kms, 'SYMMETRIC_DEFAULT');
  await rejectsAws(tt, importWith(kms, aes.KeyId!, randomBytes(16), 'RSAES_OAEP_SHA_1'), 'IncorrectKeyMaterialException', /32 bytes/);
  const hmac384 = await tokenExternalKey(kms, 'HMAC_384', 'GENERATE_VERIFY_MAC');
  await rejectsAws(tt, importWith(kms, hmac384.KeyId!, randomBytes(32), 'RSA_AES_KEY_WRAP_SHA_1'), 'IncorrectKeyMaterialException', /48 to 128 bytes/);
  // Empty material (which AES key wrap cannot carry at all) is a wrong length too, as in software.
  await rejectsAws(tt, importWith(kms, hmac384.KeyId!, Buffer.alloc(0), 'RSAES_OAEP_SHA_1'), 'IncorrectKeyMaterialException', /48 to 128 bytes/);
  // SoftHSM2 does not report an unwrapped secret's length (CKA_VALUE_LEN is 0): lengths that
  // only the token's own checks can tell apart, through either wrapping.
  for (const algorithm of ['RSAES_OAEP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_1'] as const) {
    await rejectsAws(tt, importWith(kms, aes.KeyId!, randomBytes(30), algorithm), 'IncorrectKeyMaterialException', /32 bytes/);
    await rejectsAws(tt, importWith(kms, aes.KeyId!, randomBytes(24), algorithm), 'IncorrectKeyMaterialException', /32 bytes/);
    await rejectsAws(tt, importWith(kms, hmac384.KeyId!, randomBytes(47), algorithm), 'IncorrectKeyMaterialException', /48 to 128 bytes/);
    await rejectsAws(tt, importWith(kms, hmac384.KeyId!, randomBytes(129), algorithm), 'IncorrectKeyMaterialException', /48 to 128 bytes/);
    const h224 = await tokenExternalKey(kms, 'HMAC_224', 'GENERATE_VERIFY_MAC');
    await rejectsAws(tt, importWith(kms, h224.KeyId!, randomBytes(27), algorithm), 'IncorrectKeyMaterialException', /28 to 64 bytes/);
    await rejectsAws(tt, importWith(kms, h224.KeyId!, randomBytes(65), algorithm), 'IncorrectKeyMaterialException', /28 to 64 bytes/);
    // The extremes of the range are accepted, and the MAC is right.
    for (const n of [28, 30, 64]) {
      const k = await tokenExternalKey(kms, 'HMAC_224', 'GENERATE_VERIFY_MAC');
      const bytes = randomBytes(n);
      await importWith(kms, k.KeyId!, bytes, algorithm);
      const mac = await kms.generateMac({ KeyId: k.KeyId!, Message: message, MacAlgorithm: 'HMAC_SHA_224' });
      tt.same(Buffer.from(mac.Mac!), createHmac('sha224', bytes).update(message).digest(), `HMAC_224 with ${n} bytes via ${algorithm}`);
      await importWith(kms, k.KeyId!, bytes, algorithm);
      await rejectsAws(tt, importWith(kms, k.KeyId!, randomBytes(n), algorithm), 'IncorrectKeyMaterialException');
    }
  }

  // Wrapped for another wrapping key, or tampered.
  const params = await kms.getParametersForImport({ KeyId: aes.KeyId!, WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_1', WrappingKeySpec: 'RSA_2048' });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' });
  for (const [what, blob] of [
    ['another wrapping key', wrapMaterial(randomBytes(32), other, 'RSA_AES_KEY_WRAP_SHA_1')],
    ['a tampered AES key wrap', (() => {
      const b = wrapMaterial(randomBytes(32), params.PublicKey!, 'RSA_AES_KEY_WRAP_SHA_1');
      b[b.length - 1]! ^= 1;
      return b;
    })()],
  ] as const) {
    await rejectsAws(
      tt,
      kms.importKeyMaterial({ KeyId: aes.KeyId!, ImportToken: params.ImportToken!, EncryptedKeyMaterial: blob, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }),
      'InvalidCiphertextException',
      undefined,
    );
    tt.pass(`${what}: InvalidCiphertextException`);
  }
  tt.equal(kms.store.db.prepare('SELECT COUNT(*) FROM token_creations').pluck().get(), 0, 'no notes left behind');
});

t.test('DeleteImportedKeyMaterial destroys the token object; a reimport brings old ciphertexts back', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const backend = backendOf(kms);
  const key = await tokenExternalKey(kms, 'SYMMETRIC_DEFAULT');
  const m = makeMaterial('SYMMETRIC_DEFAULT');
  const id = (await importWith(kms, key.KeyId!, m.bytes, 'RSAES_OAEP_SHA_1')).KeyMaterialId!;
  const blob = (await kms.encrypt({ KeyId: key.KeyId!, Plaintext: message })).CiphertextBlob!;
  await kms.deleteImportedKeyMaterial({ KeyId: key.KeyId! });
  tt.notOk((await backend.listTokenRefs()).includes(`${key.KeyId}/${id}`), 'the object is gone from the token');
  tt.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'PendingImport');
  await rejectsAws(tt, kms.decrypt({ CiphertextBlob: blob }), 'KMSInvalidStateException');
  const again = await importWith(kms, key.KeyId!, m.bytes, 'RSA_AES_KEY_WRAP_SHA_1');
  tt.equal(again.KeyMaterialId, id, 'the same material id (computed by the token)');
  tt.same(Buffer.from((await kms.decrypt({ CiphertextBlob: blob })).Plaintext!), message, 'the old ciphertext decrypts again');
  await checkProtected(tt, kms, key.KeyId!, 'reimported');
});

t.test('expiry: ValidTo sends the key to PendingImport and the object leaves the token', async (tt) => {
  const clock = new TestClock(new Date('2030-01-01T00:00:00Z'));
  const kms = await openOnToken({ clock: clock.read });
  tt.teardown(() => kms.close());
  const backend = backendOf(kms);
  const key = await tokenExternalKey(kms, 'HMAC_512', 'GENERATE_VERIFY_MAC');
  const m = makeMaterial('HMAC_512');
  const validTo = new Date(clock.now.getTime() + 3600_000);
  await importWith(kms, key.KeyId!, m.bytes, 'RSAES_OAEP_SHA_1', { ValidTo: validTo });
  const ref = kms.store.getMaterials(key.KeyId!)[0]!.tokenRef!;
  clock.now = validTo;
  tt.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'PendingImport', 'expired');
  await kms.importExpiry.settled(); // the object is destroyed in the background
  tt.notOk((await backend.listTokenRefs()).includes(ref), 'the expired material is destroyed on the token');
  await importWith(kms, key.KeyId!, m.bytes, 'RSAES_OAEP_SHA_1');
  const mac = await kms.generateMac({ KeyId: key.KeyId!, Message: message, MacAlgorithm: 'HMAC_SHA_512' });
  tt.same(Buffer.from(mac.Mac!), createHmac('sha512', m.bytes).update(message).digest(), 'reimported: the MAC is right again');
  // The wrapping keys of expired parameters go at the next GetParametersForImport.
  const wrapping = async () => (await backend.listTokenRefs()).filter((r) => r.includes('/import-'));
  tt.equal((await wrapping()).length, 2);
  clock.now = new Date(clock.now.getTime() + 25 * 3600_000);
  await kms.getParametersForImport({ KeyId: key.KeyId!, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' });
  tt.equal((await wrapping()).length, 1, 'only the new wrapping key is left');
});

t.test('expiry of material imported for a rotation that never came: its object leaves the token too', async (tt) => {
  const clock = new TestClock(new Date('2030-01-01T00:00:00Z'));
  const kms = await openOnToken({ clock: clock.read });
  tt.teardown(() => kms.close());
  const key = await tokenExternalKey(kms, 'SYMMETRIC_DEFAULT');
  const first = makeMaterial('SYMMETRIC_DEFAULT');
  const firstId = (await importWith(kms, key.KeyId!, first.bytes, 'RSAES_OAEP_SHA_1')).KeyMaterialId!;
  const next = makeMaterial('SYMMETRIC_DEFAULT');
  const validTo = new Date(clock.now.getTime() + 3600_000);
  const nextId = (await importWith(kms, key.KeyId!, next.bytes, 'RSAES_OAEP_SHA_1', { ValidTo: validTo, ImportType: 'NEW_KEY_MATERIAL' })).KeyMaterialId!;
  const refs = async () => (await backendOf(kms).listTokenRefs()).filter((r) => !r.includes('/import-'));
  tt.same((await refs()).sort(), [`${key.KeyId}/${firstId}`, `${key.KeyId}/${nextId}`].sort(), 'both materials are token objects');
  clock.now = validTo;
  await kms.describeKey({ KeyId: key.KeyId! }); // any operation runs what is due
  await kms.importExpiry.settled(); // the object is destroyed in the background
  tt.same(await refs(), [`${key.KeyId}/${firstId}`], 'the expired material waiting for the rotation is destroyed on the token');
  const blob = (await kms.encrypt({ KeyId: key.KeyId!, Plaintext: message })).CiphertextBlob!;
  tt.equal(openOutside(blob, first.bytes).materialId, firstId, 'the current material still works');
  tt.equal(kms.store.db.prepare('SELECT COUNT(*) FROM token_creations').pluck().get(), 0, 'no notes remain');
});

t.test('a store closed right after an expiry has destroyed the expired object first, and left no note', async (tt) => {
  const clock = new TestClock(new Date('2030-01-01T00:00:00Z'));
  const home = tempHome('ekms-p11-expiry-close-');
  cleanupLater(home);
  const options = { home, pkcs11: softhsmOptions(), clock: clock.read };
  let kms = await Kms.open(options);
  const key = await tokenExternalKey(kms, 'SYMMETRIC_DEFAULT');
  const validTo = new Date(clock.now.getTime() + 3600_000);
  await importWith(kms, key.KeyId!, makeMaterial('SYMMETRIC_DEFAULT').bytes, 'RSAES_OAEP_SHA_1', { ValidTo: validTo });
  const ref = kms.store.getMaterials(key.KeyId!)[0]!.tokenRef!;
  clock.now = validTo;
  await kms.describeKey({ KeyId: key.KeyId! }); // the expiry, and its object's destruction begins
  await kms.close();
  kms = await Kms.open(options);
  tt.teardown(() => kms.close());
  tt.notOk((await backendOf(kms).listTokenRefs()).includes(ref), 'the object is gone from the token');
  tt.equal(kms.store.db.prepare('SELECT COUNT(*) FROM token_creations').pluck().get(), 0, 'no note is left for the orphan sweep');
});

t.test('a scheduled deletion destroys the imported object; the wrapping keys go at the next sweep', async (tt) => {
  const clock = new TestClock(new Date('2030-01-01T00:00:00Z'));
  const kms = await openOnToken({ clock: clock.read });
  tt.teardown(() => kms.close());
  const backend = backendOf(kms);
  const key = await tokenExternalKey(kms, 'ECC_NIST_P256', 'SIGN_VERIFY');
  await importWith(kms, key.KeyId!, makeMaterial('ECC_NIST_P256').bytes, 'RSA_AES_KEY_WRAP_SHA_1');
  tt.equal((await backend.listTokenRefs()).length, 2, 'the key and its wrapping key');
  await kms.scheduleKeyDeletion({ KeyId: key.KeyId!, PendingWindowInDays: 7 });
  clock.now = new Date(clock.now.getTime() + 8 * 86_400_000);
  await kms.listKeys({});
  const other = await tokenExternalKey(kms, 'SYMMETRIC_DEFAULT');
  await kms.getParametersForImport({ KeyId: other.KeyId!, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' });
  tt.same((await backend.listTokenRefs()).filter((r) => r.startsWith(key.KeyId!)), [], 'nothing of the deleted key is left on the token');
});

t.test('objects of an import cut short by a crash are destroyed when the store is opened again', async (tt) => {
  const home = tempHome('ekms-p11-import-orphans-');
  cleanupLater(home);
  const options = { home, pkcs11: softhsmOptions() };
  let kms = await Kms.open(options);
  const backend = backendOf(kms);
  const key = await tokenExternalKey(kms, 'SYMMETRIC_DEFAULT');
  const keyId = key.KeyId!;
  // Stored parameters: their wrapping key stays.
  await kms.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' });
  const kept = (await backend.listTokenRefs()).filter((r) => r.includes('/import-'));
  tt.equal(kept.length, 1);
  // A process that died after making a wrapping key, and one that died half way through an import.
  const longAgo = new Date(Date.now() - orphanGraceMs - 60_000);
  const wid = randomBytes(32).toString('hex');
  noteTokenCreation(kms.store, keyId, `import-${wid}`, longAgo);
  const wrapping = await backend.generateWrappingKey(keyId, wid, 'RSA_2048', 'RSAES_OAEP_SHA_1', 'SYMMETRIC_DEFAULT');
  noteTokenCreation(kms.store, keyId, 'pending-0123', longAgo);
  const record = kms.store.getKey(keyId)!;
  const unwrapped = await backend.unwrapKeyMaterial(record, wrapping.tokenRef, 'RSAES_OAEP_SHA_1', `${keyId}/pending-0123`, wrapMaterial(randomBytes(32), wrapping.publicKey, 'RSAES_OAEP_SHA_1'));
  tt.match(unwrapped.materialId, /^[0-9a-f]{64}$/);
  const before = await backend.listTokenRefs();
  tt.ok(before.includes(wrapping.tokenRef) && before.includes(`${keyId}/pending-0123`), 'both objects are on the token');
  await kms.close();

  kms = await Kms.open(options);
  tt.teardown(() => kms.close());
  const after = await backendOf(kms).listTokenRefs();
  tt.notOk(after.includes(wrapping.tokenRef), 'the unstored wrapping key is destroyed');
  tt.notOk(after.includes(`${keyId}/pending-0123`), 'the half-imported object is destroyed');
  tt.ok(after.includes(kept[0]!), 'the wrapping key of stored parameters stays');
  tt.equal(kms.store.db.prepare('SELECT COUNT(*) FROM token_creations').pluck().get(), 0, 'no notes remain');
});

t.test('symmetric token keys rotate on demand to new imported material; a disconnected token refuses imports', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const key = await tokenExternalKey(kms, 'SYMMETRIC_DEFAULT');
  const first = makeMaterial('SYMMETRIC_DEFAULT');
  const firstId = (await importWith(kms, key.KeyId!, first.bytes, 'RSAES_OAEP_SHA_1')).KeyMaterialId!;
  const old = (await kms.encrypt({ KeyId: key.KeyId!, Plaintext: message })).CiphertextBlob!;
  const second = makeMaterial('SYMMETRIC_DEFAULT');
  const secondId = (
    await importWith(kms, key.KeyId!, second.bytes, 'RSA_AES_KEY_WRAP_SHA_1', { WrappingKeySpec: 'RSA_4096', ImportType: 'NEW_KEY_MATERIAL' })
  ).KeyMaterialId!;
  tt.not(secondId, firstId);
  await kms.rotateKeyOnDemand({ KeyId: key.KeyId! });
  const fresh = (await kms.encrypt({ KeyId: key.KeyId!, Plaintext: message })).CiphertextBlob!;
  tt.equal(openOutside(fresh, second.bytes).materialId, secondId, 'new ciphertexts are under the new material, on the token');
  tt.same(Buffer.from((await kms.decrypt({ CiphertextBlob: old })).Plaintext!), message, 'old ciphertexts still decrypt');
  await checkProtected(tt, kms, key.KeyId!, 'first material');
  const refs = await backendOf(kms).listTokenRefs();
  tt.ok(refs.includes(`${key.KeyId}/${firstId}`) && refs.includes(`${key.KeyId}/${secondId}`), 'both materials are token objects');

  const id = backendOf(kms).customKeyStoreId;
  await kms.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  await rejectsAws(tt, kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: id }), 'CustomKeyStoreInvalidStateException');
  await rejectsAws(tt, importWith(kms, key.KeyId!, first.bytes, 'RSAES_OAEP_SHA_1'), 'KMSInvalidStateException', `${key.Arn} is unavailable.`);
  await kms.connectCustomKeyStore({ CustomKeyStoreId: id });
  await importWith(kms, key.KeyId!, first.bytes, 'RSAES_OAEP_SHA_1');
  tt.pass('connected again: the import works');
});
