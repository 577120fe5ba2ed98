// @aws-sdk/client-kms against the endpoint (auth none) and through the in-process handler: the
// same calls, the same AWS-shaped results and errors, signatures checked with node:crypto.
import { Agent, request } from 'node:http';
import { createPublicKey, createVerify, verify as cryptoVerify } from 'node:crypto';

import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetPublicKeyCommand,
  KMSClient,
  NotFoundException,
  SignCommand,
  VerifyCommand,
  KMSInvalidSignatureException,
} from '@aws-sdk/client-kms';
import t, { type Test } from 'tap';

import { createInProcessHandler } from '../../src/client/in-process-handler.js';
import { startServer } from '../../src/endpoint/index.js';
import type { Kms } from '../../src/index.js';
import { backends } from '../helpers/backends.js';
import { kmsHeaders } from './http.js';

const credentials = { accessKeyId: 'AKIDANY', secretAccessKey: 'any-secret' };

async function exercise(tt: Test, client: KMSClient): Promise<void> {
  const created = await client.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: 'sdk test' }));
  const md = created.KeyMetadata!;
  tt.equal(created.$metadata.httpStatusCode, 200);
  tt.match(created.$metadata.requestId, /^[0-9a-f-]{36}$/, 'request id from x-amzn-RequestId');
  tt.ok(md.CreationDate instanceof Date, 'CreationDate decoded as a Date');
  tt.ok(Math.abs(md.CreationDate!.getTime() - Date.now()) < 600_000, 'CreationDate is now');
  tt.equal(md.KeySpec, 'ECC_NIST_P256');
  tt.same(md.SigningAlgorithms, ['ECDSA_SHA_256']);
  tt.equal(md.Description, 'sdk test');

  const message = Buffer.from('message signed through the SDK');
  const signed = await client.send(new SignCommand({ KeyId: md.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
  tt.ok(signed.Signature instanceof Uint8Array);
  const pub = await client.send(new GetPublicKeyCommand({ KeyId: md.Arn }));
  const key = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });
  tt.ok(createVerify('SHA256').update(message).verify(key, Buffer.from(signed.Signature!)), 'node:crypto verifies the signature');
  tt.notOk(cryptoVerify('sha256', Buffer.from('other message'), key, Buffer.from(signed.Signature!)), 'and rejects it for another message');

  const verified = await client.send(new VerifyCommand({ KeyId: md.KeyId, Message: message, Signature: signed.Signature, SigningAlgorithm: 'ECDSA_SHA_256' }));
  tt.equal(verified.SignatureValid, true);
  const bad = Buffer.from(signed.Signature!);
  bad[bad.length - 1] ^= 1;
  await tt.rejects(
    client.send(new VerifyCommand({ KeyId: md.KeyId, Message: message, Signature: bad, SigningAlgorithm: 'ECDSA_SHA_256' })),
    KMSInvalidSignatureException,
  );

  const sym = await client.send(new CreateKeyCommand({}));
  const plaintext = Buffer.from('secret data');
  const enc = await client.send(new EncryptCommand({ KeyId: sym.KeyMetadata!.KeyId, Plaintext: plaintext, EncryptionContext: { purpose: 'test' } }));
  const dec = await client.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { purpose: 'test' } }));
  tt.equal(Buffer.from(dec.Plaintext!).toString(), 'secret data');
  tt.equal(dec.KeyId, sym.KeyMetadata!.Arn);

  const missing = '00000000-0000-4000-8000-000000000000';
  try {
    await client.send(new DescribeKeyCommand({ KeyId: missing }));
    tt.fail('DescribeKey of a missing key succeeded');
  } catch (err) {
    tt.ok(err instanceof NotFoundException, 'the SDK raises its own NotFoundException class');
    const e = err as NotFoundException;
    tt.equal(e.name, 'NotFoundException');
    tt.match(e.message, /^Key 'arn:aws:kms:us-east-1:111122223333:key\/00000000-0000-4000-8000-000000000000' does not exist$/);
    tt.equal(e.$fault, 'client');
    tt.equal(e.$metadata.httpStatusCode, 400);
    tt.equal(e.$metadata.attempts, 1, 'client errors are not retried');
  }
}

for (const backend of backends()) {
  t.test(`SDK against the endpoint [${backend.name}]`, async (tt) => {
    const kms = await backend.open();
    const server = await startServer(kms, { port: 0 });
    tt.teardown(async () => {
      await server.close();
      await kms.close();
    });
    tt.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new KMSClient({ region: 'us-east-1', credentials, endpoint: server.url });
    tt.teardown(() => client.destroy());
    await exercise(tt, client);
  });

  t.test(`SDK through the in-process handler [${backend.name}]`, async (tt) => {
    const kms = await backend.open();
    tt.teardown(() => kms.close());
    const client = new KMSClient({ region: 'us-east-1', credentials, requestHandler: createInProcessHandler(kms) });
    await exercise(tt, client);
  });
}

t.test('the in-process handler answers exactly as the endpoint does', async (tt) => {
  const [backend] = backends();
  const kms: Kms = await backend!.open();
  const server = await startServer(kms, { port: 0 });
  tt.teardown(async () => {
    await server.close();
    await kms.close();
  });
  const handler = createInProcessHandler(kms);
  const body = JSON.stringify({ KeyId: 'alias/does-not-exist' });
  const viaHandler = await handler.handle({ method: 'POST', path: '/', headers: kmsHeaders(server.url, 'DescribeKey') as Record<string, string>, body });
  const chunks: Buffer[] = [];
  for await (const c of viaHandler.response.body) chunks.push(Buffer.from(c as Buffer));
  const viaHttp = await fetch(server.url, { method: 'POST', headers: kmsHeaders(server.url, 'DescribeKey') as Record<string, string>, body });
  tt.equal(viaHandler.response.statusCode, viaHttp.status);
  tt.equal(Buffer.concat(chunks).toString(), await viaHttp.text(), 'same body');
  for (const h of ['content-type', 'x-amzn-errortype']) tt.equal(viaHandler.response.headers[h], viaHttp.headers.get(h), `same ${h}`);
  tt.ok(viaHandler.response.headers['x-amzn-requestid'] && viaHttp.headers.get('x-amzn-requestid'), 'both carry a request id');
});

t.test('keep-alive: consecutive requests reuse one connection', async (tt) => {
  const [backend] = backends();
  const kms = await backend!.open();
  const server = await startServer(kms, { port: 0 });
  tt.teardown(async () => {
    await server.close();
    await kms.close();
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  tt.teardown(() => agent.destroy());
  const u = new URL(server.url);
  const once = () =>
    new Promise<{ reused: boolean; status: number }>((resolve, reject) => {
      const req = request({ hostname: u.hostname, port: u.port, method: 'POST', path: '/', agent, headers: kmsHeaders(server.url, 'ListKeys') }, (res) => {
        res.resume();
        res.on('end', () => resolve({ reused: req.reusedSocket, status: res.statusCode ?? 0 }));
      });
      req.on('error', reject);
      req.end('{}');
    });
  const first = await once();
  const second = await once();
  tt.equal(first.status, 200);
  tt.equal(second.status, 200);
  tt.equal(first.reused, false);
  tt.equal(second.reused, true, 'the second request went over the first connection');
});
