// The installed command: `node bin/ekms.js …` as a child process (from dist/, built here when
// stale), `ekms serve` stopped by SIGTERM and SIGINT, and the AWS CLI itself against it when
// the machine has one. With --workers: serve-workers.test.ts; listings beside the AWS CLI's:
// aws-cli-listings.test.ts (both left out of the other Node majors' selection, which runs this).
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import t from 'tap';

import { createKeyExample } from './reference.js';
import { awsVersion, bin, buildDistWhenStale, ctrlCStopsCleanly, exitOf, home, run, startServe } from './serve-helpers.js';

t.before(buildDistWhenStale);

t.test('node bin/ekms.js create-key prints the AWS example fields', async (tt) => {
  const h = home();
  const r = run(['create-key', '--key-spec', 'RSA_4096', '--key-usage', 'ENCRYPT_DECRYPT'], { EKMS_HOME: h });
  tt.equal(r.status, 0, r.stderr);
  const md = (JSON.parse(r.stdout) as { KeyMetadata: Record<string, unknown> }).KeyMetadata;
  for (const field of Object.keys(createKeyExample('RSA_4096', 'ENCRYPT_DECRYPT'))) tt.ok(field in md, `${field} printed`);
  tt.same(md.EncryptionAlgorithms, ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']);

  const err = run(['describe-key', '--key-id', 'alias/missing'], { EKMS_HOME: h });
  tt.equal(err.status, 254);
  tt.match(err.stderr, /^\nAn error occurred \(NotFoundException\) when calling the DescribeKey operation: /);
  const usage = run(['describe-key'], { EKMS_HOME: h });
  tt.equal(usage.status, 252);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`ekms serve answers the SDK and stops cleanly on ${signal}`, async (tt) => {
    const h = home();
    const { child, url, stderr } = await startServe(['--home', h]);
    tt.teardown(() => child.kill('SIGKILL'));
    tt.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new KMSClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, endpoint: url });
    tt.same((await client.send(new ListKeysCommand({}))).Keys, []);
    client.destroy();
    const exited = exitOf(child);
    child.kill(signal);
    const { code } = await exited;
    tt.equal(code, 0, 'exit code 0');
    tt.match(stderr(), new RegExp(`${signal}: finishing requests in flight\\nekms: stopped\\n$`));
  });
}

ctrlCStopsCleanly([]);

// The AWS CLI's formatters ignore a failed write (IOError): the command's outcome stands.
t.test('a full disk on stdout ends the output, not the command', { skip: existsSync('/dev/full') ? false : 'no /dev/full here' }, async (tt) => {
  const full = openSync('/dev/full', 'w');
  try {
    const r = spawnSync(process.execPath, [bin, 'generate-random', '--number-of-bytes', '16', '--home', home()], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 60_000 });
    tt.same([r.status, r.stderr], [0, ''], 'exit 0, nothing on stderr');
  } finally {
    closeSync(full);
  }
});

t.test('ekms serve refuses a public address without sigv4', async (tt) => {
  const r = run(['serve', '--host', '0.0.0.0', '--port', '0', '--home', home()]);
  tt.equal(r.status, 252);
  tt.match(r.stderr, /refusing to listen on 0\.0\.0\.0 without authentication/);
});

t.test('the AWS CLI against ekms serve --auth sigv4', { skip: awsVersion ? false : 'no `aws` command on this machine' }, async (tt) => {
  tt.comment(awsVersion ?? '');
  const h = home();
  const { child, url } = await startServe(['--home', h, '--auth', 'sigv4'], { EKMS_ACCESS_KEYS: 'AKIDAWSCLI:aws-cli-secret' });
  tt.teardown(() => child.kill('SIGKILL'));
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'AKIDAWSCLI',
    AWS_SECRET_ACCESS_KEY: 'aws-cli-secret',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_PAGER: '',
  };
  const out = execFileSync('aws', ['kms', 'create-key', '--key-spec', 'ECC_NIST_P521', '--key-usage', 'SIGN_VERIFY', '--endpoint-url', url], { env, encoding: 'utf8' });
  const md = (JSON.parse(out) as { KeyMetadata: Record<string, unknown> }).KeyMetadata;
  for (const field of Object.keys(createKeyExample('ECC_NIST_P521', 'SIGN_VERIFY'))) tt.ok(field in md, `${field} printed by aws`);
  tt.same(md.SigningAlgorithms, ['ECDSA_SHA_512']);

  const bad = spawnSync('aws', ['kms', 'list-keys', '--endpoint-url', url], { env: { ...env, AWS_SECRET_ACCESS_KEY: 'wrong' }, encoding: 'utf8' });
  tt.not(bad.status, 0);
  tt.match(bad.stderr, /An error occurred \(InvalidSignatureException\) when calling the ListKeys operation: The request signature we calculated/);
  const missing = spawnSync('aws', ['kms', 'describe-key', '--key-id', 'alias/none', '--endpoint-url', url], { env, encoding: 'utf8' });
  tt.match(missing.stderr, /An error occurred \(NotFoundException\) when calling the DescribeKey operation/);
});

t.test("the command's processes make no core file and cannot be traced, unless EKMS_ALLOW_CORE_DUMPS=1", async (tt) => {
  // What /proc says of a running `ekms serve`: its core file size limit (the dumpable flag shows
  // only to the process itself, or in /proc's ownership, which root cannot tell apart).
  const coreLimit = (pid: number) => /^Max core file size\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.slice(1, 3);
  for (const [env, expected] of [
    [{}, ['0', '0']],
    [{ EKMS_ALLOW_CORE_DUMPS: '1' }, coreLimit(process.pid)],
  ] as const) {
    const { child } = await startServe(['--no-console', '--home', home()], env);
    try {
      tt.same(coreLimit(child.pid!), expected, JSON.stringify(env));
    } finally {
      child.kill('SIGTERM');
      await exitOf(child);
    }
  }
});
