// `ekms import-key --custom-key-store-id`: a key file's material lands on the PKCS#11 token,
// unwrapped there (SoftHSM2 2.6.1 does OAEP with SHA-1 only, so the CLI falls back from
// RSA_AES_KEY_WRAP_SHA_256 to _SHA_1), and the key then signs with exactly that key (checked
// with Node's crypto) and reads back sensitive and non-extractable on the token.
import { createHash, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { Kms, type KmsOptions } from '../../src/index.js';
import { cleanupLater, tempHome } from '../helpers/backends.js';
import { softhsmOptions } from '../helpers/softhsm.js';
import { ekms } from '../cli/run.js';
import { backendOf } from './helpers.js';

const openOnToken = (options: KmsOptions) => Kms.open({ ...options, pkcs11: softhsmOptions() });

t.test('a PEM private key and a raw AES key, imported onto the token', async (t) => {
  const home = tempHome('ekms-import-cli-token-');
  cleanupLater(home);
  const stores = await ekms(['describe-custom-key-stores', '--home', home, '--query', 'CustomKeyStores[0].CustomKeyStoreId', '--output', 'text'], {}, openOnToken);
  t.equal(stores.code, 0, stores.stderr);
  const storeId = stores.stdout.trim();
  t.match(storeId, /^cks-/);

  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(join(home, 'signer.pem'), pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  const signer = await ekms(
    ['import-key', '--key-spec', 'ECC_NIST_P256', '--key-usage', 'SIGN_VERIFY', '--key-file', join(home, 'signer.pem'), '--custom-key-store-id', storeId, '--home', home],
    {},
    openOnToken,
  );
  t.equal(signer.code, 0, signer.stderr);
  const md = (JSON.parse(signer.stdout) as { KeyMetadata: { KeyId: string; Origin: string; CustomKeyStoreId?: string; KeyState: string } }).KeyMetadata;
  t.match(md, { Origin: 'EXTERNAL', CustomKeyStoreId: storeId, KeyState: 'Enabled' });

  const aes = randomBytes(32);
  writeFileSync(join(home, 'aes.bin'), aes);
  const data = await ekms(
    ['import-key', '--key-spec', 'SYMMETRIC_DEFAULT', '--key-file', join(home, 'aes.bin'), '--custom-key-store-id', storeId, '--home', home, '--query', 'KeyMetadata.KeyId', '--output', 'text'],
    {},
    openOnToken,
  );
  t.equal(data.code, 0, data.stderr);
  const aesKeyId = data.stdout.trim();

  const kms = await openOnToken({ home, audit: false });
  t.teardown(() => kms.close());
  const digest = createHash('sha256').update('signed on the token').digest();
  const { Signature } = await kms.sign({ KeyId: md.KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' });
  t.ok(verify('sha256', Buffer.from('signed on the token'), pair.publicKey, Buffer.from(Signature!)), 'the imported key signed');
  t.same(Buffer.from((await kms.getPublicKey({ KeyId: md.KeyId })).PublicKey!), pair.publicKey.export({ format: 'der', type: 'spki' }));
  const { CiphertextBlob } = await kms.encrypt({ KeyId: aesKeyId, Plaintext: Buffer.from('round trip') });
  t.equal(Buffer.from((await kms.decrypt({ CiphertextBlob })).Plaintext!).toString(), 'round trip');
  t.equal((await kms.describeKey({ KeyId: aesKeyId })).KeyMetadata!.CustomKeyStoreId, storeId, 'the AES key is on the token too');
  for (const keyId of [md.KeyId, aesKeyId]) {
    const material = kms.store.getMaterials(keyId)[0]!;
    t.equal(material.wrapped, undefined, 'nothing wrapped in the store');
    const a = await backendOf(kms).attributesOf(material);
    t.ok(a.found && a.sensitive && !a.extractable && a.valueRefused, `${keyId}: on the token, sensitive, not extractable, value refused`);
  }
});
