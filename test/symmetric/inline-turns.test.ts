// Small AES/HMAC work on a cached software key settles its promise at once (it runs on the
// calling thread); a loop of awaited calls must still give the event loop its turns, so timers,
// I/O and the audit trail's writes are not held up until the loop ends.
import { eachBackend } from '../helpers/kms-fixture.js';

eachBackend('a loop of awaited Encrypt and GenerateMac calls lets the event loop turn', async (t, kms) => {
  const { KeyMetadata } = await kms.createKey({});
  const keyId = KeyMetadata!.KeyId!;
  const { KeyMetadata: hmac } = await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
  await kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('warm the key cache') });
  await kms.generateMac({ KeyId: hmac!.KeyId!, MacAlgorithm: 'HMAC_SHA_256', Message: Buffer.from('warm') });

  let turns = 0;
  let stop = false;
  const spin = () => {
    turns++;
    if (!stop) setImmediate(spin);
  };
  setImmediate(spin);
  const calls = 2000;
  for (let i = 0; i < calls; i++) {
    if (i % 2 === 0) await kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from(`message ${i}`) });
    else await kms.generateMac({ KeyId: hmac!.KeyId!, MacAlgorithm: 'HMAC_SHA_256', Message: Buffer.from(`message ${i}`) });
  }
  stop = true;
  // At most 64 inline calls per turn (src/operations/inline-budget.ts): 2,000 calls give the
  // loop at least 30 turns; a loop that never yielded would give it none.
  t.ok(turns >= Math.floor(calls / 65), `the event loop turned ${turns} times during ${calls} awaited calls`);
});
