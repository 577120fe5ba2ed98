// `ekms --endpoint-url` against an endpoint that is not ours (AWS, an emulator, a proxy): a stub
// server answers what such an endpoint may send and records what ekms sent. ekms must read the
// answers and send its requests as the AWS CLI (botocore) does.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

import t from 'tap';

import { ekms } from './run.js';

interface Seen {
  target: string;
  body: string;
  headers: IncomingHttpHeaders;
}

/** A stub endpoint: `answer` gives each request's status and body; every request is kept in `seen`. */
async function stub(answer: (target: string, body: Record<string, unknown>) => [number, unknown]) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const target = String(req.headers['x-amz-target'] ?? '').replace(/^TrentService\./, '');
      seen.push({ target, body, headers: req.headers });
      const [status, out] = answer(target, JSON.parse(body || '{}') as Record<string, unknown>);
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(typeof out === 'string' ? out : JSON.stringify(out));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const env = { AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 'secret', AWS_DEFAULT_REGION: 'us-east-1', TZ: 'UTC' };

t.test("a response is read as botocore reads it: the model's order, no unknown or null members", async (t) => {
  const { url } = await stub((target) =>
    target === 'Decrypt'
      ? [200, { EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', Foo: 'bar', KeyId: 'arn:k', KeyMaterialId: null, Plaintext: 'aGk=' }]
      : [200, { KeyMetadata: { KeyId: 'k', Unknown: 1, CreationDate: '2023-01-01T00:00:00Z', DeletionDate: 1700000000.9999, ValidTo: 1700000000.0005 } }],
  );
  const json = await ekms(['decrypt', '--ciphertext-blob', 'AAAA', '--endpoint-url', url], env);
  t.equal(json.code, 0, json.stderr);
  t.equal(json.stdout, '{\n    "KeyId": "arn:k",\n    "Plaintext": "aGk=",\n    "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"\n}\n');
  const text = await ekms(['decrypt', '--ciphertext-blob', 'AAAA', '--output', 'text', '--endpoint-url', url], env);
  t.equal(text.stdout, 'SYMMETRIC_DEFAULT\tarn:k\taGk=\n', 'text columns as aws prints them');
  // Timestamps as Python prints the datetimes botocore makes: text in its own offset, epochs to
  // the microsecond.
  const md = JSON.parse((await ekms(['describe-key', '--key-id', 'k', '--endpoint-url', url], env)).stdout) as { KeyMetadata: Record<string, unknown> };
  t.same(md.KeyMetadata, { KeyId: 'k', CreationDate: '2023-01-01T00:00:00+00:00', DeletionDate: '2023-11-14T22:13:20.999900+00:00', ValidTo: '2023-11-14T22:13:20.000500+00:00' });
});

t.test('a request is sent as botocore sends it: model order, json.dumps bytes, a user agent', async (t) => {
  const { url, seen } = await stub(() => [200, {}]);
  await ekms(['sign', '--signing-algorithm', 'ECDSA_SHA_256', '--message', 'aGk=', '--key-id', 'x', '--endpoint-url', url], env);
  t.equal(seen[0]!.body, '{"KeyId": "x", "Message": "aGk=", "SigningAlgorithm": "ECDSA_SHA_256"}');
  t.match(String(seen[0]!.headers['user-agent']), /^embedded-kms\/\S+ node\/v\d+\S* ekms-cli$/);
  await ekms(['encrypt', '--plaintext', 'aGk=', '--key-id', 'x', '--encryption-context', '{"é":"\u007f\u{1f511}","b":"\\""}', '--endpoint-url', url], env);
  t.equal(seen[1]!.body, '{"KeyId": "x", "Plaintext": "aGk=", "EncryptionContext": {"\\u00e9": "\\u007f\\ud83d\\udd11", "b": "\\""}}', 'non-ASCII escaped as Python does');
});

t.test('errors as botocore reads them', async (t) => {
  const { url } = await stub((target) => (target === 'ListKeys' ? [400, { message: 'no type' }] : [400, { __type: 'com.amazonaws.kms#NotFoundException', message: 'gone' }]));
  const untyped = await ekms(['list-keys', '--endpoint-url', url], env);
  t.same([untyped.code, untyped.stderr], [254, '\nAn error occurred (400) when calling the ListKeys operation: no type\n'], 'the HTTP status stands for a missing __type');
  const once = await ekms(['describe-key', '--key-id', 'k', '--endpoint-url', url], { ...env, AWS_MAX_ATTEMPTS: '1' });
  t.equal(once.stderr, '\nAn error occurred (NotFoundException) when calling the DescribeKey operation (reached max retries: 0): gone\n');
  const legacy = await ekms(['describe-key', '--key-id', 'k', '--endpoint-url', url], { ...env, AWS_MAX_ATTEMPTS: '1', AWS_RETRY_MODE: 'legacy' });
  t.equal(legacy.stderr, '\nAn error occurred (NotFoundException) when calling the DescribeKey operation: gone\n');
  const twice = await ekms(['describe-key', '--key-id', 'k', '--endpoint-url', url], { ...env, AWS_MAX_ATTEMPTS: '2' });
  t.equal(twice.stderr, '\nAn error occurred (NotFoundException) when calling the DescribeKey operation: gone\n');
});

t.test('--starting-token as botocore reads it, and an empty NextMarker ends a listing', async (t) => {
  const names = ['alias/a', 'alias/b', 'alias/c'];
  const { url, seen } = await stub((_, body) => {
    // Two pages; the second says Truncated with an empty NextMarker (botocore stops there).
    const second = body.Marker === 'm1';
    return [200, second ? { Aliases: names.slice(2).map((AliasName) => ({ AliasName })), Truncated: true, NextMarker: '' } : { Aliases: names.slice(0, 2).map((AliasName) => ({ AliasName })), Truncated: true, NextMarker: 'm1' }];
  });
  const list = async (...extra: string[]) => {
    const r = await ekms(['list-aliases', '--query', 'Aliases[].AliasName', '--output', 'text', ...extra, '--endpoint-url', url], env);
    return { code: r.code, out: r.stdout.trim(), err: r.stderr, sent: JSON.parse(seen[seen.length - (r.code === 0 ? 2 : 1)]?.body ?? '{}') as Record<string, unknown> };
  };
  t.equal((await list()).out, 'alias/a\talias/b\nalias/c', 'an empty NextMarker is no marker');
  const fromNone = await list('--starting-token', 'None');
  t.same([fromNone.code, fromNone.out, fromNone.sent], [0, 'alias/a\talias/b\nalias/c', {}], "'None' (what --query NextToken prints on a last page) starts over");
  t.equal((await list('--starting-token', 'None___1')).out, 'alias/b\nalias/c', 'None___1: from the start, one item on');
  t.equal((await list('--starting-token', 'm1')).out, 'alias/c', 'a marker by itself');
  const empty = await list('--starting-token', '___1');
  t.same([empty.code, empty.err], [252, '\nParameter validation failed:\nInvalid length for parameter Marker, value: 0, valid min length: 1\n']);
  const three = await list('--starting-token', 'a___b___1');
  t.same([three.code, three.err], [255, '\nBad starting token: a___b___1\n']);
  const number = await list('--starting-token', Buffer.from('1').toString('base64'));
  t.same([number.code, number.err], [255, "\n'int' object has no attribute 'pop'\n"]);
  const json = await list('--starting-token', Buffer.from('{"Marker": "m1", "boto_truncate_amount": 0}').toString('base64'));
  t.equal(json.out, 'alias/c');
  const wrongType = await list('--starting-token', Buffer.from('{"Marker": 1}').toString('base64'));
  t.same([wrongType.code, wrongType.err], [252, "\nParameter validation failed:\nInvalid type for parameter Marker, value: 1, type: <class 'int'>, valid types: <class 'str'>\n"]);
});

t.test('credentials and endpoint URLs as the AWS CLI takes them', async (t) => {
  const { url, seen } = await stub(() => [200, { Keys: [] }]);
  // An empty AWS_ACCESS_KEY_ID: botocore's environment provider has no keys (here: none at all, so unsigned).
  const r = await ekms(['list-keys', '--endpoint-url', url], { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: 'secret', AWS_DEFAULT_REGION: 'us-east-1' });
  t.equal(r.code, 0, r.stderr);
  t.notOk(seen[0]!.headers.authorization, 'sent unsigned');
  const spaced = await ekms(['list-keys', '--endpoint-url', ` ${url} `], env);
  t.equal(spaced.code, 0, 'spaces around --endpoint-url are dropped');
  t.match(String(seen[1]!.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKID\//);
});

t.test('an empty object printed as the AWS CLI prints it', async (t) => {
  const { url } = await stub(() => [200, { Keys: [{ KeyId: 'k' }], Truncated: false }]);
  const json = await ekms(['list-keys', '--query', '`{}`', '--output', 'json', '--endpoint-url', url], env);
  t.equal(json.stdout, '', 'json: nothing for {}');
  const stream = await ekms(['list-keys', '--query', '`{}`', '--output', 'yaml-stream', '--endpoint-url', url], env);
  t.equal(stream.stdout, '- {}\n', 'yaml-stream: each page of a listing, {} too');
  const skeleton = await ekms(['describe-key', '--generate-cli-skeleton', '--bogus']);
  t.same([skeleton.code, skeleton.stdout], [252, ''], 'an unknown option is refused before the skeleton');
  t.match(skeleton.stderr, /Unknown options: --bogus/);
});
