// RSA-OAEP and ECDH, checked against Node's crypto: ciphertexts made outside with the public key
// decrypt inside (the private key never leaves, so our own ciphertexts are checked by round
// trip); shared secrets equal Node's ECDH computed with the peer's private key.
import { createECDH, createPublicKey, diffieHellman, generateKeyPairSync, publicEncrypt, constants } from 'node:crypto';

import type { KeySpec } from '../../src/index.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';

const rsaSpecs: [KeySpec, number][] = [['RSA_2048', 256], ['RSA_3072', 384], ['RSA_4096', 512]];

eachBackend('RSA-OAEP: ciphertexts made by Node decrypt; AWS size limits', async (t, kms) => {
  for (const [spec, bytes] of rsaSpecs) {
    const meta = (await kms.createKey({ KeySpec: spec, KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!;
    t.same(meta.EncryptionAlgorithms, ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']);
    const pub = createPublicKey({ key: Buffer.from((await kms.getPublicKey({ KeyId: meta.KeyId! })).PublicKey!), format: 'der', type: 'spki' });
    for (const [alg, hash, hlen] of [['RSAES_OAEP_SHA_1', 'sha1', 20], ['RSAES_OAEP_SHA_256', 'sha256', 32]] as const) {
      const limit = bytes - 2 * hlen - 2;
      const plaintext = Buffer.alloc(limit, 0x5a);
      const ct = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, plaintext);
      const out = await kms.decrypt({ KeyId: meta.KeyId!, CiphertextBlob: ct, EncryptionAlgorithm: alg });
      t.ok(Buffer.from(out.Plaintext!).equals(plaintext), `${spec} ${alg}: Node's ciphertext decrypts`);
      t.equal(out.KeyId, meta.Arn);
      const own = await kms.encrypt({ KeyId: meta.KeyId!, Plaintext: plaintext, EncryptionAlgorithm: alg });
      t.equal(own.CiphertextBlob!.length, bytes);
      const back = await kms.decrypt({ KeyId: meta.KeyId!, CiphertextBlob: own.CiphertextBlob!, EncryptionAlgorithm: alg });
      t.ok(Buffer.from(back.Plaintext!).equals(plaintext), `${spec} ${alg}: round trip`);
      await rejectsAws(
        t,
        kms.encrypt({ KeyId: meta.KeyId!, Plaintext: Buffer.alloc(limit + 1), EncryptionAlgorithm: alg }),
        'ValidationException',
        `Algorithm ${alg} and key spec ${spec} cannot encrypt data larger than ${limit} bytes.`,
      );
      const bad = Buffer.from(ct);
      bad[5] = (bad[5] ?? 0) ^ 1;
      await rejectsAws(t, kms.decrypt({ KeyId: meta.KeyId!, CiphertextBlob: bad, EncryptionAlgorithm: alg }), 'InvalidCiphertextException', '');
    }
  }
});

eachBackend('RSA encryption refuses what AWS refuses', async (t, kms) => {
  const enc = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!;
  const sig = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  await rejectsAws(t, kms.encrypt({ KeyId: sig.KeyId!, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }), 'InvalidKeyUsageException', `${sig.Arn} key usage is SIGN_VERIFY which is not valid for Encrypt.`);
  await rejectsAws(t, kms.encrypt({ KeyId: enc.KeyId!, Plaintext: Buffer.from('x') }), 'InvalidKeyUsageException', 'Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.');
  // Decrypt reads a blob without EncryptionAlgorithm as a symmetric ciphertext: an RSA one is
  // not, whatever key KeyId names (AWS: aws-sdk-js-v3#2600). The key's usage is checked first.
  const rsaBlob = (await kms.encrypt({ KeyId: enc.KeyId!, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).CiphertextBlob!;
  await rejectsAws(t, kms.decrypt({ KeyId: enc.KeyId!, CiphertextBlob: rsaBlob }), 'InvalidCiphertextException', '');
  await rejectsAws(t, kms.decrypt({ KeyId: enc.KeyId!, CiphertextBlob: rsaBlob, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }), 'InvalidCiphertextException', '');
  await rejectsAws(t, kms.reEncrypt({ SourceKeyId: enc.KeyId!, CiphertextBlob: rsaBlob, DestinationKeyId: enc.KeyId!, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }), 'InvalidCiphertextException', '');
  await rejectsAws(t, kms.decrypt({ KeyId: sig.KeyId!, CiphertextBlob: rsaBlob }), 'InvalidKeyUsageException', `${sig.Arn} key usage is SIGN_VERIFY which is not valid for Decrypt.`);

  // An RSA ciphertext is exactly the modulus's length (RFC 8017 §7.1.2): one of Node's that begins
  // with a zero byte decrypts whole and is refused without that byte (about 1 in 200 does).
  const pub = createPublicKey({ key: Buffer.from((await kms.getPublicKey({ KeyId: enc.KeyId! })).PublicKey!), format: 'der', type: 'spki' });
  const plaintext = Buffer.from('leading zero');
  let ct = Buffer.alloc(0);
  for (let i = 0; i < 20_000 && ct[0] !== 0; i++) ct = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, plaintext);
  t.equal(ct[0], 0, 'found a ciphertext with a leading zero byte');
  t.ok(Buffer.from((await kms.decrypt({ KeyId: enc.KeyId!, CiphertextBlob: ct, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).Plaintext!).equals(plaintext));
  await rejectsAws(t, kms.decrypt({ KeyId: enc.KeyId!, CiphertextBlob: ct.subarray(1), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }), 'InvalidCiphertextException', '');
});

const curves: [KeySpec, string, number][] = [['ECC_NIST_P256', 'prime256v1', 32], ['ECC_NIST_P384', 'secp384r1', 48], ['ECC_NIST_P521', 'secp521r1', 66]];

eachBackend('DeriveSharedSecret equals Node\'s ECDH with the peer\'s private key', async (t, kms) => {
  for (const [spec, curve, size] of curves) {
    const meta = (await kms.createKey({ KeySpec: spec, KeyUsage: 'KEY_AGREEMENT' })).KeyMetadata!;
    t.same(meta.KeyAgreementAlgorithms, ['ECDH']);
    const kmsPublic = createPublicKey({ key: Buffer.from((await kms.getPublicKey({ KeyId: meta.KeyId! })).PublicKey!), format: 'der', type: 'spki' });
    const peer = generateKeyPairSync('ec', { namedCurve: curve });
    const peerSpki = peer.publicKey.export({ format: 'der', type: 'spki' });
    const out = await kms.deriveSharedSecret({ KeyId: meta.KeyId!, KeyAgreementAlgorithm: 'ECDH', PublicKey: peerSpki });
    const expected = diffieHellman({ privateKey: peer.privateKey, publicKey: kmsPublic });
    t.equal(out.SharedSecret!.length, size);
    t.ok(Buffer.from(out.SharedSecret!).equals(expected), `${spec}: shared secret equals Node's`);
    t.equal(out.KeyOrigin, meta.Origin);
    t.equal(out.KeyAgreementAlgorithm, 'ECDH');
    // The same with createECDH's raw computation, a second independent implementation path.
    const ecdh = createECDH(curve);
    ecdh.setPrivateKey(Buffer.from(peer.privateKey.export({ format: 'jwk' }).d!, 'base64url'));
    const raw = kmsPublic.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(raw.x!, 'base64url'), Buffer.from(raw.y!, 'base64url')]);
    t.ok(ecdh.computeSecret(point).equals(expected));
  }
});

eachBackend('DeriveSharedSecret refuses what AWS refuses', async (t, kms) => {
  const agree = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' })).KeyMetadata!;
  const signing = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'der', type: 'spki' });
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
  await rejectsAws(t, kms.deriveSharedSecret({ KeyId: signing.KeyId!, KeyAgreementAlgorithm: 'ECDH', PublicKey: p256 }), 'InvalidKeyUsageException', `${signing.Arn} key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret.`);
  await rejectsAws(t, kms.deriveSharedSecret({ KeyId: agree.KeyId!, KeyAgreementAlgorithm: 'ECDH', PublicKey: p384 }), 'ValidationException', '');
  await rejectsAws(t, kms.deriveSharedSecret({ KeyId: agree.KeyId!, KeyAgreementAlgorithm: 'ECDH', PublicKey: Buffer.from('not a key') }), 'ValidationException', '');
  // A dry run derives too: an unusable public key fails it as it fails the call; a good one "would have succeeded".
  await rejectsAws(t, kms.deriveSharedSecret({ KeyId: agree.KeyId!, KeyAgreementAlgorithm: 'ECDH', PublicKey: p384, DryRun: true }), 'ValidationException', '');
  await rejectsAws(t, kms.deriveSharedSecret({ KeyId: agree.KeyId!, KeyAgreementAlgorithm: 'ECDH', PublicKey: p256, DryRun: true }), 'DryRunOperationException');
  // P-256's algorithm identifier with the point at infinity (a lone 0x00), which DER decoders
  // take and a token's C_DeriveKey fails on; and a point off the curve (y changed).
  const algorithmId = p256.subarray(2, 2 + 2 + (p256[3] as number));
  const infinity = Buffer.concat([Buffer.from([0x30, algorithmId.length + 4]), algorithmId, Buffer.from([0x03, 0x02, 0x00, 0x00])]);
  const offCurve = Buffer.from(p256);
  offCurve[offCurve.length - 1] = (offCurve[offCurve.length - 1] as number) ^ 1;
  // A valid P-256 point whose SPKI spells the curve out as explicit parameters (RFC 5480 allows
  // only the curve's name).
  const explicit = generateKeyPairSync('ec', { namedCurve: 'prime256v1', paramEncoding: 'explicit' }).publicKey.export({ format: 'der', type: 'spki' });
  for (const key of [infinity, offCurve, explicit])
    await rejectsAws(t, kms.deriveSharedSecret({ KeyId: agree.KeyId!, KeyAgreementAlgorithm: 'ECDH', PublicKey: key }), 'ValidationException', '');
  await rejectsAws(t, kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'KEY_AGREEMENT' }), 'ValidationException', 'KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048');
  await rejectsAws(
    t,
    kms.deriveSharedSecret({ KeyId: agree.KeyId!, KeyAgreementAlgorithm: 'NOPE' as 'ECDH', PublicKey: p256 }),
    'ValidationException',
    "1 validation error detected: Value 'NOPE' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]",
  );
});
