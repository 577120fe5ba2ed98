// Loaded into every test process (package.json, tap.node-arg, after tap's own imports): the
// processes a test starts (the `ekms` command, fixture scripts, the crash suite's victims, `serve`
// workers) run without tap's process tracker.
//
// tap loads @tapjs/processinfo into each test process, and it hooks every spawn of that process
// (process-on-spawn) to put itself into the child's NODE_OPTIONS, even where the test gave the
// child an environment of its own. In each child it then starts a module-loader thread, turns
// source maps on and records every file loaded: about 0.6 s of CPU per Node process started,
// measured on these machines, where a child's own start-up costs 0.5 s. The suites start over a
// thousand such processes, and the record serves only tap's coverage and `--changed`, neither of
// which is used here (package.json: disable-coverage). The test processes themselves keep it.
import process from 'node:process';

const spawnHooks = globalThis[Symbol.for('process-on-spawn@*:singletonId')];
if (spawnHooks) {
  spawnHooks.listeners = [];
  spawnHooks.unwrap?.();
}

const options = process.env.NODE_OPTIONS;
if (options !== undefined) {
  const kept = options
    .split(/\s+/)
    .filter((o) => o && !o.includes('@tapjs/processinfo'))
    .join(' ');
  if (kept) process.env.NODE_OPTIONS = kept;
  else delete process.env.NODE_OPTIONS;
}
