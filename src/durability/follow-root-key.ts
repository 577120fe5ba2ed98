// Keeps an open Kms on the store's current root key when another process rotates it (or restores
// a backup made under another one). Two guards: after any change made elsewhere, the next
// operation compares the store's check value with the engine's and reloads the root key from its
// file; and a write of key material wrapped under the old root key is refused inside its
// transaction (Store.insertMaterial), after which the operation runs once more on the new key; and
// a blob the root key does not open, read after another rotation committed (between this
// process's following the one before and its reading the blob), runs the operation again too.
import { KMSInternalException } from '../errors.js';
import { isUnwrapRefusal } from '../operations/native-errors.js';
import type { Store } from '../store/store.js';
import type { ReloadableEngine } from './native.js';
import { rootKeyCheckName } from './open-root-key.js';
import { findRootKeyFile } from './root-key-files.js';

const maxAttempts = 5;

/** How often follow() looks for a root key another process is moving into place (pauses of 1, 2, ... 11 ms: 66 ms in all). */
const followAttempts = 12;

/**
 * A pause of `ms` on this thread. follow() runs inside an operation's synchronous start, and only
 * while another process's rotation is moving files, which takes it milliseconds.
 */
function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export class RootKeyFollower {
  private stale = false;
  /** How many times this process loaded another root key: an attempt notes it when it starts. */
  reloads = 0;

  constructor(
    private readonly home: string,
    private readonly store: Store,
    private readonly engine: ReloadableEngine,
    /** Drops cached key records (their blobs may be wrapped under the old root key). */
    private readonly dropRecords: () => void,
  ) {}

  /** Something changed: the next follow() looks at the store's root key. */
  markStale(): void {
    this.stale = true;
  }

  /**
   * Call once per operation, after the key registry's refresh. Costs nothing unless marked stale.
   * The rotating process may be moving the files meanwhile: its pending file renamed to root.key
   * between our finding and our reading it, or a further rotation committed. Each such miss is
   * looked at again, from the store's record, for up to 66 ms; only a root key that
   * stays missing or unreadable is the caller's error.
   */
  follow(): void {
    if (!this.stale) return;
    this.stale = false;
    for (let attempt = 1; ; attempt++) {
      const current = this.store.getMeta(rootKeyCheckName);
      const mine = this.store.wrappingRootCheck;
      if (current === undefined || mine === undefined || current.equals(mine)) return;
      let failure: unknown;
      const path = findRootKeyFile(this.home, current);
      if (path === undefined) {
        failure = new KMSInternalException(
          `The root key of the key store in ${this.home} was replaced by another process, but the new root key file is not in that folder.`,
        );
      } else {
        try {
          const check = this.engine.reloadRootKey(path);
          if (check.equals(current)) {
            this.store.wrappingRootCheck = check;
            this.reloads += 1;
            // Records read before the change hold blobs wrapped under the old root key; handles
            // made from them earlier keep working, but new ones must come from the re-wrapped blobs.
            this.dropRecords();
            return;
          }
          failure = new KMSInternalException('The root key of the key store changed while it was being loaded.');
        } catch (err) {
          failure = err;
        }
      }
      if (attempt >= followAttempts) throw failure;
      sleepMs(attempt);
    }
  }

  /**
   * After attempt `attempt` of an operation failed with `err`: true when the operation should run
   * again (the new root key is followed first), false to report the failure. Runs again: a write
   * refused because another process rotated the root key meanwhile; a key material blob the
   * engine's root key did not open when this process has loaded another root key since the
   * attempt began (`reloadsAtStart`), as it does here when the store names one it had not
   * followed yet — the blob was read after a rotation committed elsewhere, or before one this
   * process followed. A blob that fails under the store's own root key is reported. A few times
   * only: rotations back to back can beat the same operation more than once.
   */
  retryAfter(attempt: number, err: unknown, reloadsAtStart: number): boolean {
    const writeRefused = this.store.takeRootKeyChange();
    if (attempt === maxAttempts || (!writeRefused && !isUnwrapRefusal(err))) return false;
    this.stale = true;
    this.follow();
    return writeRefused || this.reloads !== reloadsAtStart;
  }
}
