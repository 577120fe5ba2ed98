// The region and account of a store's ARNs (src/store/identity.ts): those it was created with,
// for every later open that names none; those named, for an open that names them.
import t from 'tap';

import { Kms } from '../../src/index.js';
import { ekms } from '../cli/run.js';
import { tempHome } from '../helpers/backends.js';

const region = 'eu-central-1';
const accountId = '123456789012';

async function created(): Promise<{ home: string; keyArn: string; aliasArn: string }> {
  const home = tempHome('ekms-identity-');
  const kms = await Kms.open({ home, region, accountId, audit: false });
  const keyArn = (await kms.createKey({})).KeyMetadata!.Arn!;
  await kms.createAlias({ AliasName: 'alias/app', TargetKeyId: keyArn });
  const aliasArn = (await kms.listAliases({})).Aliases!.find((a) => a.AliasName === 'alias/app')!.AliasArn!;
  await kms.close();
  return { home, keyArn, aliasArn };
}

t.test("an open that names no region or account keeps the store's ARNs", async (t) => {
  const { home, keyArn, aliasArn } = await created();
  t.match(keyArn, `arn:aws:kms:${region}:${accountId}:key/`);
  const kms = await Kms.open({ home, audit: false });
  t.equal((await kms.describeKey({ KeyId: 'alias/app' })).KeyMetadata!.Arn, keyArn, 'the key ARN of the creating open');
  t.equal((await kms.listAliases({})).Aliases!.find((a) => a.AliasName === 'alias/app')!.AliasArn, aliasArn);
  // A client holding the ARN (the Encryption SDK decrypts by it) still reaches the key.
  const blob = (await kms.encrypt({ KeyId: keyArn, Plaintext: Buffer.from('x') })).CiphertextBlob!;
  t.equal((await kms.decrypt({ KeyId: keyArn, CiphertextBlob: blob })).KeyId, keyArn);
  await kms.close();

  const cli = await ekms(['--home', home, 'list-keys']);
  t.equal(cli.code, 0);
  t.equal(JSON.parse(cli.stdout).Keys[0].KeyArn, keyArn, 'the CLI too');
});

t.test('an open that names a region or account serves those, and the record stays', async (t) => {
  const { home, keyArn } = await created();
  const keyId = keyArn.slice(keyArn.lastIndexOf('/') + 1);
  const named = await Kms.open({ home, region: 'us-west-2', audit: false });
  t.equal((await named.describeKey({ KeyId: keyId })).KeyMetadata!.Arn, `arn:aws:kms:us-west-2:${accountId}:key/${keyId}`);
  await named.close();
  // EKMS_REGION names one as the option does (this file runs in a process of its own).
  process.env.EKMS_REGION = 'sa-east-1';
  try {
    const env = await Kms.open({ home, accountId: '999999999999', audit: false });
    t.equal((await env.describeKey({ KeyId: keyId })).KeyMetadata!.Arn, `arn:aws:kms:sa-east-1:999999999999:key/${keyId}`);
    await env.close();
  } finally {
    delete process.env.EKMS_REGION;
  }
  const cli = await ekms(['--home', home, '--region', 'ap-south-1', 'list-keys']);
  t.match(JSON.parse(cli.stdout).Keys[0].KeyArn, /^arn:aws:kms:ap-south-1:/, 'ekms --region names one');
  const again = await Kms.open({ home, audit: false });
  t.equal((await again.describeKey({ KeyId: keyId })).KeyMetadata!.Arn, keyArn, 'then the recorded ones again');
  await again.close();
});

t.test('a store made before the region was recorded takes that of its next open', async (t) => {
  const { home, keyArn } = await created();
  const keyId = keyArn.slice(keyArn.lastIndexOf('/') + 1);
  const kms = await Kms.open({ home, audit: false });
  kms.store.db.exec("DELETE FROM meta WHERE name IN ('region', 'account_id')");
  await kms.close();
  const next = await Kms.open({ home, region: 'ap-south-1', audit: false });
  t.equal((await next.describeKey({ KeyId: keyId })).KeyMetadata!.Arn, `arn:aws:kms:ap-south-1:111122223333:key/${keyId}`);
  await next.close();
  const after = await Kms.open({ home, audit: false });
  t.equal((await after.describeKey({ KeyId: keyId })).KeyMetadata!.Arn, `arn:aws:kms:ap-south-1:111122223333:key/${keyId}`, 'and keeps them');
  await after.close();
});
