// Faults SoftHSM2 cannot produce, injected by our PKCS#11 module around it: a session that dies
// (replaced, the operation retried once), one that keeps dying (KeyUnavailableException after
// exactly one retry), a removed device, a stale object handle.
import { createPublicKey, verify } from 'node:crypto';

import t from 'tap';

import type { Kms } from '../../src/index.js';
import { softhsmOptions } from '../helpers/softhsm.js';
import { type Checks, backendOf, faultPlan, openOnToken, rejects } from './helpers.js';

/** A Kms on the fault module with this plan; the plan counts calls from the module's initialisation. */
async function withFaults(tt: Checks, plan: string): Promise<{ kms: Kms; log: () => string[] }> {
  const fault = faultPlan(plan);
  const kms = await openOnToken({ pkcs11: { ...softhsmOptions(), module: fault.module } });
  tt.teardown(() => kms.close());
  return { kms, log: fault.log };
}

async function signingKey(kms: Kms): Promise<{ keyId: string; check: (sig: Uint8Array) => boolean }> {
  const keyId = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const { PublicKey } = await kms.getPublicKey({ KeyId: keyId });
  const key = createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' });
  return { keyId, check: (sig) => verify('sha256', Buffer.from('m'), key, sig) };
}

const sign = (kms: Kms, keyId: string) => kms.sign({ KeyId: keyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' });

t.test('a session invalidated once: replaced, retried, the signature is right', async (tt) => {
  const { kms, log } = await withFaults(tt, 'C_SignInit@1=CKR_SESSION_HANDLE_INVALID');
  const { keyId, check } = await signingKey(kms);
  const { Signature } = await sign(kms, keyId);
  tt.ok(check(Signature!), 'Node verifies the retried signature');
  tt.same(log(), ['C_SignInit #1 0xb3'], 'the fault happened once');
});

t.test('a session that keeps failing: one retry, then KeyUnavailableException', async (tt) => {
  const { kms, log } = await withFaults(tt, 'C_SignInit=CKR_SESSION_HANDLE_INVALID');
  const { keyId } = await signingKey(kms);
  await rejects(tt, sign(kms, keyId), 'KeyUnavailableException', /CKR_SESSION_HANDLE_INVALID/);
  tt.equal(log().length, 2, 'the first attempt and exactly one retry');
});

for (const [code, hex] of [['CKR_DEVICE_REMOVED', '0x32'], ['CKR_TOKEN_NOT_PRESENT', '0xe0']] as const) {
  t.test(`${code} once: the session is replaced and the signature retried`, async (tt) => {
    const { kms, log } = await withFaults(tt, `C_SignInit@1=${code}`);
    const { keyId, check } = await signingKey(kms);
    tt.ok(check((await sign(kms, keyId)).Signature!), 'Node verifies the retried signature');
    tt.same(log(), [`C_SignInit #1 ${hex}`], 'the fault happened once');
  });

  t.test(`${code} every time: one retry, then KeyUnavailableException`, async (tt) => {
    const { kms, log } = await withFaults(tt, `C_SignInit=${code}`);
    const { keyId } = await signingKey(kms);
    await rejects(tt, sign(kms, keyId), 'KeyUnavailableException', new RegExp(code));
    tt.same(log(), [`C_SignInit #1 ${hex}`, `C_SignInit #2 ${hex}`], 'the first attempt and exactly one retry');
  });
}

t.test('a removed device: KeyUnavailableException, for signing and for AES', async (tt) => {
  const { kms, log } = await withFaults(
    tt,
    'C_SignInit@2+=CKR_DEVICE_REMOVED;C_EncryptInit=CKR_DEVICE_REMOVED;C_OpenSession@2+=CKR_TOKEN_NOT_PRESENT',
  );
  const { keyId, check } = await signingKey(kms);
  const aes = (await kms.createKey({})).KeyMetadata!.KeyId!;
  tt.ok(check((await sign(kms, keyId)).Signature!), 'works before the removal');
  await rejects(tt, sign(kms, keyId), 'KeyUnavailableException', /CKR_DEVICE_REMOVED|CKR_TOKEN_NOT_PRESENT/);
  await rejects(tt, kms.encrypt({ KeyId: aes, Plaintext: Buffer.from('x') }), 'KeyUnavailableException');
  tt.ok(log().length >= 3);
});

t.test('a stale object handle is looked up again', async (tt) => {
  const { kms, log } = await withFaults(tt, 'C_SignInit@2=CKR_KEY_HANDLE_INVALID');
  const { keyId, check } = await signingKey(kms);
  await sign(kms, keyId);
  tt.ok(check((await sign(kms, keyId)).Signature!));
  tt.equal(log().length, 1);
});

t.test('object handles are cached: a key is looked up on the token once, not per operation', async (tt) => {
  const { kms, log } = await withFaults(tt, 'C_FindObjectsInit=CKR_OK');
  const { keyId, check } = await signingKey(kms);
  await sign(kms, keyId);
  const lookups = log().length;
  for (let i = 0; i < 20; i++) tt.ok(check((await sign(kms, keyId)).Signature!));
  tt.equal(log().length, lookups, 'twenty more signatures, no more C_FindObjectsInit');
});

t.test('a failed generation leaves no object behind', async (tt) => {
  const { kms } = await withFaults(tt, 'C_GenerateKeyPair=CKR_DEVICE_ERROR');
  await rejects(tt, kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }), 'KeyUnavailableException');
  tt.same((await kms.listKeys({})).Keys, [], 'no key record');
  tt.same(await backendOf(kms).listTokenRefs(), [], 'no token object');
});

t.test("GenerateRandom with the token's CustomKeyStoreId draws from the token", async (tt) => {
  const { kms, log } = await withFaults(tt, 'C_GenerateRandom=CKR_DEVICE_ERROR');
  const id = (await kms.describeCustomKeyStores()).CustomKeyStores![0]!.CustomKeyStoreId!;
  tt.equal((await kms.generateRandom({ NumberOfBytes: 16 })).Plaintext!.length, 16, 'without the id: our own generator');
  tt.same(log(), [], 'the token was not asked');
  await tt.rejects(kms.generateRandom({ NumberOfBytes: 16, CustomKeyStoreId: id }), 'with the id: the token is asked, and its failure shows');
  tt.ok(log().some((line) => line.startsWith('C_GenerateRandom')), 'C_GenerateRandom was called');
});
