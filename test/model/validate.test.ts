// Model-driven validation: messages must be AWS's, word for word (the expected strings below are
// copied from aws-kms-recorded-responses.json where AWS recorded them, else built by the
// documented Coral rules), and valid inputs must pass untouched.
import t from 'tap';
import { validateInput, validateShape, validationMessage, enumMessageOrder } from '../../src/model/validate.js';
import { KmsError, ValidationException } from '../../src/errors.js';
import { shapes } from '../../src/model/service-model.js';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationException) return e.message;
    throw e;
  }
  throw new Error('expected a ValidationException, got none');
}

t.test('GenerateRandom NumberOfBytes out of range: the recorded AWS messages', async (t) => {
  t.equal(
    messageOf(() => validateInput('GenerateRandom', { NumberOfBytes: 1025 })),
    "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
  );
  t.equal(
    messageOf(() => validateInput('GenerateRandom', { NumberOfBytes: 0 })),
    "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1",
  );
  t.same(validateInput('GenerateRandom', { NumberOfBytes: 1024 }), { NumberOfBytes: 1024 });
  t.same(validateInput('GenerateRandom', undefined), {});
});

t.test('missing required member', async (t) => {
  t.equal(
    messageOf(() => validateInput('DescribeKey', {})),
    "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
  );
  t.equal(
    messageOf(() => validateInput('DescribeKey', { KeyId: null })),
    "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
  );
  t.equal(
    messageOf(() => validateInput('DescribeKey', { KeyId: '' })),
    "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1",
  );
  const err = t.throws(() => validateInput('DescribeKey', undefined)) as unknown;
  t.ok(err instanceof ValidationException);
  t.ok(err instanceof KmsError);
  t.equal((err as KmsError).name, 'ValidationException');
  t.equal((err as KmsError).$fault, 'client');
});

t.test('two violations: count, plural and "; " separator, in model member order', async (t) => {
  t.equal(
    messageOf(() => validateInput('Sign', { Message: new Uint8Array(1), SigningAlgorithm: 'NOPE' })),
    "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; " +
      "Value 'NOPE' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [" +
      'RSASSA_PSS_SHA_256, RSASSA_PSS_SHA_384, RSASSA_PSS_SHA_512, RSASSA_PKCS1_V1_5_SHA_256, RSASSA_PKCS1_V1_5_SHA_384, ' +
      'RSASSA_PKCS1_V1_5_SHA_512, ECDSA_SHA_256, ECDSA_SHA_384, ECDSA_SHA_512, SM2DSA, ML_DSA_SHAKE_256, ED25519_SHA_512, ED25519_PH_SHA_512]',
  );
  t.equal(validationMessage(['a', 'b', 'c']), '3 validation errors detected: a; b; c');
});

t.test('enum values: model order, except where AWS recorded its own order', async (t) => {
  // EncryptionAlgorithmSpec: no recording, so the model's order
  t.equal(
    messageOf(() => validateInput('Encrypt', { KeyId: 'k', Plaintext: new Uint8Array(1), EncryptionAlgorithm: 'AES' })),
    "1 validation error detected: Value 'AES' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [" +
      (shapes.EncryptionAlgorithmSpec!.enum ?? []).join(', ') +
      ']',
  );
  t.same(shapes.EncryptionAlgorithmSpec!.enum, ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE']);
  // recorded: test_invalid_generate_mac[HMAC_256-INVALID]
  t.equal(
    messageOf(() => validateInput('GenerateMac', { KeyId: 'k', Message: new Uint8Array(1), MacAlgorithm: 'INVALID' })),
    "1 validation error detected: Value 'INVALID' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]",
  );
  // recorded: test_derive_shared_secret
  t.equal(
    messageOf(() =>
      validateInput('DeriveSharedSecret', { KeyId: 'k', KeyAgreementAlgorithm: 'INVALID', PublicKey: new Uint8Array(1) }),
    ),
    "1 validation error detected: Value 'INVALID' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]",
  );
  // recorded order first, newer values appended in model order
  const ks = enumMessageOrder('KeySpec');
  t.same(ks.slice(0, 12), ['RSA_2048', 'ECC_NIST_P384', 'ECC_NIST_P256', 'ECC_NIST_P521', 'HMAC_384', 'RSA_3072', 'ECC_SECG_P256K1', 'RSA_4096', 'SYMMETRIC_DEFAULT', 'HMAC_256', 'HMAC_224', 'HMAC_512']);
  // SM2 (China Regions only) is in the model but not in AWS's recorded message.
  t.same([...ks].sort(), [...(shapes.KeySpec!.enum ?? [])].filter((v) => v !== 'SM2').sort());
  t.notOk(ks.includes('SM2'));
  t.same(enumMessageOrder('KeyUsageType'), ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT']);
});

t.test('blobs: byte lengths, value never shown (recorded plaintext message)', async (t) => {
  t.equal(
    messageOf(() => validateInput('Encrypt', { KeyId: 'k', Plaintext: new Uint8Array(4097) })),
    "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
  );
  t.equal(
    messageOf(() => validateInput('Decrypt', { CiphertextBlob: new Uint8Array(0) })),
    "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length greater than or equal to 1",
  );
  const ok = { KeyId: 'k', Plaintext: Buffer.alloc(4096) };
  const valid = validateInput('Encrypt', ok);
  t.not(valid, ok, 'a valid input comes back as a copy');
  t.equal(valid.Plaintext, ok.Plaintext, 'its Buffer accepted and not copied');
});

t.test('nested paths: list of structures (recorded tag messages)', async (t) => {
  t.equal(
    messageOf(() => validateInput('CreateKey', { Tags: [{ TagKey: 'a'.repeat(129), TagValue: 'v' }] })),
    `1 validation error detected: Value '${'a'.repeat(129)}' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128`,
  );
  t.equal(
    messageOf(() => validateInput('TagResource', { KeyId: 'k', Tags: [{ TagKey: 'ok', TagValue: 'x' }, { TagKey: 'k2', TagValue: 'v'.repeat(257) }] })),
    `1 validation error detected: Value '${'v'.repeat(257)}' at 'tags.2.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256`,
  );
  t.equal(
    messageOf(() => validateInput('TagResource', { KeyId: 'k', Tags: [{ TagValue: 'x' }] })),
    "1 validation error detected: Value null at 'tags.1.member.tagKey' failed to satisfy constraint: Member must not be null",
  );
  t.equal(
    messageOf(() => validateInput('GenerateRandom', { Recipient: { KeyEncryptionAlgorithm: 'RSA' } })),
    "1 validation error detected: Value 'RSA' at 'recipient.keyEncryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RSAES_OAEP_SHA_256]",
  );
});

t.test('lists of scalars: list length, and element constraints reported once for the list', async (t) => {
  const tokens = Array.from({ length: 11 }, (_, i) => `t${i}`);
  t.equal(
    messageOf(() => validateInput('DescribeKey', { KeyId: 'k', GrantTokens: tokens })),
    `1 validation error detected: Value '[${tokens.join(', ')}]' at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10`,
  );
  t.equal(
    messageOf(() => validateInput('DescribeKey', { KeyId: 'k', GrantTokens: ['ok', ''] })),
    "1 validation error detected: Value '[ok, ]' at 'grantTokens' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 8192, Member must have length greater than or equal to 1]",
  );
  t.match(
    messageOf(() => validateInput('CreateGrant', { KeyId: 'k', GranteePrincipal: 'p', Operations: ['Decrypt', 'Nope'] })),
    /^1 validation error detected: Value '\[Decrypt, Nope\]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: \[Member must satisfy enum value set: \[Decrypt, Encrypt, .*\]\]$/,
  );
});

t.test('patterns match the whole value; lengths count code points', async (t) => {
  t.equal(
    messageOf(() => validateInput('CreateAlias', { AliasName: 'alias/my$alias', TargetKeyId: 'k' })),
    "1 validation error detected: Value 'alias/my$alias' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
  );
  t.equal(
    messageOf(() => validateInput('CreateAlias', { AliasName: '', TargetKeyId: 'k' })),
    "2 validation errors detected: Value '' at 'aliasName' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
      "Value '' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
  );
  // PolicyNameType pattern [\w]+ has no anchors in the model: Java matches the whole value
  t.match(messageOf(() => validateInput('GetKeyPolicy', { KeyId: 'k', PolicyName: 'default policy' })), /at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: \[\\w\]\+$/);
  // 128 emoji are 256 UTF-16 units but 128 code points: a TagKey of 128 passes
  t.doesNotThrow(() => validateInput('TagResource', { KeyId: 'k', Tags: [{ TagKey: '😀'.repeat(128), TagValue: '' }] }));
  t.throws(() => validateInput('TagResource', { KeyId: 'k', Tags: [{ TagKey: '😀'.repeat(129), TagValue: '' }] }), ValidationException);
});

t.test('wrong JS types are ValidationExceptions naming the member', async (t) => {
  t.equal(
    messageOf(() => validateInput('GenerateRandom', { NumberOfBytes: '32' })),
    "1 validation error detected: Value '32' at 'numberOfBytes' failed to satisfy constraint: Member must be an integer",
  );
  t.equal(
    messageOf(() => validateInput('Encrypt', { KeyId: 'k', Plaintext: 12345 })),
    "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must be a Uint8Array",
    'a sensitive value is not echoed',
  );
  // As @aws-sdk/client-kms takes them: a string for a blob is its UTF-8 bytes; a map entry whose
  // value is undefined is left out (null is still refused).
  const given = validateInput('Encrypt', { KeyId: 'k', Plaintext: 'é', EncryptionContext: { a: 'x', b: undefined } });
  t.same([Buffer.from(given.Plaintext as Uint8Array).toString('hex'), given.EncryptionContext], ['c3a9', { a: 'x' }]);
  t.notOk('b' in (given.EncryptionContext as object), 'the undefined entry is gone');
  t.match(messageOf(() => validateInput('Encrypt', { KeyId: 'k', Plaintext: 'x', EncryptionContext: { a: null } })), /at 'encryptionContext\.a' failed to satisfy constraint: Member must not be null/);
  t.match(messageOf(() => validateInput('CreateKey', { KeySpec: 7 })), /Value '7' at 'keySpec' failed to satisfy constraint: Member must be a string/);
  t.match(messageOf(() => validateInput('Encrypt', { KeyId: 'k', Plaintext: new Uint8Array(1), EncryptionContext: { a: 1 } })), /at 'encryptionContext\.a' failed to satisfy constraint: Member must be a string/);
  t.match(messageOf(() => validateInput('CreateKey', { Tags: 'x' })), /at 'tags' failed to satisfy constraint: Member must be a list/);
  t.throws(() => validateInput('CreateKey', 'x' as unknown), ValidationException);
});

t.test('unknown members are left out of the copy; timestamps normalized to Date on it', async (t) => {
  const input = { NumberOfBytes: 3, Whatever: 'x' };
  t.same(validateInput('GenerateRandom', input), { NumberOfBytes: 3 });
  const imp = { KeyId: 'k', ImportToken: new Uint8Array(1), EncryptedKeyMaterial: new Uint8Array(1), ValidTo: 1700000000.5 };
  const out = validateInput('ImportKeyMaterial', imp);
  t.not(out, imp);
  t.ok(out.ValidTo instanceof Date);
  t.equal((out.ValidTo as Date).getTime(), 1700000000500);
  t.equal(imp.ValidTo, 1700000000.5, 'the caller\'s object is not modified');
  t.match(messageOf(() => validateInput('ImportKeyMaterial', { ...imp, ValidTo: 'tomorrow' })), /at 'validTo' failed to satisfy constraint: Member must be a Date/);
});

t.test('validateShape helper', async (t) => {
  t.same(validateShape('NumberOfBytesType', 2000, 'n').errors, [
    "Value '2000' at 'n' failed to satisfy constraint: Member must have value less than or equal to 1024",
  ]);
  t.same(validateShape('KeyIdType', 'abc', 'keyId'), { value: 'abc', errors: [] });
});

t.test('the copy reads each member once and keeps every map entry as an entry of its own', async (t) => {
  let reads = 0;
  const flipping = Object.defineProperty({ KeyId: 'k' }, 'RotationPeriodInDays', { enumerable: true, get: () => (reads++ === 0 ? 120 : 0) });
  const valid = validateInput('EnableKeyRotation', flipping);
  t.equal(valid.RotationPeriodInDays, 120);
  t.equal(valid.RotationPeriodInDays, 120, 'the copy answers as the validation read it');
  t.equal(reads, 1, 'the getter was read once');

  const context = JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string>;
  const copy = validateInput('Encrypt', { KeyId: 'k', Plaintext: 'p', EncryptionContext: context }).EncryptionContext as Record<string, string>;
  t.not(copy, context);
  t.same(Object.keys(copy), ['__proto__', 'a'], 'a "__proto__" key stays an entry');
  t.equal(Object.getPrototypeOf(copy), Object.prototype);

  const tags = [{ TagKey: 'a', TagValue: 'b' }];
  const out = validateInput('TagResource', { KeyId: 'k', Tags: tags });
  tags[0]!.TagKey = 'aws:changed';
  t.same(out.Tags, [{ TagKey: 'a', TagValue: 'b' }], 'a list and its structures are copies');
  const when = new Date(1700000000000);
  const imp = validateInput('ImportKeyMaterial', { KeyId: 'k', ImportToken: new Uint8Array(1), EncryptedKeyMaterial: new Uint8Array(1), ValidTo: when });
  when.setTime(0);
  t.equal((imp.ValidTo as Date).getTime(), 1700000000000, 'a Date is copied');
});

t.test('a value nested thousands deep is a ValidationException, shown only to a depth', async (t) => {
  // A library caller can pass any object (the endpoint's decoder refuses such JSON before).
  let deep: unknown = [];
  for (let i = 0; i < 100_000; i++) deep = [deep];
  t.equal(
    messageOf(() => validateInput('CreateAlias', { AliasName: deep, TargetKeyId: 'k' })),
    "1 validation error detected: Value '[[[[[[[[...]]]]]]]]' at 'aliasName' failed to satisfy constraint: Member must be a string",
  );
  t.equal(
    messageOf(() => validateInput('CreateAlias', { AliasName: [[1, { a: 2 }]], TargetKeyId: 'k' })),
    "1 validation error detected: Value '[[1, {a=2}]]' at 'aliasName' failed to satisfy constraint: Member must be a string",
    'shallow values are shown whole',
  );
});
