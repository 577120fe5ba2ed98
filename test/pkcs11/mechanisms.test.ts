// What the token offers is read from the token, not assumed: with the fault module hiding some
// of SoftHSM2's mechanisms, an operation that needs one fails with UnsupportedOperationException
// naming it, and one with another way round (RSA-OAEP through raw RSA) still works. And the module
// is initialised with CKF_OS_LOCKING_OK, and finalised only when its last user lets go of it.
//
// Only the fault module is opened here: it wraps this process's one SoftHSM2 instance, whose
// C_Finalize would end the sessions of any store opened on SoftHSM2 directly.
import { constants, createPublicKey, diffieHellman, generateKeyPairSync, publicEncrypt, verify } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

import t from 'tap';

import { Kms } from '../../src/index.js';
import { cleanupLater, tempHome } from '../helpers/backends.js';
import { softhsmOptions } from '../helpers/softhsm.js';
import { faultModule, faultPlan, rejects } from './helpers.js';

const CKM = { RSA_X_509: 0x3, RSA_PKCS_OAEP: 0x9, SHA256_HMAC: 0x251, EC_KEY_PAIR_GEN: 0x1040, ECDSA: 0x1041, ECDH1_DERIVE: 0x1050, AES_GCM: 0x1087 };

/** Hides these mechanisms from the fault module's next initialisation. */
function hide(...mechanisms: number[]): void {
  process.env.EKMS_FAULT_HIDE_MECHANISMS = mechanisms.map((m) => `0x${m.toString(16)}`).join(',');
}

t.afterEach(() => {
  delete process.env.EKMS_FAULT_HIDE_MECHANISMS;
  delete process.env.EKMS_FAULT_REQUIRE_OS_LOCKING;
});

function openStore(module: string, home = tempHome('ekms-p11-mech-')): Promise<Kms> {
  cleanupLater(home);
  return Kms.open({ home, pkcs11: { ...softhsmOptions(), module } });
}

const spki = (der: Uint8Array | undefined) => createPublicKey({ key: Buffer.from(der!), format: 'der', type: 'spki' });

t.test('an operation whose mechanism the token lacks: UnsupportedOperationException naming it', async (tt) => {
  const home = tempHome('ekms-p11-mech-');
  let fault = faultPlan('');
  const full = await openStore(fault.module, home);
  const create = async (input: Parameters<Kms['createKey']>[0]) => (await full.createKey(input)).KeyMetadata!.KeyId!;
  const ec = await create({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
  const aes = await create({});
  const hmac = await create({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
  const agree = await create({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' });
  const rsa = await create({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
  const message = Buffer.from('signed while the token offered CKM_ECDSA');
  const { Signature } = await full.sign({ KeyId: ec, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' });
  const rsaPublic = spki((await full.getPublicKey({ KeyId: rsa })).PublicKey);
  await full.close();

  hide(CKM.ECDSA, CKM.AES_GCM, CKM.SHA256_HMAC, CKM.ECDH1_DERIVE, CKM.RSA_PKCS_OAEP, CKM.EC_KEY_PAIR_GEN);
  fault = faultPlan('');
  const kms = await openStore(fault.module, home);
  tt.teardown(() => kms.close());
  const unsupported = (p: Promise<unknown>, mechanism: string) =>
    rejects(tt, p, 'UnsupportedOperationException', new RegExp(`needs the PKCS#11 mechanism ${mechanism}, which token '${softhsmOptions().tokenLabel}' does not offer`));

  await unsupported(kms.sign({ KeyId: ec, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }), 'CKM_ECDSA');
  const verified = await kms.verify({ KeyId: ec, Message: message, Signature, SigningAlgorithm: 'ECDSA_SHA_256' });
  tt.equal(verified.SignatureValid, true, 'Verify needs only the public key, not the token');
  await unsupported(kms.encrypt({ KeyId: aes, Plaintext: Buffer.from('x') }), 'CKM_AES_GCM');
  await unsupported(kms.generateMac({ KeyId: hmac, Message: Buffer.from('x'), MacAlgorithm: 'HMAC_SHA_256' }), 'CKM_SHA256_HMAC');
  const peer = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  await unsupported(kms.deriveSharedSecret({ KeyId: agree, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer }), 'CKM_ECDH1_DERIVE');
  const before = (await kms.listKeys({})).Keys!.length;
  await unsupported(kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }), 'CKM_EC_KEY_PAIR_GEN');
  tt.equal((await kms.listKeys({})).Keys!.length, before, 'a key the token cannot make is not recorded');

  // Without CKM_RSA_PKCS_OAEP the token's raw RSA decrypts, and our code removes the padding.
  const secret = Buffer.from('OAEP decoded outside the token');
  const ciphertext = publicEncrypt({ key: rsaPublic, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret);
  const { Plaintext } = await kms.decrypt({ KeyId: rsa, CiphertextBlob: ciphertext, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
  tt.same(Buffer.from(Plaintext!), secret, 'Node encrypted, the token without OAEP decrypted');
  await kms.close();

  // Without raw RSA as well, nothing is left to decrypt with.
  hide(CKM.RSA_PKCS_OAEP, CKM.RSA_X_509);
  fault = faultPlan('');
  const bare = await openStore(fault.module, home);
  tt.teardown(() => bare.close());
  await unsupported(bare.decrypt({ KeyId: rsa, CiphertextBlob: ciphertext, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }), 'CKM_RSA_X_509');
});

t.test('the module is initialised with CKF_OS_LOCKING_OK', async (tt) => {
  process.env.EKMS_FAULT_REQUIRE_OS_LOCKING = '1';
  // The fault module refuses an initialisation without the flag (CKR_CANT_LOCK), as pkcs11js's
  // own C_Initialize without arguments shows; ours passes it.
  faultPlan(''); // the module's target, for pkcs11js's load below
  const pkcs11js = createRequire(import.meta.url)('pkcs11js') as typeof import('pkcs11js');
  const bare = new pkcs11js.PKCS11();
  bare.load(faultModule());
  tt.throws(() => bare.C_Initialize(), /CKR_CANT_LOCK/, 'without CKF_OS_LOCKING_OK the module refuses');
  bare.close();

  const fault = faultPlan('C_Initialize=CKR_OK');
  const kms = await openStore(fault.module);
  tt.teardown(() => kms.close());
  const key = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const message = Buffer.from('m');
  const { Signature } = await kms.sign({ KeyId: key, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' });
  tt.ok(verify('sha256', message, spki((await kms.getPublicKey({ KeyId: key })).PublicKey), Buffer.from(Signature!)));
  tt.same(fault.log(), ['C_Initialize #1 0x0'], 'initialised once, with the flag');
});

t.test('C_Finalize runs once, when the last store closes', async (tt) => {
  const fault = faultPlan('C_Finalize=CKR_OK');
  const finalized = () => fault.log().filter((l) => l.startsWith('C_Finalize')).length;
  const first = await openStore(fault.module);
  const second = await openStore(fault.module);
  const key = (await second.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  await first.close();
  tt.equal(finalized(), 0, 'not while another store uses the module');
  const message = Buffer.from('after the first store closed');
  const { Signature } = await second.sign({ KeyId: key, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' });
  tt.ok(verify('sha256', message, spki((await second.getPublicKey({ KeyId: key })).PublicKey), Buffer.from(Signature!)));
  await second.close();
  tt.equal(finalized(), 1, 'by the last one, once');
});

for (const close of [true, false])
  t.test(`a worker thread's store ${close ? 'closed' : 'left open at its exit'} does not finalise the module under the main thread`, async (tt) => {
    const fault = faultPlan('C_Finalize=CKR_OK');
    const finalized = () => fault.log().filter((l) => l.startsWith('C_Finalize')).length;
    const kms = await openStore(fault.module);
    const key = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
    const worker = new Worker(new URL('./fixtures/worker-sign.mjs', import.meta.url), {
      workerData: { home: tempHome('ekms-p11-worker-'), pkcs11: { ...softhsmOptions(), module: fault.module }, rounds: 5, close },
    });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await exited;
    tt.equal(finalized(), 0, "the worker's teardown released only its own use");
    const message = Buffer.from('main');
    const { Signature } = await kms.sign({ KeyId: key, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' });
    tt.ok(verify('sha256', message, spki((await kms.getPublicKey({ KeyId: key })).PublicKey), Buffer.from(Signature!)));
    await kms.close();
    tt.equal(finalized(), 1, "the main thread's close finalised it");
  });
