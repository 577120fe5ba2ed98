// The recorded AWS responses of the key material import cases (aws-kms-recorded-responses.json),
// replayed through @aws-sdk/client-kms against the endpoint with the conformance suite's harness
// and comparison (test/conformance). One recording is stale and not replayed:
// test_rotate_key_on_demand_raises_error_given_key_with_imported_key_material (March 2025, before
// AWS added on-demand rotation of imported material; the November 2025 recordings of
// test_rotate_key_on_demand_raises_for_no_pending_key_material show today's answer).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { KMS } from '@aws-sdk/client-kms';
import t from 'tap';

import { startServer } from '../../src/endpoint/index.js';
import { backends } from '../helpers/backends.js';
import { referenceDir } from '../cli/reference.js';
import { harness, type Harness, type Outcome } from '../conformance/harness.js';
import { makeMaterial, wrapMaterial } from './helpers.js';

type C = Harness['client'];
type Spec = Parameters<typeof makeMaterial>[0];

const recordings = JSON.parse(readFileSync(join(referenceDir, 'aws-kms-recorded-responses.json'), 'utf8')) as Record<
  string,
  { 'recorded-content'?: Record<string, unknown> }
>;

async function importMaterial(c: C, keyId: string, material: Uint8Array, o: { algorithm?: 'RSAES_OAEP_SHA_256' | 'RSA_AES_KEY_WRAP_SHA_256'; wrappingKeySpec?: 'RSA_2048' | 'RSA_4096'; importType?: 'NEW_KEY_MATERIAL' } = {}) {
  const algorithm = o.algorithm ?? 'RSA_AES_KEY_WRAP_SHA_256';
  const params = await c.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: algorithm, WrappingKeySpec: o.wrappingKeySpec ?? 'RSA_2048' });
  return {
    params,
    input: {
      KeyId: keyId,
      ImportToken: params.ImportToken!,
      EncryptedKeyMaterial: wrapMaterial(material, params.PublicKey!, algorithm),
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const,
      ...(o.importType ? { ImportType: o.importType } : {}),
    },
  };
}

/** The import, describe, use, delete, describe sequence the import cases share. */
async function importCycle(h: Harness, spec: Spec, usage: 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC', description: string, use: (c: C, keyId: string) => Promise<void>) {
  const c = h.client;
  const created = (await h.check('created-key', () => c.createKey({ Origin: 'EXTERNAL', KeySpec: spec as never, KeyUsage: usage, Description: description }), (o) => o.KeyMetadata))!;
  const keyId = created.KeyMetadata!.KeyId!;
  await h.check('describe-key-before-import', () => c.describeKey({ KeyId: keyId }));
  const { input } = await importMaterial(c, keyId, makeMaterial(spec).bytes);
  await c.importKeyMaterial(input);
  await h.check('describe-key-after-import', () => c.describeKey({ KeyId: keyId }));
  await use(c, keyId);
  await c.deleteImportedKeyMaterial({ KeyId: keyId });
  await h.check('describe-key-after-deleted-import', () => c.describeKey({ KeyId: keyId }));
}

const message = Buffer.from('test message 123 !%$@ 1234567890');
let rsa4096: ReturnType<typeof makeMaterial> | undefined;

const scenarios: Record<string, (h: Harness) => Promise<void>> = {
  async test_import_key_symmetric(h) {
    const c = h.client;
    const created = (await h.check('created-key', () => c.createKey({ Origin: 'EXTERNAL', Description: 'test key' }), (o) => o.KeyMetadata))!;
    const keyId = created.KeyMetadata!.KeyId!;
    await h.check('encrypt-before-import-error', () => c.encrypt({ KeyId: keyId, Plaintext: message }));
    await h.check('describe-key-before-import', () => c.describeKey({ KeyId: keyId }));
    const { input } = await importMaterial(c, keyId, makeMaterial('SYMMETRIC_DEFAULT').bytes, { algorithm: 'RSAES_OAEP_SHA_256' });
    await h.check('import-expiring-key-without-valid-to', () => c.importKeyMaterial({ ...input, ExpirationModel: 'KEY_MATERIAL_EXPIRES' }));
    await c.importKeyMaterial(input);
    await h.check('describe-key-after-import', () => c.describeKey({ KeyId: keyId }));
    const blob = (await c.encrypt({ KeyId: keyId, Plaintext: message })).CiphertextBlob!;
    h.require(Buffer.from((await c.decrypt({ CiphertextBlob: blob })).Plaintext!).equals(message), 'the imported key encrypts and decrypts');
    await c.deleteImportedKeyMaterial({ KeyId: keyId });
    await h.check('describe-key-after-deleted-import', () => c.describeKey({ KeyId: keyId }));
    await h.check('encrypt-after-delete-error', () => c.encrypt({ KeyId: keyId, Plaintext: message }));
  },
  test_import_key_asymmetric: (h) =>
    importCycle(h, 'ECC_NIST_P256', 'SIGN_VERIFY', 'test key', async (c, keyId) => {
      const sig = await c.sign({ KeyId: keyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' });
      h.require((await c.verify({ KeyId: keyId, Message: message, Signature: sig.Signature!, SigningAlgorithm: 'ECDSA_SHA_256' })).SignatureValid === true, 'signs and verifies');
    }),
  async test_import_key_rsa_aes_wrap_sha256(h) {
    const c = h.client;
    const keyId = (await c.createKey({ Origin: 'EXTERNAL', KeySpec: 'RSA_4096', KeyUsage: 'ENCRYPT_DECRYPT', Description: 'test-key' })).KeyMetadata!.KeyId!;
    await h.check('describe-before-import', () => c.describeKey({ KeyId: keyId }));
    const { input } = await importMaterial(c, keyId, rsa4096!.bytes, { wrappingKeySpec: 'RSA_4096' });
    await c.importKeyMaterial(input);
    // The recording names DescribeKey's answer after the import so.
    await h.check('import-key-material-response', () => c.describeKey({ KeyId: keyId }));
    await c.deleteImportedKeyMaterial({ KeyId: keyId });
    await h.check('describe-key-after-deleted-import', () => c.describeKey({ KeyId: keyId }));
  },
  test_import_key_ecc_keys: (h) =>
    importCycle(h, h.params[0] as Spec, 'SIGN_VERIFY', 'test ecc key import', async (c, keyId) => {
      const alg = { ECC_NIST_P256: 'ECDSA_SHA_256', ECC_NIST_P384: 'ECDSA_SHA_384', ECC_NIST_P521: 'ECDSA_SHA_512', ECC_SECG_P256K1: 'ECDSA_SHA_256' }[h.params[0] as string] as 'ECDSA_SHA_256';
      const sig = (await h.check('sign-result', () => c.sign({ KeyId: keyId, Message: message, SigningAlgorithm: alg })))!;
      await h.check('verify-result', () => c.verify({ KeyId: keyId, Message: message, Signature: sig.Signature!, SigningAlgorithm: alg }));
    }),
  test_import_key_hmac_keys: (h) =>
    importCycle(h, h.params[0] as Spec, 'GENERATE_VERIFY_MAC', 'test import hmac key', async (c, keyId) => {
      const alg = `HMAC_SHA_${(h.params[0] as string).slice(5)}` as 'HMAC_SHA_256';
      const mac = (await h.check('generate-mac-response', () => c.generateMac({ KeyId: keyId, Message: message, MacAlgorithm: alg })))!;
      await h.check('verify-mac-response', () => c.verifyMac({ KeyId: keyId, Message: message, MacAlgorithm: alg, Mac: mac.Mac! }));
    }),
  async test_rotate_key_on_demand_updates_current_key_material_for_external_keys(h) {
    const c = h.client;
    const created = (await h.check('create-kms-external-key', () => c.createKey({ Origin: 'EXTERNAL', Description: 'test-key' }), (o) => o.KeyMetadata))!;
    const keyId = created.KeyMetadata!.KeyId!;
    const first = await importMaterial(c, keyId, makeMaterial('SYMMETRIC_DEFAULT').bytes);
    await h.check('get-import-parameters-response', async () => first.params);
    await h.check('describe-empty-key-response', () => c.describeKey({ KeyId: keyId }));
    await h.check('import-key-material-response', () => c.importKeyMaterial(first.input));
    await h.check('describe-key-with-material-response', () => c.describeKey({ KeyId: keyId }));
    await h.check('kms-encrypt-initial-response', () => c.encrypt({ KeyId: keyId, Plaintext: message }));
    const second = await importMaterial(c, keyId, makeMaterial('SYMMETRIC_DEFAULT').bytes, { importType: 'NEW_KEY_MATERIAL' });
    await h.check('import-new-key-material-response', () => c.importKeyMaterial(second.input));
    await h.check('describe-key-with-new-material-response', () => c.describeKey({ KeyId: keyId }));
    await h.check('rotate-key-on-demand-response', () => c.rotateKeyOnDemand({ KeyId: keyId }));
    await h.check('describe-key-after-rotation', () => c.describeKey({ KeyId: keyId }));
    await h.check('kms-encrypt-rotated-key-response', () => c.encrypt({ KeyId: keyId, Plaintext: message }));
  },
  async test_import_key_material_raises_if_there_is_already_key_material_pending(h) {
    const c = h.client;
    const keyId = (await c.createKey({ Origin: 'EXTERNAL' })).KeyMetadata!.KeyId!;
    // The recording masks the whole key ARN of these responses as <key-id:1>.
    const first = await importMaterial(c, keyId, makeMaterial('SYMMETRIC_DEFAULT').bytes);
    await h.check('import-initial-material-response', () => c.importKeyMaterial(first.input));
    const second = await importMaterial(c, keyId, makeMaterial('SYMMETRIC_DEFAULT').bytes, { importType: 'NEW_KEY_MATERIAL' });
    await h.check('import-pending-material-response', () => c.importKeyMaterial(second.input));
    const third = await importMaterial(c, keyId, makeMaterial('SYMMETRIC_DEFAULT').bytes, { importType: 'NEW_KEY_MATERIAL' });
    // Here the recording masks the key ARN in the message as <key-id:1> too: compare with the ARN
    // replaced by the key id.
    const arn = `arn:aws:kms:us-east-1:111122223333:key/${keyId}`;
    const err = (await c.importKeyMaterial(third.input).then(
      () => undefined,
      (e: Error) => e,
    )) as Error | undefined;
    h.require(err?.message.includes(arn) === true, 'the message names the key by ARN');
    const masked = err?.message.replace(arn, keyId) ?? '';
    h.value('existing-pending-material-error', { Error: { Code: err?.name, Message: masked }, message: masked });
  },
  async test_rotate_key_on_demand_for_external_keys_decrypts_with_previous_material(h) {
    const c = h.client;
    const created = (await h.check('create-kms-external-key', () => c.createKey({ Origin: 'EXTERNAL', Description: 'test-key' }), (o) => o.KeyMetadata))!;
    const keyId = created.KeyMetadata!.KeyId!;
    const first = await importMaterial(c, keyId, makeMaterial('SYMMETRIC_DEFAULT').bytes);
    const imported = await h.check('import-key-material-response', () => c.importKeyMaterial(first.input));
    const before = (await h.check('kms-encrypt-initial-response', () => c.encrypt({ KeyId: keyId, Plaintext: message })))!;
    const second = await importMaterial(c, keyId, makeMaterial('SYMMETRIC_DEFAULT').bytes, { importType: 'NEW_KEY_MATERIAL' });
    await c.importKeyMaterial(second.input);
    await h.check('rotate-key-on-demand-response', () => c.rotateKeyOnDemand({ KeyId: keyId }));
    const dec = await c.decrypt({ CiphertextBlob: before.CiphertextBlob! });
    h.require(Buffer.from(dec.Plaintext!).equals(message), 'the ciphertext made before the rotation decrypts with the previous material');
    h.require(dec.KeyMaterialId !== undefined && dec.KeyMaterialId === imported?.KeyMaterialId, 'Decrypt names the previous material');
  },
  async test_rotate_key_on_demand_raises_for_no_pending_key_material(h) {
    const c = h.client;
    const keyId = (await c.createKey({ Origin: 'EXTERNAL' })).KeyMetadata!.KeyId!;
    const first = await importMaterial(c, keyId, makeMaterial('SYMMETRIC_DEFAULT').bytes);
    await c.importKeyMaterial(first.input);
    await h.check('rotate-key-on-demand-invalid-state-error', () => c.rotateKeyOnDemand({ KeyId: keyId }));
  },
};

const cases = Object.entries(recordings)
  .map(([id, v]) => {
    const name = id.split('::').pop()!;
    const m = /^([^[]+)(?:\[(.*)\])?$/.exec(name)!;
    return { name, base: m[1]!, params: m[2] ? m[2].split('-') : [], recorded: v['recorded-content'] ?? {} };
  })
  .filter((c) => scenarios[c.base] !== undefined);

t.test('recorded AWS responses of the import cases', async (t) => {
  t.equal(cases.length, Object.keys(scenarios).length + 3 + 3, 'every scenario has its recordings (4 ECC and 4 HMAC parameters)');
  // Made before the endpoint starts: a long key generation blocking the event loop between two
  // requests would let the server close the client's idle keep-alive connection under it.
  rsa4096 = makeMaterial('RSA_4096');
  const [backend] = backends();
  const kms = await backend!.open();
  const server = await startServer(kms, { port: 0 });
  const client = new KMS({ region: 'us-east-1', credentials: { accessKeyId: 'conformance', secretAccessKey: 'conformance' }, endpoint: server.url, maxAttempts: 1 });
  t.teardown(async () => {
    client.destroy();
    await server.close();
    await kms.close();
  });
  for (const c of cases) {
    await t.test(c.name, async (ct) => {
      const outcome: Outcome = { problems: [], checked: 0 };
      await scenarios[c.base]!(harness(client, c.params, c.recorded, outcome));
      ct.ok(outcome.checked > 0, 'at least one recorded response compared');
      ct.same(outcome.problems, [], 'matches AWS');
    });
  }
});
