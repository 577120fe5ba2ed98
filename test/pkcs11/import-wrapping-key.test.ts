// An import's wrapping key stays on the token while its parameters are valid (24 hours, for a
// second ImportKeyMaterial with them). Whoever has the PIN and an import's EncryptedKeyMaterial
// could ask it for a copy of the material that leaves the token (C_UnwrapKey into an extractable
// or non-sensitive key), or give it CKA_DECRYPT (C_SetAttributeValue, or a copy made with it) and
// decrypt the material outright, or unwrap with another mechanism. Its CKA_UNWRAP_TEMPLATE,
// CKA_MODIFIABLE, CKA_COPYABLE and CKA_ALLOWED_MECHANISMS make the token refuse all that, while the import itself, whose every unwrap makes sensitive,
// non-extractable objects, works. The PIN holder here is pkcs11js on the same SoftHSM2 token,
// after the store closed (one C_Initialize at a time).
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';

import t, { type Test } from 'tap';

import type { AlgorithmSpec, KeySpec, Kms } from '../../src/index.js';
import { softhsmOptions } from '../helpers/softhsm.js';
import { importInto, makeMaterial, openOutside, wrapMaterial } from '../import/helpers.js';
import { backendOf, faultPlan, openOnToken } from './helpers.js';

type Pkcs11js = typeof import('pkcs11js');

async function importedOnToken(spec: KeySpec, algorithm: AlgorithmSpec): Promise<{ encrypted: Buffer; keyId: string }> {
  const kms = await openOnToken({ audit: false });
  try {
    const usage = spec === 'SYMMETRIC_DEFAULT' ? 'ENCRYPT_DECRYPT' : 'GENERATE_VERIFY_MAC';
    const key = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId, KeySpec: spec, KeyUsage: usage })).KeyMetadata!;
    const params = await kms.getParametersForImport({ KeyId: key.KeyId!, WrappingAlgorithm: algorithm, WrappingKeySpec: 'RSA_2048' });
    const material = makeMaterial(spec).bytes;
    const encrypted = wrapMaterial(material, params.PublicKey!, algorithm);
    await kms.importKeyMaterial({ KeyId: key.KeyId!, ImportToken: params.ImportToken!, EncryptedKeyMaterial: encrypted, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    // The import worked with the template in place: the key encrypts and decrypts.
    if (spec === 'SYMMETRIC_DEFAULT') {
      const plaintext = randomBytes(20);
      const { CiphertextBlob } = await kms.encrypt({ KeyId: key.KeyId!, Plaintext: plaintext });
      const { Plaintext } = await kms.decrypt({ CiphertextBlob: CiphertextBlob! });
      if (!Buffer.from(Plaintext!).equals(plaintext)) throw new Error('the imported key does not decrypt its own ciphertext');
    }
    return { encrypted: Buffer.from(encrypted), keyId: key.KeyId! };
  } finally {
    await kms.close();
  }
}

/** The token as a PIN holder sees it: a logged-in session of pkcs11js. */
function pinHolder(tt: Test): { p11: InstanceType<Pkcs11js['PKCS11']>; session: Buffer; lib: Pkcs11js } {
  const lib = createRequire(import.meta.url)('pkcs11js') as Pkcs11js;
  const options = softhsmOptions();
  const p11 = new lib.PKCS11();
  p11.load(options.module);
  p11.C_Initialize();
  const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === options.tokenLabel);
  if (slot === undefined) throw new Error(`no token ${options.tokenLabel}`);
  const session = p11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
  p11.C_Login(session, lib.CKU_USER, options.pin as string);
  tt.teardown(() => {
    p11.C_CloseAllSessions(slot);
    p11.C_Finalize();
    p11.close();
  });
  return { p11, session, lib };
}

t.test('a token that refuses the protections gets the wrapping key without them, and the user is told once', async (tt) => {
  // The fault module refuses the first C_GenerateKeyPair as a token that does not know one of the
  // attributes would (CKR_ATTRIBUTE_TYPE_INVALID, 0x12); the second, without them, goes through.
  const fault = faultPlan('C_GenerateKeyPair@1=0x12');
  const kms = await openOnToken({ audit: false, pkcs11: { ...softhsmOptions(), module: fault.module } });
  tt.teardown(() => kms.close());
  const warnings: string[] = [];
  const onWarning = (w: Error) => {
    if (w.name === 'EmbeddedKmsWarning') warnings.push(w.message);
  };
  process.on('warning', onWarning);
  tt.teardown(() => process.off('warning', onWarning));
  for (let i = 0; i < 2; i++) {
    const key = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId })).KeyMetadata!;
    const material = randomBytes(32);
    const id = (await importInto(kms, key.KeyId!, material, { algorithm: 'RSAES_OAEP_SHA_1' })).KeyMaterialId!;
    tt.ok(id, `import ${i + 1} works`);
    tt.equal(openOutside((await kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('n') })).CiphertextBlob!, material).plaintext.toString(), 'n');
  }
  await new Promise((resolve) => setImmediate(resolve));
  tt.equal(fault.log().length, 1, 'the first key pair was refused');
  tt.equal(warnings.length, 1, 'one warning for the token');
  tt.match(warnings[0], /refused CKA_ALLOWED_MECHANISMS and CKA_UNWRAP_TEMPLATE/);
});

t.test('AES material wrapped with RSAES_OAEP_SHA_1 on a token without HMAC-SHA-256: the length is still checked', async (tt) => {
  // Its length is then learnt from a wrappable copy, so that wrapping key gets no unwrap template.
  process.env.EKMS_FAULT_HIDE_MECHANISMS = '0x251'; // CKM_SHA256_HMAC
  tt.teardown(() => {
    delete process.env.EKMS_FAULT_HIDE_MECHANISMS;
  });
  const fault = faultPlan('');
  const kms: Kms = await openOnToken({ audit: false, pkcs11: { ...softhsmOptions(), module: fault.module } });
  tt.teardown(() => kms.close());
  const key = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId })).KeyMetadata!;
  for (const n of [16, 24, 33])
    await tt.rejects(importInto(kms, key.KeyId!, randomBytes(n), { algorithm: 'RSAES_OAEP_SHA_1' }), { name: 'IncorrectKeyMaterialException' }, `${n} bytes refused`);
  const material = randomBytes(32);
  await importInto(kms, key.KeyId!, material, { algorithm: 'RSAES_OAEP_SHA_1' });
  tt.equal(openOutside((await kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('n') })).CiphertextBlob!, material).plaintext.toString(), 'n', '32 bytes imported');
});

// Last: pkcs11js initialises the module in this process for good (it does not load again after).
// SoftHSM2 2.6.1 takes OAEP with SHA-1 only; it has no one-step CKM_RSA_AES_KEY_WRAP.
t.test('SYMMETRIC_DEFAULT material wrapped with RSAES_OAEP_SHA_1: the lingering wrapping key gives no copy that leaves the token', async (tt) => {
  const { encrypted, keyId } = await importedOnToken('SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1');
  const { p11, session, lib } = pinHolder(tt);
  p11.C_FindObjectsInit(session, [
    { type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY },
    { type: lib.CKA_UNWRAP, value: true },
  ]);
  // This key's (CKA_ID: key id, then /import-): the other tests' stay on the same token.
  const wrappingKeys = p11.C_FindObjects(session, 100).filter((h) => p11.C_GetAttributeValue(session, h, [{ type: lib.CKA_ID }])[0]!.value!.toString().startsWith(`${keyId}/import-`));
  p11.C_FindObjectsFinal(session);
  tt.equal(wrappingKeys.length, 1, 'the import wrapping key is still on the token (its parameters are valid)');
  const oaep = { mechanism: lib.CKM_RSA_PKCS_OAEP, parameter: { type: lib.CK_PARAMS_RSA_OAEP, hashAlg: lib.CKM_SHA_1, mgf: lib.CKG_MGF1_SHA1, source: 1 /* CKZ_DATA_SPECIFIED */ } };
  const secret = (extra: { sensitive: boolean; extractable: boolean }) => [
    { type: lib.CKA_CLASS, value: lib.CKO_SECRET_KEY },
    { type: lib.CKA_KEY_TYPE, value: lib.CKK_GENERIC_SECRET },
    { type: lib.CKA_TOKEN, value: false },
    { type: lib.CKA_SENSITIVE, value: extra.sensitive },
    { type: lib.CKA_EXTRACTABLE, value: extra.extractable },
  ];
  for (const attempt of [
    { sensitive: false, extractable: true },
    { sensitive: true, extractable: true },
    { sensitive: false, extractable: false },
  ])
    tt.throws(() => p11.C_UnwrapKey(session, oaep, wrappingKeys[0]!, encrypted, secret(attempt)), /CKR_TEMPLATE_INCONSISTENT/, `refused: ${JSON.stringify(attempt)}`);
  // What the template allows is what the import made: a copy as protected as the imported key.
  const kept = p11.C_UnwrapKey(session, oaep, wrappingKeys[0]!, encrypted, secret({ sensitive: true, extractable: false }));
  tt.throws(() => p11.C_GetAttributeValue(session, kept, [{ type: lib.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/, 'and that copy does not reveal its value');
  p11.C_DestroyObject(session, kept);
  // Nor can the key be made to decrypt (or sign raw, which is the same with RSA) instead.
  for (const capability of [lib.CKA_DECRYPT, lib.CKA_SIGN])
    tt.throws(() => p11.C_SetAttributeValue(session, wrappingKeys[0]!, [{ type: capability, value: true }]), `its capability 0x${capability.toString(16)} cannot be set`);
  tt.throws(() => p11.C_CopyObject(session, wrappingKeys[0]!, [{ type: lib.CKA_TOKEN, value: false }, { type: lib.CKA_DECRYPT, value: true }]), 'nor copied into one that decrypts');
  tt.throws(() => p11.C_DecryptInit(session, oaep, wrappingKeys[0]!), /CKR_KEY_FUNCTION_NOT_PERMITTED/, 'it still cannot decrypt');
  // And it unwraps with its algorithm's mechanism only (CKA_ALLOWED_MECHANISMS): not PKCS#1 v1.5.
  tt.throws(
    () => p11.C_UnwrapKey(session, { mechanism: lib.CKM_RSA_PKCS }, wrappingKeys[0]!, encrypted, secret({ sensitive: true, extractable: false })),
    /CKR_MECHANISM_INVALID/,
    'nor with CKM_RSA_PKCS',
  );
});
