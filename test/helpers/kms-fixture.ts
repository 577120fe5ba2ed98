// Runs a suite once per backend, each with its own open Kms that is closed afterwards.
import t from 'tap';

import type { Kms } from '../../src/index.js';
import { backends, type Backend } from './backends.js';
// Registers the SoftHSM2 backend, so every suite using eachBackend runs on a token too.
import './softhsm.js';

type Test = typeof t;

export function eachBackend(name: string, body: (t: Test, kms: Kms, backend: Backend) => Promise<void>): void {
  for (const backend of backends()) {
    t.test(`${name} [${backend.name}]`, async (tt) => {
      const kms = await backend.open();
      tt.teardown(() => kms.close());
      await body(tt as unknown as Test, kms, backend);
    });
  }
}

/** Expects a promise to reject with an AWS error of this name (and message, when given). */
export async function rejectsAws(t: Test, p: Promise<unknown>, name: string, message?: string | RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    const e = err as { name?: string; message?: string };
    t.equal(e.name, name, `error type ${name}`);
    if (message instanceof RegExp) t.match(e.message ?? '', message, 'error message');
    else if (message !== undefined) t.equal(e.message, message, 'error message');
    return;
  }
  t.fail(`expected ${name}, but the call succeeded`);
}
