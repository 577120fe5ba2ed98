// The key store's folder, made (0700) where it does not exist yet. A path that is a file is said
// in those words: mkdir's own error named EEXIST, as if a folder were in the way.
import { existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';

export function makeKeyStoreFolder(home: string, fail: (message: string) => Error): void {
  const st = statSync(home, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw fail(`${home} is a file, not a folder: the key store (EKMS_HOME, --home) is a folder`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
}

/**
 * Runs `work`, which may make the key store's `folder`: when it fails, a folder that did not exist
 * before and is still empty is removed, so that "nothing was changed" holds for the folder too.
 */
export async function removingNewFolderOnFailure<T>(folder: string, work: () => Promise<T>): Promise<T> {
  const made = !existsSync(folder);
  try {
    return await work();
  } catch (err) {
    if (made) {
      try {
        rmdirSync(folder); // refused unless empty
      } catch {
        // not empty, or gone: left as it is
      }
    }
    throw err;
  }
}
