// Files that hold secrets (the root key, a PKCS#11 PIN file, the endpoint's access keys) should
// be their owner's alone, as ~/.ssh keys are. A looser mode is said, not refused: the secret is
// already exposed by then, and a PIN mounted from a secret store is often 0644 on purpose.
import { statSync } from 'node:fs';

/** Emits an EmbeddedKmsWarning, saying which, when `path` can be read or written by its group or others. */
export function warnIfOthersCanAccess(path: string, holds: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return; // whoever reads it reports what is wrong with it
  }
  // Execute bits alone give nothing away; write bits let another user replace the secret.
  const read = (mode & 0o044) !== 0;
  const write = (mode & 0o022) !== 0;
  if (!read && !write) return;
  const can = read && write ? 'read and written' : read ? 'read' : 'written';
  process.emitWarning(`${path} can be ${can} by other users (mode ${mode.toString(8).padStart(4, '0')}): it holds ${holds}; chmod 600 it`, 'EmbeddedKmsWarning');
}
