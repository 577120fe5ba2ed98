// The console's HTTP surface without a browser: the page only for browsers asking for HTML,
// the session token required on every console call (it is the CSRF token), the endpoint's
// browser guard in front of it all, only the console's operations through its KMS route, and
// sign-in under --auth sigv4.
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import t, { type Test } from 'tap';

import { raw, type RawResponse } from '../endpoint/http.js';
import { serve } from './setup.js';

const html = { accept: 'text/html,application/xhtml+xml' };

function hostOf(url: string) {
  return new URL(url).host;
}

async function api(url: string, name: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return raw(url, {
    path: `/console/api/${name}`,
    headers: { host: hostOf(url), 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function kmsCall(url: string, token: string, op: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return raw(url, {
    path: '/console/api/kms',
    headers: {
      host: hostOf(url),
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `TrentService.${op}`,
      'x-ekms-console-token': token,
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

function expectError(tt: Test, r: RawResponse, type: string, status: number, message?: RegExp): void {
  tt.equal(r.json?.__type, type, `error ${type}`);
  tt.equal(r.status, status, `status ${status}`);
  if (message) tt.match(String(r.json?.message), message);
}

async function session(url: string): Promise<string> {
  const r = await api(url, 'session', {});
  return String(r.json?.Token);
}

t.test('the page and its files', async (tt) => {
  const { url } = await serve(tt);
  const page = await raw(url, { method: 'GET', headers: { host: hostOf(url), ...html } });
  tt.equal(page.status, 200);
  tt.match(page.headers['content-type'], /^text\/html/);
  tt.match(page.text, /<script type="module" src="\/console\/app.js">/);
  tt.match(page.headers['content-security-policy'], /default-src 'none'; script-src 'self'/);
  tt.match(page.headers['content-security-policy'], /frame-ancestors 'none'/);
  tt.equal(page.headers['x-frame-options'], 'DENY');
  tt.equal(page.headers['x-content-type-options'], 'nosniff');
  tt.equal(page.headers['cache-control'], 'no-store');

  const js = await raw(url, { method: 'GET', path: '/console/app.js', headers: { host: hostOf(url) } });
  tt.equal(js.status, 200);
  tt.match(js.headers['content-type'], /^text\/javascript/);
  const css = await raw(url, { method: 'GET', path: '/console/console.css', headers: { host: hostOf(url) } });
  tt.match(css.headers['content-type'], /^text\/css/);
  // The page by its file name too: never without its content security policy.
  const byName = await raw(url, { method: 'GET', path: '/console/index.html', headers: { host: hostOf(url), ...html } });
  tt.equal(byName.status, 200);
  tt.equal(byName.headers['content-security-policy'], page.headers['content-security-policy'], 'the same policy as at /');
  for (const path of ['/console/nope.js', '/console/../package.json', '/console/', '/console/assets.generated.ts']) {
    const r = await raw(url, { method: 'GET', path, headers: { host: hostOf(url) } });
    expectError(tt, r, 'UnknownOperationException', 400);
  }
  // API clients still get the endpoint at GET /.
  const get = await raw(url, { method: 'GET', headers: { host: hostOf(url), 'x-amz-target': 'TrentService.ListKeys', ...html } });
  expectError(tt, get, 'UnknownOperationException', 400);
  const plain = await raw(url, { method: 'GET', headers: { host: hostOf(url) } });
  expectError(tt, plain, 'UnknownOperationException', 400);
});

t.test('every console call needs the session token; the token opens only the console', async (tt) => {
  const { url, kms } = await serve(tt);
  expectError(tt, await api(url, 'context', {}), 'MissingAuthenticationTokenException', 400);
  expectError(tt, await api(url, 'context', {}, { 'x-ekms-console-token': 'forged' }), 'ExpiredTokenException', 400);
  expectError(tt, await kmsCall(url, 'forged', 'ListKeys', {}), 'ExpiredTokenException', 400);

  const token = await session(url);
  tt.match(token, /^[A-Za-z0-9_-]{43}$/, '256 random bits');
  const context = await api(url, 'context', {}, { 'x-ekms-console-token': token });
  tt.equal(context.status, 200);
  tt.equal(context.json?.Auth, 'none');
  tt.equal(context.json?.AccountId, '111122223333');
  tt.ok((context.json?.Operations as string[]).includes('CreateKey'));
  tt.notOk((context.json?.Operations as string[]).includes('Decrypt'), 'the console never uses a key');

  const created = await kmsCall(url, token, 'CreateKey', { Description: 'from the console route' });
  tt.equal(created.status, 200);
  const keyId = (created.json?.KeyMetadata as { KeyId: string }).KeyId;
  tt.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata?.Description, 'from the console route');
  tt.equal(created.headers['content-type'], 'application/x-amz-json-1.1', "the endpoint's own response");

  // Same errors as the endpoint, from the same processing.
  const missing = await kmsCall(url, token, 'DescribeKey', { KeyId: '00000000-0000-0000-0000-000000000000' });
  expectError(tt, missing, 'NotFoundException', 400, /does not exist/);
  const bad = await kmsCall(url, token, 'CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'GENERATE_VERIFY_MAC' });
  expectError(tt, bad, 'ValidationException', 400, /not compatible/);

  // Using keys is not the console's business.
  for (const op of ['Decrypt', 'Sign', 'GenerateDataKey', 'GenerateRandom']) {
    expectError(tt, await kmsCall(url, token, op, {}), 'AccessDeniedException', 403, new RegExp(`does not call ${op}`));
  }

  await api(url, 'sign-out', {}, { 'x-ekms-console-token': token });
  expectError(tt, await kmsCall(url, token, 'ListKeys', {}), 'ExpiredTokenException', 400, /expired or was closed/);
});

t.test("the endpoint's browser guard applies to the console", async (tt) => {
  const { url } = await serve(tt);
  const token = await session(url);
  const port = new URL(url).port;
  const cross = await kmsCall(url, token, 'CreateKey', {}, { origin: 'https://evil.example' });
  expectError(tt, cross, 'AccessDeniedException', 403, /Cross-origin/);
  const site = await kmsCall(url, token, 'CreateKey', {}, { 'sec-fetch-site': 'cross-site' });
  expectError(tt, site, 'AccessDeniedException', 403);
  const rebound = await kmsCall(url, token, 'CreateKey', {}, { host: `evil.example:${port}` });
  expectError(tt, rebound, 'AccessDeniedException', 403, /Host/);
  const openedFromElsewhere = await raw(url, { path: '/console/api/session', headers: { host: hostOf(url), 'content-type': 'application/json', origin: 'http://localhost:9999' }, body: '{}' });
  expectError(tt, openedFromElsewhere, 'AccessDeniedException', 403, /Cross-origin/);
  const pageByRebinding = await raw(url, { method: 'GET', headers: { host: `evil.example:${port}`, ...html } });
  expectError(tt, pageByRebinding, 'AccessDeniedException', 403, /Host/);
  const sameOrigin = await kmsCall(url, token, 'ListKeys', {}, { origin: url, 'sec-fetch-site': 'same-origin' });
  tt.equal(sameOrigin.status, 200, 'the page itself is accepted');
});

t.test('the alias check gives the answers CreateAlias would', async (tt) => {
  const { url, kms } = await serve(tt);
  const token = await session(url);
  const check = (AliasName: unknown) => api(url, 'check-alias', { AliasName }, { 'x-ekms-console-token': token });
  const key = (await kms.createKey({})).KeyMetadata!.KeyId!;
  await kms.createAlias({ AliasName: 'alias/taken', TargetKeyId: key });
  tt.equal((await check('alias/free')).status, 200);
  expectError(tt, await check('alias/taken'), 'AlreadyExistsException', 400, /^An alias with the name arn:aws:kms:us-east-1:111122223333:alias\/taken already exists$/);
  expectError(tt, await check('alias/aws/mine'), 'NotAuthorizedException', 400);
  expectError(tt, await check('no-prefix'), 'ValidationException', 400, /must start with the prefix "alias\/"/);
  expectError(tt, await check('alias/has space'), 'ValidationException', 400, /aliasName/);
  expectError(tt, await check(''), 'ValidationException', 400);
  expectError(tt, await check(42), 'ValidationException', 400);
});

t.test('--auth sigv4: the console signs in with the endpoint\'s access keys', async (tt) => {
  const keys = new Map([['AKIDCONSOLE', 'console-secret/+x']]);
  const { url } = await serve(tt, { auth: 'sigv4', accessKeys: keys });
  expectError(tt, await api(url, 'session', {}), 'MissingAuthenticationTokenException', 400, /Sign in/);
  const wrong = await api(url, 'session', { AccessKeyId: 'AKIDCONSOLE', SecretAccessKey: 'nope' });
  expectError(tt, wrong, 'UnrecognizedClientException', 400, /^The access key ID or the secret access key is not valid\.$/);
  tt.notMatch(wrong.text, /console-secret/, 'no secret in the answer');
  const unknown = await api(url, 'session', { AccessKeyId: 'AKIDOTHER', SecretAccessKey: 'console-secret/+x' });
  tt.equal(unknown.json?.message, wrong.json?.message, 'an unknown key and a wrong secret read the same');
  expectError(tt, await api(url, 'session', { AccessKeyId: 'AKIDCONSOLE', SecretAccessKey: '' }), 'ValidationException', 400);

  const ok = await api(url, 'session', { AccessKeyId: 'AKIDCONSOLE', SecretAccessKey: 'console-secret/+x' });
  tt.equal(ok.status, 200);
  tt.equal(ok.json?.AccessKeyId, 'AKIDCONSOLE');
  const token = String(ok.json?.Token);
  const context = await api(url, 'context', {}, { 'x-ekms-console-token': token });
  tt.equal(context.json?.Auth, 'sigv4');
  tt.equal(context.json?.AccessKeyId, 'AKIDCONSOLE');
  tt.equal((await kmsCall(url, token, 'ListKeys', {})).status, 200, 'the session stands for the signature');

  // The endpoint itself still wants SigV4.
  const unsigned = await raw(url, { headers: { host: hostOf(url), 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' }, body: '{}' });
  expectError(tt, unsigned, 'MissingAuthenticationTokenException', 400);
  const client = new KMSClient({ region: 'us-east-1', endpoint: url, credentials: { accessKeyId: 'AKIDCONSOLE', secretAccessKey: 'console-secret/+x' } });
  tt.ok((await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId, 'signed requests work beside the console');
  client.destroy();
});

t.test('no secret is typed in over plain HTTP on a public address', async (tt) => {
  const keys = new Map([['AKIDCONSOLE', 'console-secret']]);
  const { server } = await serve(tt, { host: '0.0.0.0', auth: 'sigv4', accessKeys: keys });
  const url = `http://127.0.0.1:${server.port}`;
  const r = await api(url, 'session', { AccessKeyId: 'AKIDCONSOLE', SecretAccessKey: 'console-secret' });
  expectError(tt, r, 'AccessDeniedException', 403, /over HTTPS/);
});

t.test('console: false serves the API only', async (tt) => {
  const { url } = await serve(tt, { console: false });
  expectError(tt, await raw(url, { method: 'GET', headers: { host: hostOf(url), ...html } }), 'UnknownOperationException', 400);
  expectError(tt, await api(url, 'session', {}), 'UnknownOperationException', 400);
});
