// The key backends every behavioural suite runs against. Each opens a fresh Kms in its own
// temporary home; `softhsm` also creates a SoftHSM2 token for it (see softhsm.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Kms, type KmsOptions } from '../../src/index.js';

export interface Backend {
  readonly name: string;
  /** Opens a Kms on a fresh home (or on `home` when given, to reopen a store). */
  open(options?: KmsOptions): Promise<Kms>;
  /**
   * The environment a child process (a fixture script, `ekms` as a command) needs to open a store
   * on this backend as `open` does: EKMS_PKCS11_* (DESIGN.md §2) and whatever the backend's own
   * setup put in this process's environment. Empty for software keys.
   */
  env(): NodeJS.ProcessEnv;
}

export function tempHome(prefix = 'ekms-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const software: Backend = {
  name: 'software',
  open: (options = {}) => Kms.open({ home: tempHome(), ...options }),
  env: () => ({}),
};

const registered: Backend[] = [software];

/** A backend module (such as the SoftHSM2 one) adds itself here. */
export function registerBackend(b: Backend): void {
  registered.push(b);
}

export function backends(): readonly Backend[] {
  return registered;
}

/** Removes a temporary home at process exit (tests may still hold it open until then). */
export function cleanupLater(home: string): void {
  process.once('exit', () => rmSync(home, { recursive: true, force: true }));
}
