// Opening a store on a token that cannot be used: each failure names its cause, leaks no PIN,
// and creates nothing (no home folder, no root key, no store).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { Kms, type KmsOptions } from '../../src/index.js';
import { tempHome } from '../helpers/backends.js';
import { softhsmModule, softhsmOptions, softhsmTokens, userPin } from '../helpers/softhsm.js';
import { collectWarnings, warningsOut } from '../helpers/warnings.js';
import { type Checks, faultPlan, openOnToken } from './helpers.js';

/** Opens in a home that does not exist yet; expects KeyStoreOpenError matching `why`. */
async function refused(tt: Checks, options: KmsOptions, why: RegExp): Promise<void> {
  const home = join(tempHome('ekms-p11-open-'), 'store');
  try {
    const kms = await Kms.open({ ...options, home });
    await kms.close();
    tt.fail('the store opened');
  } catch (err) {
    const e = err as Error;
    tt.equal(e.name, 'KeyStoreOpenError');
    tt.match(e.message, why);
    tt.notMatch(e.message, new RegExp(`\\b(${userPin}|9999)\\b`), 'no PIN in the message');
  }
  tt.notOk(existsSync(home), 'nothing was created');
}

t.test('a module path that does not exist', async (tt) => {
  await refused(tt, { pkcs11: { ...softhsmOptions(), module: '/nonexistent/libpkcs11.so' } }, /\/nonexistent\/libpkcs11\.so.*no such file/);
});

t.test('a file that is not a PKCS#11 module', async (tt) => {
  const notAModule = join(softhsmTokens(), 'softhsm2.conf');
  await refused(tt, { pkcs11: { ...softhsmOptions(), module: notAModule } }, /cannot load the PKCS#11 module/);
});

t.test('a token label no slot has, listing the labels present', async (tt) => {
  await refused(tt, { pkcs11: { ...softhsmOptions(), tokenLabel: 'no-such-token' } }, /no token labelled 'no-such-token'.*'ekms-test'/);
});

t.test('a wrong PIN', async (tt) => {
  await refused(tt, { pkcs11: { ...softhsmOptions(), pin: '9999' } }, /PIN .*incorrect \(CKR_PIN_INCORRECT\)/);
});

t.test('a wrong PIN while another store of this process is logged in to the token', async (tt) => {
  // PKCS#11 answers CKR_USER_ALREADY_LOGGED_IN to any PIN then; the PIN must still be checked.
  const open = await openOnToken();
  tt.teardown(() => open.close());
  await refused(tt, { pkcs11: { ...softhsmOptions(), pin: '9999' } }, /CKR_PIN_INCORRECT/);
});

t.test('a locked PIN (injected: SoftHSM2 never locks one)', async (tt) => {
  const fault = faultPlan('C_Login=CKR_PIN_LOCKED');
  await refused(tt, { pkcs11: { ...softhsmOptions(), module: fault.module } }, /locked \(CKR_PIN_LOCKED\)/);
  tt.equal(fault.log().length, 1, 'the fault was injected');
});

t.test('a PIN the token reports locked: refused before any login is tried', async (tt) => {
  const fault = faultPlan('C_GetTokenInfo=PIN_LOCKED;C_Login=CKR_OK');
  await refused(tt, { pkcs11: { ...softhsmOptions(), module: fault.module } }, /user PIN of PKCS#11 token 'ekms-test' is locked \(CKR_PIN_LOCKED\); its security officer must unlock it/);
  tt.notOk(fault.log().some((l) => l.startsWith('C_Login')), 'no login was tried: a wrong try could count against the PIN');
});

t.test('no PIN, or both PIN and PIN file', async (tt) => {
  const { pin: _pin, ...noPin } = softhsmOptions();
  await refused(tt, { pkcs11: noPin }, /no PKCS#11 user PIN is configured/);
  await refused(tt, { pkcs11: { ...softhsmOptions(), pinFile: '/tmp/x' } }, /either as pin or as pinFile/);
});

t.test('the PIN from a file, read natively; a missing or empty file is refused without repeating what was given', async (tt) => {
  const dir = tempHome('ekms-p11-pin-');
  const pinFile = join(dir, 'pin');
  writeFileSync(pinFile, `${userPin}\n`, { mode: 0o600 });
  const { pin: _pin, ...options } = softhsmOptions();
  const kms = await openOnToken({ pkcs11: { ...options, pinFile } });
  const created = await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
  tt.equal(created.KeyMetadata?.Origin, 'AWS_CLOUDHSM');
  await kms.close();
  await refused(tt, { pkcs11: { ...options, pinFile: join(dir, 'missing') } }, /^cannot open the PKCS#11 token: cannot read the PIN file \(pinFile, EKMS_PKCS11_PIN_FILE\): No such file or directory$/);
  // A PIN given where its file's path belongs is not repeated: neither in the message nor in its cause.
  const home = join(tempHome('ekms-p11-open-'), 'store');
  const err = (await Kms.open({ home, pkcs11: { ...options, pinFile: '55SECRETPIN55' } }).then((kms) => kms.close(), (e: unknown) => e)) as Error;
  tt.match(err, { name: 'KeyStoreOpenError', message: /cannot read the PIN file/ });
  tt.notMatch(`${err.message} ${(err.cause as Error | undefined)?.message} ${err.stack}`, /55SECRETPIN55/, 'the value given is not in the error');
  writeFileSync(join(dir, 'empty'), '', { mode: 0o600 });
  await refused(tt, { pkcs11: { ...options, pinFile: join(dir, 'empty') } }, /^cannot open the PKCS#11 token: the PIN file \(pinFile, EKMS_PKCS11_PIN_FILE\) is empty$/);
});

t.test('a PIN file that others can read is said, and used', async (tt) => {
  const pinFile = join(tempHome('ekms-p11-pin-'), 'pin');
  writeFileSync(pinFile, `${userPin}\n`, { mode: 0o640 });
  const warnings = collectWarnings(tt);
  const { pin: _pin, ...options } = softhsmOptions();
  const kms = await openOnToken({ pkcs11: { ...options, pinFile } });
  await warningsOut();
  tt.equal(warnings.length, 1);
  tt.match(warnings[0], /pin can be read by other users \(mode 0640\): it holds the PKCS#11 user PIN; chmod 600 it/);
  tt.notMatch(warnings[0], new RegExp(`\\b${userPin}\\b`), 'not the PIN itself');
  tt.equal((await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata?.Origin, 'AWS_CLOUDHSM');
  await kms.close();
});

t.test('the environment configures the token (EKMS_PKCS11_*)', async (tt) => {
  const saved = { ...process.env };
  tt.teardown(() => {
    for (const k of ['EKMS_PKCS11_MODULE', 'EKMS_PKCS11_TOKEN_LABEL', 'EKMS_PKCS11_PIN', 'EKMS_PKCS11_PIN_FILE']) delete process.env[k];
    Object.assign(process.env, saved);
  });
  const o = softhsmOptions();
  process.env.EKMS_PKCS11_MODULE = softhsmModule;
  process.env.EKMS_PKCS11_TOKEN_LABEL = o.tokenLabel;
  process.env.EKMS_PKCS11_PIN = userPin;
  const kms = await Kms.open({ home: tempHome('ekms-p11-env-') });
  const created = await kms.createKey({});
  tt.equal(created.KeyMetadata?.Origin, 'AWS_CLOUDHSM', 'new keys go to the token by default');
  await kms.close();

  // The PIN from a file named by EKMS_PKCS11_PIN_FILE instead.
  delete process.env.EKMS_PKCS11_PIN;
  const pinFile = join(tempHome('ekms-p11-env-pin-'), 'pin');
  writeFileSync(pinFile, `${userPin}\n`, { mode: 0o600 });
  process.env.EKMS_PKCS11_PIN_FILE = pinFile;
  const fromFile = await Kms.open({ home: tempHome('ekms-p11-env-') });
  tt.equal((await fromFile.createKey({})).KeyMetadata?.Origin, 'AWS_CLOUDHSM', 'the PIN file logged in');
  await fromFile.close();
  process.env.EKMS_PKCS11_PIN_FILE = join(tempHome('ekms-p11-env-pin-'), 'missing');
  await refused(tt, {}, /cannot read the PIN file \(pinFile, EKMS_PKCS11_PIN_FILE\): No such file/);

  // A token configured in part (the module's variable misspelt or forgotten) is refused, not
  // taken for software keys that the operator did not ask for.
  delete process.env.EKMS_PKCS11_MODULE;
  await refused(tt, {}, /no PKCS#11 module path is configured \(pkcs11.module, EKMS_PKCS11_MODULE\)/);
  delete process.env.EKMS_PKCS11_PIN_FILE;
  process.env.EKMS_PKCS11_PIN = userPin;
  await refused(tt, {}, /no PKCS#11 module path is configured/);
  delete process.env.EKMS_PKCS11_PIN;
  await refused(tt, {}, /no PKCS#11 module path is configured/);
  delete process.env.EKMS_PKCS11_TOKEN_LABEL;
  const plain = await Kms.open({ home: tempHome('ekms-p11-env-') });
  tt.equal((await plain.createKey({})).KeyMetadata?.Origin, 'AWS_KMS', 'no EKMS_PKCS11_* variable: software keys');
  await plain.close();
});

t.test('an option left out is filled in by its variable; a pin or pinFile option takes the place of both PIN variables', async (tt) => {
  const saved = { ...process.env };
  tt.teardown(() => {
    for (const k of ['EKMS_PKCS11_MODULE', 'EKMS_PKCS11_TOKEN_LABEL', 'EKMS_PKCS11_PIN', 'EKMS_PKCS11_PIN_FILE']) delete process.env[k];
    Object.assign(process.env, saved);
  });
  const o = softhsmOptions();
  const pinFile = join(tempHome('ekms-p11-mixed-pin-'), 'pin');
  writeFileSync(pinFile, `${userPin}\n`, { mode: 0o600 });
  const onToken = async (options: KmsOptions, what: string) => {
    const kms = await Kms.open({ ...options, home: tempHome('ekms-p11-mixed-') });
    tt.equal((await kms.createKey({})).KeyMetadata?.Origin, 'AWS_CLOUDHSM', what);
    await kms.close();
  };
  // The deployment's PIN file beside a module and label in code.
  process.env.EKMS_PKCS11_PIN_FILE = pinFile;
  await onToken({ pkcs11: { module: softhsmModule, tokenLabel: o.tokenLabel } }, 'the PIN from EKMS_PKCS11_PIN_FILE');
  // The label from the environment, the PIN from the option: the variable's PIN file is not "both".
  process.env.EKMS_PKCS11_TOKEN_LABEL = o.tokenLabel;
  await onToken({ pkcs11: { module: softhsmModule, pin: userPin } }, 'the label from EKMS_PKCS11_TOKEN_LABEL, the pin option');
  // An option wins over its variable.
  process.env.EKMS_PKCS11_TOKEN_LABEL = 'no-such-token';
  await onToken({ pkcs11: { module: softhsmModule, tokenLabel: o.tokenLabel } }, 'the tokenLabel option over the variable');
  delete process.env.EKMS_PKCS11_PIN_FILE;
  await refused(tt, { pkcs11: { module: softhsmModule, tokenLabel: o.tokenLabel } }, /no PKCS#11 user PIN is configured/);
});

t.test("the PIN is not in the Kms's configuration once the token is open", async (tt) => {
  const { inspect } = await import('node:util');
  const options = softhsmOptions();
  const kms = await Kms.open({ pkcs11: options, home: tempHome('ekms-p11-pin-') });
  tt.teardown(() => kms.close());
  tt.equal(options.pin, userPin, "the caller's options are left as given");
  const seen = [inspect(kms, { depth: 8, showHidden: true }), JSON.stringify(kms.config), inspect(kms.config, { showHidden: true })];
  for (const text of seen) tt.notMatch(text, new RegExp(`\\b${userPin}\\b`), 'no PIN in what inspecting or serializing shows');
  tt.equal(kms.config.pkcs11?.pin, userPin, 'code that asks for it by name still gets it');
  const second = await Kms.open({ home: kms.config.home, pkcs11: kms.config.pkcs11! });
  await second.close();
  tt.pass('kms.config.pkcs11 opens another Kms on the same token');
  await kms.disconnectCustomKeyStore({ CustomKeyStoreId: kms.token!.customKeyStoreId });
  await kms.connectCustomKeyStore({ CustomKeyStoreId: kms.token!.customKeyStoreId });
  tt.ok((await kms.createKey({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: kms.token!.customKeyStoreId })).KeyMetadata, 'and logs in again after a reconnection');
});
