// Key policies: AWS's default policy, GetKeyPolicy/PutKeyPolicy/ListKeyPolicies, CreateKey's
// Policy, and the checks made before a policy is stored.
import t from 'tap';

import type { Kms } from '../../src/index.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';

type Test = typeof t;

const policy = (statement: object) => JSON.stringify({ Version: '2012-10-17', Statement: [statement] });
const allowRoot = (account: string) => ({
  Sid: 'root',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${account}:root` },
  Action: 'kms:*',
  Resource: '*',
});

async function newKey(kms: Kms, Policy?: string): Promise<string> {
  return (await kms.createKey({ Policy })).KeyMetadata!.KeyId!;
}

eachBackend('a key without a policy has AWS\'s default key policy for the account', async (t: Test, kms) => {
  const keyId = await newKey(kms);
  const out = await kms.getKeyPolicy({ KeyId: keyId, PolicyName: 'default' });
  // Byte for byte as AWS returns it (kms-examples-1.json, GetKeyPolicy), for this account.
  const expected =
    '{\n  "Version" : "2012-10-17",\n  "Id" : "key-default-1",\n  "Statement" : [ {\n    "Sid" : "Enable IAM User Permissions",\n' +
    '    "Effect" : "Allow",\n    "Principal" : {\n      "AWS" : "arn:aws:iam::' +
    kms.config.accountId +
    ':root"\n    },\n    "Action" : "kms:*",\n    "Resource" : "*"\n  } ]\n}';
  t.equal(out.Policy, expected);
  t.equal(out.PolicyName, 'default');
  t.equal((await kms.getKeyPolicy({ KeyId: keyId })).Policy, expected, 'PolicyName defaults to default');
  t.same(await kms.listKeyPolicies({ KeyId: keyId }), { PolicyNames: ['default'], Truncated: false });
});

eachBackend('PutKeyPolicy and CreateKey store the document as given', async (t: Test, kms) => {
  const account = kms.config.accountId;
  const doc = policy(allowRoot(account)) + '\n';
  const keyId = await newKey(kms, doc);
  t.equal((await kms.getKeyPolicy({ KeyId: keyId })).Policy, doc);
  const replaced = JSON.stringify(
    { Version: '2012-10-17', Id: 'custom', Statement: [allowRoot(account), { ...allowRoot(account), Sid: 'deny', Effect: 'Deny', Action: ['kms:Encrypt'], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] },
    null,
    4,
  );
  t.same(await kms.putKeyPolicy({ KeyId: keyId, PolicyName: 'default', Policy: replaced, BypassPolicyLockoutSafetyCheck: true }), {});
  t.equal((await kms.getKeyPolicy({ KeyId: keyId })).Policy, replaced);
  await kms.putKeyPolicy({ KeyId: keyId, Policy: doc });
  t.equal((await kms.getKeyPolicy({ KeyId: keyId })).Policy, doc, 'PolicyName defaults to default');
  const bypassed = (await kms.createKey({ Policy: policy({ ...allowRoot(account), Principal: '*' }), BypassPolicyLockoutSafetyCheck: true })).KeyMetadata!;
  t.equal(JSON.parse((await kms.getKeyPolicy({ KeyId: bypassed.KeyId! })).Policy!).Statement[0].Principal, '*', 'CreateKey accepts BypassPolicyLockoutSafetyCheck');
  // Policies are not evaluated: a policy that allows nobody still leaves the key usable.
  await kms.putKeyPolicy({ KeyId: keyId, Policy: policy({ ...allowRoot(account), Effect: 'Deny' }) });
  t.ok((await kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('x') })).CiphertextBlob);
});

eachBackend('only the policy named default exists', async (t: Test, kms) => {
  const keyId = await newKey(kms);
  await rejectsAws(t, kms.getKeyPolicy({ KeyId: keyId, PolicyName: 'other' }), 'NotFoundException');
  await rejectsAws(t, kms.putKeyPolicy({ KeyId: keyId, PolicyName: 'other', Policy: policy(allowRoot('1')) }), 'NotFoundException');
  await rejectsAws(t, kms.getKeyPolicy({ KeyId: keyId, PolicyName: 'no-dashes' }), 'ValidationException', /at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern/);
});

eachBackend('malformed policies are refused before anything is stored', async (t: Test, kms) => {
  const keyId = await newKey(kms);
  const before = (await kms.getKeyPolicy({ KeyId: keyId })).Policy;
  const root = allowRoot(kms.config.accountId);
  const bad: [string, string][] = [
    ['not JSON', '{"Version": '],
    ['not an object', '["Statement"]'],
    ['no statement', JSON.stringify({ Version: '2012-10-17' })],
    ['empty statement list', JSON.stringify({ Version: '2012-10-17', Statement: [] })],
    ['unknown top-level element', JSON.stringify({ Version: '2012-10-17', Statement: [root], Extra: 1 })],
    ['unknown version', JSON.stringify({ Version: '2020-01-01', Statement: [root] })],
    ['bad effect', policy({ ...root, Effect: 'Maybe' })],
    ['no principal', policy({ Effect: 'Allow', Action: 'kms:*', Resource: '*' })],
    ['bad principal type', policy({ ...root, Principal: { Someone: 'x' } })],
    // Values that can name no principal (AWS: "one or more invalid principals").
    ['empty AWS principal', policy({ ...root, Principal: { AWS: '' } })],
    ['a bare word as AWS principal', policy({ ...root, Principal: { AWS: 'bob' } })],
    ['an ARN of no IAM principal', policy({ ...root, Principal: { AWS: 'arn:nope' } })],
    ['a wildcard inside a principal ARN', policy({ ...root, Principal: { AWS: 'arn:aws:iam::111122223333:*' } })],
    ['a good principal beside a bad one', policy({ ...root, Principal: { AWS: [`arn:aws:iam::${kms.config.accountId}:root`, 'bob'] } })],
    ['a service that is no host name', policy({ ...root, Principal: { Service: 'kms' } })],
    ['a canonical user that is no id', policy({ ...root, Principal: { CanonicalUser: 'alice' } })],
    ['action and NotAction both', policy({ ...root, NotAction: 'kms:Decrypt' })],
    ['action of the wrong type', policy({ ...root, Action: 5 })],
    ['resource of the wrong type', policy({ ...root, Resource: [] })],
    ['action null', policy({ ...root, Action: null })],
    ['unknown statement element', policy({ ...root, Color: 'blue' })],
    ['condition not an object', policy({ ...root, Condition: 'x' })],
  ];
  for (const [why, doc] of bad) {
    await rejectsAws(t, kms.putKeyPolicy({ KeyId: keyId, Policy: doc }), 'MalformedPolicyDocumentException', undefined);
    await rejectsAws(t, kms.createKey({ Policy: doc }), 'MalformedPolicyDocumentException', undefined);
    t.pass(why);
  }
  t.equal((await kms.getKeyPolicy({ KeyId: keyId })).Policy, before, 'the stored policy is unchanged');
});

eachBackend('principals of every form IAM knows are accepted', async (t: Test, kms) => {
  const keyId = await newKey(kms);
  const root = allowRoot(kms.config.accountId);
  const principals = [
    '*',
    { AWS: '*' },
    { AWS: '111122223333' },
    { AWS: ['arn:aws:iam::111122223333:root', 'arn:aws:iam::111122223333:role/path/app-role', 'arn:aws:iam::111122223333:user/alice'] },
    { AWS: 'arn:aws:sts::111122223333:assumed-role/app-role/session-1' },
    { AWS: 'arn:aws-us-gov:iam::111122223333:root' },
    { Service: ['kms.amazonaws.com', 'logs.us-west-2.amazonaws.com'] },
    { Federated: 'cognito-identity.amazonaws.com' },
    { Federated: 'arn:aws:iam::111122223333:saml-provider/Okta' },
    { CanonicalUser: 'a'.repeat(64) },
  ];
  for (const Principal of principals) {
    const doc = JSON.stringify({ Version: '2012-10-17', Statement: [root, { ...root, Sid: 'other', Principal }] });
    await kms.putKeyPolicy({ KeyId: keyId, Policy: doc });
    t.equal((await kms.getKeyPolicy({ KeyId: keyId })).Policy, doc, JSON.stringify(Principal));
  }
});

// Since 18 August 2025 AWS refuses a statement without Action (or NotAction) or Resource, and any
// Resource but "*" (its notice to customers; src/keys/policy.ts), where the model's older docs say
// such a statement is stored without effect.
eachBackend('a statement without Action or Resource, or with a Resource other than "*", is refused', async (t: Test, kms) => {
  const keyId = await newKey(kms);
  const before = (await kms.getKeyPolicy({ KeyId: keyId })).Policy;
  const root = allowRoot(kms.config.accountId);
  const { Action, Resource, ...bare } = root;
  const bad: [string, object][] = [
    ['no Action', { ...bare, Resource }],
    ['no Resource', { ...bare, Action }],
    ['a key ARN as Resource', { ...root, Resource: `arn:aws:kms:us-east-1:${kms.config.accountId}:key/1234abcd-12ab-34cd-56ef-1234567890ab` }],
    ['"*" beside another Resource', { ...root, Resource: ['*', 'arn:aws:s3:::bucket'] }],
    ['NotResource instead of Resource', { ...bare, Action, NotResource: '*' }],
  ];
  for (const [why, statement] of bad) {
    const doc = JSON.stringify({ Version: '2012-10-17', Statement: [root, statement] });
    await rejectsAws(t, kms.putKeyPolicy({ KeyId: keyId, Policy: doc }), 'MalformedPolicyDocumentException', /^Policy contains a statement with no valid (action|resource)\./);
    await rejectsAws(t, kms.createKey({ Policy: doc }), 'MalformedPolicyDocumentException', undefined);
    t.pass(why);
  }
  t.equal((await kms.getKeyPolicy({ KeyId: keyId })).Policy, before, 'the stored policy is unchanged');
  // NotAction in place of Action, and Resource as a list of "*", are valid.
  for (const statement of [{ ...bare, NotAction: 'kms:ScheduleKeyDeletion', Resource }, { ...root, Resource: ['*'] }]) {
    const doc = JSON.stringify({ Version: '2012-10-17', Statement: [root, statement] });
    await kms.putKeyPolicy({ KeyId: keyId, Policy: doc });
    t.equal((await kms.getKeyPolicy({ KeyId: keyId })).Policy, doc);
  }
});

eachBackend('policies over 32 KB are LimitExceededException', async (t: Test, kms) => {
  const keyId = await newKey(kms);
  const root = allowRoot(kms.config.accountId);
  const sized = (bytes: number) => {
    const base = policy({ ...root, Sid: '' });
    return policy({ ...root, Sid: 'x'.repeat(bytes - base.length) });
  };
  t.equal(Buffer.byteLength(sized(32 * 1024)), 32 * 1024);
  await kms.putKeyPolicy({ KeyId: keyId, Policy: sized(32 * 1024) });
  t.equal((await kms.getKeyPolicy({ KeyId: keyId })).Policy!.length, 32 * 1024, '32 KB exactly is accepted');
  await rejectsAws(t, kms.putKeyPolicy({ KeyId: keyId, Policy: sized(32 * 1024 + 1) }), 'LimitExceededException');
  await rejectsAws(t, kms.createKey({ Policy: sized(32 * 1024 + 1) }), 'LimitExceededException');
});
