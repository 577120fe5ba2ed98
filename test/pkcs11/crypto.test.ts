// Results of token keys checked by Node's crypto: signatures verified from GetPublicKey's key,
// RSA-OAEP ciphertexts made by Node decrypted on the token (SHA-1 by the token's OAEP, SHA-256
// by raw RSA and our OAEP decoding), every tampering one empty InvalidCiphertextException,
// ECDH secrets equal to Node's, SYMMETRIC_DEFAULT and HMAC on the token, random bytes from it.
import { constants, createECDH, createHash, createPublicKey, diffieHellman, generateKeyPairSync, publicEncrypt, verify } from 'node:crypto';

import t from 'tap';

import { backendOf, openOnToken, rejects } from './helpers.js';

t.test('signatures made on the token verify with Node', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const message = Buffer.from('signed inside the HSM');
  const cases = [
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'sha256'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384', 'sha384'],
    ['ECC_NIST_P521', 'ECDSA_SHA_512', 'sha512'],
    ['ECC_SECG_P256K1', 'ECDSA_SHA_256', 'sha256'],
    ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', 'sha256'],
    ['RSA_2048', 'RSASSA_PSS_SHA_384', 'sha384'],
    ['ECC_NIST_EDWARDS25519', 'ED25519_SHA_512', null],
  ] as const;
  for (const [spec, alg, hash] of cases) {
    const { KeyMetadata } = await kms.createKey({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' });
    const keyId = KeyMetadata!.KeyId!;
    const { PublicKey } = await kms.getPublicKey({ KeyId: keyId });
    const key = createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' });
    const { Signature } = await kms.sign({ KeyId: keyId, Message: message, SigningAlgorithm: alg });
    const options = alg.startsWith('RSASSA_PSS') ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 } : key;
    tt.ok(verify(hash, message, options, Signature!), `${spec} ${alg}: Node verifies it`);
    if (alg.startsWith('ECDSA')) tt.equal(Signature![0], 0x30, `${spec}: DER, as AWS returns`);
  }
});

t.test('RSA-OAEP: Node encrypts, the token decrypts; tampering is uniformly invalid', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const { KeyMetadata } = await kms.createKey({ KeySpec: 'RSA_3072', KeyUsage: 'ENCRYPT_DECRYPT' });
  const keyId = KeyMetadata!.KeyId!;
  const { PublicKey } = await kms.getPublicKey({ KeyId: keyId });
  const key = createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' });
  const secret = Buffer.from('a data key, 32 bytes long!!!!!!!');
  for (const [alg, oaepHash] of [['RSAES_OAEP_SHA_1', 'sha1'], ['RSAES_OAEP_SHA_256', 'sha256']] as const) {
    const ct = publicEncrypt({ key, oaepHash, padding: constants.RSA_PKCS1_OAEP_PADDING }, secret);
    const { Plaintext } = await kms.decrypt({ KeyId: keyId, CiphertextBlob: ct, EncryptionAlgorithm: alg });
    tt.same(Buffer.from(Plaintext!), secret, `${alg}: decrypted on the token`);
    for (const i of [0, 1, 100, ct.length - 1]) {
      const bad = Buffer.from(ct);
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      await rejects(tt, kms.decrypt({ KeyId: keyId, CiphertextBlob: bad, EncryptionAlgorithm: alg }), 'InvalidCiphertextException', '');
    }
    // Made under the other hash: well-formed RSA, wrong OAEP.
    const other = publicEncrypt({ key, oaepHash: oaepHash === 'sha1' ? 'sha256' : 'sha1', padding: constants.RSA_PKCS1_OAEP_PADDING }, secret);
    await rejects(tt, kms.decrypt({ KeyId: keyId, CiphertextBlob: other, EncryptionAlgorithm: alg }), 'InvalidCiphertextException', '');
    await rejects(tt, kms.decrypt({ KeyId: keyId, CiphertextBlob: ct.subarray(1), EncryptionAlgorithm: alg }), 'InvalidCiphertextException', '');
  }
});

t.test('ECDH on the token equals Node\'s own computation', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  for (const [spec, curve] of [['ECC_NIST_P256', 'prime256v1'], ['ECC_NIST_P384', 'secp384r1'], ['ECC_NIST_P521', 'secp521r1']] as const) {
    const { KeyMetadata } = await kms.createKey({ KeySpec: spec, KeyUsage: 'KEY_AGREEMENT' });
    const keyId = KeyMetadata!.KeyId!;
    const peer = generateKeyPairSync('ec', { namedCurve: curve });
    const peerDer = peer.publicKey.export({ format: 'der', type: 'spki' });
    const { SharedSecret } = await kms.deriveSharedSecret({ KeyId: keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: peerDer });
    const { PublicKey } = await kms.getPublicKey({ KeyId: keyId });
    const expected = diffieHellman({ privateKey: peer.privateKey, publicKey: createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' }) });
    tt.same(Buffer.from(SharedSecret!), expected, `${spec}: same secret`);
  }
  // A compressed peer point works too (the token gets it uncompressed).
  const { KeyMetadata } = await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' });
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const compressedSpki = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), ecdh.getPublicKey(null, 'compressed')]);
  const { SharedSecret } = await kms.deriveSharedSecret({ KeyId: KeyMetadata!.KeyId!, KeyAgreementAlgorithm: 'ECDH', PublicKey: compressedSpki });
  const { PublicKey } = await kms.getPublicKey({ KeyId: KeyMetadata!.KeyId! });
  const tokenPoint = createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  const raw = Buffer.concat([Buffer.from([4]), Buffer.from(tokenPoint.x!, 'base64url'), Buffer.from(tokenPoint.y!, 'base64url')]);
  tt.same(Buffer.from(SharedSecret!), ecdh.computeSecret(raw), 'compressed peer key');
});

t.test('SYMMETRIC_DEFAULT and HMAC on the token', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const { KeyMetadata } = await kms.createKey({});
  const keyId = KeyMetadata!.KeyId!;
  const context = { purpose: 'token test' };
  const { CiphertextBlob } = await kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('attack at dawn'), EncryptionContext: context });
  const { Plaintext, KeyId } = await kms.decrypt({ CiphertextBlob, EncryptionContext: context });
  tt.equal(Buffer.from(Plaintext!).toString(), 'attack at dawn');
  tt.equal(KeyId, KeyMetadata!.Arn, 'the blob names its key, so no KeyId is needed');
  const tampered = Buffer.from(CiphertextBlob!);
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
  await rejects(tt, kms.decrypt({ CiphertextBlob: tampered, EncryptionContext: context }), 'InvalidCiphertextException', '');
  await rejects(tt, kms.decrypt({ CiphertextBlob, EncryptionContext: { purpose: 'other' } }), 'InvalidCiphertextException', '');

  const mac = await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
  const macKey = mac.KeyMetadata!.KeyId!;
  const a = await kms.generateMac({ KeyId: macKey, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_256' });
  const b = await kms.generateMac({ KeyId: macKey, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_256' });
  tt.equal(a.Mac!.length, 32);
  tt.same(a.Mac, b.Mac, 'deterministic');
  tt.notSame(a.Mac, createHash('sha256').update('m').digest(), 'keyed');
  const ok = await kms.verifyMac({ KeyId: macKey, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_256', Mac: a.Mac! });
  tt.equal(ok.MacValid, true);
  const wrong = Buffer.from(a.Mac!);
  wrong[0] = (wrong[0] ?? 0) ^ 1;
  await rejects(tt, kms.verifyMac({ KeyId: macKey, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_256', Mac: wrong }), 'KMSInvalidMacException');
});

t.test('random bytes from the token', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const backend = backendOf(kms);
  const a = await backend.generateRandom(64);
  const b = await backend.generateRandom(64);
  tt.equal(a.length, 64);
  tt.notSame(a, b);
});
