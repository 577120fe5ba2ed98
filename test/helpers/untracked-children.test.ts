// The processes a test starts run without tap's process tracker (untracked-children.mjs), which
// would otherwise double each child's start-up CPU. A tap release that names its hooks
// differently would bring the cost back silently: these checks fail instead.
import { execFileSync } from 'node:child_process';

import t from 'tap';

const trackerKey = '@tapjs/processinfo.ProcessInfoNodeData';

/** What a child Node process reports of its NODE_OPTIONS and of tap's tracker. */
function childView(env?: NodeJS.ProcessEnv): { nodeOptions: string | null; tracked: boolean } {
  const script = `console.log(JSON.stringify({ nodeOptions: process.env.NODE_OPTIONS ?? null, tracked: Symbol.for(${JSON.stringify(trackerKey)}) in globalThis }))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', ...(env ? { env } : {}) }));
}

t.test('this test process is tracked by tap, so the checks below are not vacuous', async (t) => {
  t.ok(Symbol.for(trackerKey) in globalThis, "tap's process tracker runs in the test process");
  t.ok(process.execArgv.some((a) => a.includes('@tapjs/processinfo')), 'tap loaded it with --import');
});

t.test('a child with the inherited environment runs untracked', async (t) => {
  const view = childView();
  t.equal(view.tracked, false, 'no tracker in the child');
  t.notMatch(view.nodeOptions ?? '', /processinfo/, 'nothing of it in NODE_OPTIONS');
});

t.test('a child with an environment of its own runs untracked', async (t) => {
  const view = childView({ ...process.env, EKMS_SOME_SETTING: '1' });
  t.equal(view.tracked, false);
  t.notMatch(view.nodeOptions ?? '', /processinfo/);
});

t.test("a child's own NODE_OPTIONS reach it unchanged", async (t) => {
  const view = childView({ ...process.env, NODE_OPTIONS: '--max-old-space-size=200' });
  t.equal(view.nodeOptions, '--max-old-space-size=200');
  t.equal(view.tracked, false);
});
