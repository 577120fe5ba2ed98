// GenerateDataKey and GenerateDataKeyWithoutPlaintext: lengths, the ciphertext decrypts to the
// plaintext key (with its context only), and AWS's refusals.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

import type { GenerateDataKeyResponse, GenerateRandomResponse, ReEncryptResponse } from '../../src/index.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';
import { outcome, setKeyState } from './helpers.js';

const eitherOr = 'Please specify either number of bytes or key spec.';
const dryRun = 'The request would have succeeded, but the DryRun option is set.';

eachBackend('GenerateDataKey: KeySpec or NumberOfBytes, decryptable with the context', async (t, kms) => {
  const meta = (await kms.createKey({})).KeyMetadata!;
  const context = { 'context-key': 'context-value' };
  const cases: [string, { KeySpec?: 'AES_128' | 'AES_256'; NumberOfBytes?: number }, number][] = [
    ['AES_256', { KeySpec: 'AES_256' }, 32],
    ['AES_128', { KeySpec: 'AES_128' }, 16],
    ['1 byte', { NumberOfBytes: 1 }, 1],
    ['64 bytes', { NumberOfBytes: 64 }, 64],
    ['1024 bytes', { NumberOfBytes: 1024 }, 1024],
  ];
  for (const [what, size, length] of cases) {
    const out = await kms.generateDataKey({ KeyId: meta.KeyId!, EncryptionContext: context, ...size });
    t.equal(out.Plaintext!.length, length, `${what}: plaintext length`);
    t.equal(out.KeyId, meta.Arn);
    t.equal(out.KeyMaterialId, meta.CurrentKeyMaterialId);
    const dec = await kms.decrypt({ CiphertextBlob: out.CiphertextBlob!, EncryptionContext: context });
    t.ok(Buffer.from(dec.Plaintext!).equals(Buffer.from(out.Plaintext!)), `${what}: the ciphertext decrypts to the plaintext key`);
    t.equal(
      await outcome(kms.decrypt({ CiphertextBlob: out.CiphertextBlob!, KeyId: meta.KeyId! })),
      'InvalidCiphertextException: ',
      `${what}: not without the context`,
    );
  }
  const a = await kms.generateDataKey({ KeyId: meta.KeyId!, KeySpec: 'AES_256' });
  const b = await kms.generateDataKey({ KeyId: meta.KeyId!, KeySpec: 'AES_256' });
  t.notSame(Buffer.from(a.Plaintext!), Buffer.from(b.Plaintext!), 'every data key is new');
  // An AES-256 data key is an AES-256 key to Node's crypto, as envelope encryption uses it.
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', a.Plaintext!, iv);
  const sealed = Buffer.concat([cipher.update('payload'), cipher.final()]);
  const tag = cipher.getAuthTag();
  const recovered = Buffer.from((await kms.decrypt({ CiphertextBlob: a.CiphertextBlob! })).Plaintext!);
  const decipher = createDecipheriv('aes-256-gcm', recovered, iv).setAuthTag(tag);
  t.equal(Buffer.concat([decipher.update(sealed), decipher.final()]).toString(), 'payload');
});

eachBackend('GenerateDataKeyWithoutPlaintext returns only the ciphertext', async (t, kms) => {
  const meta = (await kms.createKey({})).KeyMetadata!;
  const context = { k: 'v' };
  const out = await kms.generateDataKeyWithoutPlaintext({ KeyId: meta.KeyId!, KeySpec: 'AES_256', EncryptionContext: context });
  t.same(Object.keys(out).sort(), ['CiphertextBlob', 'KeyId', 'KeyMaterialId']);
  t.equal(out.KeyId, meta.Arn);
  t.equal((await kms.decrypt({ CiphertextBlob: out.CiphertextBlob!, EncryptionContext: context })).Plaintext!.length, 32);
  t.equal(await outcome(kms.decrypt({ CiphertextBlob: out.CiphertextBlob! })), 'InvalidCiphertextException: ');
  const n = await kms.generateDataKeyWithoutPlaintext({ KeyId: meta.KeyId!, NumberOfBytes: 7 });
  t.equal((await kms.decrypt({ CiphertextBlob: n.CiphertextBlob! })).Plaintext!.length, 7);
});

eachBackend('GenerateDataKey refuses what AWS refuses', async (t, kms) => {
  const meta = (await kms.createKey({})).KeyMetadata!;
  const rsa = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!;
  const hmac = (await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!;
  for (const op of ['generateDataKey', 'generateDataKeyWithoutPlaintext'] as const) {
    const name = op === 'generateDataKey' ? 'GenerateDataKey' : 'GenerateDataKeyWithoutPlaintext';
    await rejectsAws(t, kms[op]({ KeyId: meta.KeyId! }), 'ValidationException', eitherOr);
    await rejectsAws(t, kms[op]({ KeyId: meta.KeyId!, KeySpec: 'AES_256', NumberOfBytes: 32 }), 'ValidationException', eitherOr);
    await rejectsAws(
      t,
      kms[op]({ KeyId: meta.KeyId!, NumberOfBytes: 0 }),
      'ValidationException',
      "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    await rejectsAws(
      t,
      kms[op]({ KeyId: meta.KeyId!, NumberOfBytes: 1025 }),
      'ValidationException',
      "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
    );
    await rejectsAws(
      t,
      kms[op]({ KeyId: rsa.KeyId!, KeySpec: 'AES_256' }),
      'InvalidKeyUsageException',
      'Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.',
    );
    await rejectsAws(
      t,
      kms[op]({ KeyId: hmac.KeyId!, KeySpec: 'AES_256' }),
      'InvalidKeyUsageException',
      `${hmac.Arn} key usage is GENERATE_VERIFY_MAC which is not valid for ${name}.`,
    );
    await rejectsAws(t, kms[op]({ KeyId: meta.KeyId!, KeySpec: 'AES_256', DryRun: true }), 'DryRunOperationException', dryRun);
  }
  setKeyState(kms, meta.KeyId!, 'Disabled');
  await rejectsAws(t, kms.generateDataKey({ KeyId: meta.KeyId!, KeySpec: 'AES_256' }), 'DisabledException', `${meta.Arn} is disabled.`);
  setKeyState(kms, meta.KeyId!, 'PendingDeletion');
  await rejectsAws(t, kms.generateDataKey({ KeyId: meta.KeyId!, KeySpec: 'AES_256' }), 'KMSInvalidStateException', `${meta.Arn} is pending deletion.`);
});

eachBackend('SDK command objects reach the same operations', async (t, kms) => {
  const { GenerateDataKeyCommand, ReEncryptCommand, GenerateRandomCommand } = await import('@aws-sdk/client-kms');
  const meta = (await kms.createKey({})).KeyMetadata!;
  // send() returns what the command's operation returns; the SDK's output types are not ours.
  const out = (await kms.send(new GenerateDataKeyCommand({ KeyId: meta.KeyId!, KeySpec: 'AES_128' }))) as GenerateDataKeyResponse;
  t.equal(out.Plaintext!.length, 16);
  const moved = (await kms.send(new ReEncryptCommand({ CiphertextBlob: out.CiphertextBlob!, DestinationKeyId: meta.Arn! }))) as ReEncryptResponse;
  t.equal(moved.KeyId, meta.Arn);
  t.equal(((await kms.send(new GenerateRandomCommand({ NumberOfBytes: 5 }))) as GenerateRandomResponse).Plaintext!.length, 5);
  // A command of the SDK that we do not offer (newer than our service model) is named as such.
  class EncapsulateCommand {
    constructor(readonly input: object) {}
  }
  await rejectsAws(t, kms.send(new EncapsulateCommand({ KeyId: meta.KeyId })), 'UnsupportedOperationException', 'Encapsulate is not an operation embedded-kms supports.');
});

// A data key made inline comes back as its ciphertext and its plaintext in one slice of Node's
// buffer pool (src/operations/result-buffer.ts): each call's pair must be its own, the two parts
// whole and apart, side by side and in turn, of every length.
eachBackend('data keys made inline: each ciphertext decrypts to its own plaintext', async (t, kms) => {
  const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const lengths = [1, 16, 32, 64, 1000, 1024];
  const made = await Promise.all(lengths.flatMap((n) => [n, n, n]).map((n) => kms.generateDataKey({ KeyId: keyId, NumberOfBytes: n })));
  for (const n of lengths) made.push(await kms.generateDataKey({ KeyId: keyId, NumberOfBytes: n }));
  const lengthsMade = [...lengths.flatMap((n) => [n, n, n]), ...lengths];
  t.ok(made.every((d, i) => d.Plaintext!.length === lengthsMade[i]), 'every plaintext has the length asked for');
  const back = await Promise.all(made.map((d) => kms.decrypt({ CiphertextBlob: d.CiphertextBlob! })));
  t.equal(back.filter((b, i) => !Buffer.from(b.Plaintext!).equals(Buffer.from(made[i]!.Plaintext!))).length, 0, `each of ${made.length} ciphertexts decrypts to its own plaintext`);
  // Two of four 1-byte keys coincide by chance one time in 43 (they are random): the check of each pair
  // above covers them; keys of 16 bytes and more never coincide by chance.
  const long = made.filter((d) => d.Plaintext!.length >= 16);
  t.equal(new Set(long.map((d) => Buffer.from(d.Plaintext!).toString('hex'))).size, long.length, `no two of the ${long.length} data keys of 16 bytes or more alike`);
  // A plaintext never shares its ArrayBuffer (a slice of Node's pool would: `.buffer` reaches
  // every other small Buffer in it, and they reach the key).
  t.ok(made.every((d) => d.Plaintext!.byteOffset === 0 && d.Plaintext!.buffer.byteLength === d.Plaintext!.length), 'each plaintext data key has an ArrayBuffer of its own');
  const without = await kms.generateDataKeyWithoutPlaintext({ KeyId: keyId, KeySpec: 'AES_256' });
  t.notOk('Plaintext' in without, 'WithoutPlaintext has no Plaintext member');
  t.equal((await kms.decrypt({ CiphertextBlob: without.CiphertextBlob! })).Plaintext!.length, 32);
});
