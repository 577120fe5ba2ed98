// The declarations the package ships (dist/**/*.d.ts) type-check in a project that installed it:
// every package they import is one the package depends on, with types of its own or an @types
// package that is a dependency too. A devDependency's types are missing there, and a consumer
// with skipLibCheck off (strict setups) then fails to compile (TS7016 on `better-sqlite3`).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import t from 'tap';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
const installed = { ...pkg.dependencies, ...pkg.peerDependencies };

function declarations(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? declarations(join(dir, e.name)) : e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

/** The package a bare specifier names: `a`, `a/b` → a; `@s/a/b` → @s/a. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Whether the installed package ships its own declarations. */
function typesOwnDeclarations(name: string): boolean {
  const dir = join(root, 'node_modules', name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  if (manifest.types !== undefined || manifest.typings !== undefined) return true;
  if (JSON.stringify(manifest.exports ?? {}).includes('"types"')) return true;
  return existsSync(join(dir, 'index.d.ts'));
}

t.test('every package the shipped declarations import is a dependency with types a consumer gets', async (t) => {
  const files = declarations(join(root, 'dist'));
  t.ok(files.length > 10, `${files.length} declaration files (npm test builds dist first)`);
  const imported = new Map<string, string>();
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\()\s*'([^'.][^']*)'/g)) {
      const specifier = m[1]!;
      if (specifier.startsWith('node:')) continue; // Node's own: @types/node, which @types/better-sqlite3 brings
      imported.set(packageOf(specifier), file.slice(root.length));
    }
  }
  t.ok(imported.has('better-sqlite3'), 'the store\'s declarations import better-sqlite3 (the case this checks)');
  for (const [name, file] of imported) {
    t.ok(installed[name] !== undefined, `${name} (imported by ${file}) is a dependency`);
    const typesPackage = `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`;
    t.ok(typesOwnDeclarations(name) || installed[typesPackage] !== undefined, `${name}'s types reach a consumer (its own, or ${typesPackage} as a dependency)`);
  }
});
