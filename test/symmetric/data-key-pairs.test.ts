// GenerateDataKeyPair and …WithoutPlaintext for every data key pair spec OpenSSL can make,
// checked with Node's crypto: the private key is PKCS#8 DER of the right type and size, its
// public half is exactly the returned SubjectPublicKeyInfo, a signature made with it verifies
// with the public key, and the encrypted private key decrypts to it (with the context only).
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

import type t from 'tap';

import type { DataKeyPairSpec } from '../../src/index.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';
import { outcome } from './helpers.js';

interface Expected {
  type: string;
  details: Record<string, unknown>;
  /** Node's digest name for a test signature (null: the algorithm has its own, Ed25519). */
  digest: string | null;
}

const specs: Record<Exclude<DataKeyPairSpec, 'SM2'>, Expected> = {
  RSA_2048: { type: 'rsa', details: { modulusLength: 2048 }, digest: 'sha256' },
  RSA_3072: { type: 'rsa', details: { modulusLength: 3072 }, digest: 'sha256' },
  RSA_4096: { type: 'rsa', details: { modulusLength: 4096 }, digest: 'sha256' },
  ECC_NIST_P256: { type: 'ec', details: { namedCurve: 'prime256v1' }, digest: 'sha256' },
  ECC_NIST_P384: { type: 'ec', details: { namedCurve: 'secp384r1' }, digest: 'sha384' },
  ECC_NIST_P521: { type: 'ec', details: { namedCurve: 'secp521r1' }, digest: 'sha512' },
  ECC_SECG_P256K1: { type: 'ec', details: { namedCurve: 'secp256k1' }, digest: 'sha256' },
  ECC_NIST_EDWARDS25519: { type: 'ed25519', details: {}, digest: null },
};

type Test = typeof t;

function checkPair(t: Test, spec: string, expected: Expected, privateDer: Uint8Array, publicDer: Uint8Array): void {
  const priv: KeyObject = createPrivateKey({ key: Buffer.from(privateDer), format: 'der', type: 'pkcs8' });
  const pub: KeyObject = createPublicKey({ key: Buffer.from(publicDer), format: 'der', type: 'spki' });
  t.equal(priv.asymmetricKeyType, expected.type, `${spec}: key type`);
  t.match(priv.asymmetricKeyDetails, expected.details, `${spec}: size or curve`);
  const derived = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  t.ok(derived.equals(Buffer.from(publicDer)), `${spec}: the private key's public half is the returned public key`);
  const message = Buffer.from(`data key pair ${spec}`);
  const signature = sign(expected.digest, message, priv);
  t.ok(verify(expected.digest, message, pub, signature), `${spec}: a signature by the private key verifies with the public key`);
}

eachBackend('GenerateDataKeyPair: every spec, checked with Node\'s crypto', async (t, kms) => {
  const meta = (await kms.createKey({})).KeyMetadata!;
  const context = { purpose: 'data key pair' };
  for (const [spec, expected] of Object.entries(specs) as [DataKeyPairSpec, Expected][]) {
    const out = await kms.generateDataKeyPair({ KeyId: meta.KeyId!, KeyPairSpec: spec, EncryptionContext: context });
    t.equal(out.KeyId, meta.Arn);
    t.equal(out.KeyPairSpec, spec);
    t.equal(out.KeyMaterialId, meta.CurrentKeyMaterialId);
    checkPair(t, spec, expected, out.PrivateKeyPlaintext!, out.PublicKey!);
    const dec = await kms.decrypt({ CiphertextBlob: out.PrivateKeyCiphertextBlob!, EncryptionContext: context });
    t.ok(Buffer.from(dec.Plaintext!).equals(Buffer.from(out.PrivateKeyPlaintext!)), `${spec}: the encrypted private key decrypts to it`);
    t.equal(await outcome(kms.decrypt({ CiphertextBlob: out.PrivateKeyCiphertextBlob!, KeyId: meta.KeyId! })), 'InvalidCiphertextException: ', `${spec}: not without the context`);
  }
});

eachBackend('GenerateDataKeyPairWithoutPlaintext: the private key only encrypted', async (t, kms) => {
  const meta = (await kms.createKey({})).KeyMetadata!;
  const context = { k: 'v' };
  for (const spec of ['RSA_2048', 'ECC_NIST_P256', 'ECC_NIST_EDWARDS25519'] as const) {
    const out = await kms.generateDataKeyPairWithoutPlaintext({ KeyId: meta.KeyId!, KeyPairSpec: spec, EncryptionContext: context });
    t.same(Object.keys(out).sort(), ['KeyId', 'KeyMaterialId', 'KeyPairSpec', 'PrivateKeyCiphertextBlob', 'PublicKey'], `${spec}: no plaintext`);
    const dec = await kms.decrypt({ CiphertextBlob: out.PrivateKeyCiphertextBlob!, EncryptionContext: context });
    checkPair(t, spec, specs[spec], dec.Plaintext!, out.PublicKey!);
  }
});

eachBackend('GenerateDataKeyPair refuses what AWS refuses', async (t, kms) => {
  const meta = (await kms.createKey({})).KeyMetadata!;
  const rsa = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!;
  const dryRun = 'The request would have succeeded, but the DryRun option is set.';
  for (const op of ['generateDataKeyPair', 'generateDataKeyPairWithoutPlaintext'] as const) {
    await rejectsAws(t, kms[op]({ KeyId: meta.KeyId!, KeyPairSpec: 'RSA_2048', DryRun: true }), 'DryRunOperationException', dryRun);
    await rejectsAws(t, kms[op]({ KeyId: meta.KeyId!, KeyPairSpec: 'SM2' }), 'UnsupportedOperationException', 'SM2 keys are not supported by embedded-kms (AWS offers them in its China Regions only).');
    await rejectsAws(
      t,
      kms[op]({ KeyId: rsa.KeyId!, KeyPairSpec: 'ECC_NIST_P256' }),
      'InvalidKeyUsageException',
      'Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.',
    );
    await rejectsAws(
      t,
      kms[op]({ KeyId: meta.KeyId!, KeyPairSpec: 'RSA_1024' as DataKeyPairSpec }),
      'ValidationException',
      /^1 validation error detected: Value 'RSA_1024' at 'keyPairSpec' failed to satisfy constraint: Member must satisfy enum value set: \[/,
    );
  }
});
