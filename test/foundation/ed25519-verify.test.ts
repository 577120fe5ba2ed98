// The test helper that checks Ed25519ph signatures (helpers/ed25519-verify.ts) is itself checked
// here, against RFC 8032's test vectors and against Node's own Ed25519, so that a signature it
// accepts elsewhere means something.
import { generateKeyPairSync, randomBytes, sign as nodeSign } from 'node:crypto';

import t from 'tap';

import { ed25519RawPublicKey, ed25519Verify } from '../helpers/ed25519-verify.js';

const hex = (s: string) => Buffer.from(s, 'hex');

// RFC 8032 §7.1, TEST 1 (pure Ed25519, empty message) and §7.3 (Ed25519ph, message "abc").
const pure = {
  publicKey: hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'),
  message: Buffer.alloc(0),
  signature: hex('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'),
};
const ph = {
  publicKey: hex('ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf'),
  message: Buffer.from('abc'),
  signature: hex('98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406'),
};

const flipped = (b: Buffer, i: number): Buffer => {
  const c = Buffer.from(b);
  c[i] = (c[i] ?? 0) ^ 1;
  return c;
};

t.test("RFC 8032's vectors verify, in their own mode only", async (t) => {
  t.ok(ed25519Verify(pure.publicKey, pure.message, pure.signature), 'Ed25519 TEST 1');
  t.ok(ed25519Verify(ph.publicKey, ph.message, ph.signature, { prehash: true }), 'Ed25519ph TEST abc');
  t.notOk(ed25519Verify(ph.publicKey, ph.message, ph.signature), 'the Ed25519ph signature is not a pure one');
  t.notOk(ed25519Verify(pure.publicKey, pure.message, pure.signature, { prehash: true }), 'the pure signature is not an Ed25519ph one');
  t.notOk(ed25519Verify(ph.publicKey, Buffer.from('abd'), ph.signature, { prehash: true }), 'another message');
  t.notOk(ed25519Verify(ph.publicKey, ph.message, flipped(ph.signature, 0), { prehash: true }), 'a changed R');
  t.notOk(ed25519Verify(ph.publicKey, ph.message, flipped(ph.signature, 40), { prehash: true }), 'a changed S');
  t.notOk(ed25519Verify(flipped(ph.publicKey, 3), ph.message, ph.signature, { prehash: true }), 'another public key');
  t.notOk(ed25519Verify(ph.publicKey, ph.message, ph.signature.subarray(0, 63), { prehash: true }), 'a short signature');
});

t.test("it agrees with Node's Ed25519 on random keys and messages", async (t) => {
  for (let i = 0; i < 8; i++) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = ed25519RawPublicKey(publicKey.export({ format: 'der', type: 'spki' }));
    const message = randomBytes(i * 37);
    const signature = nodeSign(null, message, privateKey);
    t.ok(ed25519Verify(raw, message, signature), `Node's signature ${i} verifies`);
    t.notOk(ed25519Verify(raw, Buffer.concat([message, Buffer.from([0])]), signature), `not over another message (${i})`);
    t.notOk(ed25519Verify(raw, message, flipped(signature, i * 8)), `not with a changed signature (${i})`);
  }
});
