// CreateAlias, UpdateAlias, DeleteAlias, ListAliases: AWS's name rules and errors, aliases used
// wherever AWS accepts them, and refused where it does not.
import t from 'tap';

import type { Kms } from '../../src/index.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';

type Test = typeof t;

async function newKey(kms: Kms, spec: 'SYMMETRIC_DEFAULT' | 'ECC_NIST_P256' | 'HMAC_256' = 'SYMMETRIC_DEFAULT'): Promise<{ id: string; arn: string }> {
  const usage = spec === 'SYMMETRIC_DEFAULT' ? undefined : spec === 'HMAC_256' ? 'GENERATE_VERIFY_MAC' : 'SIGN_VERIFY';
  const md = (await kms.createKey({ KeySpec: spec, KeyUsage: usage })).KeyMetadata!;
  return { id: md.KeyId!, arn: md.Arn! };
}

const aliasArn = (kms: Kms, name: string) => `arn:aws:kms:${kms.config.region}:${kms.config.accountId}:${name}`;

eachBackend('CreateAlias names a key that every alias-accepting operation then finds', async (t: Test, kms) => {
  const key = await newKey(kms);
  t.same(await kms.createAlias({ AliasName: 'alias/app/main_key-1', TargetKeyId: key.id }), {});
  for (const ref of ['alias/app/main_key-1', aliasArn(kms, 'alias/app/main_key-1')]) {
    t.equal((await kms.describeKey({ KeyId: ref })).KeyMetadata!.KeyId, key.id, `DescribeKey by ${ref}`);
    const ct = await kms.encrypt({ KeyId: ref, Plaintext: Buffer.from('x') });
    t.equal(ct.KeyId, key.arn, `Encrypt by ${ref} reports the key ARN`);
  }
  // The target may be given by key ARN too.
  await kms.createAlias({ AliasName: 'alias/by-arn', TargetKeyId: key.arn });
  t.equal((await kms.describeKey({ KeyId: 'alias/by-arn' })).KeyMetadata!.KeyId, key.id);
});

eachBackend('alias names follow AWS rules', async (t: Test, kms) => {
  const key = await newKey(kms);
  // Recorded from AWS.
  await rejectsAws(
    t,
    kms.createAlias({ AliasName: 'no-prefix', TargetKeyId: key.id }),
    'ValidationException',
    'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
  );
  await rejectsAws(t, kms.createAlias({ AliasName: 'alias/aws/s3', TargetKeyId: key.id }), 'NotAuthorizedException', '');
  // The model's pattern allows ':'; KMS does not.
  await rejectsAws(t, kms.createAlias({ AliasName: 'alias/a:b', TargetKeyId: key.id }), 'ValidationException', 'alias/a:b contains invalid characters for an alias');
  await rejectsAws(
    t,
    kms.createAlias({ AliasName: 'alias/a!', TargetKeyId: key.id }),
    'ValidationException',
    "1 validation error detected: Value 'alias/a!' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
  );
  const long = 'alias/' + 'a'.repeat(251);
  await rejectsAws(t, kms.createAlias({ AliasName: long, TargetKeyId: key.id }), 'ValidationException', /Member must have length less than or equal to 256$/);
  await kms.createAlias({ AliasName: 'alias/' + 'a'.repeat(250), TargetKeyId: key.id });
  t.equal((await kms.listAliases({ KeyId: key.id })).Aliases!.length, 1, 'a 256-character name is accepted');
});

eachBackend('one alias names one key; a key may have several aliases', async (t: Test, kms) => {
  const a = await newKey(kms);
  const b = await newKey(kms);
  await kms.createAlias({ AliasName: 'alias/one', TargetKeyId: a.id });
  await kms.createAlias({ AliasName: 'alias/two', TargetKeyId: a.id });
  await rejectsAws(
    t,
    kms.createAlias({ AliasName: 'alias/one', TargetKeyId: b.id }),
    'AlreadyExistsException',
    `An alias with the name ${aliasArn(kms, 'alias/one')} already exists`,
  );
  t.equal((await kms.describeKey({ KeyId: 'alias/one' })).KeyMetadata!.KeyId, a.id, 'the alias still names the first key');
  t.same(
    (await kms.listAliases({ KeyId: a.id })).Aliases!.map((x) => x.AliasName),
    ['alias/one', 'alias/two'],
  );
});

eachBackend('a key takes at most 50 aliases (AWS\'s quota), by CreateAlias or UpdateAlias', async (t: Test, kms) => {
  const full = await newKey(kms);
  const other = await newKey(kms);
  for (let i = 0; i < 50; i++) await kms.createAlias({ AliasName: `alias/full-${i}`, TargetKeyId: full.id });
  const quota = `The request would exceed the quota of 50 aliases for ${full.arn}.`;
  await rejectsAws(t, kms.createAlias({ AliasName: 'alias/full-50', TargetKeyId: full.id }), 'LimitExceededException', quota);
  await kms.createAlias({ AliasName: 'alias/elsewhere', TargetKeyId: other.id });
  await rejectsAws(t, kms.updateAlias({ AliasName: 'alias/elsewhere', TargetKeyId: full.id }), 'LimitExceededException', quota);
  t.equal((await kms.describeKey({ KeyId: 'alias/elsewhere' })).KeyMetadata!.KeyId, other.id, 'the refused alias still names its key');
  // Pointing an alias at the key it names already adds nothing; one fewer makes room again.
  await kms.updateAlias({ AliasName: 'alias/full-0', TargetKeyId: full.id });
  await rejectsAws(t, kms.createAlias({ AliasName: 'alias/full-0', TargetKeyId: full.id }), 'AlreadyExistsException');
  await kms.deleteAlias({ AliasName: 'alias/full-0' });
  await kms.updateAlias({ AliasName: 'alias/elsewhere', TargetKeyId: full.id });
  t.equal((await kms.listAliases({ KeyId: full.id, Limit: 100 })).Aliases!.length, 50);
});

eachBackend('an alias target must be a key id or key ARN, of an existing key', async (t: Test, kms) => {
  const key = await newKey(kms);
  await kms.createAlias({ AliasName: 'alias/first', TargetKeyId: key.id });
  await rejectsAws(t, kms.createAlias({ AliasName: 'alias/second', TargetKeyId: 'alias/first' }), 'InvalidArnException', 'Key Aliases are not supported for this operation.');
  await rejectsAws(
    t,
    kms.createAlias({ AliasName: 'alias/second', TargetKeyId: aliasArn(kms, 'alias/first') }),
    'InvalidArnException',
    'Key Aliases are not supported for this operation.',
  );
  const missing = '11111111-2222-4333-8444-555555555555';
  await rejectsAws(
    t,
    kms.createAlias({ AliasName: 'alias/second', TargetKeyId: missing }),
    'NotFoundException',
    `Key 'arn:aws:kms:${kms.config.region}:${kms.config.accountId}:key/${missing}' does not exist`,
  );
  t.same((await kms.listAliases({})).Aliases!.map((a) => a.AliasName), ['alias/first'], 'nothing was created');
});

eachBackend('UpdateAlias points an alias at another key of the same kind', async (t: Test, kms) => {
  const a = await newKey(kms);
  const b = await newKey(kms);
  const signing = await newKey(kms, 'ECC_NIST_P256');
  await kms.createAlias({ AliasName: 'alias/current', TargetKeyId: a.id });
  const created = (await kms.listAliases({ KeyId: a.id })).Aliases![0]!;
  await kms.updateAlias({ AliasName: 'alias/current', TargetKeyId: b.arn });
  t.equal((await kms.describeKey({ KeyId: 'alias/current' })).KeyMetadata!.KeyId, b.id);
  const updated = (await kms.listAliases({ KeyId: b.id })).Aliases![0]!;
  t.equal(updated.AliasName, 'alias/current');
  t.same(updated.CreationDate, created.CreationDate, 'CreationDate is kept');
  t.ok(updated.LastUpdatedDate!.getTime() >= created.LastUpdatedDate!.getTime(), 'LastUpdatedDate moves');
  t.same((await kms.listAliases({ KeyId: a.id })).Aliases, [], 'the old key has no alias any more');

  await rejectsAws(
    t,
    kms.updateAlias({ AliasName: 'alias/current', TargetKeyId: signing.id }),
    'ValidationException',
    'alias/current cannot be changed from a symmetric key with key usage ENCRYPT_DECRYPT to an asymmetric key with key usage SIGN_VERIFY.',
  );
  await rejectsAws(
    t,
    kms.updateAlias({ AliasName: 'alias/none', TargetKeyId: a.id }),
    'NotFoundException',
    `Alias ${aliasArn(kms, 'alias/none')} is not found.`,
  );
  await rejectsAws(t, kms.updateAlias({ AliasName: 'alias/aws/ebs', TargetKeyId: a.id }), 'NotAuthorizedException');
  await rejectsAws(t, kms.updateAlias({ AliasName: 'alias/current', TargetKeyId: 'alias/current' }), 'InvalidArnException', 'Key Aliases are not supported for this operation.');
});

eachBackend('DeleteAlias removes the name and only the name', async (t: Test, kms) => {
  const key = await newKey(kms);
  await kms.createAlias({ AliasName: 'alias/gone', TargetKeyId: key.id });
  t.same(await kms.deleteAlias({ AliasName: 'alias/gone' }), {});
  await rejectsAws(t, kms.describeKey({ KeyId: 'alias/gone' }), 'NotFoundException', `Alias ${aliasArn(kms, 'alias/gone')} is not found.`);
  t.equal((await kms.describeKey({ KeyId: key.id })).KeyMetadata!.KeyState, 'Enabled', 'the key is untouched');
  await rejectsAws(t, kms.deleteAlias({ AliasName: 'alias/gone' }), 'NotFoundException', `Alias ${aliasArn(kms, 'alias/gone')} is not found.`);
  await rejectsAws(t, kms.deleteAlias({ AliasName: 'gone' }), 'ValidationException', /^Alias must start with the prefix "alias\/"/);
  // The name is free again.
  await kms.createAlias({ AliasName: 'alias/gone', TargetKeyId: key.id });
  t.equal((await kms.describeKey({ KeyId: 'alias/gone' })).KeyMetadata!.KeyId, key.id);
});

eachBackend('ListAliases lists all aliases or one key\'s, in pages', async (t: Test, kms) => {
  const a = await newKey(kms);
  const b = await newKey(kms);
  const names = ['alias/p1', 'alias/p2', 'alias/p3', 'alias/p4', 'alias/p5'];
  for (const n of names) await kms.createAlias({ AliasName: n, TargetKeyId: a.id });
  await kms.createAlias({ AliasName: 'alias/q', TargetKeyId: b.id });

  const all = await kms.listAliases({});
  t.same(all.Aliases!.map((x) => x.AliasName), [...names, 'alias/q']);
  t.equal(all.Truncated, false);
  t.notOk('NextMarker' in all, 'no marker on the last page');
  const first = all.Aliases![0]!;
  t.same(Object.keys(first), ['AliasName', 'AliasArn', 'TargetKeyId', 'CreationDate', 'LastUpdatedDate'], 'AWS member order');
  t.equal(first.AliasArn, aliasArn(kms, 'alias/p1'));
  t.equal(first.TargetKeyId, a.id);
  t.ok(first.CreationDate instanceof Date);

  const seen: string[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    const page = await kms.listAliases({ KeyId: a.arn, Limit: 2, Marker: marker });
    pages++;
    seen.push(...page.Aliases!.map((x) => x.AliasName!));
    t.equal(page.Truncated, page.NextMarker !== undefined, 'Truncated exactly when there is a marker');
    marker = page.NextMarker;
  } while (marker !== undefined);
  t.same(seen, names, 'pages of one key\'s aliases add up to all of them');
  t.equal(pages, 3);

  await rejectsAws(t, kms.listAliases({ Marker: 'not-ours' }), 'InvalidMarkerException');
  // Markers that look like ours but that we never made (base64url decoding skips what it cannot
  // read) are refused, not read as the first page or as a name they happen to contain.
  const tag = (await kms.listAliases({ Limit: 1 })).NextMarker!.split('.')[1]!;
  for (const junk of ['ekms2:', 'ekms2:!!!', `ekms2:YWxpYXMvcDE=.${tag}`, `ekms2:YWxp!YXMvcDE.${tag}`, `ekms2:_w.${tag}`, 'ekms2:YWxpYXMvcDE', 'ekms1:YWxpYXMvcDE'])
    await rejectsAws(t, kms.listAliases({ Marker: junk }), 'InvalidMarkerException');
  // A marker belongs to its listing: another listing's (or the same one's for another key) would
  // name a position in the wrong list, and skip what comes before it there.
  const ofKeyA = (await kms.listAliases({ KeyId: a.id, Limit: 1 })).NextMarker!;
  await kms.tagResource({ KeyId: b.id, Tags: [{ TagKey: 'alias/p1', TagValue: 'x' }, { TagKey: 'alias/p2', TagValue: 'y' }] });
  const ofTags = (await kms.listResourceTags({ KeyId: b.id, Limit: 1 })).NextMarker!;
  await rejectsAws(t, kms.listAliases({ Marker: ofTags }), 'InvalidMarkerException', 'Invalid marker');
  await rejectsAws(t, kms.listAliases({ KeyId: b.id, Marker: ofKeyA }), 'InvalidMarkerException');
  await rejectsAws(t, kms.listAliases({ Marker: ofKeyA }), 'InvalidMarkerException');
  await rejectsAws(t, kms.listResourceTags({ KeyId: a.id, Marker: ofTags }), 'InvalidMarkerException');
  t.same((await kms.listAliases({ KeyId: a.id, Marker: ofKeyA })).Aliases!.map((x) => x.AliasName), names.slice(1), 'taken by its own listing');
  await rejectsAws(t, kms.listAliases({ KeyId: 'alias/p1' }), 'InvalidArnException', 'Key Aliases are not supported for this operation.');
  await rejectsAws(t, kms.listAliases({ KeyId: '11111111-2222-4333-8444-555555555555' }), 'NotFoundException');
  await rejectsAws(
    t,
    kms.listAliases({ Limit: 0 }),
    'ValidationException',
    "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
  );
});

// An alias name and an alias ARN are refused alike: AWS's answer to CreateGrant and GetKeyPolicy
// with `alias/…` is InvalidArnException (quoted in boto/boto#3202 and by users).
eachBackend('management operations take a key id or key ARN, not an alias', async (t: Test, kms) => {
  const key = await newKey(kms);
  await kms.createAlias({ AliasName: 'alias/managed', TargetKeyId: key.id });
  const byName = { KeyId: 'alias/managed' };
  const byArn = { KeyId: aliasArn(kms, 'alias/managed') };
  const calls: [string, (input: { KeyId: string }) => Promise<unknown>][] = [
    ['EnableKey', (i) => kms.enableKey(i)],
    ['DisableKey', (i) => kms.disableKey(i)],
    ['ScheduleKeyDeletion', (i) => kms.scheduleKeyDeletion(i)],
    ['CancelKeyDeletion', (i) => kms.cancelKeyDeletion(i)],
    ['UpdateKeyDescription', (i) => kms.updateKeyDescription({ ...i, Description: 'd' })],
    ['TagResource', (i) => kms.tagResource({ ...i, Tags: [{ TagKey: 'k', TagValue: 'v' }] })],
    ['UntagResource', (i) => kms.untagResource({ ...i, TagKeys: ['k'] })],
    ['ListResourceTags', (i) => kms.listResourceTags(i)],
    ['GetKeyPolicy', (i) => kms.getKeyPolicy(i)],
    ['PutKeyPolicy', (i) => kms.putKeyPolicy({ ...i, Policy: '{}' })],
    ['ListKeyPolicies', (i) => kms.listKeyPolicies(i)],
  ];
  for (const [name, call] of calls) {
    await rejectsAws(t, call(byName), 'InvalidArnException', 'Key Aliases are not supported for this operation.');
    await rejectsAws(t, call(byArn), 'InvalidArnException', 'Key Aliases are not supported for this operation.');
    t.pass(`${name} refuses aliases`);
  }
  t.equal((await kms.describeKey({ KeyId: key.id })).KeyMetadata!.KeyState, 'Enabled', 'nothing happened to the key');
});
