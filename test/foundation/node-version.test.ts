// The Node.js this suite runs on, and the two native modules under it. The package supports
// Node.js 20, 22 and 24 (DESIGN.md §2); scripts/test-node-versions.mjs runs a selection of the
// suites under 22 and 24 with EKMS_EXPECT_NODE_MAJOR set, and this file is in that selection, so a
// run that silently fell back to the machine's Node fails here instead of passing as the other.
import { createRequire } from 'node:module';

import Database from 'better-sqlite3';
import t from 'tap';

import { Kms, native } from '../../src/index.js';
import { tempHome } from '../helpers/backends.js';

const major = Number(process.versions.node.split('.')[0]);

t.test('the Node.js major is a supported one, and the one this run asked for', async (t) => {
  const engines = (createRequire(import.meta.url)('../../package.json') as { engines: { node: string } }).engines.node;
  const floor = Number(/^>=\s*(\d+)/.exec(engines)?.[1]);
  t.ok(major >= floor, `Node.js ${process.version} is within package.json's engines (${engines})`);
  const expected = process.env.EKMS_EXPECT_NODE_MAJOR;
  if (expected) t.equal(major, Number(expected), `running under Node.js ${expected} as asked (EKMS_EXPECT_NODE_MAJOR)`);
});

t.test('better-sqlite3 is the build for this Node, and works', async (t) => {
  // A build for another Node's ABI throws at `new Database` (ERR_DLOPEN_FAILED).
  const db = new Database(':memory:');
  try {
    db.exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('ok')");
    t.equal(db.prepare('SELECT v FROM t').pluck().get(), 'ok');
  } finally {
    db.close();
  }
});

t.test('our Node-API addon loads, and a key store opens and works under this Node', async (t) => {
  t.type(native, 'object');
  const kms = await Kms.open({ home: tempHome('ekms-node-version-') });
  try {
    const { KeyMetadata } = await kms.createKey({});
    const plaintext = Buffer.from(`under ${process.version}`);
    const { CiphertextBlob } = await kms.encrypt({ KeyId: KeyMetadata!.KeyId!, Plaintext: plaintext });
    const { Plaintext } = await kms.decrypt({ CiphertextBlob });
    t.same(Buffer.from(Plaintext!), plaintext);
  } finally {
    await kms.close();
  }
});
