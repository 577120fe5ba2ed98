// Shared by the PKCS#11 suites: Kms instances on this process's SoftHSM2 tokens, the backend
// behind a Kms, and the fault-injecting module (native/fault-module) built beside the addon.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type t from 'tap';

import { Pkcs11Backend } from '../../src/backends/pkcs11.js';
import { Kms, type KmsOptions } from '../../src/index.js';
import { cleanupLater, tempHome } from '../helpers/backends.js';
import { rejectsAws } from '../helpers/kms-fixture.js';
import { softhsmModule, softhsmOptions, softhsmTokens } from '../helpers/softhsm.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function openOnToken(options: KmsOptions = {}, tokenLabel?: string): Promise<Kms> {
  const home = tempHome('ekms-p11-');
  cleanupLater(home);
  return Kms.open({ home, pkcs11: softhsmOptions(tokenLabel), ...options });
}

export function backendOf(kms: Kms): Pkcs11Backend {
  const token = kms.token;
  if (!(token instanceof Pkcs11Backend)) throw new Error('this Kms has no PKCS#11 token');
  return token;
}

/** The fault-injecting module; EKMS_FAULT_MODULE overrides where the build put it. */
export function faultModule(): string {
  const path = process.env.EKMS_FAULT_MODULE ?? join(root, 'build', 'Release', 'libekms_fault_pkcs11.so');
  if (!existsSync(path)) throw new Error(`the fault-injecting PKCS#11 module is not built (${path}); run npm run build:native`);
  return path;
}

/**
 * Sets the fault plan for the next initialisation of the fault module (it wraps SoftHSM2). The
 * plan is read when the module's first user opens it, so every Kms using it must be closed
 * before the plan changes. Returns a reader of the injected-fault log.
 */
export function faultPlan(plan: string): { module: string; log: () => string[] } {
  const dir = softhsmTokens();
  const log = join(dir, 'faults.log');
  rmSync(log, { force: true });
  process.env.EKMS_FAULT_TARGET = softhsmModule;
  process.env.EKMS_FAULT_PLAN = plan;
  process.env.EKMS_FAULT_LOG = log;
  return {
    module: faultModule(),
    log: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') : []),
  };
}

/** What the suites use of a (sub)test: subtests are not of the root TAP object's type. */
export type Checks = Pick<typeof t, 'equal' | 'match' | 'notMatch' | 'fail' | 'ok' | 'notOk' | 'teardown'>;

/** rejectsAws for subtests. */
export function rejects(tt: Checks, p: Promise<unknown>, name: string, message?: string | RegExp): Promise<void> {
  return rejectsAws(tt as typeof t, p, name, message);
}

/**
 * Two processes' Kms on one new store: `good` with the token's PIN, `bad` with a stale one,
 * opened while the custom key store is disconnected (so it opens without logging in); both
 * closed when the test ends. The store is left disconnected.
 */
export async function goodAndStalePin(tt: Checks, name: string): Promise<{ good: Kms; bad: Kms; id: string }> {
  const home = tempHome(name);
  cleanupLater(home);
  const good = await Kms.open({ home, pkcs11: softhsmOptions() });
  tt.teardown(() => good.close());
  const id = backendOf(good).customKeyStoreId;
  await good.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  const bad = await Kms.open({ home, pkcs11: { ...softhsmOptions(), pin: '9999' } });
  tt.teardown(() => bad.close());
  return { good, bad, id };
}
