// ARNs name the partition of the store's region, as AWS's do: a key made in cn-north-1 is
// arn:aws-cn:kms:…, one in us-gov-west-1 arn:aws-us-gov:kms:… (src/keys/arn.ts, partitionOf).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { Kms } from '../../src/index.js';
import { partitionOf } from '../../src/keys/arn.js';
import { ekms } from '../cli/run.js';
import { tempHome } from '../helpers/backends.js';

const accountId = '123456789012';

t.test('partitionOf: the regions of each partition', async (t) => {
  const cases: [string, string][] = [
    ['us-east-1', 'aws'],
    ['eu-central-1', 'aws'],
    ['il-central-1', 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['cn-northwest-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
    ['us-gov-east-1', 'aws-us-gov'],
    ['us-iso-east-1', 'aws-iso'],
    ['us-isob-east-1', 'aws-iso-b'],
    ['us-isof-south-1', 'aws-iso-f'],
    ['eu-isoe-west-1', 'aws-iso-e'],
    ['eusc-de-east-1', 'aws-eusc'],
  ];
  for (const [region, partition] of cases) t.equal(partitionOf(region), partition, region);
});

for (const [region, partition] of [
  ['cn-north-1', 'aws-cn'],
  ['us-gov-west-1', 'aws-us-gov'],
] as const) {
  t.test(`a store in ${region}: every ARN in ${partition}`, async (t) => {
    const home = tempHome('ekms-partition-');
    const kms = await Kms.open({ home, region, accountId });
    t.teardown(() => kms.close());
    const meta = (await kms.createKey({})).KeyMetadata!;
    const keyArn = `arn:${partition}:kms:${region}:${accountId}:key/${meta.KeyId}`;
    t.equal(meta.Arn, keyArn, 'CreateKey');
    t.equal((await kms.describeKey({ KeyId: keyArn })).KeyMetadata!.Arn, keyArn, 'the key ARN names the key');

    await kms.createAlias({ AliasName: 'alias/app', TargetKeyId: meta.KeyId! });
    const aliasArn = `arn:${partition}:kms:${region}:${accountId}:alias/app`;
    t.equal((await kms.listAliases({ KeyId: meta.KeyId! })).Aliases![0]!.AliasArn, aliasArn, 'ListAliases');
    t.equal((await kms.describeKey({ KeyId: aliasArn })).KeyMetadata!.KeyId, meta.KeyId, 'the alias ARN names the key');

    // The same key and region in the standard partition names nothing here.
    const elsewhere = `arn:aws:kms:${region}:${accountId}:key/${meta.KeyId}`;
    await t.rejects(kms.describeKey({ KeyId: elsewhere }), { name: 'NotFoundException', message: 'Invalid arn aws' });
    await t.rejects(kms.describeKey({ KeyId: `arn:aws:kms:${region}:${accountId}:alias/app` }), {
      name: 'NotFoundException',
      message: `Alias arn:aws:kms:${region}:${accountId}:alias/app is not found.`,
    });

    const policy = JSON.parse((await kms.getKeyPolicy({ KeyId: meta.KeyId!, PolicyName: 'default' })).Policy!);
    t.same(policy.Statement[0].Principal, { AWS: `arn:${partition}:iam::${accountId}:root` }, "the default policy's account root");
    await kms.createGrant({ KeyId: meta.KeyId!, GranteePrincipal: `arn:${partition}:iam::${accountId}:role/app`, Operations: ['Encrypt'] });
    t.equal((await kms.listGrants({ KeyId: meta.KeyId! })).Grants![0]!.IssuingAccount, `arn:${partition}:iam::${accountId}:root`, 'IssuingAccount');

    const encrypted = await kms.encrypt({ KeyId: meta.KeyId!, Plaintext: Buffer.from('x') });
    t.equal(encrypted.KeyId, keyArn, 'Encrypt answers with the key ARN');
    t.equal((await kms.decrypt({ CiphertextBlob: encrypted.CiphertextBlob! })).KeyId, keyArn, 'Decrypt too');

    // The audit trail names the key by the same ARN (a call given the bare key id).
    await kms.close();
    const events = readFileSync(join(home, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const encryptEvent = events.find((e) => e.eventName === 'Encrypt');
    t.same(encryptEvent.resources, [{ accountId, type: 'AWS::KMS::Key', ARN: keyArn }], "the audit event's resource");
    const describeByArn = events.filter((e) => e.eventName === 'DescribeKey' && e.errorCode === undefined);
    t.ok(describeByArn.every((e) => e.resources[0].ARN === keyArn), 'every DescribeKey event names the key ARN');
  });
}

t.test('a store made before ARNs named partitions keeps its arn:aws ARNs', async (t) => {
  const home = tempHome('ekms-partition-legacy-');
  let kms = await Kms.open({ home, region: 'cn-north-1', accountId, audit: false });
  const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  // Such a store has no partition record: its next open is the first by a version that knows them.
  kms.store.db.prepare("DELETE FROM meta WHERE name = 'arn_partition_legacy'").run();
  await kms.close();
  kms = await Kms.open({ home, accountId, audit: false });
  t.teardown(() => kms.close());
  const legacyArn = `arn:aws:kms:cn-north-1:${accountId}:key/${keyId}`;
  t.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.Arn, legacyArn, 'the ARN it always gave');
  t.equal((await kms.describeKey({ KeyId: legacyArn })).KeyMetadata!.KeyId, keyId, 'which still names the key');
  await t.rejects(kms.describeKey({ KeyId: `arn:aws-cn:kms:cn-north-1:${accountId}:key/${keyId}` }), { name: 'NotFoundException', message: 'Invalid arn aws-cn' });
  const again = await Kms.open({ home, region: 'cn-north-1', accountId, audit: false });
  t.equal((await again.createKey({})).KeyMetadata!.Arn!.split(':')[1], 'aws', 'and so do its new keys, in every later open');
  await again.close();
});

t.test('ekms --region cn-north-1 prints aws-cn ARNs', async (t) => {
  const home = tempHome('ekms-partition-cli-');
  const created = await ekms(['--home', home, '--region', 'cn-north-1', 'create-key', '--query', 'KeyMetadata.Arn', '--output', 'text']);
  t.equal(created.code, 0, created.stderr);
  t.match(created.stdout.trim(), /^arn:aws-cn:kms:cn-north-1:\d{12}:key\/[0-9a-f-]{36}$/);
});
