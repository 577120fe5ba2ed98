// What the package exports gives no way to key material. The addon holds the root key
// primitives of the store commands (rotate, escrow, restore); exported as they were (`native`,
// the whole addon), a RootRewrapper given a destination root key file that JavaScript wrote
// re-wrapped any stored key under a key JavaScript knew: every software key, read in the clear.
import t from 'tap';

import * as pkg from '../../src/index.js';
import { addon } from '../../src/native/addon.js';

t.test('native is the build\'s facts only: no engine, no root key primitives', async (t) => {
  t.same(Object.keys(pkg.native).sort(), ['envSettings', 'mlDsa', 'opensslVersion', 'parseCiphertext', 'secureHeap']);
  t.ok(Object.isFrozen(pkg.native), 'and cannot be given more');
  t.ok('durability' in addon && 'Engine' in addon, 'the addon itself has them (the store commands use them)');
  t.type(pkg.native.opensslVersion(), 'string');
});

t.test('no export reaches the addon\'s engine or root key primitives', async (t) => {
  // Everything an export holds, two levels down (its own members, and theirs).
  const reached = new Set<unknown>();
  const visit = (value: unknown, depth: number): void => {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function') || reached.has(value)) return;
    reached.add(value);
    if (depth === 0) return;
    for (const name of Object.getOwnPropertyNames(value)) {
      const d = Object.getOwnPropertyDescriptor(value, name);
      if (d && 'value' in d) visit(d.value, depth - 1);
    }
  };
  for (const value of Object.values(pkg)) visit(value, 2);
  const primitives = addon as unknown as { durability: Record<string, unknown>; Engine: unknown };
  t.notOk(reached.has(addon), 'not the addon');
  t.notOk(reached.has(primitives.durability), 'not its root key primitives');
  for (const [name, fn] of Object.entries(primitives.durability)) t.notOk(reached.has(fn), `not durability.${name}`);
  t.notOk(reached.has(primitives.Engine), 'not the Engine constructor');
});
