// Crash test on a SoftHSM2 token: the crash test of crash-run.ts with the children's keys on the
// token (EKMS_PKCS11_* in their environment), and after every kill the token's objects checked
// against the store: every material the store records has its object on the token, and every
// object the store made is named by a material, or noted as a creation in progress (an orphan
// the sweep destroys once its note is old), or waiting for its destruction. A kill between
// generating a key on the token and storing its record must leave a noted orphan, never an
// object nobody knows of, nor a record whose object is missing.
//
// One home at a time: SoftHSM2's file object store loses objects now and then when processes
// change objects at once (README, "Keys on a token"), which is the module's fault, not the kills'.
//
// Knobs: EKMS_CRASH_TOKEN_KILLS (default 30), EKMS_CRASH_SEED.
import t from 'tap';

import type { Kms } from '../../src/index.js';
import { softhsm } from '../helpers/softhsm.js';
import { backendOf } from '../pkcs11/helpers.js';
import { crashTest } from './crash-run.js';

const kills = Number(process.env.EKMS_CRASH_TOKEN_KILLS ?? 30);
t.setTimeout(900_000);
let mostObjects = 0;

/** The token's objects of this store against its records (see the top of this file). */
async function checkTokenObjects(kms: Kms, _home: string, problems: string[]): Promise<void> {
  const onToken = new Set(await backendOf(kms).listTokenRefs());
  mostObjects = Math.max(mostObjects, onToken.size);
  const db = kms.store.db;
  const recorded = new Set(db.prepare('SELECT token_ref FROM key_materials WHERE token_ref IS NOT NULL').pluck().all() as string[]);
  const noted = new Set(
    (db.prepare('SELECT key_id, material_id FROM token_creations').all() as { key_id: string; material_id: string }[]).map((n) => `${n.key_id}/${n.material_id}`),
  );
  const doomed = new Set(
    (db.prepare('SELECT material FROM token_destructions').pluck().all() as string[]).map((m) => (JSON.parse(m) as { tokenRef?: string }).tokenRef),
  );
  for (const ref of recorded) if (!onToken.has(ref)) problems.push(`a stored material's object is not on the token: ${ref}`);
  for (const ref of onToken)
    if (!recorded.has(ref) && !noted.has(ref) && !doomed.has(ref)) problems.push(`an object on the token that no record or note names: ${ref}`);
}

t.test(`${kills} SIGKILLs of processes with keys on a token lose nothing acknowledged and leave no unknown object`, async (t) => {
  await crashTest(t, {
    kills,
    parallel: 1,
    open: (home) => softhsm.open({ home }),
    childEnv: softhsm.env(),
    checkLife: checkTokenObjects,
  });
  t.ok(mostObjects > 0, `the children's keys were on the token (${mostObjects} objects at most)`);
});
