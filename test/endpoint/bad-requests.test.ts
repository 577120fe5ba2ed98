// Requests no SDK would send (and one it sends, too large): each is refused with AWS's error type,
// status and headers, and none of them crashes or stalls the server.
import { connect } from 'node:net';

import { EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import t, { type Test } from 'tap';

import { startServer, type ServerHandle } from '../../src/endpoint/index.js';
import { backends } from '../helpers/backends.js';
import { kmsHeaders, raw, type RawResponse } from './http.js';

let server: ServerHandle;

t.before(async () => {
  const [backend] = backends();
  const kms = await backend!.open();
  server = await startServer(kms, { port: 0, maxBodyBytes: 64 * 1024 });
  t.teardown(async () => {
    await server.close();
    await kms.close();
  });
});

function expectError(tt: Test, r: RawResponse, type: string, status: number, message?: RegExp): void {
  tt.equal(r.status, status, `HTTP ${status}`);
  tt.equal(r.json?.__type, type, `__type ${type}`);
  tt.equal(r.headers['x-amzn-errortype'], type, 'x-amzn-ErrorType header');
  tt.equal(typeof r.json?.message, 'string', 'a message member');
  tt.match(String(r.headers['x-amzn-requestid']), /^[0-9a-f-]{36}$/, 'x-amzn-RequestId header');
  tt.ok(r.headerNames.includes('x-amzn-RequestId') && r.headerNames.includes('x-amzn-ErrorType'), 'the header names in AWS\'s case');
  tt.equal(r.headers['content-type'], 'application/x-amz-json-1.1');
  if (message) tt.match(String(r.json?.message), message);
}

t.test('malformed JSON: SerializationException, without echoing the body', async (tt) => {
  const body = '{"Plaintext": "c2VjcmV0", oops';
  const r = await raw(server.url, { headers: kmsHeaders(server.url, 'Encrypt'), body });
  expectError(tt, r, 'SerializationException', 400);
  tt.notMatch(r.text, /c2VjcmV0|oops/, 'the body is not echoed');
});

t.test('bad base64 and wrong JSON types: SerializationException with Coral wording', async (tt) => {
  const b64 = await raw(server.url, { headers: kmsHeaders(server.url, 'Decrypt'), body: JSON.stringify({ CiphertextBlob: 'ab!d' }) });
  expectError(tt, b64, 'SerializationException', 400, /^STRING_VALUE can not be converted to a Blob: Invalid Base64 character: '!'$/);
  const len = await raw(server.url, { headers: kmsHeaders(server.url, 'Decrypt'), body: JSON.stringify({ CiphertextBlob: 'abc' }) });
  expectError(tt, len, 'SerializationException', 400, /multiple of 4 bytes but found: 3/);
  const type = await raw(server.url, { headers: kmsHeaders(server.url, 'DescribeKey'), body: JSON.stringify({ KeyId: 5 }) });
  expectError(tt, type, 'SerializationException', 400, /^NUMBER_VALUE can not be converted to a String$/);
  const list = await raw(server.url, { headers: kmsHeaders(server.url, 'CreateKey'), body: '[]' });
  expectError(tt, list, 'SerializationException', 400);
});

t.test('a body that is not UTF-8: SerializationException (no byte becomes U+FFFD); a byte order mark is skipped', async (tt) => {
  const encrypt = (context: Buffer) => Buffer.concat([Buffer.from('{"KeyId":"alias/none","Plaintext":"aGk=","EncryptionContext":{"a":"'), context, Buffer.from('"}}')]);
  for (const bytes of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
    const r = await raw(server.url, { headers: kmsHeaders(server.url, 'Encrypt'), body: encrypt(Buffer.from(bytes)) });
    expectError(tt, r, 'SerializationException', 400, /^The request body is not valid UTF-8\.$/);
  }
  // Well-formed: the request reaches the key lookup.
  const fine = await raw(server.url, { headers: kmsHeaders(server.url, 'Encrypt'), body: encrypt(Buffer.from('\ufffd é', 'utf8')) });
  expectError(tt, fine, 'NotFoundException', 400);
  const bom = await raw(server.url, { headers: kmsHeaders(server.url, 'ListKeys'), body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"Limit":1}')]) });
  tt.equal(bom.status, 200, 'a leading BOM is not part of the JSON');
});

t.test('validation reaches the model: ValidationException', async (tt) => {
  const r = await raw(server.url, { headers: kmsHeaders(server.url, 'CreateKey'), body: JSON.stringify({ KeyUsage: 'RANDOM' }) });
  expectError(tt, r, 'ValidationException', 400, /^1 validation error detected: Value 'RANDOM' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set: \[/);
});

t.test('unknown, missing or foreign targets: UnknownOperationException', async (tt) => {
  for (const target of ['TrentService.FlyToTheMoon', 'DynamoDB_20120810.ListTables', 'CreateKey', 'TrentService.']) {
    const r = await raw(server.url, { headers: kmsHeaders(server.url, 'x', { 'x-amz-target': target }), body: '{}' });
    expectError(tt, r, 'UnknownOperationException', 400);
  }
  const headers = kmsHeaders(server.url, 'x');
  delete headers['x-amz-target'];
  expectError(tt, await raw(server.url, { headers, body: '{}' }), 'UnknownOperationException', 400, /X-Amz-Target/);
});

t.test('a known but unimplemented operation: UnsupportedOperationException (or it works)', async (tt) => {
  // GetKeyPolicy may land any day; whichever it is, the answer is AWS-shaped.
  const r = await raw(server.url, { headers: kmsHeaders(server.url, 'ConnectCustomKeyStore'), body: JSON.stringify({ CustomKeyStoreId: 'cks-1234567890abcdef0' }) });
  tt.equal(r.status, 400);
  tt.ok(typeof r.json?.__type === 'string');
});

t.test('an error AWS sends without a message has no message member', async (tt) => {
  // AWS answers a ciphertext that does not decrypt (or a signature or MAC that does not verify)
  // with `{"__type": …}` alone: botocore's parsed error then has no top-level `message`, as in the
  // recorded responses, where `"message": ""` would add one.
  const call = (op: string, input: object) => raw(server.url, { headers: kmsHeaders(server.url, op), body: JSON.stringify(input) });
  const created = await call('CreateKey', {});
  const keyId = String((created.json?.KeyMetadata as { KeyId?: string } | undefined)?.KeyId);
  const encrypted = await call('Encrypt', { KeyId: keyId, Plaintext: Buffer.from('x').toString('base64') });
  const blob = Buffer.from(String(encrypted.json?.CiphertextBlob), 'base64');
  blob[blob.length - 1]! ^= 1;
  const r = await call('Decrypt', { CiphertextBlob: blob.toString('base64') });
  tt.equal(r.status, 400);
  tt.same(r.json, { __type: 'InvalidCiphertextException' }, 'the body is the error type alone');
  tt.notOk(r.json && 'message' in r.json, 'no message member');
  tt.equal(r.headers['x-amzn-errortype'], 'InvalidCiphertextException');
  const withText = await call('DescribeKey', { KeyId: 'alias/none-here' });
  tt.match(String(withText.json?.message), /alias\/none-here/, 'an error with a message keeps it');
});

t.test('wrong or missing content type, wrong method or path', async (tt) => {
  const wrong = await raw(server.url, { headers: kmsHeaders(server.url, 'ListKeys', { 'content-type': 'text/plain' }), body: '{}' });
  expectError(tt, wrong, 'UnknownOperationException', 400, /Content-Type/);
  const headers = kmsHeaders(server.url, 'ListKeys');
  delete headers['content-type'];
  expectError(tt, await raw(server.url, { headers, body: '{}' }), 'UnknownOperationException', 400, /Content-Type/);
  const json = await raw(server.url, { headers: kmsHeaders(server.url, 'ListKeys', { 'content-type': 'application/json; charset=utf-8' }), body: '{}' });
  tt.equal(json.status, 200, 'application/json is accepted');
  const get = await raw(server.url, { method: 'GET', headers: kmsHeaders(server.url, 'ListKeys') });
  expectError(tt, get, 'UnknownOperationException', 400);
  const path = await raw(server.url, { path: '/v1/keys', headers: kmsHeaders(server.url, 'ListKeys'), body: '{}' });
  expectError(tt, path, 'UnknownOperationException', 400);
  const absolutePath = await raw(server.url, { path: `${server.url}/v1/keys`, headers: kmsHeaders(server.url, 'ListKeys'), body: '{}' });
  expectError(tt, absolutePath, 'UnknownOperationException', 400, /"\/v1\/keys"/);
});

t.test('a request-target in absolute form (as sent to an HTTP proxy) is served, its authority taken for Host', async (tt) => {
  const own = await raw(server.url, { path: `${server.url}/`, headers: kmsHeaders(server.url, 'ListKeys'), body: '{}' });
  tt.equal(own.status, 200, 'RFC 9112 §3.2.2: a server must accept the absolute form');
  tt.ok(Array.isArray(own.json?.['Keys']));
  const bare = await raw(server.url, { path: server.url, headers: kmsHeaders(server.url, 'ListKeys'), body: '{}' });
  tt.equal(bare.status, 200, 'an empty path is /');
  const elsewhere = await raw(server.url, { path: 'http://evil.example/', headers: kmsHeaders(server.url, 'ListKeys'), body: '{}' });
  expectError(tt, elsewhere, 'AccessDeniedException', 403, /evil\.example/);
});

t.test('oversized bodies: 413, declared or streamed', async (tt) => {
  const big = JSON.stringify({ Description: 'x'.repeat(100 * 1024) });
  const declared = await raw(server.url, { headers: kmsHeaders(server.url, 'CreateKey'), body: big });
  expectError(tt, declared, 'RequestEntityTooLargeException', 413);
  const chunked = await raw(server.url, { headers: kmsHeaders(server.url, 'CreateKey', { 'transfer-encoding': 'chunked' }), body: big });
  expectError(tt, chunked, 'RequestEntityTooLargeException', 413);
  const after = await raw(server.url, { headers: kmsHeaders(server.url, 'ListKeys'), body: '{}' });
  tt.equal(after.status, 200, 'the server still serves');
});

t.test('a body far over the limit: the SDK gets the 413, not a broken pipe', async (tt) => {
  // Answering before the upload ends and closing the connection made the client's writes fail
  // (EPIPE), and an SDK then uploads the whole body again; the server reads and drops it first.
  // A client that uploads at its own pace: every write must succeed and the 413 arrive whole.
  const size = 4 << 20;
  const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
  const received: Buffer[] = [];
  const failed = new Promise<Error | undefined>((resolve) => {
    socket.on('error', resolve);
    socket.on('close', () => resolve(undefined));
  });
  socket.on('data', (c: Buffer) => received.push(c));
  const head = Object.entries(kmsHeaders(server.url, 'Encrypt')).map(([k, v]) => `${k}: ${String(v)}\r\n`).join('');
  socket.write(`POST / HTTP/1.1\r\n${head}content-length: ${size}\r\n\r\n`);
  const chunk = Buffer.alloc(size / 32, 0x61);
  let written = 0;
  for (; written < 32 && !socket.destroyed; written++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    socket.write(chunk);
  }
  socket.end();
  tt.equal((await failed)?.message, undefined, 'no write failed');
  tt.equal(written, 32, 'the connection stayed open for the whole upload');
  tt.match(Buffer.concat(received).toString('latin1'), /^HTTP\/1\.1 413 [^]*"__type":"RequestEntityTooLargeException"/, 'the 413 arrived');

  const client = new KMSClient({ region: 'us-east-1', endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  tt.teardown(() => client.destroy());
  for (let i = 0; i < 4; i++) {
    const err = await client.send(new EncryptCommand({ KeyId: 'alias/none', Plaintext: Buffer.alloc(8 << 20, 1) })).catch((e: Error) => e);
    tt.equal((err as Error).name, 'RequestEntityTooLargeException', `attempt ${i + 1}: ${(err as Error).message}`);
    tt.equal((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 413);
  }
});

t.test('DNS rebinding and cross-origin requests are refused', async (tt) => {
  const port = new URL(server.url).port;
  for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1:1', `10.0.0.1:${port}`]) {
    const r = await raw(server.url, { headers: kmsHeaders(server.url, 'ListKeys', { host }), body: '{}' });
    expectError(tt, r, 'AccessDeniedException', 403, /Host/);
  }
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
    const r = await raw(server.url, { headers: kmsHeaders(server.url, 'ListKeys', { host }), body: '{}' });
    tt.equal(r.status, 200, `Host ${host} is accepted`);
  }
  const cross = await raw(server.url, { headers: kmsHeaders(server.url, 'ListKeys', { origin: 'https://evil.example' }), body: '{}' });
  expectError(tt, cross, 'AccessDeniedException', 403, /Cross-origin/);
  const nullOrigin = await raw(server.url, { headers: kmsHeaders(server.url, 'ListKeys', { origin: 'null' }), body: '{}' });
  expectError(tt, nullOrigin, 'AccessDeniedException', 403);
  const site = await raw(server.url, { headers: kmsHeaders(server.url, 'ListKeys', { 'sec-fetch-site': 'cross-site' }), body: '{}' });
  expectError(tt, site, 'AccessDeniedException', 403);
  const same = await raw(server.url, { headers: kmsHeaders(server.url, 'ListKeys', { origin: server.url }), body: '{}' });
  tt.equal(same.status, 200, 'the server\'s own origin is accepted');
  tt.equal(same.headers['access-control-allow-origin'], undefined, 'no CORS headers');
  const preflight = await raw(server.url, { method: 'OPTIONS', headers: { host: new URL(server.url).host, origin: 'https://evil.example' } });
  tt.equal(preflight.status, 403, 'a CORS preflight is refused');
});

t.test('a stalled client does not stall others', async (tt) => {
  const u = new URL(server.url);
  const sock = connect(Number(u.port), u.hostname);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  // Headers begun but never finished, and a body promised but never sent.
  sock.write(`POST / HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/x-amz-json-1.1\r\n`);
  const sock2 = connect(Number(u.port), u.hostname);
  await new Promise<void>((r) => sock2.once('connect', () => r()));
  sock2.write(`POST / HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.ListKeys\r\nContent-Length: 100\r\n\r\n{`);
  tt.teardown(() => {
    sock.destroy();
    sock2.destroy();
  });
  const r = await raw(server.url, { headers: kmsHeaders(server.url, 'ListKeys'), body: '{}' });
  tt.equal(r.status, 200);
});

t.test('graceful close: requests in flight finish, new connections are refused', async (tt) => {
  const [backend] = backends();
  const kms = await backend!.open();
  const s = await startServer(kms, { port: 0 });
  tt.teardown(() => kms.close());
  // RSA-4096 generation takes long enough to still be running when close() is called. close()
  // waits until the server is running the request: after a fixed delay instead, a process held
  // up meanwhile (a loaded machine) called close() before it had accepted the connection, which
  // close() then rightly reset.
  let reached!: () => void;
  const running = new Promise<void>((resolve) => (reached = resolve));
  const execute = kms.execute.bind(kms);
  kms.execute = ((operation, ...rest) => {
    if (operation === 'CreateKey') reached();
    return execute(operation, ...rest);
  }) as typeof kms.execute;
  const inFlight = raw(s.url, { headers: kmsHeaders(s.url, 'CreateKey'), body: JSON.stringify({ KeySpec: 'RSA_4096', KeyUsage: 'SIGN_VERIFY' }) });
  await running;
  // What the store holds at the moment close() resolves: the in-flight key must be there.
  const closing = s.close().then(() => kms.execute('ListKeys', {}));
  const r = await inFlight;
  tt.equal(r.status, 200, 'the in-flight request completed');
  tt.equal((r.json?.KeyMetadata as { KeySpec?: string } | undefined)?.KeySpec, 'RSA_4096');
  const atClose = await closing;
  tt.equal(atClose.Keys?.length, 1, 'close() resolved only after the in-flight CreateKey had finished');
  await tt.rejects(raw(s.url, { headers: kmsHeaders(s.url, 'ListKeys'), body: '{}' }), /ECONNREFUSED/, 'nothing listens any more');
});
