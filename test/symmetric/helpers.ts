// Helpers of the symmetric and rotation suites.
import type { Kms, KeyState } from '../../src/index.js';

const dayMs = 86_400_000;

/**
 * Puts a key in a state the way DisableKey / ScheduleKeyDeletion leave it (written to the store
 * directly, so these suites do not depend on those operations).
 */
export function setKeyState(kms: Kms, keyId: string, state: KeyState): void {
  kms.store.updateKey(keyId, {
    state,
    deletionDate: state === 'PendingDeletion' ? new Date(kms.config.clock().getTime() + 7 * dayMs) : undefined,
    pendingWindowDays: state === 'PendingDeletion' ? 7 : undefined,
  });
  kms.keys.invalidate(keyId);
}

/** What a promise rejected with, as `name: message`, or 'ok' when it resolved. */
export async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    const e = err as { name?: string; message?: string };
    return `${e.name}: ${e.message}`;
  }
}

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * dayMs);
}

/** A clock tests can move. */
export class TestClock {
  constructor(public now: Date) {}
  readonly read = (): Date => this.now;
  advanceDays(days: number): void {
    this.now = addDays(this.now, days);
  }
}
