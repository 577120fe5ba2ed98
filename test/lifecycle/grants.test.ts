// Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant (by token, by key and id),
// RevokeGrant, on both backends, through the library, the endpoint (@aws-sdk/client-kms) and
// the CLI. Grants are stored and listed, not evaluated (README).
import {
  CreateGrantCommand,
  CreateKeyCommand,
  KMSClient,
  ListGrantsCommand,
  NotFoundException,
  RetireGrantCommand,
  RevokeGrantCommand,
} from '@aws-sdk/client-kms';
import t from 'tap';

import { startServer } from '../../src/endpoint/index.js';
import { Kms } from '../../src/index.js';
import { markerAfter } from '../../src/operations/lifecycle/markers.js';
import { ekms } from '../cli/run.js';
import { backends, cleanupLater, tempHome } from '../helpers/backends.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';

const user = 'arn:aws:iam::111122223333:user/grantee';
const retiring = 'arn:aws:iam::111122223333:role/retirer';

eachBackend('CreateGrant, ListGrants, RetireGrant and RevokeGrant', async (t, kms) => {
  const key = (await kms.createKey({})).KeyMetadata!;
  const made = await kms.createGrant({ KeyId: key.KeyId!, GranteePrincipal: user, RetiringPrincipal: retiring, Operations: ['Encrypt', 'Decrypt'] });
  t.match(made.GrantId, /^[0-9a-f]{64}$/, 'a grant id as AWS makes them');
  t.match(made.GrantToken, /^[A-Za-z0-9_-]{80,}$/, 'an opaque token');
  const constrained = await kms.createGrant({
    KeyId: key.Arn!,
    GranteePrincipal: user,
    Operations: ['GenerateDataKey', 'DescribeKey'],
    Constraints: { EncryptionContextSubset: { purpose: 'test' } },
    Name: 'with-context',
  });

  const listed = await kms.listGrants({ KeyId: key.KeyId! });
  t.equal(listed.Truncated, false);
  t.same(listed.Grants!.map((g) => g.GrantId), [made.GrantId, constrained.GrantId], 'in creation order');
  const [first, second] = listed.Grants!;
  t.same(Object.keys(first!).sort(), ['CreationDate', 'GrantId', 'GranteePrincipal', 'IssuingAccount', 'KeyId', 'Name', 'Operations', 'RetiringPrincipal']);
  t.equal(first!.Name, '', 'a grant made without a Name is listed with an empty one, as AWS lists it');
  t.match(first, { KeyId: key.Arn, GranteePrincipal: user, RetiringPrincipal: retiring, IssuingAccount: 'arn:aws:iam::111122223333:root', Operations: ['Encrypt', 'Decrypt'] });
  t.ok(first!.CreationDate instanceof Date);
  t.match(second, { Name: 'with-context', Operations: ['GenerateDataKey', 'DescribeKey'], Constraints: { EncryptionContextSubset: { purpose: 'test' } } });
  t.same((await kms.listGrants({ KeyId: key.Arn!, GrantId: constrained.GrantId! })).Grants!.map((g) => g.GrantId), [constrained.GrantId]);
  t.same((await kms.listGrants({ KeyId: key.KeyId!, GranteePrincipal: 'arn:aws:iam::111122223333:user/other' })).Grants, []);
  t.same(
    (await kms.listRetirableGrants({ RetiringPrincipal: retiring })).Grants!.map((g) => g.GrantId),
    [made.GrantId],
    'ListRetirableGrants: the grants this principal may retire',
  );

  // The same Name and parameters: the same grant, a new token (AWS's retry semantics).
  const again = await kms.createGrant({
    KeyId: key.KeyId!,
    GranteePrincipal: user,
    Operations: ['DescribeKey', 'GenerateDataKey'],
    Constraints: { EncryptionContextSubset: { purpose: 'test' } },
    Name: 'with-context',
  });
  t.equal(again.GrantId, constrained.GrantId, 'a retry by name returns the grant it made');
  t.not(again.GrantToken, constrained.GrantToken, 'with a new token');
  const otherParameters = await kms.createGrant({ KeyId: key.KeyId!, GranteePrincipal: user, Operations: ['Decrypt'], Name: 'with-context' });
  t.not(otherParameters.GrantId, constrained.GrantId, 'the same name with other parameters is another grant');
  t.equal((await kms.listGrants({ KeyId: key.KeyId! })).Grants!.length, 3);

  // Retire by token (either token of a grant), by key and id; revoke by key and id.
  await kms.retireGrant({ GrantToken: again.GrantToken! });
  await kms.retireGrant({ KeyId: key.Arn!, GrantId: made.GrantId! });
  await kms.revokeGrant({ KeyId: key.KeyId!, GrantId: otherParameters.GrantId! });
  t.same((await kms.listGrants({ KeyId: key.KeyId! })).Grants, [], 'every grant is gone');
  await rejectsAws(t, kms.revokeGrant({ KeyId: key.KeyId!, GrantId: made.GrantId! }), 'NotFoundException');
  // A retired grant cannot be retired again.
  await rejectsAws(t, kms.retireGrant({ GrantToken: constrained.GrantToken! }), 'NotFoundException', `Grant ID ${constrained.GrantId} not found for ${key.Arn}`);
});

eachBackend('grants: AWS refusals', async (t, kms) => {
  const sym = (await kms.createKey({})).KeyMetadata!;
  const signing = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  const hmac = (await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!;
  await rejectsAws(t, kms.createGrant({ KeyId: 'invalid', GranteePrincipal: user, Operations: ['Decrypt', 'Encrypt'] }), 'NotFoundException');
  await rejectsAws(t, kms.listGrants({ KeyId: 'invalid' }), 'NotFoundException');
  await rejectsAws(t, kms.createGrant({ KeyId: 'alias/none', GranteePrincipal: user, Operations: ['Decrypt'] }), 'InvalidArnException', 'Key Aliases are not supported for this operation.');
  // Operations the key cannot do, and encryption context constraints on keys that take none.
  await rejectsAws(t, kms.createGrant({ KeyId: sym.KeyId!, GranteePrincipal: user, Operations: ['Sign'] }), 'ValidationException', /Sign is not valid/);
  await rejectsAws(t, kms.createGrant({ KeyId: signing.KeyId!, GranteePrincipal: user, Operations: ['GenerateDataKey', 'Sign'] }), 'ValidationException');
  await rejectsAws(t, kms.createGrant({ KeyId: hmac.KeyId!, GranteePrincipal: user, Operations: ['Encrypt'] }), 'ValidationException');
  await kms.createGrant({ KeyId: hmac.KeyId!, GranteePrincipal: user, Operations: ['GenerateMac', 'VerifyMac', 'DescribeKey'] });
  await rejectsAws(
    t,
    kms.createGrant({ KeyId: signing.KeyId!, GranteePrincipal: user, Operations: ['Sign'], Constraints: { EncryptionContextEquals: { a: 'b' } } }),
    'ValidationException',
  );
  await kms.createGrant({ KeyId: signing.KeyId!, GranteePrincipal: user, Operations: ['Sign', 'Verify', 'GetPublicKey'] });
  // A grant of CreateGrant alone (AWS's words, as ansible/ansible#31960 quotes botocore).
  const other = (await kms.createKey({})).KeyMetadata!; // its grants leave sym's count alone
  for (const Operations of [['CreateGrant'], ['CreateGrant', 'CreateGrant']] as const)
    await rejectsAws(t, kms.createGrant({ KeyId: other.KeyId!, GranteePrincipal: user, Operations: [...Operations] }), 'ValidationException', 'Grants must not contain only the CreateGrant operation.');
  await kms.createGrant({ KeyId: other.KeyId!, GranteePrincipal: user, Operations: ['CreateGrant', 'Decrypt'] });
  // Encryption context constraints: one kind per grant, up to 8 pairs, values up to 384 characters.
  const grantWith = (Constraints: Record<string, Record<string, string>>) => kms.createGrant({ KeyId: other.KeyId!, GranteePrincipal: user, Operations: ['Decrypt'], Constraints });
  await rejectsAws(t, grantWith({ EncryptionContextEquals: { a: 'b' }, EncryptionContextSubset: { c: 'd' } }), 'ValidationException', 'More than one constraint supplied');
  const pairs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
  await grantWith({ EncryptionContextSubset: pairs(8) });
  await rejectsAws(t, grantWith({ EncryptionContextSubset: pairs(9) }), 'ValidationException', /up to 8/);
  await rejectsAws(t, grantWith({ EncryptionContextEquals: pairs(9) }), 'ValidationException', /up to 8/);
  await grantWith({ EncryptionContextEquals: { k: '\u{1F600}'.repeat(384) } }); // 384 characters (768 UTF-16 units)
  await rejectsAws(t, grantWith({ EncryptionContextEquals: { k: 'x'.repeat(385) } }), 'ValidationException', /exceeds 384 characters/);
  // Principals.
  await rejectsAws(
    t,
    kms.createGrant({ KeyId: sym.KeyId!, Operations: ['Decrypt'] }),
    'ValidationException',
    "1 validation error detected: Value null at 'granteePrincipal' failed to satisfy constraint: Member must not be null",
  );
  await rejectsAws(t, kms.createGrant({ KeyId: sym.KeyId!, GranteePrincipal: user, GranteeServicePrincipal: 'logs.us-east-1.amazonaws.com', Operations: ['Decrypt'] }), 'ValidationException');
  await rejectsAws(t, kms.createGrant({ KeyId: sym.KeyId!, GranteeServicePrincipal: 'logs.us-east-1.amazonaws.com', Operations: ['Decrypt'] }), 'ValidationException', /SourceArn/);
  await rejectsAws(t, kms.createGrant({ KeyId: sym.KeyId!, GranteePrincipal: 'not a principal', Operations: ['Decrypt'] }), 'ValidationException', /granteePrincipal/);
  // Within the model's pattern, but no principal: KMS's InvalidArnException (there is no IAM
  // here to ask whether one exists; its form is checked).
  for (const [member, value] of [
    ['GranteePrincipal', 'x'],
    ['GranteePrincipal', 'arn:aws:s3:::bucket'],
    ['GranteePrincipal', 'arn:aws:iam::111122223333:group/G'],
    ['GranteePrincipal', 'arn:aws:iam::123:role/app'],
    ['RetiringPrincipal', 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
  ] as const) {
    const request = { KeyId: sym.KeyId!, GranteePrincipal: user, Operations: ['Decrypt' as const], [member]: value };
    await rejectsAws(t, kms.createGrant(request), 'InvalidArnException', `ARN does not refer to a valid principal: ${value}`);
  }
  const another = (await kms.createKey({})).KeyMetadata!.KeyId!;
  for (const principal of ['111122223333', 'arn:aws:iam::111122223333:root', 'arn:aws:sts::111122223333:assumed-role/app/session', 'arn:aws-cn:iam::111122223333:user/a/b'])
    t.ok((await kms.createGrant({ KeyId: another, GranteePrincipal: principal, RetiringPrincipal: principal, Operations: ['Decrypt'] })).GrantId, `${principal} is a principal`);
  await rejectsAws(t, kms.createGrant({ KeyId: sym.KeyId!, GranteePrincipal: user, Operations: ['CreateKey' as never] }), 'ValidationException', /enum value set/);
  // Key states: a disabled key takes no new grant; its grants can be listed and revoked.
  const granted = await kms.createGrant({ KeyId: sym.KeyId!, GranteePrincipal: user, Operations: ['Decrypt'] });
  await kms.disableKey({ KeyId: sym.KeyId! });
  await rejectsAws(t, kms.createGrant({ KeyId: sym.KeyId!, GranteePrincipal: user, Operations: ['Decrypt'] }), 'DisabledException', `${sym.Arn} is disabled.`);
  t.equal((await kms.listGrants({ KeyId: sym.KeyId! })).Grants!.length, 1);
  // Dry runs change nothing.
  await rejectsAws(t, kms.revokeGrant({ KeyId: sym.KeyId!, GrantId: granted.GrantId!, DryRun: true }), 'DryRunOperationException');
  t.equal((await kms.listGrants({ KeyId: sym.KeyId! })).Grants!.length, 1, 'the dry run revoked nothing');
  await kms.enableKey({ KeyId: sym.KeyId! });
  await rejectsAws(t, kms.createGrant({ KeyId: sym.KeyId!, GranteePrincipal: user, Operations: ['Decrypt'], DryRun: true }), 'DryRunOperationException');
  t.equal((await kms.listGrants({ KeyId: sym.KeyId! })).Grants!.length, 1, 'the dry run made no grant');
  // Grant ids and tokens.
  await rejectsAws(t, kms.revokeGrant({ KeyId: sym.KeyId!, GrantId: 'not-a-grant-id' }), 'InvalidGrantIdException');
  await rejectsAws(t, kms.revokeGrant({ KeyId: sym.KeyId!, GrantId: 'a'.repeat(64) }), 'NotFoundException');
  await rejectsAws(t, kms.retireGrant({ GrantToken: 'not a token' }), 'InvalidGrantTokenException');
  await rejectsAws(t, kms.retireGrant({ GrantToken: granted.GrantToken!.slice(0, -4) }), 'InvalidGrantTokenException', 'Invalid grant token');
  await rejectsAws(t, kms.retireGrant({}), 'ValidationException');
  await rejectsAws(t, kms.retireGrant({ GrantToken: granted.GrantToken!, GrantId: 'b'.repeat(64) }), 'ValidationException', /does not identify/);
  // Paging.
  for (let i = 0; i < 4; i++) await kms.createGrant({ KeyId: sym.KeyId!, GranteePrincipal: user, Operations: ['Encrypt'] });
  const seen: string[] = [];
  let marker: string | undefined;
  do {
    const page = await kms.listGrants({ KeyId: sym.KeyId!, Limit: 2, ...(marker ? { Marker: marker } : {}) });
    t.ok(page.Grants!.length <= 2);
    seen.push(...page.Grants!.map((g) => g.GrantId!));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  t.equal(new Set(seen).size, 5, 'five grants over three pages, none twice');
  await rejectsAws(t, kms.listGrants({ KeyId: sym.KeyId!, Marker: 'junk' }), 'InvalidMarkerException');
  // Ours in form but not a sequence number, and the old form without the listing's tag.
  const scope = `ListGrants ${sym.KeyId!}`;
  for (const junk of ['ekms2:!!!', 'ekms2:', 'ekms2:Mg', markerAfter('0x1', scope), markerAfter('0', scope), markerAfter('01', scope), 'ekms1:Mg'])
    await rejectsAws(t, kms.listGrants({ KeyId: sym.KeyId!, Marker: junk }), 'InvalidMarkerException');
  // A key pending deletion: its grants are listed and can be revoked.
  await kms.scheduleKeyDeletion({ KeyId: signing.KeyId!, PendingWindowInDays: 7 });
  t.equal((await kms.listGrants({ KeyId: signing.KeyId! })).Grants!.length, 1, 'listed while pending deletion');
  await kms.revokeGrant({ KeyId: signing.KeyId!, GrantId: (await kms.listGrants({ KeyId: signing.KeyId! })).Grants![0]!.GrantId! });
  // Checks of the request come before the key lookup.
  await rejectsAws(t, kms.createGrant({ KeyId: 'invalid', Operations: ['Decrypt'] }), 'ValidationException', /granteePrincipal/);
});

t.test("a deleted key's grants go with it", async (t) => {
  const clock = { now: Date.parse('2030-01-01T00:00:00Z') };
  const home = tempHome('ekms-grants-deleted-');
  cleanupLater(home);
  const kms = await Kms.open({ home, clock: () => new Date(clock.now) });
  t.teardown(() => kms.close());
  const key = (await kms.createKey({})).KeyMetadata!;
  const kept = (await kms.createKey({})).KeyMetadata!;
  await kms.createGrant({ KeyId: key.KeyId!, GranteePrincipal: user, RetiringPrincipal: retiring, Operations: ['Decrypt'] });
  const other = await kms.createGrant({ KeyId: kept.KeyId!, GranteePrincipal: user, RetiringPrincipal: retiring, Operations: ['Decrypt'] });
  await kms.scheduleKeyDeletion({ KeyId: key.KeyId!, PendingWindowInDays: 7 });
  clock.now += 8 * 86_400_000;
  await rejectsAws(t, kms.describeKey({ KeyId: key.KeyId! }), 'NotFoundException');
  t.equal(kms.store.db.prepare('SELECT COUNT(*) FROM grants WHERE key_id = ?').pluck().get(key.KeyId!), 0, 'no row of its grants is left');
  t.same((await kms.listRetirableGrants({ RetiringPrincipal: retiring })).Grants!.map((g) => g.GrantId), [other.GrantId], 'only the other key\'s grant is retirable');
});

t.test('a key deleted by another process while CreateGrant resolves it: NotFoundException', async (t) => {
  const home = tempHome('ekms-grants-race-');
  cleanupLater(home);
  const kms = await Kms.open({ home });
  t.teardown(() => kms.close());
  const key = (await kms.createKey({})).KeyMetadata!;
  await kms.describeKey({ KeyId: key.KeyId! }); // cached: the next call resolves it without reading the store
  // Another connection removes the key row between the lookup and the write (as a deletion sweep in another process would).
  const write = kms.store.write.bind(kms.store);
  let first = true;
  kms.store.write = (<T>(fn: () => T): T => {
    if (first) {
      first = false;
      kms.store.db.prepare('DELETE FROM keys WHERE key_id = ?').run(key.KeyId!);
    }
    return write(fn);
  }) as typeof kms.store.write;
  await rejectsAws(t, kms.createGrant({ KeyId: key.KeyId!, GranteePrincipal: user, Operations: ['Decrypt'] }), 'NotFoundException', `Key '${key.Arn}' does not exist`);
});

t.test('grants survive a reopen, and leave the audit trail without their tokens', async (t) => {
  const home = tempHome('ekms-grants-');
  cleanupLater(home);
  let kms = await Kms.open({ home });
  const key = (await kms.createKey({})).KeyMetadata!;
  const made = await kms.createGrant({ KeyId: key.KeyId!, GranteePrincipal: user, Operations: ['Decrypt'] });
  const auditPath = kms.audit!.path;
  await kms.close();
  kms = await Kms.open({ home });
  t.teardown(() => kms.close());
  t.same((await kms.listGrants({ KeyId: key.KeyId! })).Grants!.map((g) => g.GrantId), [made.GrantId]);
  // A request refused for its GrantTokens: the message quotes them (as AWS's does), the trail does not.
  const tooMany = Array.from({ length: 11 }, () => made.GrantToken!);
  await rejectsAws(t, kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('x'), GrantTokens: tooMany }), 'ValidationException', new RegExp(made.GrantToken!));
  await kms.retireGrant({ GrantToken: made.GrantToken! });
  await kms.audit!.flush();
  const { readFileSync } = await import('node:fs');
  const trail = readFileSync(auditPath, 'utf8');
  t.notOk(trail.includes(made.GrantToken!), 'no grant token in the audit trail');
  const created = trail.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { eventName: string; responseElements: Record<string, unknown> | null }).find((e) => e.eventName === 'CreateGrant');
  t.same(created?.responseElements, { grantId: made.GrantId, keyId: key.Arn }, 'as CloudTrail logs it: no grant token member');
  const refused = trail.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { eventName: string; errorMessage?: string }).find((e) => e.eventName === 'Encrypt');
  t.equal(refused?.errorMessage, "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10");
});

t.test('grants through the endpoint (@aws-sdk/client-kms) and the CLI', async (t) => {
  const [backend] = backends();
  const kms = await backend!.open();
  t.teardown(() => kms.close());
  const server = await startServer(kms, { port: 0 });
  t.teardown(() => server.close());
  const client = new KMSClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDANY', secretAccessKey: 'x' }, endpoint: server.url });
  const key = (await client.send(new CreateKeyCommand({}))).KeyMetadata!;
  const grant = await client.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: user, Operations: ['Encrypt', 'Decrypt'] }));
  t.match(grant.GrantId, /^[0-9a-f]{64}$/);
  const listed = await client.send(new ListGrantsCommand({ KeyId: key.KeyId }));
  t.equal(listed.Grants?.length, 1);
  t.ok(listed.Grants![0]!.CreationDate instanceof Date, 'CreationDate decoded by the SDK');
  await client.send(new RetireGrantCommand({ GrantToken: grant.GrantToken }));
  await t.rejects(client.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: grant.GrantId })), NotFoundException);

  const home = tempHome('ekms-grants-cli-');
  cleanupLater(home);
  const cli = async (...args: string[]) => {
    const r = await ekms([...args, '--home', home]);
    t.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const keyId = await cli('create-key', '--query', 'KeyMetadata.KeyId', '--output', 'text');
  const grantId = await cli('create-grant', '--key-id', keyId, '--grantee-principal', user, '--operations', 'Encrypt', 'Decrypt', '--query', 'GrantId', '--output', 'text');
  t.match(grantId, /^[0-9a-f]{64}$/);
  t.equal(await cli('list-grants', '--key-id', keyId, '--query', 'Grants[0].Operations', '--output', 'text'), 'Encrypt\tDecrypt');
  await cli('revoke-grant', '--key-id', keyId, '--grant-id', grantId);
  t.equal(await cli('list-grants', '--key-id', keyId, '--query', 'length(Grants)', '--output', 'text'), '0');
});
