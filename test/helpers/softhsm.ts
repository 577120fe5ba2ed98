// The SoftHSM2 backend: every behavioural suite runs on it too (kms-fixture.ts imports this
// module, which registers it). Each test process gets its own token folder (SOFTHSM2_CONF in a
// temporary directory) and its tokens, made with softhsm2-util; every Kms opened by the backend
// has its own home and uses the token `ekms-test` as its default for new keys.
//
// All tokens are made on first use, before any Kms opens: SoftHSM2 reads its token folder when
// the module is initialised, and the module stays initialised while any store of the process
// uses it, so a token made later might not be seen.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Kms, type KmsOptions, type Pkcs11Options } from '../../src/index.js';
import { cleanupLater, registerBackend, tempHome, type Backend } from './backends.js';

export const softhsmModule = process.env.EKMS_TEST_PKCS11_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';
export const userPin = '1234';
export const soPin = '5678';
/** The default token, and a second one for tests that need two. */
export const tokenLabels = ['ekms-test', 'ekms-test-2'] as const;

let tokenDir: string | undefined;

/** Creates this process's SoftHSM2 token folder and tokens (once); returns the folder. */
export function softhsmTokens(): string {
  if (tokenDir !== undefined) return tokenDir;
  const dir = mkdtempSync(join(tmpdir(), 'ekms-softhsm-'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${dir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  cleanupLater(dir);
  for (const label of tokenLabels) {
    const r = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', userPin, '--so-pin', soPin], {
      env: process.env,
      encoding: 'utf8',
    });
    if (r.status !== 0)
      throw new Error(`cannot create the SoftHSM2 token ${label} (is softhsm2 installed?): ${r.error?.message ?? r.stderr}`);
  }
  tokenDir = dir;
  return dir;
}

/** pkcs11 options for a token of this process (the default one unless told). */
export function softhsmOptions(tokenLabel: string = tokenLabels[0]): Pkcs11Options {
  softhsmTokens();
  return { module: softhsmModule, tokenLabel, pin: userPin };
}

export const softhsm: Backend = {
  name: 'softhsm',
  open: (options: KmsOptions = {}) => {
    const home = options.home ?? tempHome('ekms-test-softhsm-');
    if (options.home === undefined) cleanupLater(home);
    return Kms.open({ pkcs11: softhsmOptions(), ...options, home });
  },
  env: () => {
    const { module, tokenLabel, pin } = softhsmOptions();
    // SOFTHSM2_CONF (this process's token folder) is in process.env once softhsmOptions made it.
    return { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF, EKMS_PKCS11_MODULE: module, EKMS_PKCS11_TOKEN_LABEL: tokenLabel, EKMS_PKCS11_PIN: pin };
  },
};

registerBackend(softhsm);
