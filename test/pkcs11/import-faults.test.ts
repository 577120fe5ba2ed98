// Importing into a token when the token fails part way (through the fault-injecting module that
// wraps SoftHSM2): a session lost during C_UnwrapKey is replaced and the import retried without a
// second object; a failing rename leaves no object, no note and the key PendingImport, and the
// same import works once the token behaves.
import { randomBytes } from 'node:crypto';

import t from 'tap';

import type { Kms } from '../../src/index.js';
import { softhsmOptions } from '../helpers/softhsm.js';
import { openOutside, sealOutside, wrapMaterial } from '../import/helpers.js';
import { type Checks, backendOf, faultPlan, openOnToken } from './helpers.js';

async function withFaults(tt: Checks, plan: string): Promise<{ kms: Kms; log: () => string[] }> {
  const fault = faultPlan(plan);
  const kms = await openOnToken({ pkcs11: { ...softhsmOptions(), module: fault.module } });
  tt.teardown(() => kms.close());
  return { kms, log: fault.log };
}

async function importAes(kms: Kms, keyId: string, material: Buffer) {
  const params = await kms.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' });
  return kms.importKeyMaterial({
    KeyId: keyId,
    ImportToken: params.ImportToken!,
    EncryptedKeyMaterial: wrapMaterial(material, params.PublicKey!, 'RSAES_OAEP_SHA_1'),
    ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
  });
}

const notes = (kms: Kms) => kms.store.db.prepare('SELECT COUNT(*) FROM token_creations').pluck().get();
const materialObjects = async (kms: Kms, keyId: string) => (await backendOf(kms).listTokenRefs()).filter((r) => r.startsWith(keyId) && !r.includes('/import-'));

t.test('a session lost in C_UnwrapKey: retried on a fresh session, one object, the key works', async (tt) => {
  // C_UnwrapKey #1 is GetParametersForImport's check of the OAEP parameters; #2 is the import.
  const { kms, log } = await withFaults(tt, 'C_UnwrapKey@2=CKR_SESSION_HANDLE_INVALID');
  const key = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId })).KeyMetadata!;
  const material = randomBytes(32);
  const id = (await importAes(kms, key.KeyId!, material)).KeyMaterialId!;
  tt.equal(log().length, 1, 'the fault happened');
  tt.same(await materialObjects(kms, key.KeyId!), [`${key.KeyId}/${id}`], 'exactly one object, under its final name');
  const blob = sealOutside(key.KeyId!, id, material, Buffer.from('m'));
  tt.same(Buffer.from((await kms.decrypt({ CiphertextBlob: blob })).Plaintext!), Buffer.from('m'), 'the imported key decrypts');
  tt.equal(openOutside((await kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('n') })).CiphertextBlob!, material).plaintext.toString(), 'n');
  tt.equal(notes(kms), 0, 'no notes left');
});

t.test('a failing rename (CKR_FUNCTION_FAILED, not retried): no object, no note, still PendingImport; then the same import works', async (tt) => {
  const { kms, log } = await withFaults(tt, 'C_SetAttributeValue@1=0x6');
  const key = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId })).KeyMetadata!;
  const material = randomBytes(32);
  await tt.rejects(importAes(kms, key.KeyId!, material), 'the import fails');
  tt.equal(log().length, 1, 'the fault happened');
  tt.same(await materialObjects(kms, key.KeyId!), [], 'the pending object was destroyed');
  // Neither the pending object's note nor the final name's: a note of the final name left
  // behind would let the orphan sweep take a later import's object for an orphan.
  tt.equal(notes(kms), 0, 'no note left');
  tt.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'PendingImport');
  const id = (await importAes(kms, key.KeyId!, material)).KeyMaterialId!;
  tt.same(await materialObjects(kms, key.KeyId!), [`${key.KeyId}/${id}`]);
  tt.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'Enabled');
  tt.equal(notes(kms), 0, 'no notes left');
});

t.test('a rename whose session is lost (CKR_DEVICE_ERROR once) is retried on a fresh session', async (tt) => {
  const { kms, log } = await withFaults(tt, 'C_SetAttributeValue@1=CKR_DEVICE_ERROR');
  const key = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId })).KeyMetadata!;
  const material = randomBytes(32);
  const id = (await importAes(kms, key.KeyId!, material)).KeyMaterialId!;
  tt.equal(log().length, 1, 'the fault happened');
  tt.same(await materialObjects(kms, key.KeyId!), [`${key.KeyId}/${id}`], 'one object, under its final name');
  tt.equal(openOutside((await kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('n') })).CiphertextBlob!, material).plaintext.toString(), 'n');
  tt.equal(notes(kms), 0, 'no notes left');
});
