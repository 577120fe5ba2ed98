// Small AES/HMAC work on a cached software key settles its promise at once (it runs on the
// calling thread); a loop of awaited calls must still give the event loop its turns, so timers,
// I/O and the audit trail's writes are not held up until the loop ends.
import { statSync } from 'node:fs';

import t, { type Test } from 'tap';

import type { Kms } from '../../src/index.js';
import { software } from '../helpers/backends.js';
import { eachBackend } from '../helpers/kms-fixture.js';

/**
 * For what only software keys do: a token's keys sign on its threads, or inline once the token
 * has proved fast, which test/pkcs11/inline-sign.test.ts measures.
 */
function onSoftware(name: string, body: (t: Test, kms: Kms) => Promise<void>): void {
  t.test(`${name} [software]`, async (tt) => {
    const kms = await software.open();
    tt.teardown(() => kms.close());
    await body(tt as unknown as Test, kms);
  });
}

/** Counts the event loop's turns (a setImmediate chain) until stop() returns the count. */
function countTurns(): { stop(): number } {
  let turns = 0;
  let stopped = false;
  const spin = () => {
    turns++;
    if (!stopped) setImmediate(spin);
  };
  setImmediate(spin);
  return {
    stop() {
      stopped = true;
      return turns;
    },
  };
}

eachBackend('a loop of awaited Encrypt and GenerateMac calls lets the event loop turn', async (t, kms) => {
  const { KeyMetadata } = await kms.createKey({});
  const keyId = KeyMetadata!.KeyId!;
  const { KeyMetadata: hmac } = await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
  await kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('warm the key cache') });
  await kms.generateMac({ KeyId: hmac!.KeyId!, MacAlgorithm: 'HMAC_SHA_256', Message: Buffer.from('warm') });

  const turns = countTurns();
  const calls = 2000;
  for (let i = 0; i < calls; i++) {
    if (i % 2 === 0) await kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from(`message ${i}`) });
    else await kms.generateMac({ KeyId: hmac!.KeyId!, MacAlgorithm: 'HMAC_SHA_256', Message: Buffer.from(`message ${i}`) });
  }
  const turned = turns.stop();
  // At most 64 inline calls per turn (src/operations/inline-budget.ts): 2,000 calls give the
  // loop at least 30 turns; a loop that never yielded would give it none.
  t.ok(turned >= Math.floor(calls / 65), `the event loop turned ${turned} times during ${calls} awaited calls`);
});

eachBackend('a loop of awaited metadata reads and failed calls lets the event loop turn, and the trail is written meanwhile', async (t, kms) => {
  // They settle at once (no native work): without a turn, the audit lines of such a loop piled
  // up in memory unwritten (a million calls: about 1 GB) and timers never fired.
  const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const missing = '00000000-0000-4000-8000-000000000000';
  const turns = countTurns();
  const calls = 6000;
  for (let i = 0; i < calls; i++) {
    if (i % 3 === 0) await kms.describeKey({ KeyId: keyId });
    else if (i % 3 === 1) await kms.describeKey({ KeyId: missing }).catch(() => undefined);
    else await kms.encrypt({ KeyId: keyId, Plaintext: new Uint8Array(0) }).catch(() => undefined);
  }
  const turned = turns.stop();
  // At most 1,024 calls settled at once per turn (src/operations/inline-budget.ts).
  t.ok(turned >= Math.floor(calls / 1025), `the event loop turned ${turned} times during ${calls} awaited calls`);
  // Lines are written once 256 KiB wait (src/audit/log.ts): most of the loop's are on disk already.
  const written = statSync(kms.config.audit!.path).size;
  t.ok(written > 1024 * 1024, `${written} bytes of the trail written before the loop's end`);
});

eachBackend('a loop of awaited P-256, Ed25519 and RSA-2048 Sign/Verify calls lets the event loop turn', async (t, kms, backend) => {
  const p256 = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const ed = (await kms.createKey({ KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const rsa = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const digest = Buffer.alloc(32, 7);
  const sig = await kms.sign({ KeyId: p256, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' });
  const rsaSig = await kms.sign({ KeyId: rsa, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PSS_SHA_256' });
  await kms.sign({ KeyId: ed, Message: digest, MessageType: 'RAW', SigningAlgorithm: 'ED25519_SHA_512' });

  const turns = countTurns();
  const calls = 1500;
  for (let i = 0; i < calls; i++) {
    if (i % 5 === 0) await kms.sign({ KeyId: p256, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' });
    else if (i % 5 === 1) await kms.verify({ KeyId: p256, Message: digest, MessageType: 'DIGEST', Signature: sig.Signature!, SigningAlgorithm: 'ECDSA_SHA_256' });
    else if (i % 5 === 2) await kms.sign({ KeyId: ed, Message: digest, MessageType: 'RAW', SigningAlgorithm: 'ED25519_SHA_512' });
    else if (i % 5 === 3) await kms.verify({ KeyId: rsa, Message: digest, MessageType: 'DIGEST', Signature: rsaSig.Signature!, SigningAlgorithm: 'RSASSA_PSS_SHA_256' });
    else await kms.sign({ KeyId: rsa, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PSS_SHA_256' });
  }
  const turned = turns.stop();
  // At most 32 inline signatures per turn (src/operations/inline-budget.ts).
  t.ok(turned >= Math.floor(calls / 33), `the event loop turned ${turned} times during ${calls} awaited calls`);
  if (backend.name === 'software') {
    // And they did run inline: a call on the thread pool takes at least one turn to settle, and
    // the RSA-2048 signatures and RSA verifications alone are 600 of these calls (with the 900
    // others' turns, over 620). Inline, the 1 ms signing budget per turn gives about 100 turns on
    // an idle machine and 322 was the most seen under heavy load (a signature that slows to 1 ms
    // takes a turn of its own), so the bound sits between the two.
    t.ok(turned < 600, `software keys: ${turned} turns, so the calls did not go through the thread pool`);
  }
});

/**
 * Whether `call` settled within the microtasks that follow it: work done inline does; work handed
 * to a thread comes back only through the event loop's poll phase, which cannot run while this
 * loop of microtasks goes on, however fast the thread is.
 */
async function settlesWithinTheTurn(call: () => Promise<unknown>): Promise<boolean> {
  // Two turns first: this turn's inline budget (inline-budget.ts) renewed, nothing of ours in flight.
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  let settled = false;
  const done = call().then(() => void (settled = true));
  for (let i = 0; i < 100 && !settled; i++) await undefined;
  const inline = settled;
  await done;
  return inline;
}

onSoftware('software keys of every curve sign and verify on the calling thread, one call at a time', async (t, kms) => {
  const cases = [
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 32],
    ['ECC_NIST_P384', 'ECDSA_SHA_384', 48],
    ['ECC_NIST_P521', 'ECDSA_SHA_512', 64],
    ['ECC_SECG_P256K1', 'ECDSA_SHA_256', 32],
  ] as const;
  for (const [spec, alg, digestBytes] of cases) {
    const keyId = (await kms.createKey({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
    const input = { KeyId: keyId, Message: Buffer.alloc(digestBytes, 1), MessageType: 'DIGEST', SigningAlgorithm: alg } as const;
    const { Signature } = await kms.sign(input); // the first use unwraps the key, on the pool
    t.ok(await settlesWithinTheTurn(() => kms.sign(input)), `${spec}: Sign ran inline`);
    t.ok(await settlesWithinTheTurn(() => kms.verify({ ...input, Signature: Signature! })), `${spec}: Verify ran inline`);
  }
  // RSA-4096 signatures (several ms) stay on the pool: the check can tell the two apart.
  const rsa = (await kms.createKey({ KeySpec: 'RSA_4096', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const rsaInput = { KeyId: rsa, Message: Buffer.alloc(32, 1), MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PSS_SHA_256' } as const;
  await kms.sign(rsaInput);
  t.notOk(await settlesWithinTheTurn(() => kms.sign(rsaInput)), 'RSA_4096: Sign went to the pool');
});

onSoftware('software RSA keys encrypt inline, RSA-2048 decrypts inline, ECDH runs inline', async (t, kms) => {
  for (const [spec, decryptsInline] of [['RSA_2048', true], ['RSA_4096', false]] as const) {
    const keyId = (await kms.createKey({ KeySpec: spec, KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!.KeyId!;
    const input = { KeyId: keyId, Plaintext: Buffer.from('data key'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' } as const;
    const { CiphertextBlob } = await kms.encrypt(input); // the first use unwraps the key, on the pool
    t.ok(await settlesWithinTheTurn(() => kms.encrypt(input)), `${spec}: Encrypt (the public key) ran inline`);
    const decrypt = () => kms.decrypt({ KeyId: keyId, CiphertextBlob: CiphertextBlob!, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
    t.equal(await settlesWithinTheTurn(decrypt), decryptsInline, `${spec}: Decrypt ${decryptsInline ? 'ran inline' : 'went to the pool'}`);
    t.same(Buffer.from((await decrypt()).Plaintext!), Buffer.from('data key'));
  }
  const ecdh = (await kms.createKey({ KeySpec: 'ECC_NIST_P384', KeyUsage: 'KEY_AGREEMENT' })).KeyMetadata!.KeyId!;
  const peer = (await kms.createKey({ KeySpec: 'ECC_NIST_P384', KeyUsage: 'KEY_AGREEMENT' })).KeyMetadata!.KeyId!;
  const peerKey = (await kms.getPublicKey({ KeyId: peer })).PublicKey!;
  const derive = () => kms.deriveSharedSecret({ KeyId: ecdh, KeyAgreementAlgorithm: 'ECDH', PublicKey: peerKey });
  const first = await derive();
  t.ok(await settlesWithinTheTurn(derive), 'ECC_NIST_P384: DeriveSharedSecret ran inline');
  t.same(Buffer.from((await derive()).SharedSecret!), Buffer.from(first.SharedSecret!), 'the same secret each time');
});
