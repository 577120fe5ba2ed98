// `ekms` and `aws kms` against one `ekms serve`: the same listings, page by page.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import t from 'tap';

import { awsVersion, buildDistWhenStale, home, run, startServe } from './serve-helpers.js';

t.before(buildDistWhenStale);

// `ekms` and `aws kms` print the same listing for the same store: every page followed, the same
// members, and --max-items/--starting-token chains that give every item once.
t.test('ekms and the AWS CLI print the same paginated listings', { skip: awsVersion ? false : 'no `aws` command on this machine' }, async (tt) => {
  const h = home();
  const { child, url } = await startServe(['--home', h]);
  tt.teardown(() => child.kill('SIGKILL'));
  // ISO 8601 timestamps, as AWS CLI v2 prints them by default and v1 when configured so.
  const config = join(h, 'aws-config');
  writeFileSync(config, '[default]\ncli_timestamp_format = iso8601\n');
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_PAGER: '' };
  const client = new KMSClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  // 55 aliases over two keys: more than a page of 50, within AWS's quota of 50 per key.
  const keyIds = [(await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!, (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!];
  for (let i = 0; i < 55; i++) await client.send(new CreateAliasCommand({ AliasName: `alias/both-${String(i).padStart(2, '0')}`, TargetKeyId: keyIds[i % 2] }));
  const awsOut = (args: string[]) => JSON.parse(execFileSync('aws', ['kms', ...args, '--endpoint-url', url], { env, encoding: 'utf8' })) as Record<string, unknown>;
  const ekmsOut = (args: string[]) => {
    const r = run([...args, '--endpoint-url', url], env);
    tt.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  for (const args of [['list-aliases'], ['list-aliases', '--page-size', '20'], ['list-keys']]) {
    const a = awsOut(args);
    tt.same(ekmsOut(args), a, `ekms ${args.join(' ')} prints what aws kms prints`);
  }
  const chain = (out: (args: string[]) => Record<string, unknown>) => {
    const names: unknown[] = [];
    let token: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = out(['list-aliases', '--max-items', '20', ...(token ? ['--starting-token', token] : [])]) as { Aliases: { AliasName: string }[]; NextToken?: string };
      names.push(...page.Aliases.map((x) => x.AliasName));
      token = page.NextToken;
      if (token === undefined) break;
    }
    return names;
  };
  // The same NextToken text as botocore's, mid-page and on a page boundary.
  for (const n of ['13', '50']) {
    const tokenOf = (out: (args: string[]) => Record<string, unknown>) => out(['list-aliases', '--max-items', n]).NextToken;
    tt.equal(tokenOf(ekmsOut), tokenOf(awsOut), `--max-items ${n}: the NextToken aws kms prints`);
  }
  const viaAws = chain(awsOut);
  tt.equal(viaAws.length, 55, 'aws kms: --max-items runs give all 55');
  tt.same(chain(ekmsOut), viaAws, 'ekms: the same items through --max-items and --starting-token');
  // A --max-items of 0 or less: the same output, and the same warning on stderr.
  for (const n of ['0', '-2']) {
    const args = ['list-aliases', '--max-items', n, '--endpoint-url', url];
    const viaCli = spawnSync('aws', ['kms', ...args], { env, encoding: 'utf8' });
    const ours = run(args, env);
    tt.same(JSON.parse(ours.stdout), JSON.parse(viaCli.stdout), `--max-items ${n}: what aws kms prints`);
    tt.equal(ours.stderr, viaCli.stderr, `--max-items ${n}: and its warning`);
  }
});
