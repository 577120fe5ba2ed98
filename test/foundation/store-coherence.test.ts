// Several users of one key store see each other's changes at their very next call, even when
// that call comes in the same event-loop turn: the store's change check is shared by the calls
// of one turn (store.ts changedElsewhere), and these are the ways that sharing could go stale.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import t from 'tap';

import { Kms } from '../../src/index.js';
import { tempHome } from '../helpers/backends.js';
import { rejectsAws } from '../helpers/kms-fixture.js';

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
  let turned = false;
  setImmediate(() => (turned = true));
  await b.sign(signInput(keyId));
  await a.disableKey({ KeyId: keyId });
  await rejectsAws(t, b.sign(signInput(keyId)), 'DisabledException');
  await a.enableKey({ KeyId: keyId });
  await b.sign(signInput(keyId));
  t.equal(turned, false, 'all of it ran within one event-loop turn (else this test shows nothing)');
});

t.test('a change made by a process run synchronously is seen by the next call in the same turn', async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home, audit: false });
  t.teardown(() => kms.close());
  const keyId = await p256Key(kms);
  await kms.sign(signInput(keyId));
  let turned = false;
  setImmediate(() => (turned = true));
  await kms.sign(signInput(keyId));
  execFileSync(process.execPath, ['--input-type=module', '-e', disableInChild, home, keyId]);
  await rejectsAws(t, kms.sign(signInput(keyId)), 'DisabledException');
  t.equal(turned, false, 'the child ran within the same event-loop turn as the calls around it');
});
