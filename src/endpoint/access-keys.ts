// The access keys a SigV4 endpoint accepts: `$EKMS_HOME/credentials.json` and the environment
// variable EKMS_ACCESS_KEYS (`AKID:SECRET,AKID2:SECRET2`). Secrets stay in this map; nothing
// prints them, and errors about a malformed file name the file, never its contents.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { warnIfOthersCanAccess } from '../files/secret-file-mode.js';

export type AccessKeys = ReadonlyMap<string, string>;

export class AccessKeysError extends Error {
  override readonly name = 'AccessKeysError';
}

/** `AKID:SECRET,AKID2:SECRET2` (a secret may itself contain ':' but not ','). */
export function parseAccessKeyList(text: string, source = 'EKMS_ACCESS_KEYS'): Map<string, string> {
  const keys = new Map<string, string>();
  for (const item of text.split(',')) {
    const entry = item.trim();
    if (!entry) continue;
    const colon = entry.indexOf(':');
    if (colon <= 0 || colon === entry.length - 1)
      throw new AccessKeysError(`${source}: each entry must be ACCESS_KEY_ID:SECRET_ACCESS_KEY`);
    keys.set(entry.slice(0, colon), entry.slice(colon + 1));
  }
  return keys;
}

/**
 * credentials.json: `{"accessKeys": [{"accessKeyId": "…", "secretAccessKey": "…"}]}`, the
 * member names of an AWS credentials object, so a file can be written from `aws configure` values.
 */
export function readAccessKeyFile(path: string, { warn = true } = {}): Map<string, string> {
  // Its secrets sign requests as these keys: like ~/.ssh keys, the file should be its owner's
  // alone. Said, not refused (the AWS CLI reads its credentials file whatever its mode).
  let parsed: unknown;
  try {
    statSync(path);
    if (warn) warnIfOthersCanAccess(path, 'secret access keys that sign requests to the endpoint');
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AccessKeysError(`${path} is not readable JSON (${(err as NodeJS.ErrnoException).code ?? 'syntax error'})`);
  }
  const list = (parsed as { accessKeys?: unknown })?.accessKeys;
  if (!Array.isArray(list)) throw new AccessKeysError(`${path}: expected {"accessKeys": [{"accessKeyId", "secretAccessKey"}, …]}`);
  const keys = new Map<string, string>();
  for (const [i, k] of list.entries()) {
    const { accessKeyId, secretAccessKey } = (k ?? {}) as Record<string, unknown>;
    if (typeof accessKeyId !== 'string' || !accessKeyId || typeof secretAccessKey !== 'string' || !secretAccessKey)
      throw new AccessKeysError(`${path}: accessKeys[${i}] needs string accessKeyId and secretAccessKey`);
    keys.set(accessKeyId, secretAccessKey);
  }
  return keys;
}

/**
 * The keys of `home`'s credentials.json (if present) and of EKMS_ACCESS_KEYS (which win). `warn`:
 * say when the file can be read by others (false where another process has said it already).
 */
export function loadAccessKeys(home: string, env: NodeJS.ProcessEnv = process.env, { warn = true } = {}): Map<string, string> {
  const file = join(home, 'credentials.json');
  const keys = existsSync(file) ? readAccessKeyFile(file, { warn }) : new Map<string, string>();
  if (env.EKMS_ACCESS_KEYS) for (const [id, secret] of parseAccessKeyList(env.EKMS_ACCESS_KEYS)) keys.set(id, secret);
  return keys;
}
