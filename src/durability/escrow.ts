// Root key escrow: the store's root key, wrapped under a passphrase, in a file to keep apart
// from the store (root-escrow in the native core: scrypt, then AES-256-GCM). The root key is read
// and written by native code only. The passphrase has to pass through JavaScript: a string
// cannot be wiped, so callers that care pass a Uint8Array and wipe it themselves afterwards; a
// string is copied to a buffer that is wiped as soon as the native call has taken its copy.
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { getMetaValue } from '../store/durable-ops.js';
import { checkNewFile, DurabilityError } from './errors.js';
import { makeKeyStoreFolder, removingNewFolderOnFailure } from '../files/key-store-folder.js';
import { durability } from './native.js';
import { rootKeyCheckName } from './open-root-key.js';
import { finishRootKeyChange, rootKeyPath, syncDir } from './root-key-files.js';
import { dbPath, hex, homeOf, openStore, type StoreTarget } from './target.js';

export interface EscrowOptions {
  /** scrypt cost as log2(N), with r = 8, p = 1: 14 to 19, default 17 (128 MiB, about half a second). */
  workFactor?: number;
}

export const minPassphraseLength = 12;
const defaultWorkFactor = 17;

function passphraseBytes(passphrase: string | Uint8Array): { bytes: Uint8Array; ours: boolean } {
  if (typeof passphrase === 'string') return { bytes: Buffer.from(passphrase, 'utf8'), ours: true };
  if (passphrase instanceof Uint8Array) return { bytes: passphrase, ours: false };
  throw new DurabilityError('the passphrase must be a string or a Uint8Array');
}

async function withPassphrase<T>(passphrase: string | Uint8Array, use: (bytes: Uint8Array) => Promise<T>, checkLength: boolean): Promise<T> {
  const { bytes, ours } = passphraseBytes(passphrase);
  try {
    if (checkLength && bytes.length < minPassphraseLength)
      throw new DurabilityError(`the escrow passphrase must be at least ${minPassphraseLength} bytes long`);
    // The native call copies the passphrase before it returns its promise.
    const pending = use(bytes);
    if (ours) bytes.fill(0);
    return await pending;
  } finally {
    if (ours) bytes.fill(0);
  }
}

function storeCheckOf(home: string): Buffer | undefined {
  if (!existsSync(dbPath(home))) return undefined;
  const store = openStore(home);
  try {
    const check = getMetaValue(store.db, rootKeyCheckName);
    return Buffer.isBuffer(check) ? check : undefined;
  } finally {
    store.close();
  }
}

/**
 * Writes the root key of the store in `home` (or of an open Kms) to `file` (a new file, 0600),
 * wrapped under `passphrase`. Returns the root key's check value (hex), which backups record too.
 */
export async function escrowRootKey(
  target: StoreTarget,
  passphrase: string | Uint8Array,
  file: string,
  options: EscrowOptions = {},
): Promise<{ file: string; rootKeyCheckValue: string }> {
  const home = homeOf(target);
  const out = resolve(file);
  const workFactor = options.workFactor ?? defaultWorkFactor;
  if (!Number.isInteger(workFactor) || workFactor < 14 || workFactor > 19) throw new DurabilityError('workFactor must be an integer from 14 to 19');
  checkNewFile(out, 'an escrow');
  const storeCheck = storeCheckOf(home);
  // Escrow the key the store uses: finish a rotation committed but not yet renamed first.
  if (storeCheck !== undefined && !finishRootKeyChange(home, storeCheck))
    throw new DurabilityError(`the root key in ${rootKeyPath(home)} is not the one the key store in ${home} uses`);
  let check: Buffer;
  try {
    check = await withPassphrase(passphrase, (bytes) => durability.escrowRootKey(rootKeyPath(home), bytes, out, workFactor), true);
  } catch (err) {
    if (err instanceof DurabilityError) throw err;
    throw new DurabilityError(`cannot escrow the root key of ${home}: ${(err as Error).message}`, { cause: err });
  }
  return { file: out, rootKeyCheckValue: hex(check) };
}

/** The check value (hex) of the root key an escrow file holds; no passphrase needed. */
export function escrowedRootKeyCheckValue(file: string): string {
  try {
    return hex(durability.escrowCheckValue(resolve(file)));
  } catch (err) {
    throw new DurabilityError(`cannot read the escrow file ${resolve(file)}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Recovers the root key from an escrow file into `home` as root.key (which must not exist). When
 * `home` holds a key store, the recovered key must be that store's: otherwise nothing is written.
 * To recover an older root key (for restoring an old backup), recover it into an empty folder and
 * pass that folder's root.key to restoreStore as rootKeyFile.
 */
export async function recoverRootKey(
  file: string,
  passphrase: string | Uint8Array,
  home: string,
): Promise<{ rootKeyFile: string; rootKeyCheckValue: string }> {
  const folder = resolve(home);
  return removingNewFolderOnFailure(folder, () => recoverInto(file, passphrase, folder));
}

async function recoverInto(file: string, passphrase: string | Uint8Array, home: string): Promise<{ rootKeyFile: string; rootKeyCheckValue: string }> {
  makeKeyStoreFolder(home, (message) => new DurabilityError(message));
  const target = rootKeyPath(home);
  if (existsSync(target)) throw new DurabilityError(`${target} exists; recovery never replaces a root key file`);
  const expected = storeCheckOf(home);
  const escrowed = Buffer.from(escrowedRootKeyCheckValue(file), 'hex');
  if (expected !== undefined && !escrowed.equals(expected))
    throw new DurabilityError(
      `the escrow file holds another root key (check value ${hex(escrowed)}) than the key store in ${home} uses (${hex(expected)}); nothing was written`,
    );
  // Recovered to a private name first, then linked into place: root.key appears whole or not at all.
  const tmp = join(home, `.root.key.recover.${process.pid}.${randomBytes(4).toString('hex')}`);
  let check: Buffer;
  try {
    check = await withPassphrase(passphrase, (bytes) => durability.recoverRootKey(resolve(file), bytes, tmp), false);
    linkSync(tmp, target);
    syncDir(home);
  } catch (err) {
    if (err instanceof DurabilityError) throw err;
    throw new DurabilityError(`cannot recover the root key: ${(err as Error).message}`, { cause: err });
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Never written.
    }
  }
  return { rootKeyFile: target, rootKeyCheckValue: hex(check) };
}
