// AWS's own CLI examples and recorded responses (the project's reference folder, `shared/reference`
// beside the repository), for comparing outputs.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// The repository this one was cloned from, when that is a folder on this machine (a CI check
// runs in a fresh `git clone` made elsewhere, e.g. /tmp, whose neighbours are not the project's).
function originFolder(): string | undefined {
  let url: string;
  try {
    url = execFileSync('git', ['-C', repoRoot, 'config', '--get', 'remote.origin.url'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
  if (url.startsWith('file://')) return fileURLToPath(url);
  return isAbsolute(url) ? url : undefined;
}

/**
 * The reference folder: $EKMS_REFERENCE_DIR, else `shared/reference` beside this repository, else
 * beside the repository it was cloned from. None found is an error (the tests that compare with
 * AWS fail rather than pass without comparing).
 */
function findReferenceDir(): string {
  const origin = originFolder();
  const candidates = [
    process.env.EKMS_REFERENCE_DIR,
    join(repoRoot, '..', 'shared', 'reference'),
    origin === undefined ? undefined : join(origin, '..', 'shared', 'reference'),
  ].filter((d): d is string => d !== undefined && d !== '');
  const found = candidates.find((d) => existsSync(join(d, 'kms-examples-1.json')));
  if (!found) throw new Error(`AWS's reference files (kms-examples-1.json) are in none of: ${candidates.join(', ')}; set EKMS_REFERENCE_DIR`);
  return found;
}

export const referenceDir = findReferenceDir();

interface Example {
  input?: Record<string, unknown>;
  output?: Record<string, unknown>;
}

export function examplesOf(op: string): Example[] {
  const all = JSON.parse(readFileSync(join(referenceDir, 'kms-examples-1.json'), 'utf8')) as { examples: Record<string, Example[]> };
  return all.examples[op] ?? [];
}

/** The CreateKey example whose input has this KeySpec and KeyUsage. */
export function createKeyExample(keySpec: string, keyUsage: string): Record<string, unknown> {
  const ex = examplesOf('CreateKey').find((e) => e.input?.KeySpec === keySpec && e.input?.KeyUsage === keyUsage);
  if (!ex?.output) throw new Error(`no CreateKey example for ${keySpec}/${keyUsage}`);
  return ex.output.KeyMetadata as Record<string, unknown>;
}
