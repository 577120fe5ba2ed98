// --tls-cert/--tls-key: the endpoint serves HTTPS, and the SDK talks to it given the CA.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';

import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import t from 'tap';

import { startServer } from '../../src/endpoint/index.js';
import { backends, tempHome } from '../helpers/backends.js';

t.test('HTTPS with a certificate for localhost', async (tt) => {
  const dir = tempHome('ekms-tls-');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  const [backend] = backends();
  const kms = await backend!.open();
  const server = await startServer(kms, { port: 0, tls: { cert: readFileSync(cert), key: readFileSync(key) } });
  tt.teardown(async () => {
    await server.close();
    await kms.close();
  });
  tt.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const client = new KMSClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    endpoint: server.url,
    requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: readFileSync(cert) }) }),
  });
  tt.teardown(() => client.destroy());
  const out = await client.send(new ListKeysCommand({}));
  tt.same(out.Keys, []);
  tt.equal(out.$metadata.httpStatusCode, 200);

  const untrusting = new KMSClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, endpoint: server.url, maxAttempts: 1 });
  tt.teardown(() => untrusting.destroy());
  await tt.rejects(untrusting.send(new ListKeysCommand({})), /self[- ]signed|certificate/i, 'an unknown certificate is refused by the client');
});

t.test('ekms serve names the TLS file it cannot use', async (tt) => {
  const { ekms } = await import('../cli/run.js');
  const dir = tempHome('ekms-tls-');
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'not a certificate');
  const missing = await ekms(['serve', '--tls-cert', join(dir, 'missing.pem'), '--tls-key', notPem, '--home', dir]);
  tt.equal(missing.code, 252);
  tt.match(missing.stderr, /argument --tls-cert: cannot read .*missing\.pem: ENOENT/);
  const garbage = await ekms(['serve', '--tls-cert', notPem, '--tls-key', notPem, '--home', dir]);
  tt.equal(garbage.code, 252);
  tt.match(garbage.stderr, /--tls-cert .*not\.pem and --tls-key .*not\.pem are not a PEM certificate and its private key/);
});
