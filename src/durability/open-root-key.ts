// The root key half of opening a store: finish a root key change another process committed but
// did not get to rename (root-key-files.ts), then load the root key in native code and check it
// is the store's. A rotation may commit while we open; then we look again rather than refuse.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { warnIfOthersCanAccess } from '../files/secret-file-mode.js';
import { addon, type NativeEngine } from '../native/addon.js';
import { Store } from '../store/store.js';
import { finishRootKeyChange, rootKeyPath, sweepRestoreCopies, sweepRootKeyTempFiles } from './root-key-files.js';

export const rootKeyCheckName = 'root_key_check';

export type OpenError = (message: string, cause?: unknown) => Error;

export function openStoreRootKey(
  home: string,
  cacheSize: number,
  fail: OpenError,
): { engine: NativeEngine; expectedCheck: Buffer | undefined } {
  const dbPath = join(home, 'store.sqlite3');
  const rootPath = rootKeyPath(home);
  let expectedCheck = Store.peekMeta(dbPath, rootKeyCheckName);
  for (let attempt = 0; ; attempt++) {
    if (expectedCheck !== undefined) finishRootKeyChange(home, expectedCheck);
    let engine: NativeEngine;
    try {
      engine = new addon.Engine(rootPath, expectedCheck === undefined, cacheSize);
    } catch (err) {
      const why = (err as Error).message;
      throw fail(
        expectedCheck === undefined
          ? existsSync(rootPath)
            ? `cannot read the root key ${rootPath}: ${why}`
            : `cannot create the root key of the key store in ${home}: ${why}`
          : `the key store in ${home} has keys, but its root key cannot be read: ${why}. Restore root.key from your backup; without it the software keys cannot be used.`,
        err,
      );
    }
    if (expectedCheck === undefined || engine.checkValue().equals(expectedCheck)) {
      warnIfOthersCanAccess(rootPath, 'the root key, which unwraps every software key of the store');
      sweepRootKeyTempFiles(home);
      sweepRestoreCopies(home);
      return { engine, expectedCheck };
    }
    engine.close();
    // A root key rotation may have committed since we read the store's check value.
    const now = Store.peekMeta(dbPath, rootKeyCheckName);
    if (attempt < 3 && now !== undefined && !now.equals(expectedCheck)) {
      expectedCheck = now;
      continue;
    }
    throw fail(`the root key in ${rootPath} is not the one this key store was created with; refusing to open (nothing was changed)`);
  }
}
