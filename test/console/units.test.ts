// The console's pieces without a browser: the key policy the wizard proposes, the wizard's
// catalog of key specs (derived from keys/specs.ts), the checks the forms make, PEM output,
// sessions, and the embedded static files being up to date.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';

import t from 'tap';

import { checkPolicy } from '../../src/keys/policy.js';
import { keySpecs } from '../../src/keys/specs.js';
import { specChoices, formLimits } from '../../src/console/catalog.js';
import { consoleOperations } from '../../src/console/operations.js';
import { ConsoleSessions } from '../../src/console/sessions.js';
import { operationNames } from '../../src/model/service-model.js';
// The page's own modules, imported as they are served.
import { consoleKeyPolicy, SID, userActions } from '../../src/console/static/key-policy.js';
import { parsePrincipals, tagProblems } from '../../src/console/static/checks.js';
import { derBase64ToPem } from '../../src/console/static/pem.js';
import { modulePath, renderAssetsModule } from '../../scripts/console-assets.mjs';

const base = { partition: 'aws', accountId: '111122223333', keySpec: 'SYMMETRIC_DEFAULT', keyType: 'SYMMETRIC', keyUsage: 'ENCRYPT_DECRYPT' };

t.test("the wizard's key policy: AWS's console layout", async (tt) => {
  const text = consoleKeyPolicy({ ...base, administrators: ['arn:aws:iam::111122223333:role/Admin'], users: ['arn:aws:iam::111122223333:user/a', 'arn:aws:iam::444455556666:root'], adminsMayDelete: true });
  checkPolicy(text);
  const doc = JSON.parse(text);
  tt.equal(doc.Id, 'key-consolepolicy-3');
  tt.equal(doc.Version, '2012-10-17');
  tt.same(doc.Statement.map((s: { Sid: string }) => s.Sid), [SID.account, SID.administrators, SID.users, SID.grants]);
  tt.same(doc.Statement[0], { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' });
  tt.same(doc.Statement[1].Action, [
    'kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*', 'kms:Disable*', 'kms:Get*',
    'kms:Delete*', 'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion', 'kms:RotateKeyOnDemand',
  ]);
  tt.same(doc.Statement[1].Principal, { AWS: 'arn:aws:iam::111122223333:role/Admin' }, 'one principal: a string');
  tt.same(doc.Statement[2].Principal.AWS, ['arn:aws:iam::111122223333:user/a', 'arn:aws:iam::444455556666:root'], 'several: a list');
  tt.same(doc.Statement[2].Action, ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey']);
  tt.same(doc.Statement[3].Action, ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant']);
  tt.same(doc.Statement[3].Condition, { Bool: { 'kms:GrantIsForAWSResource': 'true' } });

  const noDelete = JSON.parse(consoleKeyPolicy({ ...base, keySpec: 'RSA_2048', keyType: 'ASYMMETRIC', administrators: ['111122223333'], users: [], adminsMayDelete: false }));
  tt.same(noDelete.Statement.map((s: { Sid: string }) => s.Sid), [SID.account, SID.administrators], 'no users: no user statements');
  tt.notOk(noDelete.Statement[1].Action.some((a: string) => /Deletion|RotateKeyOnDemand/.test(a)), 'no deletion; no on-demand rotation for asymmetric keys');
  const alone = JSON.parse(consoleKeyPolicy({ ...base, administrators: [], users: [], adminsMayDelete: true }));
  tt.same(alone.Statement.map((s: { Sid: string }) => s.Sid), [SID.account], 'nobody chosen: the programmatic default');
  const govCloud = JSON.parse(consoleKeyPolicy({ ...base, partition: 'aws-us-gov', administrators: [], users: [], adminsMayDelete: true }));
  tt.same(govCloud.Statement[0].Principal, { AWS: 'arn:aws-us-gov:iam::111122223333:root' }, "the account's root in the store's partition");

  tt.same(userActions('SYMMETRIC', 'GENERATE_VERIFY_MAC'), ['kms:DescribeKey', 'kms:GenerateMac', 'kms:VerifyMac']);
  tt.same(userActions('ASYMMETRIC', 'SIGN_VERIFY'), ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Sign', 'kms:Verify']);
  tt.same(userActions('ASYMMETRIC', 'ENCRYPT_DECRYPT'), ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:DescribeKey', 'kms:GetPublicKey']);
  tt.same(userActions('ASYMMETRIC', 'KEY_AGREEMENT'), ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:DeriveSharedSecret']);
});

t.test("the wizard's key specs are keys/specs.ts's", async (tt) => {
  const choices = specChoices();
  tt.same(choices.map((c) => c.KeySpec), Object.keys(keySpecs), 'every spec, in order');
  for (const c of choices) {
    const info = keySpecs[c.KeySpec];
    tt.same(c.KeyUsages, info.usages, `${c.KeySpec} usages`);
    tt.equal(c.Supported, info.supported);
    tt.same(Object.keys(c.Hints), info.usages, `${c.KeySpec}: a hint per usage`);
  }
  const by = (spec: string) => choices.find((c) => c.KeySpec === spec)!;
  tt.equal(by('SYMMETRIC_DEFAULT').KeyType, 'SYMMETRIC');
  tt.equal(by('HMAC_384').KeyType, 'SYMMETRIC');
  tt.equal(by('RSA_4096').KeyType, 'ASYMMETRIC');
  tt.equal(by('ECC_NIST_EDWARDS25519').KeyType, 'ASYMMETRIC');
  tt.match(by('RSA_4096').Hints.ENCRYPT_DECRYPT, /4096-bit.*RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256.*up to 446 bytes/);
  tt.match(by('ECC_NIST_P521').Hints.SIGN_VERIFY, /P-521.*ECDSA_SHA_512/);
  tt.match(by('HMAC_224').Hints.GENERATE_VERIFY_MAC, /224-bit HMAC.*HMAC_SHA_224/);
  tt.equal(by('SM2').UnsupportedReason, keySpecs.SM2.unsupportedReason);

  const limits = formLimits();
  tt.same(limits.PendingWindowInDays, { Min: 7, Max: 30, Default: 30 });
  tt.same(limits.RotationPeriodInDays, { Min: 90, Max: 2560, Default: 365 });
  tt.ok(limits.KeyStates.includes('PendingDeletion'));
  tt.ok([...consoleOperations].every((op) => operationNames.includes(op)), 'console operations are KMS operations');
});

t.test('principal and tag checks', async (tt) => {
  const p = parsePrincipals(' arn:aws:iam::111122223333:role/Admin \n\narn:aws:iam::111122223333:user/path/bob, 444455556666\narn:aws:iam::111122223333:role/Admin\narn:aws:sts::111122223333:assumed-role/R/s\nbob\narn:aws:iam::1234:root');
  tt.same(p.principals, ['arn:aws:iam::111122223333:role/Admin', 'arn:aws:iam::111122223333:user/path/bob', '444455556666', 'arn:aws:sts::111122223333:assumed-role/R/s']);
  tt.equal(p.problems.length, 2);
  tt.match(p.problems[0], /"bob" is not/);
  const limits = formLimits();
  tt.same(tagProblems([{ key: 'a', value: '' }, { key: 'b', value: 'x' }], limits), []);
  tt.same(tagProblems([{ key: '', value: 'x' }, { key: 'a', value: '' }, { key: 'a', value: 'y' }, { key: 'k'.repeat(129), value: 'v'.repeat(257) }], limits).map((x: { index: number; field: string }) => [x.index, x.field]), [
    [0, 'key'], [2, 'key'], [3, 'key'], [3, 'value'],
  ]);
  const many = Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: '' }));
  tt.match(tagProblems(many, limits)[0].message, /at most 50 tags/);
  // Lengths in code points, as the service counts them: a character beyond U+FFFF is one.
  tt.same(tagProblems([{ key: '\u{20000}'.repeat(128), value: '\u{1F600}'.repeat(256) }], limits), [], 'astral characters count once');
  tt.equal(tagProblems([{ key: '\u{20000}'.repeat(129), value: 'v' }], limits).length, 1, 'one over is refused');
});

t.test('PEM from the DER GetPublicKey returns', async (tt) => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  const der = publicKey.export({ format: 'der', type: 'spki' });
  const pem = derBase64ToPem(der.toString('base64'));
  tt.equal(pem, publicKey.export({ format: 'pem', type: 'spki' }), "byte for byte what Node's crypto writes");
  tt.ok(createPublicKey(pem).equals(publicKey));
});

t.test('sessions: unguessable, expiring, bounded', async (tt) => {
  let now = 1_000_000;
  const sessions = new ConsoleSessions({ lifetimeMs: 1000, maxSessions: 3, now: () => now });
  const a = sessions.open('AKID');
  tt.not(a, sessions.open(), 'a new token each time');
  tt.equal(sessions.find(a)?.accessKeyId, 'AKID');
  tt.equal(sessions.find(undefined), undefined);
  tt.equal(sessions.find(`${a}x`), undefined);
  now += 1000;
  tt.equal(sessions.find(a), undefined, 'expired');
  const b = sessions.open();
  const c = sessions.open();
  const d = sessions.open();
  sessions.open();
  tt.equal(sessions.find(b), undefined, 'the oldest is dropped past the limit');
  tt.ok(sessions.find(c) && sessions.find(d));
  sessions.close(c);
  tt.equal(sessions.find(c), undefined, 'closed');
});

t.test('the embedded static files match src/console/static/', async (tt) => {
  tt.equal(readFileSync(modulePath, 'utf8'), renderAssetsModule(), 'run `node scripts/console-assets.mjs` after editing src/console/static/');
});
