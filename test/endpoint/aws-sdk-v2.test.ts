// The AWS SDK for JavaScript v2 (`aws-sdk`, end of support but still in many programs) against
// the endpoint with SigV4 auth: `new AWS.KMS({ endpoint, region, credentials })` as users point
// it at AWS. v2 has its own JSON 1.1 parser, signer, paginators and error shape (`code`,
// `statusCode`, `retryable` on a plain Error), so it checks our wire format independently of v3.
import { constants, createPublicKey, verify } from 'node:crypto';
import { createRequire } from 'node:module';

import AWS from 'aws-sdk';
import t, { type Test } from 'tap';

import { startServer } from '../../src/endpoint/index.js';
import { backends, software, type Backend } from '../helpers/backends.js';
import '../helpers/softhsm.js'; // registers the SoftHSM2 backend

// v2 prints an end-of-support notice on its first tick; this is its documented switch.
(createRequire(import.meta.url)('aws-sdk/lib/maintenance_mode_message.js') as { suppress: boolean }).suppress = true;

const credentials = { accessKeyId: 'AKIDV2', secretAccessKey: 'v2-secret/with+chars' };

async function setup(tt: Test, backend: Backend = software): Promise<{ client: AWS.KMS; url: string }> {
  const kms = await backend.open();
  const server = await startServer(kms, { port: 0, auth: 'sigv4', accessKeys: new Map([[credentials.accessKeyId, credentials.secretAccessKey]]) });
  tt.teardown(async () => {
    await server.close();
    await kms.close();
  });
  // No retries: each assertion sees the first answer (v2 would retry a retryable error silently).
  return { client: new AWS.KMS({ endpoint: server.url, region: 'us-east-1', credentials, maxRetries: 0 }), url: server.url };
}

/** The error a v2 request fails with (v2 rejects with an Error carrying code, statusCode…). */
async function v2Error(p: Promise<unknown>): Promise<AWS.AWSError> {
  try {
    await p;
  } catch (err) {
    return err as AWS.AWSError;
  }
  throw new Error('expected the call to fail');
}

for (const backend of backends()) {
  t.test(`CreateKey, Encrypt/Decrypt and GenerateDataKey [${backend.name}]`, async (tt) => {
    const { client } = await setup(tt, backend);
    const md = (await client.createKey({ Description: 'v2' }).promise()).KeyMetadata!;
    tt.ok(md.CreationDate instanceof Date, 'v2 turns the epoch-seconds timestamp into a Date');
    tt.ok(Math.abs(md.CreationDate!.getTime() - Date.now()) < 600_000, 'and it is now');
    tt.match(md, { Description: 'v2', KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Enabled: true, KeyState: 'Enabled' });

    const context = { purpose: 'v2 test' };
    const enc = await client.encrypt({ KeyId: md.KeyId, Plaintext: 'secret for v2', EncryptionContext: context }).promise();
    tt.ok(Buffer.isBuffer(enc.CiphertextBlob), 'blobs come back as Buffers');
    tt.equal(enc.KeyId, md.Arn);
    const dec = await client.decrypt({ CiphertextBlob: enc.CiphertextBlob!, EncryptionContext: context }).promise();
    tt.equal(dec.Plaintext!.toString(), 'secret for v2');
    tt.equal(dec.KeyId, md.Arn);
    tt.equal(dec.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    const wrongContext = await v2Error(client.decrypt({ CiphertextBlob: enc.CiphertextBlob!, EncryptionContext: { purpose: 'other' } }).promise());
    tt.equal(wrongContext.code, 'InvalidCiphertextException', 'another context does not decrypt');

    // The data key's ciphertext decrypts to the plaintext key handed out.
    const dk = await client.generateDataKey({ KeyId: md.Arn!, KeySpec: 'AES_256', EncryptionContext: context }).promise();
    tt.equal((dk.Plaintext as Buffer).length, 32);
    const back = await client.decrypt({ CiphertextBlob: dk.CiphertextBlob!, EncryptionContext: context }).promise();
    tt.same(back.Plaintext, dk.Plaintext, 'the data key decrypts to the same bytes');
  });

  t.test(`Sign/Verify with an RSA key, checked by node:crypto [${backend.name}]`, async (tt) => {
    const { client } = await setup(tt, backend);
    const md = (await client.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }).promise()).KeyMetadata!;
    const message = Buffer.from('signed through aws-sdk v2');
    const signed = await client.sign({ KeyId: md.KeyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'RSASSA_PSS_SHA_256' }).promise();
    const pub = await client.getPublicKey({ KeyId: md.Arn! }).promise();
    const key = createPublicKey({ key: pub.PublicKey as Buffer, format: 'der', type: 'spki' });
    const pss = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    tt.ok(verify('sha256', message, pss, signed.Signature as Buffer), 'node:crypto verifies the PSS signature');
    tt.notOk(verify('sha256', Buffer.from('another'), pss, signed.Signature as Buffer), 'and not for another message');

    const ok = await client.verify({ KeyId: md.KeyId, Message: message, Signature: signed.Signature!, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }).promise();
    tt.equal(ok.SignatureValid, true);
    const bad = Buffer.from(signed.Signature as Buffer);
    bad[0] ^= 1;
    const e = await v2Error(client.verify({ KeyId: md.KeyId, Message: message, Signature: bad, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }).promise());
    tt.equal(e.code, 'KMSInvalidSignatureException', 'a bad signature throws, as AWS does');
    tt.equal(e.statusCode, 400);
  });
}

t.test('ListKeys pages with Limit/Marker, and through v2 eachPage', async (tt) => {
  const { client } = await setup(tt);
  const ids = new Set<string>();
  for (let i = 0; i < 5; i++) ids.add((await client.createKey({}).promise()).KeyMetadata!.KeyId);
  const first = await client.listKeys({ Limit: 2 }).promise();
  tt.equal(first.Keys!.length, 2);
  tt.equal(first.Truncated, true);
  tt.type(first.NextMarker, 'string');
  const second = await client.listKeys({ Limit: 2, Marker: first.NextMarker! }).promise();
  tt.equal(second.Keys!.length, 2);
  tt.notOk(second.Keys!.some((k) => first.Keys!.some((f) => f.KeyId === k.KeyId)), 'the second page does not repeat the first');

  // v2's paginator follows NextMarker while Truncated (its paginators-1.json): every key once.
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    client.listKeys({ Limit: 2 }).eachPage((err, page) => {
      if (err) reject(err);
      else if (page === null) resolve();
      else seen.push(...page.Keys!.map((k) => k.KeyId!));
      return true;
    });
  });
  tt.same(new Set(seen), ids);
  tt.equal(seen.length, ids.size, 'no key listed twice');
});

t.test('errors as v2 exposes them', async (tt) => {
  const { client, url } = await setup(tt);
  const missing = '00000000-0000-4000-8000-000000000000';
  const e = await v2Error(client.describeKey({ KeyId: missing }).promise());
  tt.ok(e instanceof Error);
  tt.equal(e.code, 'NotFoundException');
  tt.equal(e.name, 'NotFoundException');
  tt.equal(e.message, `Key 'arn:aws:kms:us-east-1:111122223333:key/${missing}' does not exist`);
  tt.equal(e.statusCode, 400);
  tt.equal(e.retryable, false);
  tt.match(e.requestId, /^[0-9a-f-]{36}$/, 'the request id from x-amzn-RequestId');

  // SigV4 is checked: the same client with a wrong secret is refused.
  const wrong = new AWS.KMS({ endpoint: url, region: 'us-east-1', credentials: { ...credentials, secretAccessKey: 'wrong' }, maxRetries: 0 });
  const auth = await v2Error(wrong.listKeys({}).promise());
  tt.equal(auth.code, 'InvalidSignatureException');
  tt.equal(auth.statusCode, 400);

  // v2's correctClockSkew: on InvalidSignatureException it reads the skew from our Date header and
  // retries, as it does against AWS; without it, the "Signature expired" error stands.
  const late = { endpoint: url, region: 'us-east-1', credentials, systemClockOffset: -10 * 60_000 };
  const expired = await v2Error(new AWS.KMS({ ...late, maxRetries: 0 }).listKeys({}).promise());
  tt.match(expired.message, /^Signature expired: /);
  tt.equal(expired.retryable, true, 'v2 counts it as a clock-skew error');
  tt.ok((await new AWS.KMS({ ...late, maxRetries: 1, correctClockSkew: true }).listKeys({}).promise()).Keys, 'corrected and retried');
});
