// What of a request or response the audit trail may hold, as the JSON text the trail writes
// (src/audit/redact.ts): no blob (not even its length, as CloudTrail), sensitive strings redacted, wrong types by their type
// name, long values cut, and unknown members dropped. Every case also checks the text parses.
import t from 'tap';

import { fingerprintJson, loggable, loggableJson, sameFingerprint, scalarFingerprint } from '../../src/audit/redact.js';

const parsed = (shape: string, value: unknown) => {
  const text = loggableJson(shape, value);
  return JSON.parse(text) as unknown;
};

t.test('blobs are left out, as CloudTrail leaves them out, and sensitive strings never appear', async (t) => {
  t.same(parsed('DecryptResponse', { KeyId: 'k', Plaintext: new Uint8Array(33), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }), {
    keyId: 'k',
    encryptionAlgorithm: 'SYMMETRIC_DEFAULT',
  });
  const secret = 'p4ssw0rd-for-the-token';
  const text = loggableJson('CreateCustomKeyStoreRequest', { CustomKeyStoreName: 'n', KeyStorePassword: secret });
  t.notOk(text.includes(secret), 'the password is not in the text');
  t.same(JSON.parse(text), { customKeyStoreName: 'n', keyStorePassword: '[redacted]' });
});

t.test('wrong types are described by their type, never copied', async (t) => {
  const value = {
    KeyId: 42,
    Plaintext: 'a plaintext passed as a string 9c1e',
    EncryptionContext: ['not', 'a', 'map'],
    GrantTokens: 'x',
  };
  const text = loggableJson('EncryptRequest', value);
  t.notOk(text.includes('9c1e'));
  const listed = loggableJson('EncryptRequest', { KeyId: 'k', Plaintext: ['a plaintext in a list 7d2b'] });
  t.notOk(listed.includes('7d2b'));
  t.same(JSON.parse(listed), { keyId: 'k', plaintext: { invalidType: 'list' } }, 'a blob of another wrong type: its type only');
  t.same(JSON.parse(text), {
    keyId: { invalidType: 'number' },
    // a string is taken for its UTF-8 bytes (validate.ts): left out, as bytes are
    encryptionContext: { invalidType: 'list' },
    grantTokens: { invalidType: 'string' },
  });
  t.same(parsed('EncryptRequest', 'a string'), { invalidType: 'string' }, 'a top-level value of the wrong type');
  t.same(parsed('SignRequest', { KeyId: 'k', Message: new Uint8Array(1), Unknown: 'dropped', SigningAlgorithm: null }), {
    keyId: 'k',
  });
});

t.test('strings that need escaping, maps, lists, numbers, booleans and timestamps', async (t) => {
  const context = { 'quote"and\\slash': 'line\nbreak', 'ünïcode': '\u0001', plain: 'v' };
  t.same(parsed('EncryptRequest', { KeyId: 'k', Plaintext: new Uint8Array(0), EncryptionContext: context }), {
    keyId: 'k',
    encryptionContext: context,
  });
  t.same(parsed('ListKeysRequest', { Limit: 7, Marker: 'm' }), { limit: 7, marker: 'm' });
  t.same(parsed('ListKeysRequest', { Limit: Number.NaN }), { limit: { invalidType: 'number' } });
  t.same(parsed('CreateKeyRequest', { MultiRegion: true, BypassPolicyLockoutSafetyCheck: 'yes' }), {
    multiRegion: true,
    bypassPolicyLockoutSafetyCheck: { invalidType: 'string' },
  });
  t.same(parsed('CreateKeyRequest', { Tags: [{ TagKey: 'a', TagValue: 'b' }, null, 5] }), {
    tags: [{ tagKey: 'a', tagValue: 'b' }, null, { invalidType: 'number' }],
  });
  const when = new Date(Date.UTC(2030, 0, 2, 3, 4, 5));
  // As CloudTrail writes KMS's dates inside requests and responses (ct-importkeymaterial's validTo).
  t.same(parsed('ImportKeyMaterialRequest', { KeyId: 'k', ValidTo: when }), { keyId: 'k', validTo: 'Jan 2, 2030, 3:04:05 AM' });
  t.same(parsed('ImportKeyMaterialRequest', { ValidTo: when.getTime() / 1000 }), { validTo: 'Jan 2, 2030, 3:04:05 AM' });
  t.same(parsed('ImportKeyMaterialRequest', { ValidTo: new Date(Date.UTC(2022, 7, 10, 22, 38, 27)) }), { validTo: 'Aug 10, 2022, 10:38:27 PM' });
  t.same(parsed('ImportKeyMaterialRequest', { ValidTo: new Date(Date.UTC(2025, 11, 31, 0, 0, 9)) }), { validTo: 'Dec 31, 2025, 12:00:09 AM' });
  t.same(parsed('ImportKeyMaterialRequest', { ValidTo: new Date(Date.UTC(2025, 4, 1, 12, 30, 0)) }), { validTo: 'May 1, 2025, 12:30:00 PM' });
  t.same(parsed('ImportKeyMaterialRequest', { ValidTo: new Date(Number.NaN) }), { validTo: { invalidType: 'object' } });
});

t.test('long strings and lists are cut, with what was left out counted', async (t) => {
  const policy = 'p'.repeat(40 * 1024);
  const out = parsed('PutKeyPolicyRequest', { KeyId: 'k', Policy: policy }) as { policy: string };
  t.equal(out.policy.length < policy.length, true);
  t.match(out.policy, /…\[8192 more characters\]$/);
  const ids = Array.from({ length: 1005 }, (_, i) => `g${i}`);
  const list = (parsed('EncryptRequest', { GrantTokens: ids }) as { grantTokens: string[] }).grantTokens;
  t.equal(list.length, 1001);
  t.equal(list[1000], '…[5 more items]');
});

t.test('no shape or no value is null; loggable() is the parsed text', async (t) => {
  t.equal(loggableJson(undefined, { a: 1 }), 'null');
  t.equal(loggableJson('EncryptRequest', undefined), 'null');
  t.equal(loggable('EncryptRequest', null), null);
  t.same(loggable('SignRequest', { KeyId: 'k' }), { keyId: 'k' });
});

// The trail reuses a request's text while its fingerprint stays the same (event.ts), and makes
// that text from the fingerprint: it must be what loggableJson() writes for the request itself.
t.test('a request of scalars and blobs logs the same text from its fingerprint', async (t) => {
  const long = 'k'.repeat(40 * 1024);
  const cases: [string, Record<string, unknown>][] = [
    ['SignRequest', { KeyId: 'alias/x', Message: new Uint8Array(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }],
    ['SignRequest', { KeyId: long, Message: Buffer.alloc(0), DryRun: true, Unknown: 'dropped' }],
    ['SignRequest', { KeyId: 7, Message: new Uint8Array(1), MessageType: false, SigningAlgorithm: Number.NaN }],
    ['VerifyRequest', { KeyId: 'k', Message: new Uint8Array(5), Signature: new Uint8Array(71), SigningAlgorithm: 'RSASSA_PSS_SHA_256', MessageType: null }],
    ['GenerateMacRequest', { KeyId: 'k', Message: new Uint8Array(4096), MacAlgorithm: 'HMAC_SHA_256' }],
    ['DecryptRequest', { CiphertextBlob: new Uint8Array(100), KeyId: 'k', EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }],
    ['GenerateRandomRequest', { NumberOfBytes: 32 }],
    ['GenerateRandomRequest', { NumberOfBytes: -0 }],
    ['GenerateDataKeyRequest', { KeyId: 'k\u00e9\n"quoted"', NumberOfBytes: 1.5 }],
    ['CreateCustomKeyStoreRequest', { CustomKeyStoreName: 'n', KeyStorePassword: 'secret-9f2' }],
  ];
  for (const [shape, value] of cases) {
    const fingerprint = scalarFingerprint(shape, value);
    if (!fingerprint) {
      t.fail(`${shape}: no fingerprint for ${JSON.stringify(Object.keys(value))}`);
      continue;
    }
    t.equal(fingerprintJson(shape, fingerprint), loggableJson(shape, value), `${shape} ${Object.keys(value).join(',')}`);
    t.ok(sameFingerprint(shape, { ...value }, fingerprint) || Object.values(value).some((v) => Number.isNaN(v)), 'a copy has the same fingerprint');
  }
  // Values that are not scalars or blobs get no fingerprint: their text is made afresh each time.
  t.equal(scalarFingerprint('SignRequest', { KeyId: 'k', GrantTokens: ['t'] }), undefined, 'a list');
  t.equal(scalarFingerprint('SignRequest', { KeyId: 'k', Message: 'a string for a blob' }), undefined, 'a string for a blob');
  t.equal(scalarFingerprint('EncryptRequest', { KeyId: 'k', Plaintext: new Uint8Array(1), EncryptionContext: { a: 'b' } }), undefined, 'a map');
  t.equal(scalarFingerprint('SignRequest', { KeyId: 'k', Message: 'a string where a blob belongs'.length }), undefined, 'a number where a blob belongs');
  t.equal(scalarFingerprint('SignRequest', { KeyId: new Date(0) }), undefined, 'an object where a string belongs');
  // Nothing of a blob is logged: neither its bytes nor its length matter, only that it is there.
  const fp = scalarFingerprint('SignRequest', { KeyId: 'k', Message: Buffer.alloc(32, 1) })!;
  t.ok(sameFingerprint('SignRequest', { KeyId: 'k', Message: Buffer.alloc(32, 2) }, fp));
  t.ok(sameFingerprint('SignRequest', { KeyId: 'k', Message: Buffer.alloc(31) }, fp));
  t.notOk(sameFingerprint('SignRequest', { KeyId: 'k' }, fp), 'without the message');
  t.notOk(sameFingerprint('SignRequest', { KeyId: 'k2', Message: Buffer.alloc(32) }, fp));
});
