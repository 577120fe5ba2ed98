// The package's version, read once from its package.json (for User-Agent headers and the audit
// trail's userAgent).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageVersion(): string {
  try {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..');
    return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '0';
  } catch {
    return '0';
  }
}

export const version = packageVersion();

/** What this package calls itself where a user agent is asked for. */
export const userAgent = `embedded-kms/${version} node/${process.version}`;
