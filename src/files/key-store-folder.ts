// The key store's folder, made (0700) where it does not exist yet. A path that is a file is said
// in those words: mkdir's own error named EEXIST, as if a folder were in the way.
import { mkdirSync, statSync } from 'node:fs';

export function makeKeyStoreFolder(home: string, fail: (message: string) => Error): void {
  const st = statSync(home, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw fail(`${home} is a file, not a folder: the key store (EKMS_HOME, --home) is a folder`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
}
