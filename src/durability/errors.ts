// The one error type of backup, restore, root key rotation and escrow. Messages say what to do
// and never contain key bytes or passphrases (check values are public and may appear, in hex).
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export class DurabilityError extends Error {
  override readonly name = 'DurabilityError';
}

/**
 * Refuses a file a command is to make, before anything is done, in words the user can act on:
 * one that exists (`what` never replaces a file), or one whose folder is missing (the command
 * would otherwise fail with an ENOENT naming its own temporary file).
 */
export function checkNewFile(path: string, what: string): void {
  if (existsSync(path)) throw new DurabilityError(`${path} exists; ${what} never replaces a file`);
  const folder = dirname(path);
  if (!statSync(folder, { throwIfNoEntry: false })?.isDirectory()) throw new DurabilityError(`cannot make ${path}: there is no folder ${folder}`);
}
