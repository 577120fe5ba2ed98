// A PIN the token refuses after the store opened: the sessions are lost (the HSM restarted) and
// the user PIN was changed on the token meanwhile. Each wrong PIN brings a real HSM closer to
// locking the user out, for every process that shares it, so the PIN is presented once: the
// custom key store is then FAILED, as after a ConnectCustomKeyStore that failed, until
// DisconnectCustomKeyStore and ConnectCustomKeyStore (which read a PIN file again).
import { createPublicKey, verify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { Kms } from '../../src/index.js';
import { cleanupLater, tempHome } from '../helpers/backends.js';
import { softhsmOptions, tokenLabels } from '../helpers/softhsm.js';
import { backendOf, faultPlan, goodAndStalePin, openOnToken, rejects } from './helpers.js';

const message = Buffer.from('m');
const sign = (kms: Kms, keyId: string) => kms.sign({ KeyId: keyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' });
const logins = (log: () => string[]) => log().filter((line) => line.startsWith('C_Login'));
const entry = async (kms: Kms) => (await kms.describeCustomKeyStores({})).CustomKeyStores![0]!;

async function signingKey(kms: Kms): Promise<{ keyId: string; check: (sig: Uint8Array) => boolean }> {
  const keyId = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const key = createPublicKey({ key: Buffer.from((await kms.getPublicKey({ KeyId: keyId })).PublicKey!), format: 'der', type: 'spki' });
  return { keyId, check: (sig) => verify('sha256', message, key, sig) };
}

t.test('a PIN refused at a later login is presented once; the store is FAILED until Disconnect and Connect', async (tt) => {
  const pinFile = join(tempHome('ekms-p11-refused-'), 'pin');
  cleanupLater(pinFile);
  writeFileSync(pinFile, `${softhsmOptions().pin}\n`, { mode: 0o600 });
  const { pin: _pin, ...options } = softhsmOptions();
  // The first login (at open) goes through; then every session loses its login, and the token
  // refuses the PIN from the second login on.
  const fault = faultPlan('C_SignInit@1+=CKR_USER_NOT_LOGGED_IN;C_Login@2+=CKR_PIN_INCORRECT');
  const kms = await openOnToken({ pkcs11: { ...options, module: fault.module, pinFile } });
  tt.teardown(() => kms.close());
  const id = backendOf(kms).customKeyStoreId;
  const { keyId, check } = await signingKey(kms);

  await rejects(tt, sign(kms, keyId), 'KeyUnavailableException', /CKR_PIN_INCORRECT/);
  for (let i = 0; i < 10; i++) await rejects(tt, sign(kms, keyId), 'KMSInvalidStateException', /is unavailable/);
  tt.same(logins(fault.log), ['C_Login #2 0xa0'], 'eleven calls, one refused login');
  tt.match(await entry(kms), { ConnectionState: 'FAILED', ConnectionErrorCode: 'INVALID_CREDENTIALS' });
  tt.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'Unavailable');
  await rejects(tt, kms.connectCustomKeyStore({ CustomKeyStoreId: id }), 'CustomKeyStoreInvalidStateException', /FAILED/);

  // Disconnect and Connect present the PIN again, once: still refused, still FAILED.
  await kms.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  const refusing = faultPlan('C_Login=CKR_PIN_INCORRECT');
  await kms.connectCustomKeyStore({ CustomKeyStoreId: id });
  tt.match(await entry(kms), { ConnectionState: 'FAILED', ConnectionErrorCode: 'INVALID_CREDENTIALS' });
  await rejects(tt, sign(kms, keyId), 'KMSInvalidStateException', /is unavailable/);
  tt.equal(logins(refusing.log).length, 1, 'one login for the Connect');

  // The PIN file is read again at Connect: a wrong PIN written there is what the token refuses.
  await kms.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  faultPlan('');
  writeFileSync(pinFile, '99999999\n');
  await kms.connectCustomKeyStore({ CustomKeyStoreId: id });
  tt.match(await entry(kms), { ConnectionState: 'FAILED', ConnectionErrorCode: 'INVALID_CREDENTIALS' }, "SoftHSM2's own refusal");
  await kms.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  writeFileSync(pinFile, `${softhsmOptions().pin}\n`);
  await kms.connectCustomKeyStore({ CustomKeyStoreId: id });
  tt.equal((await entry(kms)).ConnectionState, 'CONNECTED');
  tt.ok(check((await sign(kms, keyId)).Signature!), 'Node verifies a signature made after the new Connect');
});

t.test('a process whose Connect failed tries again when the store is connected anew, not at every change of it', async (tt) => {
  // Two processes on one store; `bad` has a stale PIN. While `good` keeps the store connected,
  // writes by `good` make `bad` look at the store again: each look used to log in again with the
  // PIN the token refuses.
  const { good, bad, id } = await goodAndStalePin(tt, 'ekms-p11-refused-follow-');
  await bad.connectCustomKeyStore({ CustomKeyStoreId: id });
  tt.match(await entry(bad), { ConnectionState: 'FAILED', ConnectionErrorCode: 'INVALID_CREDENTIALS' });
  const backend = backendOf(bad);
  let attempts = 0;
  const connect = backend.connect.bind(backend);
  backend.connect = () => {
    attempts += 1;
    return connect();
  };

  await good.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  await good.connectCustomKeyStore({ CustomKeyStoreId: id });
  await bad.listKeys({});
  await bad.listKeys({});
  tt.equal(attempts, 1, 'the store was connected since: one attempt');
  tt.match(await entry(bad), { ConnectionState: 'FAILED', ConnectionErrorCode: 'INVALID_CREDENTIALS' }, 'its PIN is still wrong');
  tt.equal((await entry(good)).ConnectionState, 'CONNECTED', 'the store stays connected for the others');

  for (let i = 0; i < 5; i++) {
    await good.createKey({ Origin: 'AWS_KMS' }); // a change of the store that `bad` sees at its next call
    await bad.listKeys({});
  }
  tt.equal(attempts, 1, 'five changes of the store, no more attempts');

  await good.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  await good.connectCustomKeyStore({ CustomKeyStoreId: id });
  await bad.listKeys({});
  tt.equal(attempts, 2, 'connected anew: one more attempt');
});

t.test('a key whose custom key store is another token: unavailable here, not lost', async (tt) => {
  const home = tempHome('ekms-p11-other-token-');
  cleanupLater(home);
  const first = await Kms.open({ home, pkcs11: softhsmOptions() });
  const keyId = (await first.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const firstStore = backendOf(first).customKeyStoreId;
  await first.close();
  const other = await Kms.open({ home, pkcs11: softhsmOptions(tokenLabels[1]) });
  tt.teardown(() => other.close());
  tt.not(backendOf(other).customKeyStoreId, firstStore, 'another token, another custom key store');
  await rejects(tt, sign(other, keyId), 'KeyUnavailableException', new RegExp(`custom key store ${firstStore}, whose PKCS#11 token this key store was not opened with`));
});
