// One recorded case run against the endpoint: `check` runs a call through @aws-sdk/client-kms
// and compares its result (or error) with the recorded entry of the same name.
import type { KMS } from '@aws-sdk/client-kms';

import { diff, sameMessage } from './compare.js';

export interface Harness {
  readonly client: KMS;
  /** The case's parameters: `test_sign_verify[RSA_2048-RSASSA_PSS_SHA_256]` → ['RSA_2048', 'RSASSA_PSS_SHA_256']. */
  readonly params: readonly string[];
  /** Runs `call`; compares `pick(output)` (default: the output) or its error with recorded entry `key`. */
  check<T>(key: string, call: () => Promise<T>, pick?: (out: T) => unknown): Promise<T | undefined>;
  /** Compares a value we computed with recorded entry `key`. */
  value(key: string, actual: unknown): void;
  /** A property the case implies beyond the recorded values. */
  require(ok: boolean, what: string): void;
}

export interface Outcome {
  problems: string[];
  checked: number;
}

interface RecordedError {
  Error: { Code: string; Message: string };
}

function isError(v: unknown): v is RecordedError {
  return typeof v === 'object' && v !== null && 'Error' in v;
}

function strip<T>(out: T): unknown {
  if (typeof out !== 'object' || out === null) return out;
  const { $metadata: _m, ...rest } = out as Record<string, unknown>;
  return rest;
}

export function harness(client: KMS, params: readonly string[], recorded: Record<string, unknown>, outcome: Outcome): Harness {
  return {
    client,
    params,
    async check(key, call, pick) {
      const expected = recorded[key];
      let out;
      try {
        out = await call();
      } catch (err) {
        const e = err as { name?: string; message?: string };
        if (expected === undefined) throw err;
        outcome.checked++;
        if (!isError(expected)) {
          outcome.problems.push(`${key}: ${e.name}: ${e.message} where AWS succeeded`);
          return undefined;
        }
        if (e.name !== expected.Error.Code) outcome.problems.push(`${key}: error ${e.name} ≠ AWS ${expected.Error.Code} (${e.message})`);
        // AWS sends these errors without a message; the JS SDK then reports "UnknownError" (botocore,
        // which made the recording, reports ""), so the two are the same observation.
        else if (!(expected.Error.Message === '' && e.message === 'UnknownError'))
          outcome.problems.push(...sameMessage(expected.Error.Message, e.message ?? '').map((p) => `${key}: ${p}`));
        return undefined;
      }
      if (expected !== undefined) {
        outcome.checked++;
        if (isError(expected)) outcome.problems.push(`${key}: succeeded where AWS answered ${expected.Error.Code}`);
        else outcome.problems.push(...diff(expected, pick ? pick(out) : strip(out)).map((p) => `${key}: ${p}`));
      }
      return out;
    },
    value(key, actual) {
      const expected = recorded[key];
      if (expected === undefined) return;
      outcome.checked++;
      outcome.problems.push(...diff(expected, actual).map((p) => `${key}: ${p}`));
    },
    require(ok, what) {
      outcome.checked++;
      if (!ok) outcome.problems.push(what);
    },
  };
}
