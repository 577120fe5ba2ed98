// SYMMETRIC_DEFAULT Encrypt and Decrypt: round trips, the encryption context, and tampering.
//
// Tampering, decided AWS-faithfully: a ciphertext that has been altered anywhere (any byte, a
// truncation, an appended byte, another context) is InvalidCiphertextException with AWS's empty
// message, with or without KeyId. That includes the bytes naming the key: an altered key id names
// no key of this store, so no key could have made the blob. IncorrectKeyException is kept for an
// intact ciphertext of one existing key presented with the KeyId of another (recorded AWS case).
import { randomBytes } from 'node:crypto';

import { native } from '../../src/index.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';
import { outcome, setKeyState } from './helpers.js';

const incorrectKey = 'The key ID in the request does not identify a CMK that can perform this operation.';

eachBackend('SYMMETRIC_DEFAULT round trips, with and without KeyId', async (t, kms) => {
  const meta = (await kms.createKey({})).KeyMetadata!;
  t.equal(meta.KeySpec, 'SYMMETRIC_DEFAULT');
  t.match(meta.CurrentKeyMaterialId, /^[0-9a-f]{64}$/);
  for (const size of [1, 17, 4096]) {
    const plaintext = randomBytes(size);
    const enc = await kms.encrypt({ KeyId: meta.KeyId!, Plaintext: plaintext });
    t.equal(enc.KeyId, meta.Arn);
    t.equal(enc.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    // The blob names the key and material, which Decrypt without KeyId relies on.
    t.same(native.parseCiphertext(enc.CiphertextBlob!), { keyId: meta.KeyId, materialId: meta.CurrentKeyMaterialId });
    for (const keyId of [undefined, meta.KeyId!, meta.Arn!]) {
      const dec = await kms.decrypt({ CiphertextBlob: enc.CiphertextBlob!, ...(keyId ? { KeyId: keyId } : {}) });
      t.ok(Buffer.from(dec.Plaintext!).equals(plaintext), `${size} bytes, KeyId ${keyId ?? 'absent'}`);
      t.equal(dec.KeyId, meta.Arn);
      t.equal(dec.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
      t.equal(dec.KeyMaterialId, meta.CurrentKeyMaterialId);
    }
  }
  const a = await kms.encrypt({ KeyId: meta.KeyId!, Plaintext: Buffer.from('same') });
  const b = await kms.encrypt({ KeyId: meta.KeyId!, Plaintext: Buffer.from('same') });
  t.notSame(Buffer.from(a.CiphertextBlob!), Buffer.from(b.CiphertextBlob!), 'a fresh nonce per encryption');
  await rejectsAws(
    t,
    kms.encrypt({ KeyId: meta.KeyId!, Plaintext: Buffer.alloc(4097) }),
    'ValidationException',
    "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
  );
});

eachBackend('the encryption context is bound to the ciphertext', async (t, kms) => {
  const meta = (await kms.createKey({})).KeyMetadata!;
  const context = { 'context-key': 'context-value', purpose: 'test' };
  const plaintext = Buffer.from('test message 123 !%$@ 1234567890');
  const blob = (await kms.encrypt({ KeyId: meta.KeyId!, Plaintext: plaintext, EncryptionContext: context })).CiphertextBlob!;
  const reordered = { purpose: 'test', 'context-key': 'context-value' };
  const dec = await kms.decrypt({ KeyId: meta.KeyId!, CiphertextBlob: blob, EncryptionContext: reordered });
  t.ok(Buffer.from(dec.Plaintext!).equals(plaintext), 'the order of the pairs does not matter');
  const wrong: Record<string, Record<string, string> | undefined> = {
    none: undefined,
    empty: {},
    'changed value': { ...context, purpose: 'Test' },
    'changed key': { 'Context-key': 'context-value', purpose: 'test' },
    'extra pair': { ...context, more: '' },
    'missing pair': { purpose: 'test' },
    // A canonical encoding must not confuse a split between key and value with another one.
    'shifted boundary': { 'context-keyc': 'ontext-value', purpose: 'test' },
  };
  for (const [what, ctx] of Object.entries(wrong)) {
    t.equal(
      await outcome(kms.decrypt({ CiphertextBlob: blob, ...(ctx ? { EncryptionContext: ctx } : {}) })),
      'InvalidCiphertextException: ',
      `context ${what}`,
    );
  }
});

eachBackend('every altered byte, truncation or extension is InvalidCiphertextException', async (t, kms) => {
  const meta = (await kms.createKey({})).KeyMetadata!;
  const context = { k: 'v' };
  const blob = Buffer.from((await kms.encrypt({ KeyId: meta.KeyId!, Plaintext: Buffer.from('sixteen bytes!!!'), EncryptionContext: context })).CiphertextBlob!);
  const unexpected: string[] = [];
  const expectInvalid = async (candidate: Buffer, what: string) => {
    for (const keyId of [undefined, meta.KeyId!]) {
      const got = await outcome(kms.decrypt({ CiphertextBlob: candidate, EncryptionContext: context, ...(keyId ? { KeyId: keyId } : {}) }));
      if (got !== 'InvalidCiphertextException: ') unexpected.push(`${what}, KeyId ${keyId ? 'given' : 'absent'}: ${got}`);
    }
  };
  for (let i = 0; i < blob.length; i++) {
    // A low bit (keeps key-id characters printable) and the high bit (makes them not).
    for (const mask of [0x01, 0x80]) {
      const bad = Buffer.from(blob);
      bad[i] = (bad[i] as number) ^ mask;
      await expectInvalid(bad, `byte ${i} ^ 0x${mask.toString(16)}`);
    }
  }
  for (let len = 1; len < blob.length; len++) await expectInvalid(blob.subarray(0, len), `truncated to ${len}`);
  await expectInvalid(Buffer.concat([blob, Buffer.from([0])]), 'one byte appended');
  await expectInvalid(Buffer.concat([blob, Buffer.from('bad_data')]), 'bad_data appended');
  t.same(unexpected, [], `all ${blob.length * 2} altered bytes, ${blob.length - 1} truncations and 2 extensions refused`);
  // The intact blob still decrypts: the refusals above were about the alterations.
  t.equal(await outcome(kms.decrypt({ CiphertextBlob: blob, EncryptionContext: context })), 'ok');
});

eachBackend('Decrypt with the KeyId of another key is IncorrectKeyException', async (t, kms) => {
  const meta = (await kms.createKey({})).KeyMetadata!;
  const other = (await kms.createKey({})).KeyMetadata!;
  const hmac = (await kms.createKey({ KeySpec: 'HMAC_224', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!;
  const rsa = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!;
  const blob = (await kms.encrypt({ KeyId: meta.KeyId!, Plaintext: Buffer.from('x') })).CiphertextBlob!;
  for (const wrong of [other.KeyId!, other.Arn!, hmac.KeyId!, rsa.KeyId!])
    await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob, KeyId: wrong }), 'IncorrectKeyException', incorrectKey);
  const unknown = meta.Arn!.replace(meta.KeyId!, '134f2428-cec1-4b25-a1ae-9048164dba47');
  await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob, KeyId: unknown }), 'NotFoundException', `Key '${unknown}' does not exist`);
  await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob, KeyId: 'key_id' }), 'NotFoundException', "Invalid keyId 'key_id'");
});

eachBackend('a ciphertext of another key store is InvalidCiphertextException', async (t, kms, backend) => {
  const elsewhere = await backend.open();
  t.teardown(() => elsewhere.close());
  const foreign = (await elsewhere.createKey({})).KeyMetadata!;
  const blob = (await elsewhere.encrypt({ KeyId: foreign.KeyId!, Plaintext: Buffer.from('x') })).CiphertextBlob!;
  await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob }), 'InvalidCiphertextException', '');
  const mine = (await kms.createKey({})).KeyMetadata!;
  await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob, KeyId: mine.KeyId! }), 'InvalidCiphertextException', '');
});

eachBackend('key states, usages and DryRun', async (t, kms) => {
  const meta = (await kms.createKey({})).KeyMetadata!;
  const signing = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  const blob = (await kms.encrypt({ KeyId: meta.KeyId!, Plaintext: Buffer.from('x') })).CiphertextBlob!;
  const dryRun = 'The request would have succeeded, but the DryRun option is set.';
  await rejectsAws(t, kms.encrypt({ KeyId: meta.KeyId!, Plaintext: Buffer.from('x'), DryRun: true }), 'DryRunOperationException', dryRun);
  await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob, DryRun: true }), 'DryRunOperationException', dryRun);
  // DryRun reports the error the request would have had: the blob is decrypted, so a changed tag
  // or the wrong context fails as the call would (the model: only IGNORE_CIPHERTEXT skips it).
  await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob.subarray(1), DryRun: true }), 'InvalidCiphertextException', '');
  const tampered = Buffer.from(blob);
  tampered[tampered.length - 1]! ^= 1;
  await rejectsAws(t, kms.decrypt({ CiphertextBlob: tampered, DryRun: true }), 'InvalidCiphertextException', '');
  await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob, EncryptionContext: { not: 'given' }, DryRun: true }), 'InvalidCiphertextException', '');
  // IGNORE_CIPHERTEXT checks the key only: any blob, or none, but the key must be named.
  const ignore = { DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT' as const] };
  for (const CiphertextBlob of [undefined, Buffer.from('not a ciphertext')])
    await rejectsAws(t, kms.decrypt({ KeyId: meta.KeyId!, ...(CiphertextBlob ? { CiphertextBlob } : {}), ...ignore }), 'DryRunOperationException', dryRun);
  await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob, ...ignore }), 'ValidationException', 'KeyId is required when DryRunModifiers includes IGNORE_CIPHERTEXT.');
  await rejectsAws(
    t,
    kms.decrypt({ KeyId: signing.KeyId!, ...ignore }),
    'InvalidKeyUsageException',
    `${signing.Arn} key usage is SIGN_VERIFY which is not valid for Decrypt.`,
  );
  // Without DryRun the modifier changes nothing.
  await rejectsAws(t, kms.decrypt({ KeyId: meta.KeyId!, CiphertextBlob: Buffer.from('not a ciphertext'), DryRunModifiers: ['IGNORE_CIPHERTEXT'] }), 'InvalidCiphertextException', '');
  await rejectsAws(
    t,
    kms.encrypt({ KeyId: signing.KeyId!, Plaintext: Buffer.from('x') }),
    'InvalidKeyUsageException',
    `${signing.Arn} key usage is SIGN_VERIFY which is not valid for Encrypt.`,
  );
  await rejectsAws(
    t,
    kms.encrypt({ KeyId: meta.KeyId!, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }),
    'InvalidKeyUsageException',
    'Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.',
  );
  setKeyState(kms, meta.KeyId!, 'Disabled');
  await rejectsAws(t, kms.encrypt({ KeyId: meta.KeyId!, Plaintext: Buffer.from('x') }), 'DisabledException', `${meta.Arn} is disabled.`);
  await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob }), 'DisabledException', `${meta.Arn} is disabled.`);
  await rejectsAws(t, kms.decrypt({ KeyId: meta.KeyId!, ...ignore }), 'DisabledException', `${meta.Arn} is disabled.`);
  setKeyState(kms, meta.KeyId!, 'PendingDeletion');
  await rejectsAws(t, kms.decrypt({ CiphertextBlob: blob }), 'KMSInvalidStateException', `${meta.Arn} is pending deletion.`);
  setKeyState(kms, meta.KeyId!, 'Enabled');
  t.equal(await outcome(kms.decrypt({ CiphertextBlob: blob })), 'ok');
});

// Results made inline are written into a slice of Node's buffer pool that each call passes in
// (src/operations/result-buffer.ts): ciphertexts, plaintexts and MACs of calls made one after
// another and side by side must each be their own call's, whole and nothing more, below and
// above the size the pool serves.
eachBackend('ciphertexts, plaintexts and MACs made inline each belong to their own call', async (t, kms) => {
  const sym = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const hmac = (await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!.KeyId!;
  // Distinct messages (the first byte is the index): equal ones would rightly get equal MACs.
  const plaintexts = Array.from({ length: 40 }, (_, i) => Buffer.concat([Buffer.of(i), randomBytes([0, 30, 199, 3899, 4095][i % 5]!)]));
  const sequential = [];
  for (const p of plaintexts) sequential.push((await kms.encrypt({ KeyId: sym, Plaintext: p })).CiphertextBlob!);
  const parallel = await Promise.all(plaintexts.map(async (p) => (await kms.encrypt({ KeyId: sym, Plaintext: p })).CiphertextBlob!));
  const blobs = [...sequential, ...parallel];
  const back = await Promise.all(blobs.map(async (b) => (await kms.decrypt({ CiphertextBlob: b })).Plaintext!));
  const backInTurn = [];
  for (const b of blobs) backInTurn.push((await kms.decrypt({ CiphertextBlob: b })).Plaintext!);
  const wrong = blobs.filter((_, i) => {
    const p = plaintexts[i % plaintexts.length]!;
    return !Buffer.from(back[i]!).equals(p) || !Buffer.from(backInTurn[i]!).equals(p);
  });
  t.equal(wrong.length, 0, `each of ${blobs.length} ciphertexts decrypts to its own plaintext, side by side and in turn`);
  const plain = (b: Uint8Array) => Object.getPrototypeOf(b) === Uint8Array.prototype;
  t.ok(blobs.every(plain) && back.every(plain), "results are plain Uint8Arrays, as the SDK's are");
  t.ok([...back, ...backInTurn].every((p) => p.byteOffset === 0 && p.buffer.byteLength === p.length), 'each plaintext has an ArrayBuffer of its own, never a slice of the pool');

  const macs = await Promise.all(plaintexts.map(async (m) => (await kms.generateMac({ KeyId: hmac, Message: m, MacAlgorithm: 'HMAC_SHA_256' })).Mac!));
  const macsInTurn = [];
  for (const m of plaintexts) macsInTurn.push((await kms.generateMac({ KeyId: hmac, Message: m, MacAlgorithm: 'HMAC_SHA_256' })).Mac!);
  t.ok(macs.every((m, i) => m.length === 32 && Buffer.from(m).equals(Buffer.from(macsInTurn[i]!))), 'each MAC is 32 bytes and the same side by side as in turn');
  t.equal(new Set(macs.map((m) => Buffer.from(m).toString('hex'))).size, plaintexts.length, 'no two messages got the same MAC');
  for (const [i, m] of plaintexts.entries())
    if (i % 8 === 0) t.equal((await kms.verifyMac({ KeyId: hmac, Message: m, Mac: macs[i]!, MacAlgorithm: 'HMAC_SHA_256' })).MacValid, true);
});
