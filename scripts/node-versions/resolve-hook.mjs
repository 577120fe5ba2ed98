// The resolve hook of register.mjs: `better-sqlite3` (the bare name only) resolves to the copy in
// $EKMS_BETTER_SQLITE3_DIR; every other specifier goes on to the next resolver unchanged.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const dir = process.env.EKMS_BETTER_SQLITE3_DIR;

export async function resolve(specifier, context, nextResolve) {
  if (dir && specifier === 'better-sqlite3') return { url: pathToFileURL(join(dir, 'lib', 'index.js')).href, format: 'commonjs', shortCircuit: true };
  return nextResolve(specifier, context);
}
