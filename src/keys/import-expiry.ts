// Expiry of imported key material (ExpirationModel KEY_MATERIAL_EXPIRES): when a material's
// ValidTo comes, its blob is deleted and its key goes to PendingImport, as AWS does. There is no
// background process: as with rotations and deletions, due expiries are applied when a store is
// opened and before every operation, against the configured clock. The earliest ValidTo is kept
// in memory, so the check on the hot path is one comparison; it is read again after any change.
// An expiry that cannot be recorded (a full disk, a store file removed) is no caller's failure:
// the material is refused in memory (KeyRegistry.expiredUnrecorded) and the write is tried again
// a second later, while calls on other keys go on, as with due deletions and rotations.
//
// On a token, the RSA wrapping key of GetParametersForImport is a token object that its
// parameters need for 24 hours; the import sweep destroys it a minute after they expire
// (wrappingKeyGraceMs). Calls look for such parameters (of any process's imports) at most once a
// minute, the first a minute after open (whose own sweep came first), so the key leaves the token
// within about two minutes of its parameters' expiry while the store is in use, not at the next
// GetParametersForImport, deletion or open. A look whose sweep fails (the token disconnected or
// failing) is made again a minute later.
import { destroyForgottenMaterial, sweepImportObjects, wrappingKeyGraceMs } from '../backends/token-orphans.js';
import type { TokenBackend } from '../backends/token.js';
import { RootKeyChangedError, type Store } from '../store/store.js';
import { forgetImportedMaterial } from './import-keys.js';
import { ImportStore } from './import-store.js';
import type { KeyRegistry } from './registry.js';

/** How often calls look for expired import parameters whose wrapping keys are on a token. */
const WRAPPING_KEY_LOOK_MS = 60_000;

export class ImportExpiry {
  private earliest: number | undefined;
  /** When calls next look for expired import parameters (the configured clock's milliseconds). */
  private nextWrappingKeyLook = 0;
  /** The wrapping keys of parameters that expired at or before this (and the grace) are swept. */
  private wrappingKeysSweptAt = 0;
  private stale = true;
  private readonly imports: ImportStore;
  /** The PKCS#11 token, whose objects of expired materials are destroyed (in the background). */
  token: TokenBackend | undefined;
  /** When recording an expiry last failed; the next try is `retryMs` later. */
  private failedAt: number | undefined;
  /** Told of the first failure after a success (or ever), to be reported. */
  onFailure?: (err: Error) => void;
  /** Told of each material this process expired, dated when its ValidTo came (the audit trail's DeleteExpiredKeyMaterial). */
  onExpired?: (keyId: string, materialId: string, at: Date) => void;
  /** Destructions of expired materials' token objects still under way (close() waits for them). */
  private readonly destroying = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly keys: KeyRegistry,
    private readonly retryMs: number,
  ) {
    this.imports = new ImportStore(store);
  }

  markStale(): void {
    this.stale = true;
  }

  /**
   * Deletes every imported material whose ValidTo is at or before `now`. Synchronous: one
   * transaction per material. Throws only RootKeyChangedError (the caller follows the new root
   * key and calls again); any other failure leaves the material refused in memory. While writes
   * fail, every call reads what is due (a material expiring meanwhile is refused at once, one
   * expired or reimported by another process no longer is) and writes again a second later.
   */
  runDue(now: Date): void {
    if (this.token && now.getTime() >= this.nextWrappingKeyLook) this.sweepExpiredWrappingKeys(this.token, now);
    const failing = this.failedAt !== undefined;
    if (!failing && !this.stale && (this.earliest === undefined || now.getTime() < this.earliest)) return;
    const write = !failing || now.getTime() - (this.failedAt as number) >= this.retryMs;
    // Rebuilt from what is due now: a material expired or reimported elsewhere drops out.
    const refused = this.keys.expiredUnrecorded;
    refused.clear();
    let failure: Error | undefined;
    for (const { keyId, materialId } of this.imports.dueExpiries(now)) {
      try {
        if (write) {
          this.expire(keyId, materialId, now);
          continue;
        }
      } catch (err) {
        if (err instanceof RootKeyChangedError) throw err;
        failure ??= err as Error;
      }
      if (!refused.has(keyId)) refused.set(keyId, new Set());
      refused.get(keyId)!.add(materialId);
    }
    if (failure) {
      if (!failing) this.onFailure?.(failure);
      this.failedAt = now.getTime();
      return;
    }
    if (refused.size > 0) return; // still waiting to write again
    this.failedAt = undefined;
    // invalidate() marked the schedule stale again through the registry; what is read now is current.
    this.stale = false;
    this.earliest = this.imports.earliestExpiry()?.getTime();
  }

  /**
   * Resolves when the token objects of the materials expired so far are destroyed (or left to the
   * import sweep): a store closed before then would leave a claimed object and its note for the
   * orphan sweep, a quarter of an hour later at the earliest.
   */
  async settled(): Promise<void> {
    while (this.destroying.size > 0) await Promise.all(this.destroying);
  }

  /** Kms.open has run the import sweep at `now`: the calls' first look is a minute later. */
  openedAt(now: Date): void {
    this.nextWrappingKeyLook = now.getTime() + WRAPPING_KEY_LOOK_MS;
  }

  /**
   * Destroys, in the background (settled() waits for it), the token's wrapping keys whose import
   * parameters expired, past the grace, since the last sweep that could list the token. Never
   * throws: a token that cannot be reached now is swept at the next look.
   */
  private sweepExpiredWrappingKeys(token: TokenBackend, now: Date): void {
    this.nextWrappingKeyLook = now.getTime() + WRAPPING_KEY_LOOK_MS;
    const expiredBy = new Date(now.getTime() - wrappingKeyGraceMs);
    try {
      if (!this.imports.parametersExpiredBetween(this.wrappingKeysSweptAt, expiredBy)) return;
    } catch {
      return; // the store cannot be read now: the next look tries again
    }
    const sweeping: Promise<void> = sweepImportObjects(this.store, token, now)
      .then(
        // Marked swept only once the sweep could list the token.
        () => {
          this.wrappingKeysSweptAt = Math.max(this.wrappingKeysSweptAt, expiredBy.getTime());
        },
        () => undefined,
      )
      .finally(() => this.destroying.delete(sweeping));
    this.destroying.add(sweeping);
  }

  private expire(keyId: string, materialId: string, now: Date): void {
    let tokenRef: string | undefined;
    let removed = false;
    let validTo = now;
    const changed = this.store.write(() => {
      // Still due inside the transaction (another process may have reimported or expired it).
      const m = this.imports.material(keyId, materialId);
      if (!m || m.importState !== 'IMPORTED' || m.validTo === undefined || m.validTo.getTime() > now.getTime()) return false;
      tokenRef = this.store.getMaterial(keyId, materialId)?.tokenRef;
      validTo = m.validTo;
      removed = m.pendingRotation; // forgetImportedMaterial removes such a material's row
      return forgetImportedMaterial(this.store, this.imports, keyId, materialId);
    });
    // The record no longer names the object; if the token cannot destroy it now, the import
    // sweep (backends/token-orphans.ts) does later, for a material that keeps its row.
    if (changed && tokenRef !== undefined && this.token) {
      const destroying: Promise<void> = destroyForgottenMaterial(this.store, this.token, keyId, materialId, now, removed)
        .catch(() => undefined)
        .finally(() => this.destroying.delete(destroying));
      this.destroying.add(destroying);
    }
    if (changed) {
      this.keys.invalidate(keyId, { wipe: true });
      this.store.shred();
      this.onExpired?.(keyId, materialId, validTo);
    }
  }
}
