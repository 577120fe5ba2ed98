// The requests behind each recorded AWS case, written from the case's name and its recorded
// outputs (the recording holds AWS's responses only). `uses` lists every operation a scenario
// calls, so a case counts as "not applicable" until all of them are implemented.
import { createECDH, createHash, randomBytes, randomUUID } from 'node:crypto';

import type { OperationName } from '../../src/model/service-model.js';
import type { Harness } from './harness.js';

export interface Scenario {
  uses: readonly OperationName[];
  run(h: Harness): Promise<void>;
}

/** Cases no scenario covers, with the reason (they are listed as not applicable). */
export const unsupported: Readonly<Record<string, string>> = {
  test_get_key_in_different_region: 'needs a second region of the same account (one store serves one region)',
  test_replicate_key: 'needs a second region (ReplicateKey)',
  test_replicate_replica_key_should_fail: 'needs a second region (ReplicateKey)',
  test_import_key_symmetric: 'no scenario written yet for key material import',
  test_import_key_asymmetric: 'no scenario written yet for key material import',
  test_import_key_rsa_aes_wrap_sha256: 'no scenario written yet for key material import',
  test_import_key_ecc_keys: 'no scenario written yet for key material import',
  test_import_key_hmac_keys: 'no scenario written yet for key material import',
  test_rotate_key_on_demand_raises_error_given_key_with_imported_key_material: 'no scenario written yet for key material import',
  test_rotate_key_on_demand_updates_current_key_material_for_external_keys: 'no scenario written yet for key material import',
  test_import_key_material_raises_if_there_is_already_key_material_pending: 'no scenario written yet for key material import',
  test_rotate_key_on_demand_for_external_keys_decrypts_with_previous_material: 'no scenario written yet for key material import',
  test_rotate_key_on_demand_raises_for_no_pending_key_material: 'no scenario written yet for key material import',
};

const HASH: Record<string, string> = { SHA_256: 'sha256', SHA_384: 'sha384', SHA_512: 'sha512', SHA_1: 'sha1' };
const hashOf = (alg: string) => HASH[/SHA_\d+$/.exec(alg)?.[0] ?? 'SHA_256']!;
const MODULUS_BYTES: Record<string, number> = { RSA_2048: 256, RSA_3072: 384, RSA_4096: 512 };
const HASH_BYTES: Record<string, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };
const missingKey = () => randomUUID();
const bytes = (s: string) => Buffer.from(s);

type C = Harness['client'];
async function symmetricKey(c: C, Description?: string) {
  return (await c.createKey(Description ? { Description } : {})).KeyMetadata!;
}
async function keyOf(c: C, KeySpec: string, KeyUsage: string) {
  return (await c.createKey({ KeySpec: KeySpec as never, KeyUsage: KeyUsage as never })).KeyMetadata!;
}

function tagCase(initial: 'create' | 'tag', tags: { TagKey: string; TagValue: string }[], then: (c: C, keyId: string) => Promise<void>, afterKey: string): Scenario {
  return {
    uses: ['CreateKey', 'TagResource', 'UntagResource', 'ListResourceTags'],
    async run(h) {
      const c = h.client;
      const key = initial === 'create' ? (await c.createKey({ Tags: tags })).KeyMetadata! : await symmetricKey(c);
      if (initial === 'tag') await c.tagResource({ KeyId: key.KeyId!, Tags: tags });
      await h.check('list-resource-tags', () => c.listResourceTags({ KeyId: key.KeyId! }), (o) => o.Tags);
      await then(c, key.KeyId!);
      await h.check(afterKey, () => c.listResourceTags({ KeyId: key.KeyId! }), (o) => o.Tags);
    },
  };
}
const tags = (n: number) => Array.from({ length: n }, (_, i) => ({ TagKey: `tag${i + 1}`, TagValue: `value${i + 1}` }));

export const scenarios: Readonly<Record<string, Scenario>> = {
  test_generate_random_invalid_number_of_bytes: {
    uses: ['GenerateRandom'],
    async run(h) {
      const n = h.params[0] === 'None' ? {} : { NumberOfBytes: Number(h.params[0]) };
      await h.check('generate-random-exc', () => h.client.generateRandom(n));
    },
  },
  test_generate_random: {
    uses: ['GenerateRandom'],
    async run(h) {
      const out = await h.client.generateRandom({ NumberOfBytes: Number(h.params[0]) });
      h.value('result_length', out.Plaintext?.length);
    },
  },
  test_encrypt_validate_plaintext_size_per_key_type: {
    uses: ['CreateKey', 'Encrypt'],
    async run(h) {
      const [spec, alg] = h.params as [string, string];
      const key = await keyOf(h.client, spec, 'ENCRYPT_DECRYPT');
      const max = MODULUS_BYTES[spec]! - 2 * HASH_BYTES[hashOf(alg)]! - 2;
      await h.check('generate-random-exc', () => h.client.encrypt({ KeyId: key.KeyId!, Plaintext: randomBytes(max + 1), EncryptionAlgorithm: alg as never }));
    },
  },
  test_create_key: {
    uses: ['CreateKey', 'DescribeKey'],
    async run(h) {
      const key = await symmetricKey(h.client, 'test key 123');
      await h.check('describe-key', () => h.client.describeKey({ KeyId: key.KeyId! }), (o) => o.KeyMetadata);
    },
  },
  test_get_key_does_not_exist: {
    uses: ['DescribeKey'],
    async run(h) {
      const id = missingKey();
      await h.check('describe-nonexistent-key-with-id', () => h.client.describeKey({ KeyId: id }));
      await h.check('describe-nonexistent-with-arn', () => h.client.describeKey({ KeyId: `arn:aws:kms:us-east-1:111122223333:key/${missingKey()}` }));
      await h.check('describe-key-with-valid-id-mrk', () => h.client.describeKey({ KeyId: `mrk-${randomBytes(16).toString('hex')}` }));
    },
  },
  test_get_key_invalid_uuid: {
    uses: ['DescribeKey'],
    async run(h) {
      await h.check('describe-key-with-invalid-uuid', () => h.client.describeKey({ KeyId: 'fake-key-id' }));
      await h.check('describe-key-with-invalid-uuid-2', () => h.client.describeKey({ KeyId: '134f2428cec14b25a1ae9048164dba47' }));
      await h.check('describe-key-with-invalid-uuid-mrk', () => h.client.describeKey({ KeyId: 'mrk-fake-key-id' }));
    },
  },
  test_create_alias: {
    uses: ['CreateKey', 'CreateAlias'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('create_alias', () => h.client.createAlias({ AliasName: `no-prefix-${randomUUID()}`, TargetKeyId: key.KeyId! }));
    },
  },
  test_sign_verify: {
    uses: ['CreateKey', 'Sign', 'Verify'],
    async run(h) {
      const [spec, alg] = h.params as [string, string];
      const c = h.client;
      const key = await keyOf(c, spec, 'SIGN_VERIFY');
      const digest = createHash(hashOf(alg)).update('test message').digest();
      const base = { KeyId: key.KeyId!, SigningAlgorithm: alg as never, MessageType: 'DIGEST' as const };
      const signed = await h.check('signature', () => c.sign({ ...base, Message: digest }));
      await h.check('verification', () => c.verify({ ...base, Message: digest, Signature: signed?.Signature ?? new Uint8Array(8) }));
      await h.check('bad-digest', () => c.sign({ ...base, Message: bytes('not a digest') }));
      const bad = Buffer.from(signed?.Signature ?? new Uint8Array(64));
      bad[bad.length - 1]! ^= 1;
      await h.check('bad-signature', () => c.verify({ ...base, Message: digest, Signature: bad }));
    },
  },
  test_hmac_create_key: {
    uses: ['CreateKey', 'DescribeKey'],
    async run(h) {
      const key = await h.check('create-hmac-key', () => h.client.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC', Description: 'test key' }), (o) => o.KeyMetadata);
      await h.check('describe-key', () => h.client.describeKey({ KeyId: key!.KeyMetadata!.KeyId! }), (o) => o.KeyMetadata);
    },
  },
  test_hmac_create_key_invalid_operations: {
    uses: ['CreateKey'],
    async run(h) {
      const c = h.client;
      await h.check('create-hmac-key-without-key-usage', () => c.createKey({ KeySpec: 'HMAC_256' }));
      await h.check('create-hmac-key-invalid-spec', () => c.createKey({ KeySpec: 'HMAC_random' as never, KeyUsage: 'GENERATE_VERIFY_MAC' }));
      await h.check('create-hmac-key-invalid-key-usage', () => c.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'RANDOM' as never }));
    },
  },
  test_generate_and_verify_mac: {
    uses: ['CreateKey', 'GenerateMac', 'VerifyMac'],
    async run(h) {
      const [spec, alg] = h.params as [string, string];
      const c = h.client;
      const key = await keyOf(c, spec, 'GENERATE_VERIFY_MAC');
      const msg = bytes('some important message');
      const mac = await h.check('generate-mac', () => c.generateMac({ KeyId: key.KeyId!, Message: msg, MacAlgorithm: alg as never }));
      await h.check('verify-mac', () => c.verifyMac({ KeyId: key.KeyId!, Message: msg, MacAlgorithm: alg as never, Mac: mac?.Mac ?? new Uint8Array(32) }));
      await h.check('generate-mac-invalid-key-id', () => c.generateMac({ KeyId: 'key_id', Message: msg, MacAlgorithm: alg as never }));
      await h.check('verify-mac-invalid-key-id', () => c.verifyMac({ KeyId: 'key_id', Message: msg, MacAlgorithm: alg as never, Mac: mac?.Mac ?? new Uint8Array(32) }));
    },
  },
  test_invalid_generate_mac: {
    uses: ['CreateKey', 'GenerateMac'],
    async run(h) {
      const [spec, alg] = h.params as [string, string];
      const key = await keyOf(h.client, spec, 'GENERATE_VERIFY_MAC');
      await h.check('generate-mac', () => h.client.generateMac({ KeyId: key.KeyId!, Message: bytes('some important message'), MacAlgorithm: alg as never }));
    },
  },
  test_invalid_verify_mac: {
    uses: ['CreateKey', 'GenerateMac', 'VerifyMac'],
    async run(h) {
      const [spec, alg, message] = h.params as [string, string, string];
      const c = h.client;
      const key = await keyOf(c, spec, 'GENERATE_VERIFY_MAC');
      const mac = await h.check('generate-mac', () => c.generateMac({ KeyId: key.KeyId!, Message: bytes('some important message'), MacAlgorithm: 'HMAC_SHA_256' }));
      await h.check('verify-mac', () => c.verifyMac({ KeyId: key.KeyId!, Message: bytes(message), MacAlgorithm: alg as never, Mac: mac?.Mac ?? new Uint8Array(32) }));
    },
  },
  test_error_messaging_for_invalid_keys: {
    uses: ['CreateKey', 'GenerateMac', 'Sign', 'Verify', 'Encrypt', 'Decrypt'],
    async run(h) {
      const c = h.client;
      const sym = await symmetricKey(c);
      const other = await symmetricKey(c);
      const hmac = await keyOf(c, 'HMAC_256', 'GENERATE_VERIFY_MAC');
      const signKey = await keyOf(c, 'ECC_NIST_P256', 'SIGN_VERIFY');
      const msg = bytes('test message');
      await h.check('generate-mac-invalid-key-id', () => c.generateMac({ KeyId: sym.KeyId!, Message: msg, MacAlgorithm: 'HMAC_SHA_256' }));
      await h.check('sign-invalid-key-id', () => c.sign({ KeyId: hmac.KeyId!, Message: msg, SigningAlgorithm: 'ECDSA_SHA_256' }));
      await h.check('verify-invalid-key-id', () => c.verify({ KeyId: sym.KeyId!, Message: msg, Signature: new Uint8Array(64), SigningAlgorithm: 'ECDSA_SHA_256' }));
      await h.check('encrypt-invalid-key-id', () => c.encrypt({ KeyId: signKey.KeyId!, Plaintext: msg }));
      const ct = await c.encrypt({ KeyId: sym.KeyId!, Plaintext: msg });
      await h.check('decrypt-invalid-key-id', () => c.decrypt({ KeyId: other.KeyId!, CiphertextBlob: ct.CiphertextBlob! }));
    },
  },
  test_plaintext_size_for_encrypt: {
    uses: ['CreateKey', 'Encrypt'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('invalid-plaintext-size-encrypt', () => h.client.encrypt({ KeyId: key.KeyId!, Plaintext: randomBytes(4097) }));
    },
  },
  test_generate_data_key_pair_without_plaintext: {
    uses: ['CreateKey', 'GenerateDataKeyPairWithoutPlaintext'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('generate-data-key-pair-without-plaintext', () => h.client.generateDataKeyPairWithoutPlaintext({ KeyId: key.KeyId!, KeyPairSpec: 'RSA_2048' }));
    },
  },
  test_generate_data_key_pair: {
    uses: ['CreateKey', 'GenerateDataKeyPair'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('generate-data-key-pair', () => h.client.generateDataKeyPair({ KeyId: key.KeyId!, KeyPairSpec: 'RSA_2048' }));
    },
  },
  test_generate_data_key: {
    uses: ['CreateKey', 'GenerateDataKey'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('generate-data-key-result', () => h.client.generateDataKey({ KeyId: key.KeyId!, KeySpec: 'AES_256' }));
    },
  },
  test_generate_data_key_without_plaintext: {
    uses: ['CreateKey', 'GenerateDataKeyWithoutPlaintext'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('generate-data-key-without-plaintext', () => h.client.generateDataKeyWithoutPlaintext({ KeyId: key.KeyId!, KeySpec: 'AES_256' }));
    },
  },
  test_encrypt_decrypt_encryption_context: {
    uses: ['CreateKey', 'Encrypt', 'Decrypt'],
    async run(h) {
      const c = h.client;
      const key = await symmetricKey(c);
      const ctx = { encrypt: 'context' };
      const enc = await h.check('encrypt_response', () => c.encrypt({ KeyId: key.KeyId!, Plaintext: bytes('plaintext'), EncryptionContext: ctx }));
      const blob = enc?.CiphertextBlob ?? new Uint8Array(64);
      await h.check('decrypt_response_with_encryption_context', () => c.decrypt({ KeyId: key.KeyId!, CiphertextBlob: blob, EncryptionContext: ctx }));
      await h.check('decrypt_response_without_encryption_context', () => c.decrypt({ KeyId: key.KeyId!, CiphertextBlob: blob }));
      await h.check('decrypt_response_with_invalid_ciphertext', () => c.decrypt({ KeyId: key.KeyId!, CiphertextBlob: randomBytes(64) }));
    },
  },
  ...Object.fromEntries(
    (
      [
        ['test_encryption_context_generate_data_key', 'GenerateDataKey'],
        ['test_encryption_context_generate_data_key_without_plaintext', 'GenerateDataKeyWithoutPlaintext'],
        ['test_encryption_context_generate_data_key_pair', 'GenerateDataKeyPair'],
        ['test_encryption_context_generate_data_key_pair_without_plaintext', 'GenerateDataKeyPairWithoutPlaintext'],
      ] as const
    ).map(([name, op]): [string, Scenario] => [
      name,
      {
        uses: ['CreateKey', op, 'Decrypt'],
        async run(h) {
          const c = h.client;
          const key = await symmetricKey(c);
          const EncryptionContext = { 'encryption-context-key': 'encryption-context-value' };
          let blob: Uint8Array | undefined;
          if (op === 'GenerateDataKey') blob = (await c.generateDataKey({ KeyId: key.KeyId!, KeySpec: 'AES_256', EncryptionContext })).CiphertextBlob;
          else if (op === 'GenerateDataKeyWithoutPlaintext') blob = (await c.generateDataKeyWithoutPlaintext({ KeyId: key.KeyId!, KeySpec: 'AES_256', EncryptionContext })).CiphertextBlob;
          else if (op === 'GenerateDataKeyPair') blob = (await c.generateDataKeyPair({ KeyId: key.KeyId!, KeyPairSpec: 'ECC_NIST_P256', EncryptionContext })).PrivateKeyCiphertextBlob;
          else blob = (await c.generateDataKeyPairWithoutPlaintext({ KeyId: key.KeyId!, KeyPairSpec: 'ECC_NIST_P256', EncryptionContext })).PrivateKeyCiphertextBlob;
          await h.check('decrypt-without-encryption-context', () => c.decrypt({ KeyId: key.KeyId!, CiphertextBlob: blob! }));
        },
      },
    ]),
  ),
  test_get_parameters_for_import: {
    uses: ['CreateKey', 'GetParametersForImport'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('response-error', () => h.client.getParametersForImport({ KeyId: key.KeyId!, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    },
  },
  test_get_parameters_for_import_raises_for_non_external_kms_keys: {
    uses: ['CreateKey', 'GetParametersForImport'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('get-import-parameters-error', () => h.client.getParametersForImport({ KeyId: key.KeyId!, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    },
  },
  test_create_multi_region_key: {
    uses: ['CreateKey'],
    async run(h) {
      await h.check('create_multi_region_key', () => h.client.createKey({ MultiRegion: true, Description: 'test multi region key' }), (o) => o.KeyMetadata);
    },
  },
  test_non_multi_region_keys_should_not_have_multi_region_properties: {
    uses: ['CreateKey'],
    async run(h) {
      await h.check('non_multi_region_keys_should_not_have_multi_region_properties', () => h.client.createKey({ MultiRegion: false, Description: 'test non multi region key' }), (o) => o.KeyMetadata);
    },
  },
  test_derive_shared_secret: {
    uses: ['CreateKey', 'DeriveSharedSecret'],
    async run(h) {
      const c = h.client;
      const peer = createECDH('prime256v1');
      peer.generateKeys();
      const { publicKeySpki } = spkiOf(peer.getPublicKey());
      const agree = await keyOf(c, 'ECC_NIST_P256', 'KEY_AGREEMENT');
      const base = { KeyAgreementAlgorithm: 'ECDH' as const, PublicKey: publicKeySpki };
      await h.check('response', () => c.deriveSharedSecret({ ...base, KeyId: agree.KeyId! }));
      const sign = await keyOf(c, 'ECC_NIST_P256', 'SIGN_VERIFY');
      await h.check('response-invalid-key-usage', () => c.deriveSharedSecret({ ...base, KeyId: sign.KeyId! }));
      await h.check('response-invalid-key-spec', () => c.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'KEY_AGREEMENT' }));
      await h.check('response-invalid-key-agreement-algo', () => c.deriveSharedSecret({ ...base, KeyId: agree.KeyId!, KeyAgreementAlgorithm: 'INVALID' as never }));
      const sym = await symmetricKey(c);
      await h.check('response-invalid-key', () => c.deriveSharedSecret({ ...base, KeyId: sym.KeyId! }));
      await h.check('response-invalid-public-key', () => c.deriveSharedSecret({ ...base, KeyId: agree.KeyId!, PublicKey: bytes('InvalidPublicKey') }));
    },
  },
  test_derive_shared_secret_matches_openssl: {
    uses: ['CreateKey', 'DeriveSharedSecret'],
    async run(h) {
      const peer = createECDH('prime256v1');
      peer.generateKeys();
      const agree = await keyOf(h.client, 'ECC_NIST_P256', 'KEY_AGREEMENT');
      await h.check('derived-shared-key-resp', () => h.client.deriveSharedSecret({ KeyId: agree.KeyId!, KeyAgreementAlgorithm: 'ECDH', PublicKey: spkiOf(peer.getPublicKey()).publicKeySpki }));
    },
  },
  test_tag_existing_key_and_untag: tagCase('tag', tags(2), (c, k) => c.untagResource({ KeyId: k, TagKeys: ['tag1', 'tag2'] }).then(() => undefined), 'list-resource-tags-after-all-untagged'),
  test_create_key_with_tag_and_untag: tagCase('create', tags(2), (c, k) => c.untagResource({ KeyId: k, TagKeys: ['tag1', 'tag2'] }).then(() => undefined), 'list-resource-tags-after-all-untagged'),
  test_untag_key_partially: tagCase('tag', tags(3), (c, k) => c.untagResource({ KeyId: k, TagKeys: ['tag2'] }).then(() => undefined), 'list-resource-tags-after-partially-untagged'),
  test_update_and_add_tags_on_tagged_key: tagCase(
    'tag',
    tags(3),
    (c, k) =>
      c
        .tagResource({ KeyId: k, Tags: [{ TagKey: 'tag2', TagValue: 'updated_value2' }, { TagKey: 'tag4', TagValue: 'value4' }, { TagKey: 'tag5', TagValue: 'value5' }] })
        .then(() => undefined),
    'list-resource-tags-after-tags-updated',
  ),
  test_tag_key_with_duplicate_tag_keys_raises_error: {
    uses: ['CreateKey', 'TagResource'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('duplicate-tag-keys', () => h.client.tagResource({ KeyId: key.KeyId!, Tags: [{ TagKey: 'tag1', TagValue: 'v1' }, { TagKey: 'tag1', TagValue: 'v2' }] }));
    },
  },
  test_create_key_with_too_many_tags_raises_error: {
    uses: ['CreateKey'],
    async run(h) {
      await h.check('invalid-tag-key', () => h.client.createKey({ Tags: tags(51) }));
    },
  },
  test_tag_existing_key_with_invalid_tag_key: {
    uses: ['CreateKey', 'TagResource'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('invalid-tag-key', () => h.client.tagResource({ KeyId: key.KeyId!, Tags: [{ TagKey: 'aws:key1', TagValue: 'value1' }] }));
    },
  },
  test_key_with_long_tag_value_raises_error: {
    uses: ['CreateKey'],
    async run(h) {
      await h.check('too-long-tag-value', () => h.client.createKey({ Tags: [{ TagKey: 'tag1', TagValue: 'v'.repeat(257) }] }));
    },
  },
  test_create_key_with_invalid_tag_key: {
    uses: ['CreateKey'],
    async run(h) {
      const TagKey = { lowercase_prefix: 'aws:key1', uppercase_prefix: 'AWS:key1', too_long_key: 'a'.repeat(129) }[h.params[0] as 'lowercase_prefix'];
      await h.check('invalid-tag-key', () => h.client.createKey({ Tags: [{ TagKey, TagValue: 'value1' }] }));
    },
  },
  test_key_enable_rotation_status: {
    uses: ['CreateKey', 'EnableKeyRotation', 'GetKeyRotationStatus'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.client.enableKeyRotation({ KeyId: key.KeyId!, RotationPeriodInDays: Number(h.params[0]) });
      await h.check('match_response', () => h.client.getKeyRotationStatus({ KeyId: key.KeyId! }));
    },
  },
  test_rotate_key_on_demand_modifies_key_material: {
    uses: ['CreateKey', 'RotateKeyOnDemand'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('rotate-on-demand-response', () => h.client.rotateKeyOnDemand({ KeyId: key.KeyId! }));
    },
  },
  test_rotate_on_demand_returns_arn_for_key_id: {
    uses: ['CreateKey', 'RotateKeyOnDemand'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('rotate-on-demand-aws-key', () => h.client.rotateKeyOnDemand({ KeyId: key.KeyId! }));
    },
  },
  test_rotate_key_on_demand_with_symmetric_key_and_automatic_rotation_disabled: {
    uses: ['CreateKey', 'RotateKeyOnDemand', 'GetKeyRotationStatus'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('rotate-on-demand-response', () => h.client.rotateKeyOnDemand({ KeyId: key.KeyId! }));
      await h.check('rotation-status-response-after-rotation', () => h.client.getKeyRotationStatus({ KeyId: key.KeyId! }));
    },
  },
  test_rotate_key_on_demand_with_symmetric_key_and_automatic_rotation_enabled: {
    uses: ['CreateKey', 'EnableKeyRotation', 'RotateKeyOnDemand', 'GetKeyRotationStatus'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.client.enableKeyRotation({ KeyId: key.KeyId! });
      await h.check('rotate-on-demand-response', () => h.client.rotateKeyOnDemand({ KeyId: key.KeyId! }));
      await h.check('rotation-status-response-after-rotation', () => h.client.getKeyRotationStatus({ KeyId: key.KeyId! }));
    },
  },
  test_rotate_key_on_demand_raises_error_given_key_is_disabled: {
    uses: ['CreateKey', 'DisableKey', 'RotateKeyOnDemand'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.client.disableKey({ KeyId: key.KeyId! });
      await h.check('error-response', () => h.client.rotateKeyOnDemand({ KeyId: key.KeyId! }));
    },
  },
  test_rotate_key_on_demand_raises_error_given_key_that_does_not_exist: {
    uses: ['RotateKeyOnDemand'],
    async run(h) {
      await h.check('error-response', () => h.client.rotateKeyOnDemand({ KeyId: missingKey() }));
    },
  },
  test_rotate_key_on_demand_raises_error_given_non_symmetric_key: {
    uses: ['CreateKey', 'RotateKeyOnDemand'],
    async run(h) {
      const key = await keyOf(h.client, 'RSA_2048', 'ENCRYPT_DECRYPT');
      await h.check('error-response', () => h.client.rotateKeyOnDemand({ KeyId: key.KeyId! }));
    },
  },
  test_rotate_key_on_demand_on_external_key_with_no_key_material: {
    // Keys of Origin EXTERNAL come with the key material import feature.
    uses: ['CreateKey', 'RotateKeyOnDemand', 'GetParametersForImport', 'ImportKeyMaterial'],
    async run(h) {
      // The recording shows a SYMMETRIC_DEFAULT key for both parameters.
      const key = await h.check('create-kms-external-key', () => h.client.createKey({ Origin: 'EXTERNAL', Description: 'test-key' }), (o) => o.KeyMetadata);
      await h.check(`rotate-key-on-demand-error-response-${h.params[0]}`, () => h.client.rotateKeyOnDemand({ KeyId: key?.KeyMetadata?.KeyId ?? missingKey() }));
    },
  },
  test_key_rotations_encryption_decryption: {
    uses: ['CreateKey', 'Encrypt', 'RotateKeyOnDemand', 'Decrypt'],
    async run(h) {
      const c = h.client;
      const key = await symmetricKey(c);
      const before = await c.encrypt({ KeyId: key.KeyId!, Plaintext: bytes('test-plaintext') });
      await c.rotateKeyOnDemand({ KeyId: key.KeyId! });
      const dec = await c.decrypt({ KeyId: key.KeyId!, CiphertextBlob: before.CiphertextBlob! });
      h.require(Buffer.from(dec.Plaintext!).toString() === 'test-plaintext', 'a ciphertext made before rotation decrypts after it');
      await h.check('bad-ciphertext', () => c.decrypt({ KeyId: key.KeyId!, CiphertextBlob: randomBytes(32) }));
    },
  },
  test_key_rotations_limits: {
    uses: ['CreateKey', 'RotateKeyOnDemand'],
    async run(h) {
      const key = await symmetricKey(h.client);
      // Rotate until refused (AWS allows a small number of on-demand rotations per key).
      for (let i = 0; i < 30; i++) {
        try {
          await h.client.rotateKeyOnDemand({ KeyId: key.KeyId! });
        } catch {
          break;
        }
      }
      await h.check('error-response', () => h.client.rotateKeyOnDemand({ KeyId: key.KeyId! }));
    },
  },
  test_generate_data_key_pair_dry_run: {
    uses: ['CreateKey', 'GenerateDataKeyPair'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('dryrun_exception', () => h.client.generateDataKeyPair({ KeyId: key.KeyId!, KeyPairSpec: 'RSA_2048', DryRun: true }));
    },
  },
  test_generate_data_key_pair_without_plaintext_dry_run: {
    uses: ['CreateKey', 'GenerateDataKeyPairWithoutPlaintext'],
    async run(h) {
      const key = await symmetricKey(h.client);
      await h.check('dryrun_exception', () => h.client.generateDataKeyPairWithoutPlaintext({ KeyId: key.KeyId!, KeyPairSpec: 'RSA_2048', DryRun: true }));
    },
  },
  test_re_encrypt: {
    uses: ['CreateKey', 'Encrypt', 'ReEncrypt'],
    async run(h) {
      const [spec, alg] = h.params as [string, string];
      const c = h.client;
      const mk = () => (spec === 'SYMMETRIC_DEFAULT' ? symmetricKey(c) : keyOf(c, spec, 'ENCRYPT_DECRYPT'));
      const source = await mk();
      const target = await mk();
      const algs = spec === 'SYMMETRIC_DEFAULT' ? {} : { EncryptionAlgorithm: alg as never };
      const ct = await c.encrypt({ KeyId: source.KeyId!, Plaintext: bytes('plaintext'), ...algs });
      await h.check('test_re_encrypt', () =>
        c.reEncrypt({
          CiphertextBlob: ct.CiphertextBlob!,
          DestinationKeyId: target.KeyId!,
          ...(spec === 'SYMMETRIC_DEFAULT' ? {} : { SourceKeyId: source.KeyId!, SourceEncryptionAlgorithm: alg as never, DestinationEncryptionAlgorithm: alg as never }),
        }),
      );
    },
  },
  test_re_encrypt_incorrect_source_key: {
    uses: ['CreateKey', 'Encrypt', 'ReEncrypt'],
    async run(h) {
      const c = h.client;
      const k1 = await symmetricKey(c);
      const k2 = await symmetricKey(c);
      const ct = await c.encrypt({ KeyId: k1.KeyId!, Plaintext: bytes('plaintext') });
      await h.check('incorrect-source-key', () => c.reEncrypt({ CiphertextBlob: ct.CiphertextBlob!, SourceKeyId: k2.KeyId!, DestinationKeyId: k2.KeyId! }));
    },
  },
  test_describe_with_alias_arn: {
    uses: ['CreateKey', 'CreateAlias', 'DescribeKey'],
    async run(h) {
      const key = await h.check('created-key', () => h.client.createKey({ Description: 'test - description' }), (o) => o.KeyMetadata);
      const md = key!.KeyMetadata!;
      const alias = `alias/conformance-${randomUUID()}`;
      await h.client.createAlias({ AliasName: alias, TargetKeyId: md.KeyId! });
      const aliasArn = md.Arn!.replace(/:key\/.*$/, `:${alias}`);
      await h.check('describe-key', () => h.client.describeKey({ KeyId: aliasArn }));
    },
  },
  test_key_rotation_updates_current_key_material_id_for_aws_symmetric_keys: {
    uses: ['CreateKey', 'DescribeKey', 'RotateKeyOnDemand'],
    async run(h) {
      const key = await symmetricKey(h.client, 'test-key');
      const before = await h.check('describe-key-before-rotation', () => h.client.describeKey({ KeyId: key.KeyId! }));
      await h.client.rotateKeyOnDemand({ KeyId: key.KeyId! });
      const after = await h.check('describe-key-after-rotation', () => h.client.describeKey({ KeyId: key.KeyId! }));
      h.require(before?.KeyMetadata?.CurrentKeyMaterialId !== after?.KeyMetadata?.CurrentKeyMaterialId, 'rotation changes CurrentKeyMaterialId');
    },
  },
};

/** Raw uncompressed EC point → DER SubjectPublicKeyInfo (P-256). */
function spkiOf(point: Buffer): { publicKeySpki: Buffer } {
  const prefix = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
  return { publicKeySpki: Buffer.concat([prefix, point]) };
}
