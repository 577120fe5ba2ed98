// AWS's own CLI examples (../shared/reference/kms-examples-1.json), for comparing outputs.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const referenceDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'reference');

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
