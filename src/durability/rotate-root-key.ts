// Root key rotation: a new root key, every software key re-wrapped under it in one transaction,
// with no downtime: processes that have the store open follow the new key on their next
// operation (follow-root-key.ts). The order of steps is what makes an interruption at any point
// safe; root-key-files.ts explains it. Material is unwrapped and re-wrapped only in native code.
// Outstanding GetParametersForImport parameters are bound to the old root key and are dropped:
// an import in progress asks for new parameters.
import { resolve } from 'node:path';
import { unlinkSync } from 'node:fs';

import { Store } from '../store/store.js';
import { forgetImportParameters, getMetaValue, rewrapAllMaterials, setMetaValue } from '../store/durable-ops.js';
import { checkNewFile, DurabilityError } from './errors.js';
import { durability } from './native.js';
import { rootKeyCheckName } from './open-root-key.js';
import {
  checkOfFile,
  copyFileDurably,
  finishRootKeyChange,
  newPendingRootKeyPath,
  rootKeyPath,
  sweepAbandonedPendingKeys,
} from './root-key-files.js';
import { hex, homeOf, openExistingStore, type StoreTarget } from './target.js';

export interface RootKeyRotationOptions {
  /**
   * Copy the old root key file here (a new file, 0600) before rotating. Backups made before the
   * rotation need the old root key to be restored; keep it as safely as the backups (or escrow it
   * first with escrowRootKey).
   */
  keepPreviousRootKeyAs?: string;
}

export interface RootKeyRotation {
  /** Check values (hex) of the root key before and after. Public values, not the keys. */
  previousCheckValue: string;
  checkValue: string;
  /** How many software key materials were re-wrapped. */
  rewrapped: number;
}

export async function rotateRootKey(target: StoreTarget, options: RootKeyRotationOptions = {}): Promise<RootKeyRotation> {
  const home = homeOf(target);
  const store = openExistingStore(home);
  try {
    return rotate(home, store, options);
  } finally {
    store.close();
  }
}

function storeCheck(store: Store): Buffer {
  const check = getMetaValue(store.db, rootKeyCheckName);
  if (!Buffer.isBuffer(check)) throw new DurabilityError('the key store has no root key check value; open it once with Kms.open first');
  return check;
}

function rotate(home: string, store: Store, options: RootKeyRotationOptions): RootKeyRotation {
  const rootPath = rootKeyPath(home);
  // An earlier rotation may have committed without getting to rename its file.
  const oldCheck = storeCheck(store);
  if (!finishRootKeyChange(home, oldCheck))
    throw new DurabilityError(`the root key in ${rootPath} is not the one this key store uses; nothing was changed`);
  if (options.keepPreviousRootKeyAs !== undefined) {
    checkNewFile(resolve(options.keepPreviousRootKeyAs), 'keeping the previous root key');
    copyFileDurably(rootPath, options.keepPreviousRootKeyAs);
  }

  const pending = newPendingRootKeyPath(home);
  const newCheck = durability.createRootKeyFile(pending);
  let committed = false;
  try {
    const rewrapper = new durability.RootRewrapper(rootPath, pending);
    try {
      if (!rewrapper.fromCheck().equals(oldCheck) || !rewrapper.toCheck().equals(newCheck))
        throw new DurabilityError('the root key files changed while the rotation started; nothing was changed');
      const rewrapped = store.write(() => {
        if (!storeCheck(store).equals(oldCheck))
          throw new DurabilityError('another process rotated the root key at the same time; nothing was changed by this rotation');
        // Under the write lock: a sweep of abandoned pending files cannot race us now, and ours
        // must still be there (a sweep that ran before we took the lock may have removed it).
        if (!checkOfFile(pending)?.equals(newCheck))
          throw new DurabilityError('the new root key file disappeared before the rotation committed; nothing was changed');
        sweepAbandonedPendingKeys(home, oldCheck);
        const n = rewrapAllMaterials(store.db, (spec, keyId, materialId, wrapped) => rewrapper.rewrap(spec, keyId, materialId, wrapped));
        forgetImportParameters(store.db);
        setMetaValue(store.db, rootKeyCheckName, newCheck);
        setMetaValue(store.db, 'root_key_rotated_at', new Date().toISOString());
        return n;
      });
      committed = true;
      // The new key is the store's from the commit on; root.key catches up now (or at the next
      // open, if we stop before this line, or if another process opening the store is quicker).
      if (!finishRootKeyChange(home, newCheck))
        throw new DurabilityError(`the new root key is in use, but it could not be moved to ${rootPath}; the next Kms.open finishes that`);
      return { previousCheckValue: hex(oldCheck), checkValue: hex(newCheck), rewrapped };
    } finally {
      rewrapper.close();
    }
  } catch (err) {
    if (!committed) {
      try {
        unlinkSync(pending);
      } catch {
        // Never created, or swept.
      }
    }
    if (err instanceof DurabilityError) throw err;
    throw new DurabilityError(`root key rotation failed; ${committed ? 'the new root key is in use' : 'nothing was changed'}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
