// Round trips for every importable key spec: material made by Node, wrapped by Node (RSA-OAEP,
// and RSA-AES key wrap built from Node's AES key wrap and OAEP) with GetParametersForImport's
// public key, imported, then used and checked from outside: ciphertexts made outside decrypt
// inside (and ours open outside), signatures verify with the original public key, HMACs equal
// Node's createHmac with the known key, ECDH agrees with Node's.
import { constants, createHmac, createPublicKey, diffieHellman, generateKeyPairSync, publicEncrypt, verify } from 'node:crypto';

import type { Test as TapTest } from 'tap';

import type { AlgorithmSpec, KeySpec, KeyUsageType, Kms, SigningAlgorithmSpec, WrappingKeySpec } from '../../src/index.js';
import { eachBackend } from '../helpers/kms-fixture.js';
import { externalKey, importInto, makeMaterial, openOutside, sealOutside, type Material } from './helpers.js';

interface Case {
  spec: KeySpec;
  usage: KeyUsageType;
  wrappings: [AlgorithmSpec, WrappingKeySpec][];
}

const cases: Case[] = [
  {
    spec: 'SYMMETRIC_DEFAULT',
    usage: 'ENCRYPT_DECRYPT',
    wrappings: [
      ['RSAES_OAEP_SHA_1', 'RSA_2048'],
      ['RSAES_OAEP_SHA_256', 'RSA_3072'],
      ['RSA_AES_KEY_WRAP_SHA_1', 'RSA_2048'],
      ['RSA_AES_KEY_WRAP_SHA_256', 'RSA_4096'],
    ],
  },
  { spec: 'HMAC_224', usage: 'GENERATE_VERIFY_MAC', wrappings: [['RSAES_OAEP_SHA_256', 'RSA_2048']] },
  { spec: 'HMAC_256', usage: 'GENERATE_VERIFY_MAC', wrappings: [['RSAES_OAEP_SHA_1', 'RSA_2048']] },
  { spec: 'HMAC_384', usage: 'GENERATE_VERIFY_MAC', wrappings: [['RSA_AES_KEY_WRAP_SHA_256', 'RSA_2048']] },
  { spec: 'HMAC_512', usage: 'GENERATE_VERIFY_MAC', wrappings: [['RSA_AES_KEY_WRAP_SHA_1', 'RSA_3072']] },
  {
    spec: 'ECC_NIST_P256',
    usage: 'SIGN_VERIFY',
    wrappings: [
      ['RSAES_OAEP_SHA_256', 'RSA_2048'],
      ['RSA_AES_KEY_WRAP_SHA_256', 'RSA_2048'],
    ],
  },
  { spec: 'ECC_NIST_P256', usage: 'KEY_AGREEMENT', wrappings: [['RSA_AES_KEY_WRAP_SHA_1', 'RSA_2048']] },
  { spec: 'ECC_NIST_P384', usage: 'SIGN_VERIFY', wrappings: [['RSAES_OAEP_SHA_1', 'RSA_2048']] },
  { spec: 'ECC_NIST_P384', usage: 'KEY_AGREEMENT', wrappings: [['RSA_AES_KEY_WRAP_SHA_256', 'RSA_2048']] },
  { spec: 'ECC_NIST_P521', usage: 'SIGN_VERIFY', wrappings: [['RSA_AES_KEY_WRAP_SHA_256', 'RSA_2048']] },
  // AWS: OAEP with an RSA_2048 wrapping key cannot carry P-521 material; RSA_3072 can.
  { spec: 'ECC_NIST_P521', usage: 'KEY_AGREEMENT', wrappings: [['RSAES_OAEP_SHA_256', 'RSA_3072']] },
  { spec: 'ECC_SECG_P256K1', usage: 'SIGN_VERIFY', wrappings: [['RSA_AES_KEY_WRAP_SHA_256', 'RSA_2048']] },
  {
    spec: 'ECC_NIST_EDWARDS25519',
    usage: 'SIGN_VERIFY',
    wrappings: [
      ['RSAES_OAEP_SHA_256', 'RSA_2048'],
      ['RSA_AES_KEY_WRAP_SHA_1', 'RSA_2048'],
    ],
  },
  { spec: 'RSA_2048', usage: 'SIGN_VERIFY', wrappings: [['RSA_AES_KEY_WRAP_SHA_256', 'RSA_2048']] },
  { spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT', wrappings: [['RSA_AES_KEY_WRAP_SHA_1', 'RSA_3072']] },
  { spec: 'RSA_3072', usage: 'ENCRYPT_DECRYPT', wrappings: [['RSA_AES_KEY_WRAP_SHA_256', 'RSA_2048']] },
  { spec: 'RSA_4096', usage: 'SIGN_VERIFY', wrappings: [['RSA_AES_KEY_WRAP_SHA_256', 'RSA_4096']] },
];

const message = Buffer.from('a message from outside');

type Test = TapTest;

async function checkUse(t: Test, kms: Kms, keyId: string, spec: KeySpec, usage: KeyUsageType, m: Material, materialId: string | undefined) {
  if (spec === 'SYMMETRIC_DEFAULT') {
    t.match(materialId, /^[0-9a-f]{64}$/, 'ImportKeyMaterial names the symmetric material');
    const context = { purpose: 'import test' };
    const outside = sealOutside(keyId, materialId as string, m.bytes, message, context);
    const inside = await kms.decrypt({ CiphertextBlob: outside, EncryptionContext: context });
    t.same(Buffer.from(inside.Plaintext!), message, 'a ciphertext made outside decrypts inside');
    t.equal(inside.KeyMaterialId, materialId);
    const ours = await kms.encrypt({ KeyId: keyId, Plaintext: message, EncryptionContext: context });
    const opened = openOutside(ours.CiphertextBlob!, m.bytes, context);
    t.same(opened.plaintext, message, 'our ciphertext opens outside with the imported key');
    t.equal(opened.materialId, materialId, 'under the imported material');
    return;
  }
  t.equal(materialId, undefined, 'no material id for asymmetric or HMAC keys, as AWS');
  if (usage === 'GENERATE_VERIFY_MAC') {
    const hash = `sha${spec.slice(5)}`;
    const alg = `HMAC_SHA_${spec.slice(5)}` as 'HMAC_SHA_256';
    const expected = createHmac(hash, m.bytes).update(message).digest();
    const mac = await kms.generateMac({ KeyId: keyId, Message: message, MacAlgorithm: alg });
    t.same(Buffer.from(mac.Mac!), expected, 'GenerateMac equals createHmac with the known key');
    t.equal((await kms.verifyMac({ KeyId: keyId, Message: message, MacAlgorithm: alg, Mac: expected })).MacValid, true);
    return;
  }
  const pub = await kms.getPublicKey({ KeyId: keyId });
  t.same(Buffer.from(pub.PublicKey!), m.publicKey, 'GetPublicKey is the original public key');
  const publicKey = createPublicKey({ key: m.publicKey as Buffer, format: 'der', type: 'spki' });
  if (usage === 'SIGN_VERIFY') {
    const algs: SigningAlgorithmSpec[] = spec.startsWith('RSA_')
      ? ['RSASSA_PSS_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_512']
      : spec === 'ECC_NIST_EDWARDS25519'
        ? ['ED25519_SHA_512']
        : [pub.SigningAlgorithms![0] as SigningAlgorithmSpec];
    for (const alg of algs) {
      const sig = Buffer.from((await kms.sign({ KeyId: keyId, Message: message, SigningAlgorithm: alg })).Signature!);
      let ok: boolean;
      if (alg === 'ED25519_SHA_512') ok = verify(null, message, publicKey, sig);
      else if (alg.startsWith('RSASSA_PSS'))
        ok = verify('sha256', message, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
      else ok = verify(`sha${alg.slice(-3)}`, message, publicKey, sig);
      t.ok(ok, `${alg} signature verifies with the original public key`);
    }
    return;
  }
  if (usage === 'ENCRYPT_DECRYPT') {
    for (const [alg, hash] of [
      ['RSAES_OAEP_SHA_1', 'sha1'],
      ['RSAES_OAEP_SHA_256', 'sha256'],
    ] as const) {
      const ct = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, message);
      const pt = await kms.decrypt({ KeyId: keyId, CiphertextBlob: ct, EncryptionAlgorithm: alg });
      t.same(Buffer.from(pt.Plaintext!), message, `${alg}: a ciphertext made outside decrypts inside`);
    }
    return;
  }
  // KEY_AGREEMENT
  const curve = { ECC_NIST_P256: 'prime256v1', ECC_NIST_P384: 'secp384r1', ECC_NIST_P521: 'secp521r1' }[spec as 'ECC_NIST_P256'];
  const peer = generateKeyPairSync('ec', { namedCurve: curve });
  const secret = await kms.deriveSharedSecret({
    KeyId: keyId,
    KeyAgreementAlgorithm: 'ECDH',
    PublicKey: peer.publicKey.export({ format: 'der', type: 'spki' }),
  });
  const expected = diffieHellman({ privateKey: m.privateKey!, publicKey: peer.publicKey });
  t.same(Buffer.from(secret.SharedSecret!), expected, 'ECDH agrees with Node using the original private key');
}

eachBackend('every importable key spec: wrapped outside, imported, used', async (t, kms) => {
  for (const c of cases) {
    for (const [algorithm, wrappingKeySpec] of c.wrappings) {
      await t.test(`${c.spec} ${c.usage} via ${algorithm} (${wrappingKeySpec})`, async (t) => {
        const meta = await externalKey(kms, c.spec, c.usage === 'ENCRYPT_DECRYPT' && c.spec === 'SYMMETRIC_DEFAULT' ? undefined : c.usage);
        t.equal(meta.KeyState, 'PendingImport');
        t.equal(meta.Enabled, false);
        t.equal(meta.Origin, 'EXTERNAL');
        const m = makeMaterial(c.spec);
        const out = await importInto(kms, meta.KeyId!, m.bytes, { algorithm, wrappingKeySpec });
        t.equal(out.KeyId, meta.Arn, 'the response names the key by ARN');
        const after = (await kms.describeKey({ KeyId: meta.KeyId! })).KeyMetadata!;
        t.equal(after.KeyState, 'Enabled');
        t.equal(after.Enabled, true);
        t.equal(after.ExpirationModel, 'KEY_MATERIAL_DOES_NOT_EXPIRE');
        t.equal(after.ValidTo, undefined);
        await checkUse(t, kms, meta.KeyId!, c.spec, c.usage, m, out.KeyMaterialId);
      });
    }
  }
});
