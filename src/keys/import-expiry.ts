// Expiry of imported key material (ExpirationModel KEY_MATERIAL_EXPIRES): when a material's
// ValidTo comes, its blob is deleted and its key goes to PendingImport, as AWS does. There is no
// background process: as with rotations and deletions, due expiries are applied when a store is
// opened and before every operation, against the configured clock. The earliest ValidTo is kept
// in memory, so the check on the hot path is one comparison; it is read again after any change.
import { destroyForgottenMaterial } from '../backends/token-orphans.js';
import type { TokenBackend } from '../backends/token.js';
import type { Store } from '../store/store.js';
import { forgetImportedMaterial } from './import-keys.js';
import { ImportStore } from './import-store.js';
import type { KeyRegistry } from './registry.js';

export class ImportExpiry {
  private earliest: number | undefined;
  private stale = true;
  private readonly imports: ImportStore;
  /** The PKCS#11 token, whose objects of expired materials are destroyed (in the background). */
  token: TokenBackend | undefined;

  constructor(
    private readonly store: Store,
    private readonly keys: KeyRegistry,
  ) {
    this.imports = new ImportStore(store);
  }

  markStale(): void {
    this.stale = true;
  }

  /** Deletes every imported material whose ValidTo is at or before `now`. Synchronous: one transaction per material. */
  runDue(now: Date): void {
    if (!this.stale && (this.earliest === undefined || now.getTime() < this.earliest)) return;
    for (const { keyId, materialId } of this.imports.dueExpiries(now)) {
      let tokenRef: string | undefined;
      let removed = false;
      const changed = this.store.write(() => {
        // Still due inside the transaction (another process may have reimported or expired it).
        const m = this.imports.material(keyId, materialId);
        if (!m || m.importState !== 'IMPORTED' || m.validTo === undefined || m.validTo.getTime() > now.getTime()) return false;
        tokenRef = this.store.getMaterial(keyId, materialId)?.tokenRef;
        removed = m.pendingRotation; // forgetImportedMaterial removes such a material's row
        return forgetImportedMaterial(this.store, this.imports, keyId, materialId);
      });
      // The record no longer names the object; if the token cannot destroy it now, the import
      // sweep (backends/token-orphans.ts) does later, for a material that keeps its row.
      if (changed && tokenRef !== undefined && this.token)
        void destroyForgottenMaterial(this.store, this.token, keyId, materialId, now, removed).catch(() => undefined);
      if (changed) {
        this.keys.invalidate(keyId, { wipe: true });
        this.store.shred();
      }
    }
    // invalidate() marked the schedule stale again through the registry; what is read now is current.
    this.stale = false;
    this.earliest = this.imports.earliestExpiry()?.getTime();
  }
}
