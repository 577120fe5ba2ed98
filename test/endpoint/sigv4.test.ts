// --auth sigv4: requests signed by @aws-sdk/client-kms pass; a wrong secret, an unknown access
// key, a skewed clock, a tampered body and malformed Authorization headers are refused with
// AWS's error types and status codes.
import { createHash, createHmac } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { CreateKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import t, { type Test } from 'tap';

import { SignatureV4 } from '@smithy/signature-v4';

import { NodeSha256 } from '../../src/endpoint/sha256.js';
import { EndpointConfigError, startServer, type ServerHandle } from '../../src/endpoint/index.js';
import { loadAccessKeys, parseAccessKeyList } from '../../src/endpoint/access-keys.js';
import type { Kms } from '../../src/index.js';
import { backends, tempHome } from '../helpers/backends.js';
import { kmsHeaders, raw } from './http.js';

const good = { accessKeyId: 'AKIDGOOD', secretAccessKey: 'good-secret/with+chars' };

async function setup(tt: Test): Promise<{ kms: Kms; server: ServerHandle }> {
  const [backend] = backends();
  const kms = await backend!.open();
  const server = await startServer(kms, { port: 0, auth: 'sigv4', accessKeys: new Map([[good.accessKeyId, good.secretAccessKey]]) });
  tt.teardown(async () => {
    await server.close();
    await kms.close();
  });
  return { kms, server };
}

async function sdkError(p: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, ...(e.$metadata?.httpStatusCode !== undefined ? { status: e.$metadata.httpStatusCode } : {}) };
  }
  throw new Error('expected the call to fail');
}

t.test('a correctly signed request passes', async (tt) => {
  const { server } = await setup(tt);
  const client = new KMSClient({ region: 'us-east-1', credentials: good, endpoint: server.url });
  const created = await client.send(new CreateKeyCommand({ Description: 'signed' }));
  tt.equal(created.KeyMetadata?.Description, 'signed');
  const listed = await client.send(new ListKeysCommand({}));
  tt.ok(listed.Keys?.some((k) => k.KeyId === created.KeyMetadata?.KeyId));
});

t.test('wrong secret: InvalidSignatureException', async (tt) => {
  const { server } = await setup(tt);
  const client = new KMSClient({ region: 'us-east-1', credentials: { ...good, secretAccessKey: 'not-the-secret' }, endpoint: server.url, maxAttempts: 1 });
  const e = await sdkError(client.send(new ListKeysCommand({})));
  tt.equal(e.name, 'InvalidSignatureException');
  tt.match(e.message, /^The request signature we calculated does not match the signature you provided\./);
  tt.equal(e.status, 400);
  tt.notMatch(e.message, /good-secret|not-the-secret/, 'no secret in the message');
});

t.test('unknown access key id: UnrecognizedClientException', async (tt) => {
  const { server } = await setup(tt);
  const client = new KMSClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' }, endpoint: server.url, maxAttempts: 1 });
  const e = await sdkError(client.send(new ListKeysCommand({})));
  tt.equal(e.name, 'UnrecognizedClientException');
  tt.equal(e.message, 'The security token included in the request is invalid.');
  tt.equal(e.status, 400);
});

t.test('clock skew beyond 5 minutes: Signature expired / not yet current', async (tt) => {
  const { server } = await setup(tt);
  const past = new KMSClient({ region: 'us-east-1', credentials: good, endpoint: server.url, maxAttempts: 1, systemClockOffset: -10 * 60_000 });
  const e1 = await sdkError(past.send(new ListKeysCommand({})));
  tt.equal(e1.name, 'InvalidSignatureException');
  tt.match(e1.message, /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
  tt.equal(e1.status, 400);

  const future = new KMSClient({ region: 'us-east-1', credentials: good, endpoint: server.url, maxAttempts: 1, systemClockOffset: 10 * 60_000 });
  const e2 = await sdkError(future.send(new ListKeysCommand({})));
  tt.equal(e2.name, 'InvalidSignatureException');
  tt.match(e2.message, /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 5 min\.\)$/);

  // Within the window is fine.
  const slight = new KMSClient({ region: 'us-east-1', credentials: good, endpoint: server.url, maxAttempts: 1, systemClockOffset: -2 * 60_000 });
  tt.ok((await slight.send(new ListKeysCommand({}))).Keys, '2 minutes of skew is accepted');

  // The SDK corrects its clock from the response's Date header and retries, as against AWS.
  const retrying = new KMSClient({ region: 'us-east-1', credentials: good, endpoint: server.url, systemClockOffset: -10 * 60_000 });
  const ok = await retrying.send(new ListKeysCommand({}));
  tt.ok(ok.Keys, 'the retry after clock correction succeeds');
  tt.equal(ok.$metadata.attempts, 2);
});

/** Signs a request with the SDK's signer, then lets the test alter it. */
async function signed(url: string, opts: { region?: string; service?: string; body?: string; date?: Date } = {}) {
  const u = new URL(url);
  const body = opts.body ?? '{}';
  const signer = new SignatureV4({ service: opts.service ?? 'kms', region: opts.region ?? 'us-east-1', credentials: good, sha256: NodeSha256 });
  const req = await signer.sign(
    { method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: '/', query: {}, headers: kmsHeaders(url, 'ListKeys') as Record<string, string>, body },
    opts.date ? { signingDate: opts.date } : {},
  );
  return { headers: req.headers, body };
}

t.test('malformed and mismatched signatures, raw', async (tt) => {
  const { server } = await setup(tt);

  const none = await raw(server.url, { headers: kmsHeaders(server.url, 'ListKeys'), body: '{}' });
  tt.equal(none.status, 400);
  tt.same(none.json, { __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
  tt.equal(none.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');

  const ok = await signed(server.url);
  const passed = await raw(server.url, ok);
  tt.equal(passed.status, 200, 'the signed raw request itself passes');
  const proxied = await raw(server.url, { ...ok, path: `${server.url}/` });
  tt.equal(proxied.status, 200, 'the same request in absolute form (as sent to a proxy) passes: RFC 9112 §3.2.2');

  const noSig = { ...ok.headers, authorization: ok.headers['authorization']!.replace(/, Signature=[0-9a-f]+/, '') };
  const r1 = await raw(server.url, { headers: noSig, body: ok.body });
  tt.equal(r1.json?.__type, 'IncompleteSignatureException');
  tt.match(String(r1.json?.message), /Authorization header requires 'Signature' parameter\./);
  tt.equal(r1.status, 400);

  const noDate = { ...ok.headers };
  delete noDate['x-amz-date'];
  const r2 = await raw(server.url, { headers: noDate, body: ok.body });
  tt.equal(r2.json?.__type, 'IncompleteSignatureException');

  const badAlg = await raw(server.url, { headers: { ...ok.headers, authorization: 'Bearer abc' }, body: ok.body });
  tt.equal(badAlg.json?.__type, 'IncompleteSignatureException');

  const tampered = await raw(server.url, { headers: ok.headers, body: '{"Limit":1}' });
  tt.equal(tampered.json?.__type, 'InvalidSignatureException', 'a changed body breaks the signature');

  const otherTarget = await raw(server.url, { headers: { ...ok.headers, 'x-amz-target': 'TrentService.CreateKey' }, body: ok.body });
  tt.equal(otherTarget.json?.__type, 'InvalidSignatureException', 'a changed signed header breaks the signature');

  const region = await signed(server.url, { region: 'eu-west-1' });
  const r3 = await raw(server.url, region);
  tt.equal(r3.json?.__type, 'InvalidSignatureException');
  tt.match(String(r3.json?.message), /region/);

  const service = await signed(server.url, { service: 'sts' });
  const r4 = await raw(server.url, service);
  tt.equal(r4.json?.__type, 'InvalidSignatureException');
  tt.match(String(r4.json?.message), /service: 'kms'/);
});

/**
 * SigV4 computed by hand from the specification (not with the signer the server uses):
 * `signed` are the signed headers' canonical values, `stamp` the ISO basic time of the scope.
 */
function handSigned(signed: Record<string, string>, stamp: string, body: string): string {
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const hex = (data: string) => createHash('sha256').update(data).digest('hex');
  const names = Object.keys(signed).sort();
  const canonical = ['POST', '/', '', ...names.map((n) => `${n}:${signed[n]}`), '', names.join(';'), hex(body)].join('\n');
  const scope = `${stamp.slice(0, 8)}/us-east-1/kms/aws4_request`;
  const key = hmac(hmac(hmac(hmac(`AWS4${good.secretAccessKey}`, stamp.slice(0, 8)), 'us-east-1'), 'kms'), 'aws4_request');
  const signature = hmac(key, ['AWS4-HMAC-SHA256', stamp, scope, hex(canonical)].join('\n')).toString('hex');
  return `AWS4-HMAC-SHA256 Credential=${good.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
}

t.test('a signed header sent on two lines; a request dated by its Date header alone', async (tt) => {
  const { server } = await setup(tt);
  const body = '{"Limit":1}';
  const now = new Date();
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const base = kmsHeaders(server.url, 'ListKeys') as Record<string, string>;

  // SigV4 allows the Date header as the signing time; no SDK sends it so, and we refuse it,
  // saying why (README).
  const dated = { ...base, date: now.toUTCString() };
  const byDate = await raw(server.url, { headers: { ...dated, authorization: handSigned(dated, stamp, body) }, body });
  tt.equal(byDate.json?.__type, 'IncompleteSignatureException');
  tt.match(String(byDate.json?.message), /from the 'X-Amz-Date' header only; a request dated by its 'Date' header is not supported/);
  const neither = await raw(server.url, { headers: { ...base, authorization: handSigned(base, stamp, body) }, body });
  tt.match(String(neither.json?.message), /requires existence of either a 'X-Amz-Date' or a 'Date' header/);

  // A header on two lines is signed as its values joined by "," (Node alone would join ", ").
  const meta = { ...base, 'x-amz-date': stamp, 'x-amz-meta-note': 'a,b' };
  const authorization = handSigned(meta, stamp, body);
  const lines = { ...base, 'x-amz-date': stamp, 'x-amz-meta-note': ['a', 'b'], authorization };
  tt.equal((await raw(server.url, { headers: lines, body })).status, 200, 'the two lines pass');
  tt.equal((await raw(server.url, { headers: { ...lines, 'x-amz-meta-note': 'a,b' }, body })).status, 200, 'and so does one line');
  tt.equal((await raw(server.url, { headers: { ...lines, 'x-amz-meta-note': ['a', 'c'] }, body })).json?.__type, 'InvalidSignatureException', 'another value fails');
});

t.test('what the signature must cover: the operation (X-Amz-Target) and the body', async (tt) => {
  const { kms, server } = await setup(tt);
  const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const body = JSON.stringify({ KeyId: keyId });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const base = { ...(kmsHeaders(server.url, 'DescribeKey') as Record<string, string>), 'x-amz-date': stamp };
  const { 'x-amz-target': target, ...rest } = base;

  // Signed without X-Amz-Target, a captured DescribeKey could be sent again as ScheduleKeyDeletion.
  const unsigned = { ...base, 'x-amz-target': 'TrentService.ScheduleKeyDeletion', authorization: handSigned(rest, stamp, body) };
  const swapped = await raw(server.url, { headers: unsigned, body });
  tt.equal(swapped.json?.__type, 'InvalidSignatureException');
  tt.equal(swapped.json?.message, "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.");
  tt.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'Enabled', 'the key was not scheduled for deletion');
  tt.equal((await raw(server.url, { headers: { ...base, authorization: handSigned(base, stamp, body) }, body })).status, 200, 'signed, it passes');

  // UNSIGNED-PAYLOAD (S3's) would leave the body out of the signature.
  const declared = { ...base, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
  const canonical = handSigned(declared, stamp, body);
  const r = await raw(server.url, { headers: { ...declared, authorization: canonical }, body });
  tt.equal(r.json?.__type, 'InvalidSignatureException', 'refused, even signed over the real body');
  tt.match(String(r.json?.message), /The request signature we calculated does not match/);
});

t.test('a session token beside a long-term key is refused, as AWS refuses it', async (tt) => {
  const { server } = await setup(tt);
  const client = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: { ...good, sessionToken: 'stale-session-token' } });
  tt.teardown(() => client.destroy());
  tt.same(await sdkError(client.send(new ListKeysCommand({}))), {
    name: 'UnrecognizedClientException',
    message: 'The security token included in the request is invalid.',
    status: 400,
  });
  const plain = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: good });
  tt.teardown(() => plain.destroy());
  tt.ok((await plain.send(new ListKeysCommand({}))).Keys, 'without it the same key passes');
});

t.test('access keys come from credentials.json and EKMS_ACCESS_KEYS', async (tt) => {
  const home = tempHome();
  writeFileSync(join(home, 'credentials.json'), JSON.stringify({ accessKeys: [{ accessKeyId: 'AKIDFILE', secretAccessKey: 'file-secret' }] }));
  const keys = loadAccessKeys(home, { EKMS_ACCESS_KEYS: 'AKIDENV:env:secret, AKIDENV2:two' });
  tt.same([...keys.entries()], [
    ['AKIDFILE', 'file-secret'],
    ['AKIDENV', 'env:secret'],
    ['AKIDENV2', 'two'],
  ]);
  tt.throws(() => parseAccessKeyList('nocolon'), /ACCESS_KEY_ID:SECRET_ACCESS_KEY/);

  const [backend] = backends();
  const kms = await backend!.open({ home });
  const server = await startServer(kms, { port: 0, auth: 'sigv4' });
  tt.teardown(async () => {
    await server.close();
    await kms.close();
  });
  const client = new KMSClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDFILE', secretAccessKey: 'file-secret' }, endpoint: server.url });
  tt.ok((await client.send(new ListKeysCommand({}))).Keys, 'a key of credentials.json signs');
});

t.test('refuses to listen on a non-loopback address without sigv4, or sigv4 without keys', async (tt) => {
  const [backend] = backends();
  const kms = await backend!.open();
  tt.teardown(() => kms.close());
  await tt.rejects(startServer(kms, { host: '0.0.0.0', port: 0 }), EndpointConfigError);
  await tt.rejects(startServer(kms, { host: '0.0.0.0', port: 0, auth: 'none' }), /without authentication/);
  await tt.rejects(startServer(kms, { port: 0, auth: 'sigv4', accessKeys: new Map() }), /needs access keys/);
});

t.test('says so when credentials.json is readable by others, or sigv4 is served in the clear beyond loopback', async (tt) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => void (w.name === 'EmbeddedKmsWarning' && warnings.push(w.message));
  process.on('warning', onWarning);
  tt.teardown(() => void process.off('warning', onWarning));
  const settle = () => new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick

  const home = tempHome();
  const file = join(home, 'credentials.json');
  writeFileSync(file, JSON.stringify({ accessKeys: [{ accessKeyId: 'AKIDMODE', secretAccessKey: 'mode-secret' }] }), { mode: 0o644 });
  chmodSync(file, 0o644);
  loadAccessKeys(home, {});
  await settle();
  tt.match(warnings.join('\n'), /credentials\.json can be read by other users \(mode 0644\).*chmod 600/);
  tt.notMatch(warnings.join('\n'), /mode-secret/, 'the warning shows no secret');
  warnings.length = 0;
  chmodSync(file, 0o600);
  loadAccessKeys(home, {});
  await settle();
  tt.same(warnings, [], 'a 0600 file: nothing to say');

  const [backend] = backends();
  const kms = await backend!.open({ home });
  tt.teardown(() => kms.close());
  const keys = new Map([['AKIDMODE', 'mode-secret']]);
  const local = await startServer(kms, { port: 0, auth: 'sigv4', accessKeys: keys });
  await local.close();
  await settle();
  tt.same(warnings, [], 'loopback: nothing to say');
  const wide = await startServer(kms, { host: '0.0.0.0', port: 0, auth: 'sigv4', accessKeys: keys });
  await wide.close();
  await settle();
  tt.match(warnings.join('\n'), /serving 0\.0\.0\.0 over plain HTTP.*--tls-cert/);
});
