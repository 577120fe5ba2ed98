// Several users of one key store see each other's changes at their very next call, even when
// that call comes in the same event-loop turn: the store's change check is shared by the calls
// of one turn and millisecond (store.ts changedElsewhere), and these are the ways that sharing
// could go stale. The Store-level test holds the clock still, so it takes the shortcut for
// certain; the Kms-level ones show the same through the public API (on a loaded machine a turn
// may pass between their calls, which only makes the check happen anyway).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import t from 'tap';

import { Kms } from '../../src/index.js';
import { Store } from '../../src/store/store.js';
import { tempHome } from '../helpers/backends.js';
import { rejectsAws } from '../helpers/kms-fixture.js';

t.test('Store.changedElsewhere: another Store of this process at once, another process after a millisecond', (t) => {
  const path = join(tempHome(), 'store.db');
  const mine = Store.open(path);
  const other = Store.open(path);
  const realNow = performance.now;
  let now = realNow.call(performance);
  performance.now = () => now; // the clock stands still: every call below is "within the millisecond"
  t.teardown(() => {
    performance.now = realNow;
    mine.close();
    other.close();
  });
  mine.changedElsewhere(); // the query of this turn
  t.equal(mine.changedElsewhere(), false, 'nothing changed');
  other.setMetaIfAbsent('coherence-1', Buffer.from('1'));
  t.equal(mine.changedElsewhere(), true, 'a write by another Store of this process is seen at once');
  t.equal(mine.changedElsewhere(), false, 'and only once');
  const child = `
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.prepare("INSERT INTO meta (name, value) VALUES ('coherence-2', x'02')").run();
    db.close();`;
  execFileSync(process.execPath, ['--input-type=module', '-e', child, path]);
  t.equal(mine.changedElsewhere(), false, 'another process: the query is shared within the turn and millisecond');
  now += 1.5;
  t.equal(mine.changedElsewhere(), true, 'seen once the millisecond is over (a blocking call that long)');
  t.end();
});

t.test('Store.changedElsewhere: a write announced by a message after the query is seen when the message arrives', async (t) => {
  // The query happens in one callback, another connection commits, and its message arrives as
  // the next I/O event: the shortcut ends with the callback that made the query (nextTick), not
  // at the next check phase, which comes after that I/O.
  const path = join(tempHome(), 'store.db');
  const mine = Store.open(path);
  const { default: Database } = await import('better-sqlite3');
  const elsewhere = new Database(path); // not a Store: as another process's connection
  const realNow = performance.now;
  const now = realNow.call(performance);
  performance.now = () => now;
  const { port1, port2 } = new MessageChannel();
  t.teardown(() => {
    performance.now = realNow;
    port1.close();
    port2.close();
    mine.close();
    elsewhere.close();
  });
  const seen = new Promise<boolean>((resolve) => port2.once('message', () => resolve(mine.changedElsewhere())));
  setImmediate(() => {
    mine.changedElsewhere();
    elsewhere.prepare("INSERT INTO meta (name, value) VALUES ('coherence-3', x'03')").run();
    port1.postMessage('committed');
  });
  t.equal(await seen, true, 'the write is seen by the call the message triggers');
});

const disableInChild = `
  const { Kms } = await import(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)});
  const kms = await Kms.open({ home: process.argv[1], audit: false });
  await kms.disableKey({ KeyId: process.argv[2] });
  await kms.close();
`;

async function p256Key(kms: Kms): Promise<string> {
  return (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
}

const signInput = (KeyId: string) => ({ KeyId, Message: randomBytes(32), MessageType: 'DIGEST' as const, SigningAlgorithm: 'ECDSA_SHA_256' as const });

t.test('two Kms on one folder in one process: a change by one is seen by the other in the same turn', async (t) => {
  const home = tempHome();
  // No audit trail: nothing in these calls waits for I/O, so every call below settles without
  // the event loop turning (P-256 signatures run inline on a cached key).
  const a = await Kms.open({ home, audit: false });
  const b = await Kms.open({ home, audit: false });
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const keyId = await p256Key(a);
  await b.sign(signInput(keyId)); // b caches the key and checks the store in this turn
  await b.sign(signInput(keyId));
  await a.disableKey({ KeyId: keyId });
  await rejectsAws(t, b.sign(signInput(keyId)), 'DisabledException');
  await a.enableKey({ KeyId: keyId });
  await b.sign(signInput(keyId));
});

t.test('a change made by a process run synchronously is seen by the next call in the same turn', async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home, audit: false });
  t.teardown(() => kms.close());
  const keyId = await p256Key(kms);
  await kms.sign(signInput(keyId));
  await kms.sign(signInput(keyId));
  execFileSync(process.execPath, ['--input-type=module', '-e', disableInChild, home, keyId]);
  await rejectsAws(t, kms.sign(signInput(keyId)), 'DisabledException');
});
