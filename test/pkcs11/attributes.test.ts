// The protections of token keys, read back from the token through PKCS#11: private and secret
// objects are sensitive, never extractable, always sensitive, private token objects; the token
// refuses to reveal their value; CKA_ID and CKA_LABEL name the key (token_key.hpp).
import t from 'tap';

import type { KeySpec, KeyUsageType } from '../../src/index.js';
import { backendOf, openOnToken } from './helpers.js';

const cases: [KeySpec, KeyUsageType, 'CKO_PRIVATE_KEY' | 'CKO_SECRET_KEY'][] = [
  ['RSA_2048', 'ENCRYPT_DECRYPT', 'CKO_PRIVATE_KEY'],
  ['RSA_3072', 'SIGN_VERIFY', 'CKO_PRIVATE_KEY'],
  ['ECC_NIST_P256', 'SIGN_VERIFY', 'CKO_PRIVATE_KEY'],
  ['ECC_NIST_P384', 'KEY_AGREEMENT', 'CKO_PRIVATE_KEY'],
  ['ECC_NIST_P521', 'SIGN_VERIFY', 'CKO_PRIVATE_KEY'],
  ['ECC_SECG_P256K1', 'SIGN_VERIFY', 'CKO_PRIVATE_KEY'],
  ['ECC_NIST_EDWARDS25519', 'SIGN_VERIFY', 'CKO_PRIVATE_KEY'],
  ['SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'CKO_SECRET_KEY'],
  ['HMAC_224', 'GENERATE_VERIFY_MAC', 'CKO_SECRET_KEY'],
  ['HMAC_512', 'GENERATE_VERIFY_MAC', 'CKO_SECRET_KEY'],
];

t.test('every key spec lives on the token, protected', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const backend = backendOf(kms);
  for (const [spec, usage, objectClass] of cases) {
    const { KeyMetadata } = await kms.createKey({ KeySpec: spec, KeyUsage: usage });
    const keyId = KeyMetadata!.KeyId!;
    tt.equal(KeyMetadata!.Origin, 'AWS_CLOUDHSM', `${spec}: Origin AWS_CLOUDHSM`);
    tt.equal(KeyMetadata!.CustomKeyStoreId, backend.customKeyStoreId, `${spec}: CustomKeyStoreId`);
    const material = kms.store.getMaterials(keyId)[0]!;
    tt.equal(material.wrapped, undefined, `${spec}: no wrapped material in the store`);
    tt.equal(material.tokenRef, `${keyId}/${material.materialId}`);
    const a = await backend.attributesOf(material);
    tt.ok(a.found, `${spec}: the object is on the token`);
    tt.equal(a.objectClass, objectClass);
    tt.equal(a.token, true, `${spec}: CKA_TOKEN`);
    tt.equal(a.private, true, `${spec}: CKA_PRIVATE`);
    tt.equal(a.sensitive, true, `${spec}: CKA_SENSITIVE`);
    tt.equal(a.extractable, false, `${spec}: CKA_EXTRACTABLE false`);
    tt.equal(a.neverExtractable, true, `${spec}: CKA_NEVER_EXTRACTABLE`);
    tt.equal(a.alwaysSensitive, true, `${spec}: CKA_ALWAYS_SENSITIVE`);
    // Not left to the token's defaults: SoftHSM2 would give an AES key CKA_WRAP and CKA_UNWRAP.
    // EC and EdDSA private keys get no CKA_UNWRAP in their template (HSMs refuse the attribute on
    // them: keygen.cpp), and SoftHSM2's default stays; no mechanism unwraps with an EC key.
    if (!spec.startsWith('ECC_')) tt.equal(a.unwrap, false, `${spec}: CKA_UNWRAP false`);
    tt.equal(a.wrap, false, `${spec}: CKA_WRAP false`);
    tt.equal(a.valueRefused, true, `${spec}: the token refuses to reveal the secret`);
    tt.equal(a.valueRv, 'CKR_ATTRIBUTE_SENSITIVE');
    tt.equal(a.id?.toString(), `${keyId}/${material.materialId}`, `${spec}: CKA_ID`);
    tt.equal(a.label, `ekms ${kms.store.storeId} ${keyId}`, `${spec}: CKA_LABEL`);
    tt.equal(a.hasPublicObject, objectClass === 'CKO_PRIVATE_KEY', `${spec}: a public object only for key pairs`);
  }
  const refs = await backend.listTokenRefs();
  tt.equal(refs.length, cases.length, "the store's objects are listed by their label");
});

t.test("two stores on one token: each lists only its own objects", async (tt) => {
  const a = await openOnToken();
  const b = await openOnToken();
  tt.teardown(async () => {
    await a.close();
    await b.close();
  });
  const ka = await a.createKey({});
  await b.createKey({});
  const refs = await backendOf(a).listTokenRefs();
  tt.same(refs, [`${ka.KeyMetadata!.KeyId}/${ka.KeyMetadata!.CurrentKeyMaterialId}`]);
  tt.equal(backendOf(a).customKeyStoreId, backendOf(b).customKeyStoreId, 'one token, one custom key store id');
});
