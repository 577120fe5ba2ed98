// The wizard's key store step with a PKCS#11 token configured (SoftHSM2): the token, listed by
// DescribeCustomKeyStores, is offered and preselected when it is the default for new keys;
// choosing it makes a token key, and choosing AWS KMS still makes a software key.
import t from 'tap';

import { softhsm } from '../helpers/softhsm.js';
import { browserSuite, screenshot, type Browser } from './browser.js';
import { serve } from './setup.js';
import { fillWizard, finishWizard, type KeyChoice } from './wizard-driver.js';

await browserSuite(t, run);

async function run(browser: Browser): Promise<void> {

  t.test('token or software, as chosen', async (tt) => {
    const s = await serve(tt, {}, softhsm);
    const { page } = browser;
    const stores = (await s.kms.describeCustomKeyStores({})).CustomKeyStores ?? [];
    tt.equal(stores.length, 1, 'the token is a custom key store');
    const store = stores[0]!;

    await page.goto(`${s.url}/#/create`);
    for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Next', exact: true }).click();
    await page.getByRole('heading', { name: 'Step 4 of 7: Key store' }).waitFor();
    const token = page.getByRole('radio', { name: `${store.CustomKeyStoreName} (${store.CustomKeyStoreId})` });
    tt.ok(await token.isChecked(), 'the default token is preselected');
    await screenshot(page, 'wizard-4-store-token');

    const base: Omit<KeyChoice, 'alias' | 'store'> = {
      type: 'Asymmetric',
      usage: 'Sign and verify',
      spec: 'ECC_NIST_P256',
      description: 'on the token',
      tags: [],
      administrators: [],
      users: [],
      adminsMayDelete: true,
    };
    await fillWizard(page, s.url, { ...base, alias: 'alias/on-token', store: new RegExp(store.CustomKeyStoreId!) });
    const onToken = await finishWizard(page, 'alias/on-token');
    const md = (await s.kms.describeKey({ KeyId: onToken })).KeyMetadata!;
    tt.equal(md.CustomKeyStoreId, store.CustomKeyStoreId);
    tt.equal(md.Origin, 'AWS_CLOUDHSM');
    tt.match(await page.getByRole('region', { name: 'General configuration' }).textContent(), store.CustomKeyStoreName!, 'the key page names the store');

    await fillWizard(page, s.url, { ...base, alias: 'alias/in-software', description: 'software' });
    const inSoftware = await finishWizard(page, 'alias/in-software');
    const sw = (await s.kms.describeKey({ KeyId: inSoftware })).KeyMetadata!;
    tt.equal(sw.Origin, 'AWS_KMS');
    tt.equal(sw.CustomKeyStoreId, undefined, 'a software key although the token is the default');
    tt.same(browser.problems, []);
  });
}
