// The AWS JSON 1.1 codec: base64 blobs, epoch-second timestamps, Coral's SerializationException
// wording for wrong JSON types, and lossless round trips in both directions.
import t from 'tap';
import { decodeInput, encodeOutput, encodeInput, decodeOutput, lowerCamel, methodNames, decodeBase64 } from '../../src/model/codec.js';
import { SerializationException } from '../../src/errors.js';

function serMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SerializationException) return e.message;
    throw e;
  }
  throw new Error('expected a SerializationException, got none');
}

t.test('blob base64 round trip', async (t) => {
  const bytes = new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255]);
  const json = encodeInput('Sign', { KeyId: 'alias/x', Message: bytes, SigningAlgorithm: 'ECDSA_SHA_256' });
  t.same(json, { KeyId: 'alias/x', Message: 'AAEC+vv8/f7/', SigningAlgorithm: 'ECDSA_SHA_256' });
  const back = decodeInput('Sign', JSON.parse(JSON.stringify(json)));
  t.ok(back.Message instanceof Uint8Array);
  t.same([...(back.Message as Uint8Array)], [...bytes]);
  t.equal(back.KeyId, 'alias/x');

  const out = encodeOutput('Sign', { KeyId: 'arn', Signature: Buffer.from('hello'), SigningAlgorithm: 'ECDSA_SHA_256' });
  t.same(out, { KeyId: 'arn', Signature: 'aGVsbG8=', SigningAlgorithm: 'ECDSA_SHA_256' });
  const dec = decodeOutput('Sign', out);
  t.equal(Buffer.from(dec.Signature as Uint8Array).toString(), 'hello');

  t.same([...decodeBase64('')], []);
  t.same([...decodeBase64('YQ==')], [0x61]);
  t.same([...decodeBase64('YWI=')], [0x61, 0x62]);
});

t.test('invalid base64 is a SerializationException', async (t) => {
  t.equal(
    serMessage(() => decodeInput('Decrypt', { CiphertextBlob: 'abc' })),
    'STRING_VALUE can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3',
  );
  t.equal(
    serMessage(() => decodeInput('Decrypt', { CiphertextBlob: 'ab!d' })),
    "STRING_VALUE can not be converted to a Blob: Invalid Base64 character: '!'",
  );
  t.equal(
    serMessage(() => decodeInput('Decrypt', { CiphertextBlob: 'a=bc' })),
    "STRING_VALUE can not be converted to a Blob: Invalid Base64 character: '='",
  );
  t.throws(() => decodeInput('Decrypt', { CiphertextBlob: 'ab-_' }), SerializationException, 'base64url is not base64');
  t.equal(
    serMessage(() => decodeInput('Decrypt', { CiphertextBlob: 'YR==' })),
    'STRING_VALUE can not be converted to a Blob: Invalid last non-pad Base64 character dectected',
  );
  const err = t.throws(() => decodeInput('Decrypt', { CiphertextBlob: '***' })) as unknown;
  t.ok(err instanceof SerializationException);
  t.equal((err as SerializationException).name, 'SerializationException');
  t.equal((err as SerializationException).$fault, 'client');
});

t.test('timestamp round trip', async (t) => {
  const when = new Date(Date.UTC(2026, 2, 4, 5, 6, 7, 890));
  const json = encodeOutput('DescribeKey', {
    KeyMetadata: { KeyId: 'k', CreationDate: when, DeletionDate: undefined, Enabled: true },
  });
  t.same(json, { KeyMetadata: { KeyId: 'k', CreationDate: 1772600767.89, Enabled: true } });
  t.equal(JSON.stringify(json), '{"KeyMetadata":{"KeyId":"k","CreationDate":1772600767.89,"Enabled":true}}');
  const back = decodeOutput('DescribeKey', JSON.parse(JSON.stringify(json)));
  const md = back.KeyMetadata as { CreationDate: Date };
  t.ok(md.CreationDate instanceof Date);
  t.equal(md.CreationDate.getTime(), when.getTime());

  const req = decodeInput('ImportKeyMaterial', { KeyId: 'k', ImportToken: 'AA==', EncryptedKeyMaterial: 'AA==', ValidTo: 1700000000 });
  t.ok(req.ValidTo instanceof Date);
  t.equal((req.ValidTo as Date).toISOString(), '2023-11-14T22:13:20.000Z');
  t.same(encodeInput('ImportKeyMaterial', req).ValidTo, 1700000000);
});

t.test('wrong JSON types: Coral wording', async (t) => {
  t.equal(serMessage(() => decodeInput('DescribeKey', { KeyId: 1 })), 'NUMBER_VALUE can not be converted to a String');
  t.equal(serMessage(() => decodeInput('DescribeKey', { KeyId: true })), 'TRUE_VALUE can not be converted to a String');
  t.equal(serMessage(() => decodeInput('DescribeKey', { KeyId: ['x'] })), 'Start of list found where not expected');
  t.equal(serMessage(() => decodeInput('DescribeKey', { KeyId: { a: 1 } })), 'Start of structure or map found where not expected.');
  t.equal(serMessage(() => decodeInput('GenerateRandom', { NumberOfBytes: '32' })), 'STRING_VALUE can not be converted to an Integer');
  t.equal(serMessage(() => decodeInput('GenerateRandom', { NumberOfBytes: false })), 'FALSE_VALUE can not be converted to an Integer');
  t.equal(serMessage(() => decodeInput('DescribeKey', { KeyId: 'k', GrantTokens: 'x' })), 'Expected list or null');
  t.equal(serMessage(() => decodeInput('DescribeKey', { KeyId: 'k', GrantTokens: {} })), 'Start of structure or map found where not expected.');
  t.equal(serMessage(() => decodeInput('DescribeKey', { KeyId: 'k', GrantTokens: [1] })), 'NUMBER_VALUE can not be converted to a String');
  t.equal(serMessage(() => decodeInput('GenerateRandom', { Recipient: 'x' })), 'Expected null');
  t.equal(serMessage(() => decodeInput('Encrypt', { EncryptionContext: [] })), 'Start of list found where not expected');
  t.equal(serMessage(() => decodeInput('Encrypt', { EncryptionContext: 'x' })), 'Expected map or null');
  t.equal(serMessage(() => decodeInput('Encrypt', { Plaintext: 5 })), 'NUMBER_VALUE can not be converted to a Blob');
  t.equal(serMessage(() => decodeInput('CreateKey', { MultiRegion: 'true' })), 'STRING_VALUE can not be converted to a Boolean');
  t.equal(serMessage(() => decodeInput('CreateKey', [])), 'Start of list found where not expected');
});

t.test('nulls are absent, unknown members dropped, floats truncated for integers', async (t) => {
  t.same(decodeInput('GenerateRandom', { NumberOfBytes: 32.9, Bogus: 1, CustomKeyStoreId: null }), { NumberOfBytes: 32 });
  t.same(decodeInput('DescribeKey', { KeyId: 'k', GrantTokens: ['a', null, 'b'] }), { KeyId: 'k', GrantTokens: ['a', 'b'] });
  t.same(decodeInput('Encrypt', { KeyId: 'k', Plaintext: 'AA==', EncryptionContext: { a: 'b', c: null } }), {
    KeyId: 'k',
    Plaintext: new Uint8Array([0]),
    EncryptionContext: { a: 'b' },
  });
  t.same(decodeInput('CreateKey', undefined), {});
  t.same(decodeInput('CreateKey', null), {});
  t.same(decodeInput('CreateKey', { Tags: [{ TagKey: 'k', TagValue: 'v', Extra: 1 }] }), { Tags: [{ TagKey: 'k', TagValue: 'v' }] });
});

t.test('outputs: undefined omitted, members outside the model dropped, {} for no output', async (t) => {
  t.same(encodeOutput('CreateAlias', undefined), {});
  t.same(encodeOutput('GenerateRandom', { Plaintext: new Uint8Array([1, 2, 3]), CiphertextForRecipient: undefined, internal: 1 }), { Plaintext: 'AQID' });
  t.same(encodeOutput('ListAliases', { Aliases: [{ AliasName: 'alias/a', CreationDate: new Date(1000) }], Truncated: false }), {
    Aliases: [{ AliasName: 'alias/a', CreationDate: 1 }],
    Truncated: false,
  });
});

t.test('method names', async (t) => {
  t.equal(lowerCamel('GenerateDataKeyPairWithoutPlaintext'), 'generateDataKeyPairWithoutPlaintext');
  t.equal(methodNames.createKey, 'CreateKey');
  t.equal(methodNames.reEncrypt, 'ReEncrypt');
  t.equal(methodNames.verifyMac, 'VerifyMac');
  t.equal(Object.keys(methodNames).length, 54);
});
