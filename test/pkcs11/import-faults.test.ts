// Importing into a token when the token fails part way (through the fault-injecting module that
// wraps SoftHSM2): a session lost during C_UnwrapKey is replaced and the import retried without a
// second object; a failing rename leaves no object, no note and the key PendingImport, and the
// same import works once the token behaves.
import { randomBytes } from 'node:crypto';

import t from 'tap';

import type { Kms } from '../../src/index.js';
import { softhsmOptions } from '../helpers/softhsm.js';
import { importInto, openOutside, sealOutside } from '../import/helpers.js';
import { type Checks, backendOf, faultPlan, openOnToken, rejects } from './helpers.js';

async function withFaults(tt: Checks, plan: string): Promise<{ kms: Kms; log: () => string[] }> {
  const fault = faultPlan(plan);
  const kms = await openOnToken({ pkcs11: { ...softhsmOptions(), module: fault.module } });
  tt.teardown(() => kms.close());
  return { kms, log: fault.log };
}

const notes = (kms: Kms) => kms.store.db.prepare('SELECT COUNT(*) FROM token_creations').pluck().get();
const materialObjects = async (kms: Kms, keyId: string) => (await backendOf(kms).listTokenRefs()).filter((r) => r.startsWith(keyId) && !r.includes('/import-'));

// SoftHSM2 2.6.1 unwraps with OAEP-SHA-1 only.
const oaep = { algorithm: 'RSAES_OAEP_SHA_1' } as const;

t.test('a session lost in C_UnwrapKey: retried on a fresh session, one object, the key works', async (tt) => {
  // C_UnwrapKey #1 is GetParametersForImport's check of the OAEP parameters; #2 is the import.
  const { kms, log } = await withFaults(tt, 'C_UnwrapKey@2=CKR_SESSION_HANDLE_INVALID');
  const key = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId })).KeyMetadata!;
  const material = randomBytes(32);
  const id = (await importInto(kms, key.KeyId!, material, oaep)).KeyMaterialId!;
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
  await tt.rejects(importInto(kms, key.KeyId!, material, oaep), 'the import fails');
  tt.equal(log().length, 1, 'the fault happened');
  tt.same(await materialObjects(kms, key.KeyId!), [], 'the pending object was destroyed');
  // Neither the pending object's note nor the final name's: a note of the final name left
  // behind would let the orphan sweep take a later import's object for an orphan.
  tt.equal(notes(kms), 0, 'no note left');
  tt.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'PendingImport');
  const id = (await importInto(kms, key.KeyId!, material, oaep)).KeyMaterialId!;
  tt.same(await materialObjects(kms, key.KeyId!), [`${key.KeyId}/${id}`]);
  tt.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'Enabled');
  tt.equal(notes(kms), 0, 'no notes left');
});

t.test('a rename whose session is lost (CKR_DEVICE_ERROR once) is retried on a fresh session', async (tt) => {
  const { kms, log } = await withFaults(tt, 'C_SetAttributeValue@1=CKR_DEVICE_ERROR');
  const key = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId })).KeyMetadata!;
  const material = randomBytes(32);
  const id = (await importInto(kms, key.KeyId!, material, oaep)).KeyMaterialId!;
  tt.equal(log().length, 1, 'the fault happened');
  tt.same(await materialObjects(kms, key.KeyId!), [`${key.KeyId}/${id}`], 'one object, under its final name');
  tt.equal(openOutside((await kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('n') })).CiphertextBlob!, material).plaintext.toString(), 'n');
  tt.equal(notes(kms), 0, 'no notes left');
});

// The length of imported HMAC material (SoftHSM2 does not report CKA_VALUE_LEN for it).
const hmacKey = async (kms: Kms) =>
  (await kms.createKey({ Origin: 'EXTERNAL', KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC', CustomKeyStoreId: backendOf(kms).customKeyStoreId }))
    .KeyMetadata!;

t.test('RSA_AES_KEY_WRAP material: its length comes from the ciphertext, with no extractable copy wrapped on the token', async (tt) => {
  // C_WrapKey is how the length of a copy is measured: refused here, it must not be needed.
  const { kms, log } = await withFaults(tt, 'C_WrapKey=CKR_FUNCTION_FAILED');
  const key = await hmacKey(kms);
  await importInto(kms, key.KeyId!, randomBytes(32), { algorithm: 'RSA_AES_KEY_WRAP_SHA_1' });
  tt.same(log(), [], 'no C_WrapKey');
  tt.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'Enabled');
  // Too long for HMAC_256 (64 bytes at most), told from the ciphertext's length alone.
  const other = await hmacKey(kms);
  await rejects(tt, importInto(kms, other.KeyId!, randomBytes(72), { algorithm: 'RSA_AES_KEY_WRAP_SHA_1' }), 'IncorrectKeyMaterialException', /64 bytes/);
  tt.same(log(), [], 'no C_WrapKey');
});

t.test('RSAES_OAEP material: a session whose extractable copy the token would not destroy is closed, not reused', async (tt) => {
  // C_DestroyObject #1 is GetParametersForImport's public key; from #2 on, the import's: the
  // extractable copy, then the AES key that measured it. C_CloseSession calls are only logged.
  const { kms, log } = await withFaults(tt, 'C_DestroyObject@2+=CKR_FUNCTION_FAILED,C_CloseSession=CKR_OK');
  const key = await hmacKey(kms);
  await importInto(kms, key.KeyId!, randomBytes(32), oaep);
  const faults = log();
  tt.ok(faults.some((l) => l.startsWith('C_DestroyObject #2 ')), 'the copy was not destroyed');
  tt.ok(faults.some((l) => l.startsWith('C_CloseSession ')), 'the session was closed');
  tt.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'Enabled');
  const mac = await kms.generateMac({ KeyId: key.KeyId!, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_256' });
  tt.ok(mac.Mac!.length === 32, 'the key works on a fresh session');
});
