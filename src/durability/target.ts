// What the durability functions act on: an open Kms or the folder of a key store. They always
// use a connection of their own, so an open Kms sees their changes the way it sees another
// process's (PRAGMA data_version), and follows a new root key the same way.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { Kms } from '../kms.js';
import { Store, StoreError } from '../store/store.js';
import { DurabilityError } from './errors.js';

export type StoreTarget = Kms | string;

export function homeOf(target: StoreTarget): string {
  return typeof target === 'string' ? resolve(target) : target.config.home;
}

export function dbPath(home: string): string {
  return join(home, 'store.sqlite3');
}

/** A connection to the store in `home`, which must exist (and is migrated if it is older). */
export function openExistingStore(home: string): Store {
  if (!existsSync(dbPath(home))) throw new DurabilityError(`there is no key store in ${home}`);
  return openStore(home);
}

export function openStore(home: string): Store {
  return openStoreFile(dbPath(home));
}

/** Opens (and migrates) a store file; a store from a newer version is a DurabilityError. */
export function openStoreFile(path: string): Store {
  try {
    return Store.open(path);
  } catch (err) {
    if (err instanceof StoreError) throw new DurabilityError(err.message, { cause: err });
    throw err;
  }
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
