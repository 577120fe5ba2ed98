// Every (spec, algorithm, message type) of asymmetric signing: signatures made through the
// public API are verified by Node's own crypto from GetPublicKey's output, and Verify accepts
// them and refuses a changed message or signature.
import { createHash, createPublicKey, constants, verify as nodeVerify } from 'node:crypto';

import type { KeySpec, SigningAlgorithmSpec } from '../../src/index.js';
import { native } from '../../src/index.js';
import { ed25519RawPublicKey, ed25519Verify } from '../helpers/ed25519-verify.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';

const cases: [KeySpec, SigningAlgorithmSpec[]][] = [
  ['RSA_2048', ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512', 'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512']],
  ['RSA_3072', ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PSS_SHA_512']],
  ['RSA_4096', ['RSASSA_PKCS1_V1_5_SHA_512', 'RSASSA_PSS_SHA_256']],
  ['ECC_NIST_P256', ['ECDSA_SHA_256']],
  ['ECC_NIST_P384', ['ECDSA_SHA_384']],
  ['ECC_NIST_P521', ['ECDSA_SHA_512']],
  ['ECC_SECG_P256K1', ['ECDSA_SHA_256']],
];

const hashOf = (alg: string) => `sha${alg.slice(-3)}`;

function nodeCheck(alg: SigningAlgorithmSpec, publicKeyDer: Uint8Array, message: Buffer, signature: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(publicKeyDer), format: 'der', type: 'spki' });
  if (alg.startsWith('RSASSA_PSS')) {
    const hash = hashOf(alg);
    return nodeVerify(hash, message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: createHash(hash).digest().length }, signature);
  }
  if (alg.startsWith('ED25519')) return nodeVerify(null, message, key, signature);
  return nodeVerify(hashOf(alg), message, key, signature);
}

eachBackend('sign and verify every spec and algorithm', async (t, kms) => {
  const message = Buffer.from('the quick brown fox jumps over the lazy dog');
  for (const [spec, algs] of cases) {
    const { KeyMetadata } = await kms.createKey({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' });
    const keyId = KeyMetadata!.KeyId!;
    const { PublicKey } = await kms.getPublicKey({ KeyId: keyId });
    for (const alg of algs) {
      for (const type of ['RAW', 'DIGEST'] as const) {
        const input = type === 'RAW' ? message : createHash(hashOf(alg)).update(message).digest();
        const signed = await kms.sign({ KeyId: keyId, Message: input, MessageType: type, SigningAlgorithm: alg });
        t.equal(signed.KeyId, KeyMetadata!.Arn, `${spec} ${alg} ${type}: KeyId is the key ARN`);
        t.equal(signed.SigningAlgorithm, alg);
        t.ok(nodeCheck(alg, PublicKey!, message, signed.Signature!), `${spec} ${alg} ${type}: Node's crypto verifies it`);
        const verified = await kms.verify({ KeyId: keyId, Message: input, MessageType: type, Signature: signed.Signature!, SigningAlgorithm: alg });
        t.equal(verified.SignatureValid, true);
        const other = Buffer.from(input);
        other[0] = (other[0] ?? 0) ^ 1;
        await rejectsAws(t, kms.verify({ KeyId: keyId, Message: other, MessageType: type, Signature: signed.Signature!, SigningAlgorithm: alg }), 'KMSInvalidSignatureException', '');
      }
    }
  }
});

eachBackend('Ed25519 signs raw messages; ED25519_PH_SHA_512 as the OpenSSL in use allows, never on a token', async (t, kms, backend) => {
  const { KeyMetadata } = await kms.createKey({ KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' });
  t.same(KeyMetadata!.SigningAlgorithms, ['ED25519_SHA_512', 'ED25519_PH_SHA_512'], 'both algorithms listed, in AWS order');
  const keyId = KeyMetadata!.KeyId!;
  const { PublicKey } = await kms.getPublicKey({ KeyId: keyId });
  const message = Buffer.from('ed25519 message');
  const signed = await kms.sign({ KeyId: keyId, Message: message, SigningAlgorithm: 'ED25519_SHA_512' });
  t.ok(nodeCheck('ED25519_SHA_512', PublicKey!, message, signed.Signature!), "Node's crypto verifies the Ed25519 signature");
  const raw = ed25519RawPublicKey(PublicKey!);
  t.ok(ed25519Verify(raw, message, signed.Signature!), 'so does the RFC 8032 verifier of the tests');
  await rejectsAws(t, kms.sign({ KeyId: keyId, Message: message, MessageType: 'DIGEST', SigningAlgorithm: 'ED25519_SHA_512' }), 'ValidationException', 'Message type DIGEST is incompatible with algorithm ED25519_SHA_512.');
  await rejectsAws(t, kms.verify({ KeyId: keyId, Message: message, Signature: Buffer.alloc(64), SigningAlgorithm: 'ED25519_PH_SHA_512' }), 'ValidationException', 'Message type RAW is incompatible with algorithm ED25519_PH_SHA_512.');
  const digest = createHash('sha512').update(message).digest();
  const [major, minor] = native.opensslVersion().replace('OpenSSL ', '').split('.').map(Number) as [number, number];
  // Software keys sign Ed25519ph where OpenSSL does (3.2 and later: Debian 13, not 12). A token's
  // key never does: a token may ignore CKM_EDDSA's prehash flag and sign pure Ed25519 instead.
  if (backend.name === 'software' && (major > 3 || (major === 3 && minor >= 2))) {
    const ph = await kms.sign({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ED25519_PH_SHA_512' });
    // As AWS documents it, KMS still applies HashEdDSA's SHA-512 prehash to the digest it is
    // given: the signature is Ed25519ph's with the digest as the message M.
    t.ok(ed25519Verify(raw, digest, ph.Signature!, { prehash: true }), 'an independent RFC 8032 verifier accepts the Ed25519ph signature');
    t.notOk(ed25519Verify(raw, message, ph.Signature!, { prehash: true }), 'over the digest, hashed once more: not over the message itself');
    const ok = await kms.verify({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', Signature: ph.Signature!, SigningAlgorithm: 'ED25519_PH_SHA_512' });
    t.equal(ok.SignatureValid, true, 'Ed25519ph round trip');
  } else {
    await rejectsAws(t, kms.sign({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ED25519_PH_SHA_512' }), 'UnsupportedOperationException', /Ed25519ph/);
  }
});

eachBackend('Sign refuses what AWS refuses', async (t, kms) => {
  const ec = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  const rsa = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!;
  const msg = Buffer.from('m');
  await rejectsAws(t, kms.sign({ KeyId: ec.KeyId!, Message: Buffer.alloc(31), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }), 'ValidationException', 'Digest is invalid length for algorithm ECDSA_SHA_256.');
  await rejectsAws(t, kms.sign({ KeyId: rsa.KeyId!, Message: msg, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }), 'InvalidKeyUsageException', `${rsa.Arn} key usage is ENCRYPT_DECRYPT which is not valid for Sign.`);
  await rejectsAws(t, kms.sign({ KeyId: ec.KeyId!, Message: msg, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }), 'InvalidKeyUsageException', 'Algorithm RSASSA_PSS_SHA_256 is incompatible with key spec ECC_NIST_P256.');
  await rejectsAws(t, kms.sign({ KeyId: ec.KeyId!, Message: Buffer.alloc(0), SigningAlgorithm: 'ECDSA_SHA_256' }), 'ValidationException', "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length greater than or equal to 1");
  await rejectsAws(t, kms.sign({ KeyId: ec.KeyId!, Message: Buffer.alloc(4097), SigningAlgorithm: 'ECDSA_SHA_256' }), 'ValidationException', "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096");
  const max = await kms.sign({ KeyId: ec.KeyId!, Message: Buffer.alloc(4096, 7), SigningAlgorithm: 'ECDSA_SHA_256' });
  t.ok(max.Signature!.length > 0, 'a 4096-byte message signs');
  await rejectsAws(t, kms.sign({ KeyId: 'not-a-key', Message: msg, SigningAlgorithm: 'ECDSA_SHA_256' }), 'NotFoundException', "Invalid keyId 'not-a-key'");
  const missing = '11111111-2222-3333-4444-555555555555';
  await rejectsAws(t, kms.sign({ KeyId: missing, Message: msg, SigningAlgorithm: 'ECDSA_SHA_256' }), 'NotFoundException', `Key '${kms.arns.key(missing)}' does not exist`);
  await rejectsAws(t, kms.verify({ KeyId: ec.KeyId!, Message: msg, Signature: Buffer.from('garbage'), SigningAlgorithm: 'ECDSA_SHA_256' }), 'KMSInvalidSignatureException', '');
  await rejectsAws(t, kms.sign({ KeyId: ec.KeyId!, Message: msg, SigningAlgorithm: 'ECDSA_SHA_256', DryRun: true }), 'DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  // A dry run of Verify checks the signature: "would have succeeded" only for one that verifies.
  const good = (await kms.sign({ KeyId: ec.KeyId!, Message: msg, SigningAlgorithm: 'ECDSA_SHA_256' })).Signature!;
  await rejectsAws(t, kms.verify({ KeyId: ec.KeyId!, Message: msg, Signature: good, SigningAlgorithm: 'ECDSA_SHA_256', DryRun: true }), 'DryRunOperationException');
  await rejectsAws(t, kms.verify({ KeyId: ec.KeyId!, Message: msg, Signature: Buffer.from('garbage'), SigningAlgorithm: 'ECDSA_SHA_256', DryRun: true }), 'KMSInvalidSignatureException', '');
  // Keys are found by ARN as well as by id.
  const byArn = await kms.sign({ KeyId: ec.Arn!, Message: msg, SigningAlgorithm: 'ECDSA_SHA_256' });
  t.equal(byArn.KeyId, ec.Arn);

  // An RSA signature is exactly the modulus's length (RFC 8017 §8.1.2): one that begins with a
  // zero byte verifies whole and is refused without it (about 1 in 200 does).
  const rsaSigner = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  let signature = Buffer.alloc(0);
  for (let i = 0; i < 5_000 && signature[0] !== 0; i++)
    signature = Buffer.from((await kms.sign({ KeyId: rsaSigner.KeyId!, Message: msg, SigningAlgorithm: 'RSASSA_PSS_SHA_256' })).Signature!);
  t.equal(signature[0], 0, 'found a signature with a leading zero byte');
  const verifying = (sig: Uint8Array) => kms.verify({ KeyId: rsaSigner.KeyId!, Message: msg, Signature: sig, SigningAlgorithm: 'RSASSA_PSS_SHA_256' });
  t.equal((await verifying(signature)).SignatureValid, true);
  await rejectsAws(t, verifying(signature.subarray(1)), 'KMSInvalidSignatureException', '');
});

// A signature made inline is written into a slice of Node's buffer pool (operations/crypto/sign.ts):
// each must be its own message's, whole and nothing more, whether the calls run one after another
// (inline) or side by side (some on the pool), and whether it fits the slice (ECDSA) or not (RSA).
eachBackend('signatures made inline and on the pool each belong to their own call', async (t, kms) => {
  for (const [spec, alg] of [['ECC_NIST_P256', 'ECDSA_SHA_256'], ['ECC_NIST_P521', 'ECDSA_SHA_512'], ['RSA_2048', 'RSASSA_PSS_SHA_256']] as const) {
    const keyId = (await kms.createKey({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
    const { PublicKey } = await kms.getPublicKey({ KeyId: keyId });
    const messages = Array.from({ length: 48 }, (_, i) => Buffer.from(`${spec} message ${i}`));
    const sequential = [];
    for (const m of messages) sequential.push((await kms.sign({ KeyId: keyId, Message: m, SigningAlgorithm: alg })).Signature!);
    const parallel = await Promise.all(messages.map(async (m) => (await kms.sign({ KeyId: keyId, Message: m, SigningAlgorithm: alg })).Signature!));
    const bad = [...sequential, ...parallel].filter((sig, i) => !nodeCheck(alg, PublicKey!, messages[i % messages.length]!, sig));
    t.equal(bad.length, 0, `${spec}: each of ${2 * messages.length} signatures verifies against its own message`);
    const first = sequential[0]!;
    t.ok(Object.getPrototypeOf(first) === Uint8Array.prototype && first.length < 600, `${spec}: a plain Uint8Array of the signature's own length (${first.length})`);
  }
});
