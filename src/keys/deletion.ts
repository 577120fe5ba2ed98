// Key deletion: a key scheduled for deletion is destroyed for real once its deletion date has
// come — the record, its wrapped materials, aliases and tags removed from the store in one
// transaction, its unwrapped materials wiped from native memory, its token objects destroyed.
// There is no scheduler process: the sweep runs when a store is opened and before an operation
// whenever some key's date has come (DeletionSchedule.runDue), which is all a caller can
// observe of AWS's background deletion.
import { warnObjectsLeftToAnotherStore } from '../backends/objects-left-warning.js';
import type { TokenBackend } from '../backends/token.js';
import { sweepImportObjects } from '../backends/token-orphans.js';
import type { Store } from '../store/store.js';
import type { KeyRegistry } from './registry.js';

/** AWS's waiting period limits and default (days). */
export const minPendingWindowDays = 7;
export const maxPendingWindowDays = 30;
export const defaultPendingWindowDays = 30;
const dayMs = 86_400_000;

export function deletionDateFor(now: Date, days: number): Date {
  return new Date(now.getTime() + days * dayMs);
}

export interface DeletionDeps {
  readonly store: Store;
  readonly keys: KeyRegistry;
  /** The PKCS#11 token, when one is configured: it destroys the token objects of deleted keys. */
  readonly token?: TokenBackend;
  now(): Date;
}

/**
 * Remembers the earliest deletion date so that the hot path asks the store nothing: the date is
 * re-read only after a change (markStale), and the sweep runs only once it has come.
 */
export class DeletionSchedule {
  private earliest: number | undefined;
  private known = false;
  /** Token destructions left over (another process deleted the key without the token) are retried once per change. */
  private tokenBacklogChecked = false;
  private running: Promise<string[]> | undefined;
  /**
   * Told of each key the sweep deleted, with its deletion date (the audit trail's DeleteKey
   * service event): the sweep's promise waits for what it returns.
   */
  onDeleted: ((keyId: string, at: Date) => Promise<void> | undefined) | undefined;

  constructor(private readonly store: Store) {}

  /** Another connection or this process changed keys: re-read the earliest deletion date. */
  markStale(): void {
    this.known = false;
    this.tokenBacklogChecked = false;
  }

  isDue(now: Date): boolean {
    if (!this.known) {
      this.earliest = this.store.earliestDeletion()?.getTime();
      this.known = true;
    }
    return this.earliest !== undefined && this.earliest <= now.getTime();
  }

  /** Before an operation: destroys the keys whose date has come, if any. */
  /** The sweep when some deletion is due (or a token's backlog is unchecked), else undefined. */
  runDue(deps: DeletionDeps, now: Date = deps.now()): Promise<unknown> | undefined {
    if (this.isDue(now) || (deps.token !== undefined && !this.tokenBacklogChecked)) return this.sweep(deps);
    return undefined;
  }

  /** Destroys every key whose deletion date has come; one sweep at a time per process. Returns their ids. */
  sweep(deps: DeletionDeps): Promise<string[]> {
    this.running ??= destroyDueKeys(deps, this.onDeleted).finally(() => {
      this.running = undefined;
      this.known = false;
      if (deps.token !== undefined) this.tokenBacklogChecked = true;
    });
    return this.running;
  }
}

/**
 * Destroys every key pending deletion whose deletion date is at or before now. `onDeleted` hears
 * of each key as soon as its deletion is committed (a later failure of the sweep must not lose
 * it), and the sweep settles only once what it returned has.
 */
export async function destroyDueKeys(deps: DeletionDeps, onDeleted?: (keyId: string, at: Date) => Promise<void> | undefined): Promise<string[]> {
  const now = deps.now();
  const destroyed: string[] = [];
  const noted: (Promise<void> | undefined)[] = [];
  try {
    for (const keyId of deps.store.dueDeletions(now)) {
      // Rechecked inside the deleting transaction: another process may have cancelled it.
      const deleted = deps.store.deleteDueKey(keyId, now);
      if (!deleted) continue;
      deps.keys.invalidate(keyId, { wipe: true });
      destroyed.push(keyId);
      // Dated when AWS would have deleted it: on its deletion date, also when the store was
      // closed or idle then (as automatic rotations are dated, keys/rotation.ts).
      noted.push(onDeleted?.(keyId, deleted.record.deletionDate ?? now));
    }
    // One checkpoint for the sweep: the deleted materials' older copies leave the WAL.
    if (destroyed.length > 0) deps.store.shred();
    await destroyTokenObjects(deps);
    // The wrapping key pairs GetParametersForImport made on the token for the deleted keys
    // (their parameters went with the keys), rather than at the next open or import.
    if (destroyed.length > 0 && deps.token) await sweepImportObjects(deps.store, deps.token, now).catch(() => 0);
  } finally {
    await Promise.all(noted);
  }
  return destroyed;
}

/**
 * Destroys the token objects of deleted keys. A failure leaves the object listed, to be
 * retried by a later sweep: the key is gone from the API either way.
 */
export async function destroyTokenObjects(deps: DeletionDeps): Promise<void> {
  const token = deps.token;
  if (!token) return;
  const leftToOthers = new Set<string>();
  for (const { record, material } of deps.store.pendingTokenDestructions()) {
    if (record.customKeyStoreId !== undefined && record.customKeyStoreId !== token.customKeyStoreId) continue;
    try {
      if ((await token.destroyMaterial(record, material)) > 0) leftToOthers.add(record.keyId);
    } catch {
      continue;
    }
    deps.store.tokenObjectDestroyed(record.keyId, material.materialId);
  }
  for (const keyId of leftToOthers) warnObjectsLeftToAnotherStore(token, `key ${keyId}`);
}
