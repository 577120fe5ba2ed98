// A symmetric key's page in a browser: rotation settings and rotation on demand, the
// description, and aliases added and deleted, each checked through the library.
import t from 'tap';

import { browserSuite, type Browser } from './browser.js';
import { serve } from './setup.js';

await browserSuite(t, run);

async function run(browser: Browser): Promise<void> {

  t.test('rotation, description and aliases of a symmetric key', async (tt) => {
    const s = await serve(tt);
    const { page } = browser;
    const keyId = (await s.kms.createKey({ Description: 'before' })).KeyMetadata!.KeyId!;
    await page.goto(`${s.url}/#/keys/${keyId}`);
    await page.getByRole('heading', { level: 1, name: keyId }).waitFor();
    tt.match(await page.locator('#key-last-used').textContent(), /^Not used since /, 'GetKeyLastUsage: never used');
    await s.kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('x') });
    await page.reload();
    await page.getByRole('heading', { level: 1, name: keyId }).waitFor();
    tt.match(await page.locator('#key-last-used').textContent(), /^Encrypt, /, 'GetKeyLastUsage: the last use');
    tt.equal(await page.getByRole('region', { name: 'Public key' }).count(), 0, 'no public key for a symmetric key');

    // Rotation: the period is checked on the page, then by the service.
    const rotation = page.getByRole('region', { name: 'Key rotation' });
    tt.equal(await rotation.getByLabel('Rotate this key automatically').isChecked(), false);
    await rotation.getByLabel('Rotate this key automatically').check();
    await rotation.getByLabel('Rotation period (days)').fill('30');
    await rotation.getByRole('button', { name: 'Save rotation settings' }).click();
    await rotation.getByText('Enter a whole number of days from 90 to 2560.').waitFor();
    await rotation.getByLabel('Rotation period (days)').fill('180');
    await rotation.getByRole('button', { name: 'Save rotation settings' }).click();
    await page.getByText('The rotation settings are saved.').waitFor();
    const status = await s.kms.getKeyRotationStatus({ KeyId: keyId });
    tt.equal(status.KeyRotationEnabled, true);
    tt.equal(status.RotationPeriodInDays, 180);
    tt.equal(await page.evaluate(() => document.activeElement?.id), 'rotation-title', 'focus returns to the section');

    await page.getByRole('button', { name: 'Rotate now' }).click();
    await page.getByText(/The key has new key material/).waitFor();
    const rotations = (await s.kms.listKeyRotations({ KeyId: keyId })).Rotations ?? [];
    tt.equal(rotations.length, 1, 'one rotation on demand');
    tt.equal(rotations[0]?.RotationType, 'ON_DEMAND');

    await page.getByRole('region', { name: 'Key rotation' }).getByLabel('Rotate this key automatically').uncheck();
    await page.getByRole('button', { name: 'Save rotation settings' }).click();
    await page.getByText('The rotation settings are saved.').waitFor();
    tt.equal((await s.kms.getKeyRotationStatus({ KeyId: keyId })).KeyRotationEnabled, false);

    // Description.
    await page.getByRole('button', { name: 'Edit description' }).click();
    await page.getByLabel('Description').fill('after <b>not markup</b>');
    await page.getByRole('button', { name: 'Save description' }).click();
    await page.getByText('The description is saved.').waitFor();
    tt.equal((await s.kms.describeKey({ KeyId: keyId })).KeyMetadata?.Description, 'after <b>not markup</b>');
    tt.equal(await page.locator('#key-description').textContent(), 'after <b>not markup</b>', 'shown as text, not HTML');
    tt.equal(await page.locator('#key-description b').count(), 0);

    // Aliases: add two (one refused first), delete one.
    const aliases = page.getByRole('region', { name: 'Aliases' });
    await aliases.getByLabel('New alias').fill('alias/aws/nope');
    await aliases.getByRole('button', { name: 'Add alias' }).click();
    await aliases.getByText(/reserved for AWS managed keys \(NotAuthorizedException\)/).waitFor();
    await aliases.getByLabel('New alias').fill('first');
    await aliases.getByRole('button', { name: 'Add alias' }).click();
    await page.getByText('alias/first now names this key.').waitFor();
    await page.getByRole('region', { name: 'Aliases' }).getByLabel('New alias').fill('alias/second');
    await page.getByRole('region', { name: 'Aliases' }).getByRole('button', { name: 'Add alias' }).click();
    await page.getByText('alias/second now names this key.').waitFor();
    const listed = async () => ((await s.kms.listAliases({ KeyId: keyId })).Aliases ?? []).map((a) => a.AliasName);
    tt.same(await listed(), ['alias/first', 'alias/second']);
    tt.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'alias/first', 'the page is titled by its alias');
    await page.getByRole('button', { name: 'Delete alias alias/first' }).click();
    await page.getByText('alias/first is deleted.').waitFor();
    tt.same(await listed(), ['alias/second']);
    tt.same(browser.problems, []);
  });
}
