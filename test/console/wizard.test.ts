// The console's acceptance walk in a real browser: the create-key wizard for an RSA_4096
// ENCRYPT_DECRYPT key and an ECC_NIST_P521 SIGN_VERIFY key, checked through the library (alias,
// description, tags, policy); the public key downloaded as PEM and DER and used to verify a
// signature in Node; the key disabled and scheduled for deletion from its page; errors shown
// next to the control that caused them.
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

import t, { type Test } from 'tap';

import { browserSuite, screenshot, type Browser } from './browser.js';
import { serve, type Served } from './setup.js';
import { fillWizard, finishWizard, type KeyChoice } from './wizard-driver.js';

await browserSuite(t, run);

const account = '111122223333';
const arn = (kind: string) => `arn:aws:iam::${account}:${kind}`;
const SIDS = ['Enable IAM User Permissions', 'Allow access for Key Administrators', 'Allow use of the key', 'Allow attachment of persistent resources'];

interface Statement {
  Sid: string;
  Principal: { AWS: string | string[] };
  Action: string | string[];
  Condition?: unknown;
}

async function policyOf(s: Served, keyId: string): Promise<Statement[]> {
  const { Policy } = await s.kms.getKeyPolicy({ KeyId: keyId, PolicyName: 'default' });
  return (JSON.parse(Policy!) as { Statement: Statement[] }).Statement;
}

async function run(browser: Browser): Promise<void> {
  let s: Served;

  // Each test has its own key store; each ends by checking that the page's scripts raised nothing.
  const browserTest = (name: string, body: (tt: Test) => Promise<void>) =>
    t.test(name, async (tt) => {
      s = await serve(tt);
      browser.problems.length = 0;
      await body(tt);
      tt.same(browser.problems, [], 'no script errors in the page');
    });

  browserTest('RSA_4096 ENCRYPT_DECRYPT through the wizard, with an AWS error shown at the tags', async (tt) => {
    const { page } = browser;
    const choice: KeyChoice = {
      type: 'Asymmetric',
      usage: 'Encrypt and decrypt',
      spec: 'RSA_4096',
      alias: 'alias/console-rsa',
      description: 'RSA key made in the console',
      tags: [['team', 'payments'], ['aws:reserved', 'x']],
      administrators: [arn('role/KeyAdmins')],
      users: [arn('user/alice'), arn('role/app')],
      adminsMayDelete: false,
    };
    await fillWizard(page, s.url, choice);

    const review = await page.locator('#review-policy-document').textContent();
    for (const sid of SIDS) tt.match(review, sid, `the review shows the statement "${sid}"`);

    // AWS refuses the reserved tag key; the message appears in the Tags section of the review.
    await page.getByRole('button', { name: 'Create key', exact: true }).click();
    const tagsSection = page.getByRole('region', { name: 'Tags' });
    await tagsSection.getByText('Tags beginning with aws: are reserved').waitFor();
    tt.match(await tagsSection.textContent(), /\(TagException\)/, 'the AWS error type is named');
    tt.same((await s.kms.listKeys({})).Keys, [], 'no key was created');

    // Back to the tags step from the review, fix the tag, and finish.
    await page.getByRole('button', { name: 'Edit tags' }).click();
    await page.getByLabel('Tag key 2', { exact: true }).fill('cost-centre');
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    await page.getByRole('heading', { name: 'Step 7 of 7: Review' }).waitFor();
    const keyId = await finishWizard(page, choice.alias);
    await screenshot(page, 'rsa-key-detail');

    const { KeyMetadata: md } = await s.kms.describeKey({ KeyId: choice.alias });
    tt.equal(md?.KeyId, keyId, 'the alias names the new key');
    tt.equal(md?.KeySpec, 'RSA_4096');
    tt.equal(md?.KeyUsage, 'ENCRYPT_DECRYPT');
    tt.equal(md?.Description, choice.description);
    tt.equal(md?.Origin, 'AWS_KMS');
    const tags = (await s.kms.listResourceTags({ KeyId: keyId })).Tags ?? [];
    tt.same(
      tags.map((x) => [x.TagKey, x.TagValue]).sort(),
      [['cost-centre', 'x'], ['team', 'payments']],
      'the tags as entered',
    );
    const statements = await policyOf(s, keyId);
    tt.same(statements.map((x) => x.Sid), SIDS, "AWS's console policy layout");
    tt.same(statements[0]!.Principal, { AWS: arn('root') });
    tt.same(statements[1]!.Principal, { AWS: arn('role/KeyAdmins') }, 'one administrator: a string');
    tt.notOk((statements[1]!.Action as string[]).includes('kms:ScheduleKeyDeletion'), 'administrators may not delete the key');
    tt.same(statements[2]!.Principal, { AWS: choice.users }, 'two users: a list');
    tt.same(statements[2]!.Action, ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:DescribeKey', 'kms:GetPublicKey']);
    tt.same(statements[3]!.Condition, { Bool: { 'kms:GrantIsForAWSResource': 'true' } });

    // The detail page: edit the policy (with validation) and the tags.
    await page.getByRole('button', { name: 'Edit policy' }).click();
    const policyBox = page.getByLabel('Policy document (JSON)');
    await policyBox.fill('{ not json');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText(/The policy is not valid JSON/).waitFor();
    tt.equal(await policyBox.getAttribute('aria-invalid'), 'true', 'the text area is marked invalid');
    await policyBox.fill('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('(MalformedPolicyDocumentException)').waitFor();
    const newPolicy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Only root', Effect: 'Allow', Principal: { AWS: arn('root') }, Action: 'kms:*', Resource: '*' }] });
    await policyBox.fill(newPolicy);
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('The key policy is saved.').waitFor();
    tt.equal((await s.kms.getKeyPolicy({ KeyId: keyId, PolicyName: 'default' })).Policy, newPolicy, 'PutKeyPolicy stored the edit');

    const tagsPanel = page.getByRole('region', { name: 'Tags' });
    const keys = await tagsPanel.locator('input.tag-key').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
    await tagsPanel.getByRole('button', { name: `Remove tag ${keys.indexOf('cost-centre') + 1}` }).click();
    tt.same(await tagsPanel.locator('input.tag-key').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label'))), ['Tag key 1'], 'rows renumbered');
    await tagsPanel.getByRole('button', { name: 'Add tag' }).click();
    await tagsPanel.getByLabel('Tag key 2', { exact: true }).fill('env');
    await tagsPanel.getByLabel('Tag value 2', { exact: true }).fill('dev');
    await tagsPanel.getByRole('button', { name: 'Save tags' }).click();
    await page.getByText('The tags are saved.').waitFor();
    const edited = (await s.kms.listResourceTags({ KeyId: keyId })).Tags ?? [];
    tt.same(edited.map((x) => [x.TagKey, x.TagValue]).sort(), [['env', 'dev'], ['team', 'payments']], 'tags removed and added');

    // Another client fills the key to its 50-tag quota; this page replaces one tag by two, which
    // the quota refuses: the tag it removed first is put back, and the save changes nothing.
    await s.kms.tagResource({ KeyId: keyId, Tags: Array.from({ length: 48 }, (_, i) => ({ TagKey: `other-${i}`, TagValue: 'x' })) });
    const envRow = (await tagsPanel.locator('input.tag-key').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value))).indexOf('env') + 1;
    await tagsPanel.getByRole('button', { name: `Remove tag ${envRow}` }).click();
    for (const [n, name] of [[2, 'extra-1'], [3, 'extra-2']] as const) {
      await tagsPanel.getByRole('button', { name: 'Add tag' }).click();
      await tagsPanel.getByLabel(`Tag key ${n}`, { exact: true }).fill(name);
      await tagsPanel.getByLabel(`Tag value ${n}`, { exact: true }).fill('y');
    }
    await tagsPanel.getByRole('button', { name: 'Save tags' }).click();
    await tagsPanel.getByText('(TagException)').waitFor();
    const refused = new Map(((await s.kms.listResourceTags({ KeyId: keyId, Limit: 100 })).Tags ?? []).map((x) => [x.TagKey, x.TagValue]));
    tt.equal(refused.size, 50, 'still 50 tags');
    tt.equal(refused.get('env'), 'dev', 'the removed tag is back, with its value');
    tt.notOk(refused.has('extra-1') || refused.has('extra-2'), 'nothing of the refused save was added');
  });

  browserTest('ECC_NIST_P521 SIGN_VERIFY: wizard, public key download, disable and deletion', async (tt) => {
    const { page } = browser;
    const choice: KeyChoice = {
      type: 'Asymmetric',
      usage: 'Sign and verify',
      spec: 'ECC_NIST_P521',
      alias: 'console-signer',
      description: 'Release signing',
      tags: [['purpose', 'release'], ['owner', 'build-team'], ['tier', '1']],
      administrators: [arn('role/KeyAdmins'), arn('user/ops')],
      users: [arn('role/ci')],
      adminsMayDelete: true,
    };
    // This walk's screenshots are the documented ones.
    await fillWizard(page, s.url, choice, 'wizard');
    const keyId = await finishWizard(page, 'alias/console-signer');
    await screenshot(page, 'ecc-key-detail');

    const { KeyMetadata: md } = await s.kms.describeKey({ KeyId: 'alias/console-signer' });
    tt.equal(md?.KeyId, keyId);
    tt.equal(md?.KeySpec, 'ECC_NIST_P521');
    tt.equal(md?.KeyUsage, 'SIGN_VERIFY');
    tt.equal(md?.Description, 'Release signing');
    const tags = (await s.kms.listResourceTags({ KeyId: keyId })).Tags ?? [];
    tt.same(tags.map((x) => [x.TagKey, x.TagValue]).sort(), [...choice.tags].sort());
    const statements = await policyOf(s, keyId);
    tt.same(statements.map((x) => x.Sid), SIDS);
    tt.same(statements[1]!.Principal, { AWS: choice.administrators });
    tt.ok((statements[1]!.Action as string[]).includes('kms:ScheduleKeyDeletion'), 'administrators may delete the key');
    tt.ok((statements[1]!.Action as string[]).includes('kms:CancelKeyDeletion'));
    tt.same(statements[2]!.Principal, { AWS: arn('role/ci') });
    tt.same(statements[2]!.Action, ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Sign', 'kms:Verify']);

    // Download the public key both ways; verify a signature made through the library.
    const [pemDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download PEM' }).click()]);
    const [derDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download DER' }).click()]);
    tt.equal(pemDownload.suggestedFilename(), `${keyId}.pem`);
    tt.equal(derDownload.suggestedFilename(), `${keyId}.der`);
    const pem = readFileSync(await pemDownload.path());
    const der = readFileSync(await derDownload.path());
    const fromPem = createPublicKey(pem);
    const fromDer = createPublicKey({ key: der, format: 'der', type: 'spki' });
    tt.equal(fromPem.asymmetricKeyDetails?.namedCurve, 'secp521r1');
    tt.ok(fromPem.equals(fromDer), 'PEM and DER hold the same key');
    const message = Buffer.from('release v1.2.3');
    const { Signature } = await s.kms.sign({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_512' });
    tt.ok(verify('sha512', message, fromPem, Signature!), 'the downloaded public key verifies a signature of the key');
    tt.notOk(verify('sha512', Buffer.from('tampered'), fromPem, Signature!), 'and not one of another message');

    // Disable the key from its page.
    await page.getByRole('button', { name: 'Disable key' }).click();
    await page.getByText('The key is disabled.').waitFor();
    tt.equal(await page.locator('#key-state').textContent(), 'Disabled');
    tt.equal((await s.kms.describeKey({ KeyId: keyId })).KeyMetadata?.KeyState, 'Disabled');

    // Schedule its deletion: the window is checked, and the consequence must be confirmed.
    const days = page.getByLabel('Waiting period (days)');
    await days.fill('6');
    await page.getByRole('button', { name: 'Schedule key deletion' }).click();
    await page.getByText('Enter a whole number of days from 7 to 30.').waitFor();
    await days.fill('7');
    await page.getByRole('button', { name: 'Schedule key deletion' }).click();
    await page.getByText('Confirm that you understand the consequences first.').waitFor();
    tt.equal((await s.kms.describeKey({ KeyId: keyId })).KeyMetadata?.KeyState, 'Disabled', 'nothing scheduled yet');
    await page.getByLabel(/I understand that data encrypted under this key/).check();
    await page.getByRole('button', { name: 'Schedule key deletion' }).click();
    await page.getByText(/The key is scheduled for deletion on/).waitFor();
    await screenshot(page, 'ecc-key-pending-deletion');
    const scheduled = (await s.kms.describeKey({ KeyId: keyId })).KeyMetadata!;
    tt.equal(scheduled.KeyState, 'PendingDeletion');
    const daysAhead = (scheduled.DeletionDate!.getTime() - Date.now()) / 86_400_000;
    tt.ok(daysAhead > 6.9 && daysAhead <= 7, `deletion date 7 days ahead (${daysAhead.toFixed(3)})`);

    // Cancel it again: AWS leaves the key disabled.
    await page.getByRole('button', { name: 'Cancel key deletion' }).click();
    await page.getByText(/Key deletion is cancelled/).waitFor();
    tt.equal((await s.kms.describeKey({ KeyId: keyId })).KeyMetadata?.KeyState, 'Disabled');
    await page.getByRole('button', { name: 'Enable key' }).click();
    await page.getByText('The key is enabled.').waitFor();
    tt.equal((await s.kms.describeKey({ KeyId: keyId })).KeyMetadata?.KeyState, 'Enabled');
  });

  browserTest('the alias is checked as it is typed; principals are checked before the review', async (tt) => {
    const { page } = browser;
    await s.kms.createKey({}).then((k) => s.kms.createAlias({ AliasName: 'alias/taken', TargetKeyId: k.KeyMetadata!.KeyId! }));
    await page.goto(`${s.url}/#/create`);
    for (let i = 0; i < 4; i++) await page.getByRole('button', { name: 'Next', exact: true }).click();
    await page.getByRole('heading', { name: 'Step 5 of 7: Alias, description and tags' }).waitFor();
    const alias = page.getByLabel('Alias', { exact: true });

    await alias.fill('aws/mine');
    await page.getByText(/alias\/aws\/mine: aliases beginning with alias\/aws\/ are reserved/).waitFor();
    tt.equal(await alias.getAttribute('aria-invalid'), 'true');
    await alias.fill('taken');
    await page.getByText('An alias with the name arn:aws:kms:us-east-1:111122223333:alias/taken already exists (AlreadyExistsException)').waitFor();
    await alias.fill('bad name');
    await page.getByText(/\(ValidationException\)/).waitFor();
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    tt.ok(await page.getByRole('heading', { name: 'Step 5 of 7: Alias, description and tags' }).isVisible(), 'Next does not leave a bad alias behind');
    // The page moves the focus after its check of the step, which may wait for the endpoint: wait
    // (at most 5 s) for it to land, then report where it is.
    const focusName = () => page.evaluate(() => document.activeElement?.getAttribute('name'));
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'alias', null, { timeout: 5000 }).catch(() => undefined);
    tt.equal(await focusName(), 'alias', 'focus goes to the field in error');
    await alias.fill('free-name');
    await page.getByText('alias/free-name is available.').waitFor();
    tt.equal(await alias.getAttribute('aria-invalid'), null);
    // Going back keeps what was typed.
    await page.getByLabel('Description (optional)').fill('kept');
    await page.getByRole('button', { name: 'Previous', exact: true }).click();
    await page.getByRole('heading', { name: 'Step 4 of 7: Key store' }).waitFor();
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    tt.equal(await alias.inputValue(), 'alias/free-name', 'the alias is kept, with its prefix');
    tt.equal(await page.getByLabel('Description (optional)').inputValue(), 'kept');
    await page.getByRole('button', { name: 'Next', exact: true }).click();

    await page.getByLabel('Key users', { exact: true }).fill('bob');
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    await page.getByText('"bob" is not an account ID or the ARN of an IAM user, role or account root.').waitFor();
    await page.getByLabel('Key users', { exact: true }).fill(arn('user/bob'));
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    await page.getByRole('heading', { name: 'Step 7 of 7: Review' }).waitFor();

    // The step list leads back to any step; changing the type sends the user through the
    // later steps again, which then offer only what fits.
    await page.getByRole('navigation', { name: 'Wizard steps' }).getByRole('button', { name: /^Key type/ }).click();
    await page.getByRole('radio', { name: 'Asymmetric', exact: true }).check();
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    const usages = await page.getByRole('radio').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).labels?.[0]?.textContent));
    tt.same(usages, ['Encrypt and decrypt', 'Sign and verify', 'Key agreement'], 'asymmetric usages');
    await page.getByRole('radio', { name: 'Key agreement', exact: true }).check();
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    const specs = await page.getByRole('radio').evaluateAll((els) =>
      els.map((e) => [(e as HTMLInputElement).labels?.[0]?.textContent, (e as HTMLInputElement).disabled]),
    );
    tt.same(
      specs,
      [['ECC_NIST_P256', false], ['ECC_NIST_P384', false], ['ECC_NIST_P521', false], ['SM2', true]],
      'key agreement specs, from keys/specs.ts, SM2 shown as unavailable',
    );
    tt.notOk(await page.getByRole('navigation', { name: 'Wizard steps' }).getByRole('button', { name: /^Review/ }).count(), 'the review is not reachable until the steps are done again');
  });
}
