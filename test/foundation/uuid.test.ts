// The ids of requests and audit events (src/uuid.ts): version 4 UUIDs in their canonical text,
// random across batches of drawn bytes.
import t from 'tap';

import { uuid } from '../../src/uuid.js';

t.test('ids are version 4 UUIDs, lower-case, distinct across many batches', async (t) => {
  const seen = new Set<string>();
  const n = 10_000; // about 40 draws of random bytes
  let wrong = 0;
  for (let i = 0; i < n; i++) {
    const id = uuid();
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)) wrong++;
    seen.add(id);
  }
  t.equal(wrong, 0, 'every id has the version 4 form and the RFC 9562 variant');
  t.equal(seen.size, n, 'no id repeats');
  // Each hex digit outside the fixed ones is random: over 10,000 ids every position takes all 16 values.
  const positions = [...uuid()].map((c, i) => i).filter((i) => ![8, 13, 14, 18, 19, 23].includes(i));
  const ids = [...seen];
  const narrow = positions.filter((i) => new Set(ids.map((id) => id[i])).size !== 16);
  t.same(narrow, [], 'every random position takes all 16 hex digits');
  t.not(uuid(), uuid(), 'two calls differ');
});
