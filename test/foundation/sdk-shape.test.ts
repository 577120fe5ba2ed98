// Code written for @aws-sdk/client-kms, given a Kms: what it reads beside the KMS members (blob
// types, $metadata), how it recognises errors, and the inputs the SDK takes. Compared with the
// SDK's own objects and classes, imported here.
import { deepStrictEqual } from 'node:assert';

import { DescribeKeyCommand, KMSServiceException, NotFoundException as SdkNotFoundException, SignCommand } from '@aws-sdk/client-kms';
import t from 'tap';

import { KmsError, KMSServiceException as OurBase, NotFoundException } from '../../src/index.js';
import { eachBackend } from '../helpers/kms-fixture.js';

const isPlainUint8Array = (v: unknown) => v instanceof Uint8Array && Object.getPrototypeOf(v) === Uint8Array.prototype;

eachBackend('blobs come back as plain Uint8Arrays, as from the SDK', async (t, kms) => {
  const { KeyMetadata } = await kms.createKey({});
  const KeyId = KeyMetadata!.KeyId!;
  const hello = new TextEncoder().encode('hello');
  const { CiphertextBlob } = await kms.encrypt({ KeyId, Plaintext: hello });
  const { Plaintext } = await kms.decrypt({ CiphertextBlob: CiphertextBlob! });
  t.ok(isPlainUint8Array(CiphertextBlob) && isPlainUint8Array(Plaintext), 'Encrypt and Decrypt');
  t.doesNotThrow(() => deepStrictEqual(Plaintext, hello), "node:assert's deepStrictEqual with TextEncoder's bytes");
  // slice() copies a Uint8Array (a Buffer's is a view): wiping the data key keeps the copy.
  const dk = await kms.generateDataKey({ KeyId, KeySpec: 'AES_256' });
  const copy = dk.Plaintext!.slice();
  const expected = Buffer.from(copy);
  dk.Plaintext!.fill(0);
  t.ok(Buffer.from(copy).equals(expected) && !expected.equals(Buffer.alloc(32)), 'a copy made with slice() survives fill(0)');
  const signing = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  for (let i = 0; i < 3; i++) {
    const { Signature } = await kms.sign({ KeyId: signing, Message: hello, SigningAlgorithm: 'ECDSA_SHA_256' });
    t.ok(isPlainUint8Array(Signature), `Sign ${i + 1}`);
  }
  const pair = await kms.generateDataKeyPair({ KeyId, KeyPairSpec: 'ECC_NIST_P256' });
  t.ok([pair.PrivateKeyPlaintext, pair.PrivateKeyCiphertextBlob, pair.PublicKey].every(isPlainUint8Array), 'GenerateDataKeyPair');
  t.ok(isPlainUint8Array((await kms.generateRandom({ NumberOfBytes: 8 })).Plaintext), 'GenerateRandom');
});

eachBackend("results and errors carry the SDK's $metadata", async (t, kms) => {
  const out = await kms.createKey({});
  t.match(out.$metadata, { httpStatusCode: 200, requestId: /^[0-9a-f-]{36}$/, attempts: 1, totalRetryDelay: 0 });
  const sent = await kms.send(new DescribeKeyCommand({ KeyId: out.KeyMetadata!.KeyId! }));
  t.match((sent as { $metadata?: unknown }).$metadata, { httpStatusCode: 200, requestId: /^[0-9a-f-]{36}$/ }, 'send() too');
  t.notOk('$metadata' in (await kms.execute('DescribeKey', { KeyId: out.KeyMetadata!.KeyId! })), 'execute() gives the operation output only');
  const err = await kms.describeKey({ KeyId: 'alias/none' }).catch((e: unknown) => e);
  t.match((err as KmsError).$metadata, { httpStatusCode: 400, requestId: /^[0-9a-f-]{36}$/, attempts: 1 });
  // The SDK's checks: its base class, its specific class, and ours.
  t.ok(err instanceof KMSServiceException, "the SDK's instanceof KMSServiceException");
  t.ok(err instanceof SdkNotFoundException, "the SDK's instanceof NotFoundException");
  t.ok(err instanceof NotFoundException && err instanceof OurBase && err instanceof KmsError, 'and ours');
  t.notOk(new Error('x') instanceof KMSServiceException, 'not any Error');
});

eachBackend('send() knows a command by its data, and takes what the SDK takes', async (t, kms) => {
  const KeyId = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  // A minifying bundler renames the class; a subclass has a name of its own.
  const command = new SignCommand({ KeyId, Message: new Uint8Array(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' });
  class LoggedSign extends SignCommand {}
  const renamed = Object.assign(Object.create({ constructor: { name: 'Xp' } }) as object, { input: command.input, schema: (command as unknown as { schema: unknown }).schema });
  for (const c of [command, new LoggedSign(command.input), renamed]) {
    const out = (await kms.send(c as SignCommand)) as { Signature?: Uint8Array };
    t.equal(out.Signature?.byteLength !== undefined, true, 'signed');
  }
  // Strings for blobs are their UTF-8 bytes; a map entry with an undefined value is left out.
  const text = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const ct = await kms.encrypt({ KeyId: text, Plaintext: 'hello' as unknown as Uint8Array, EncryptionContext: { tenant: 'a', request: undefined as unknown as string } });
  const back = await kms.decrypt({ CiphertextBlob: ct.CiphertextBlob!, EncryptionContext: { tenant: 'a' } });
  t.equal(new TextDecoder().decode(back.Plaintext), 'hello');
});

t.test('destroy() closes, and a second close() waits for the first', async (t) => {
  const { backends } = await import('../helpers/backends.js');
  const kms = await backends()[0]!.open();
  const first = kms.close();
  let firstDone = false;
  void first.then(() => (firstDone = true));
  await kms.close();
  t.ok(firstDone, 'the second close() resolved after the first');
  const other = await backends()[0]!.open();
  other.destroy();
  await other.close();
  await t.rejects(other.describeKey({ KeyId: 'x' }), { name: 'KMSInternalException' }, 'closed by destroy()');
});

t.test('code typed for the SDK type-checks against a Kms: send() results, $metadata', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const file = fileURLToPath(new URL('../fixtures/types/sdk-send.ts', import.meta.url));
  const r = spawnSync(
    process.execPath,
    [`${root}node_modules/typescript/bin/tsc`, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', file],
    { encoding: 'utf8', timeout: 120_000 },
  );
  t.equal(r.status, 0, r.stdout + r.stderr);
});

t.test('Encapsulate and Decapsulate (newer than our model) are not offered, as methods too', async (t) => {
  const { backends } = await import('../helpers/backends.js');
  const kms = await backends()[0]!.open();
  t.teardown(() => kms.close());
  await t.rejects(kms.encapsulate({}), { name: 'UnsupportedOperationException', message: 'Encapsulate is not an operation embedded-kms supports.' });
  await t.rejects(kms.decapsulate({}), { name: 'UnsupportedOperationException' });
});
