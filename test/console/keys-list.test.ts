// The keys list in a browser: every key once across its pages, filters by text and by key
// state, and the columns a user looks for. Its screenshot is one of the documented ones.
import t from 'tap';

import { browserSuite, screenshot, type Browser } from './browser.js';
import { serve } from './setup.js';

await browserSuite(t, run);

async function run(browser: Browser): Promise<void> {

  t.test('pages, filters and columns', async (tt) => {
    const s = await serve(tt);
    const { page } = browser;
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) {
      const spec = i % 5 === 0 ? { KeySpec: 'ECC_NIST_P256' as const, KeyUsage: 'SIGN_VERIFY' as const } : i % 7 === 0 ? { KeySpec: 'HMAC_256' as const, KeyUsage: 'GENERATE_VERIFY_MAC' as const } : {};
      const id = (await s.kms.createKey({ Description: `key number ${i}`, ...spec })).KeyMetadata!.KeyId!;
      ids.push(id);
      if (i % 3 === 0) await s.kms.createAlias({ AliasName: `alias/app-${i}`, TargetKeyId: id });
      if (i % 4 === 1) await s.kms.disableKey({ KeyId: id });
    }
    await s.kms.scheduleKeyDeletion({ KeyId: ids[22]!, PendingWindowInDays: 7 });

    await page.goto(`${s.url}/`);
    const status = page.locator('#list-status');
    await status.getByText('Page 1: 23 keys.').waitFor();

    const idsShown = () => page.locator('tbody tr td:nth-child(2)').allTextContents();
    const header = await page.locator('thead th').allTextContents();
    tt.same(header, ['Aliases', 'Key ID', 'Status', 'Key type', 'Key spec', 'Key usage', 'Key store', 'Created']);
    const first = page.locator('tbody tr').filter({ hasText: ids[0]! });
    tt.match(await first.textContent(), /alias\/app-0.*Enabled.*Asymmetric.*ECC_NIST_P256.*Sign and verify.*AWS KMS \(software\)/);
    const hmac = page.locator('tbody tr').filter({ hasText: ids[7]! });
    tt.match(await hmac.textContent(), /Symmetric.*HMAC_256.*Generate and verify MAC/);

    // Ten a page: three pages, every key exactly once, in the store's order.
    await page.getByLabel('Keys per page').selectOption('10');
    await status.getByText('Page 1: 10 keys.').waitFor();
    await screenshot(page, 'keys-list');
    const seen = await idsShown();
    const next = page.getByRole('button', { name: 'Next page' });
    await next.click();
    await status.getByText('Page 2: 10 keys.').waitFor();
    seen.push(...(await idsShown()));
    await next.click();
    await status.getByText('Page 3: 3 keys.').waitFor();
    seen.push(...(await idsShown()));
    tt.same(seen, ids, 'all keys once, in creation order');
    tt.ok(await next.isDisabled(), 'no page after the last');
    await page.getByRole('button', { name: 'Previous page' }).click();
    await status.getByText('Page 2: 10 keys.').waitFor();
    tt.same(await idsShown(), ids.slice(10, 20), 'Previous goes back');

    // Filter by text: an alias, then a description; the filter reads forward through the store.
    await page.getByLabel('Filter by alias, key ID or description').fill('app-21');
    await status.getByText('Page 1: 1 key matching the filter (23 keys read).').waitFor();
    tt.same(await idsShown(), [ids[21]]);
    await page.getByLabel('Filter by alias, key ID or description').fill('key number 1');
    await status.getByText(/^Page 1: 10 keys matching the filter/).waitFor();
    tt.same(await idsShown(), [1, 10, 11, 12, 13, 14, 15, 16, 17, 18].map((i) => ids[i]), 'a full page of matches');
    await next.click();
    await status.getByText(/^Page 2: 1 key matching the filter/).waitFor();
    tt.same(await idsShown(), [ids[19]], 'the rest on the next page');

    // Filter by state.
    await page.getByLabel('Filter by alias, key ID or description').fill('');
    await page.getByLabel('Key state').selectOption('Disabled');
    await page.getByLabel('Keys per page').selectOption('25');
    await status.getByText(/^Page 1: 6 keys matching the filter/).waitFor();
    tt.same(await idsShown(), [1, 5, 9, 13, 17, 21].map((i) => ids[i]));
    await page.getByLabel('Key state').selectOption('PendingDeletion');
    await status.getByText(/^Page 1: 1 key matching the filter/).waitFor();
    tt.same(await idsShown(), [ids[22]]);

    // A key id leads to its page, and back to the list where it was left.
    await page.getByRole('link', { name: ids[22]! }).click();
    await page.getByRole('heading', { level: 1, name: ids[22]! }).waitFor();
    await page.getByRole('link', { name: '← Customer managed keys' }).click();
    await status.getByText(/^Page 1: 1 key matching the filter/).waitFor();
    tt.equal(await page.getByLabel('Key state').inputValue(), 'PendingDeletion', 'the filter is kept');
    tt.same(browser.problems, [], 'no script errors in the page');
  });
}
