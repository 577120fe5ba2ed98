// Crash test on software keys: child processes change a store while this test SIGKILLs them at
// random moments; after each kill nothing acknowledged is lost and nothing is half-made
// (crash-run.ts says what is checked). Several homes are worked in parallel to reach the number
// of kills quickly.
//
// Knobs: EKMS_CRASH_KILLS (default 200), EKMS_CRASH_PARALLEL (default 4), EKMS_CRASH_SEED.
import t from 'tap';

import { Kms } from '../../src/index.js';
import { crashTest } from './crash-run.js';

const kills = Number(process.env.EKMS_CRASH_KILLS ?? 200);
const parallel = Number(process.env.EKMS_CRASH_PARALLEL ?? 4);
// Each kill costs a child's start-up, the reopen and the checks: about 60 s for 200 on an idle
// 2-core machine, but 126 s with a build beside it, and over the suites' 300 s in a Debian 13
// chroot on a machine at load 12. The number of kills is the point, so this file gets longer.
t.setTimeout(900_000);

t.test(`${kills} SIGKILLs at random moments lose nothing acknowledged`, (t) => crashTest(t, { kills, parallel, open: (home) => Kms.open({ home }) }));
