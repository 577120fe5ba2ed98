// The per-turn budget of work on the calling thread (src/operations/inline-budget.ts), driven
// directly: its counters are the process's, so a miscount sends every later signature to the
// pool for good.
import t from 'tap';

import { budgetedSign } from '../../src/operations/inline-budget.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function busyFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

t.test('a signature whose start throws at once leaves later ones free to run inline', async (t) => {
  await nextTurn();
  // A costly inline signature still unsettled: the next one belongs to another caller (pool).
  let release!: () => void;
  const first = budgetedSign((allowInline) => {
    t.equal(allowInline, true, 'the first, alone, may run inline');
    busyFor(1);
    return new Promise<void>((resolve) => (release = resolve));
  });
  let secondAllowed: boolean | undefined;
  t.throws(
    () =>
      budgetedSign((allowInline) => {
        secondAllowed = allowInline;
        throw new Error('the key material is gone');
      }),
    /material is gone/,
  );
  t.equal(secondAllowed, false, 'the second, beside an unsettled costly one, was sent to the pool');
  release();
  await first;
  await nextTurn();
  let thirdAllowed: boolean | undefined;
  await budgetedSign(async (allowInline) => {
    thirdAllowed = allowInline;
  });
  t.equal(thirdAllowed, true, 'nothing of ours in flight: the next one may run inline again');
});

t.test('a costly signature done inline returns its value and holds off others until its caller resumes', async (t) => {
  await nextTurn();
  const first = budgetedSign((allowInline) => {
    t.equal(allowInline, true, 'the first, alone, may run inline');
    busyFor(1);
    return 'signature';
  });
  t.equal(first, 'signature', 'done inline: the value itself, no promise');
  // Started in the same synchronous run: another caller's, sent to the pool.
  let secondAllowed: boolean | undefined;
  await budgetedSign(async (allowInline) => {
    secondAllowed = allowInline;
  });
  t.equal(secondAllowed, false, 'the second, beside the costly one, was sent to the pool');
  await nextTurn();
  let thirdAllowed: boolean | undefined;
  await budgetedSign(async (allowInline) => {
    thirdAllowed = allowInline;
  });
  t.equal(thirdAllowed, true, 'once both settled, the next one may run inline again');
});
