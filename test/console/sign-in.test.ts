// The console under --auth sigv4 in a browser: the sign-in form, a wrong secret refused in
// words, the keys after signing in, and signing out. And a page whose server lacks some
// operations: the parts that need them say so instead of failing.
import type { Route } from 'playwright-core';
import t, { type Test } from 'tap';

import { browserSuite, screenshot, type Browser } from './browser.js';
import { serve } from './setup.js';

await browserSuite(t, run);

async function run(browser: Browser): Promise<void> {
  /**
   * Routes the page's requests to `url` through `handler` for subtest `tt`. Teardowns run last in,
   * first out, so this one's runs before the server's (serve): it waits for handlers still at
   * work (an answer held back on purpose), which would otherwise fetch from a server being closed
   * and fail the subtest after its checks had passed (seen once in CI).
   */
  async function routeFor(tt: Test, url: string, handler: (route: Route) => Promise<void>): Promise<void> {
    await browser.page.route(url, handler);
    tt.teardown(() => browser.page.unrouteAll({ behavior: 'wait' }));
  }

  t.test('sign in with an access key, sign out', async (tt) => {
    const s = await serve(tt, { auth: 'sigv4', accessKeys: new Map([['AKIDCONSOLE', 'the-secret']]) });
    await s.kms.createKey({ Description: 'visible after sign-in' });
    const { page } = browser;
    await page.goto(`${s.url}/`);
    await page.getByRole('heading', { name: 'Sign in to the key console' }).waitFor();
    tt.notOk(await page.getByRole('navigation', { name: 'Main' }).isVisible(), 'nothing else before signing in');
    await page.getByLabel('Access key ID').fill('AKIDCONSOLE');
    await page.getByLabel('Secret access key').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The access key ID or the secret access key is not valid. (UnrecognizedClientException)').waitFor();
    tt.equal(await page.getByLabel('Secret access key').inputValue(), '', 'the wrong secret is cleared');
    await screenshot(page, 'sign-in-refused');
    await page.getByLabel('Secret access key').fill('the-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Page 1: 1 key.').waitFor();
    tt.match(await page.locator('#who').textContent(), /^AKIDCONSOLE/);
    tt.equal(await page.evaluate(() => document.body.innerText.includes('the-secret')), false, 'the secret is not on the page');

    // A reload keeps the session (sessionStorage); signing out ends it on the server too.
    const token = await page.evaluate(() => sessionStorage.getItem('ekms-console-token'));
    await page.reload();
    await page.getByText('Page 1: 1 key.').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to the key console' }).waitFor();
    tt.equal(await page.evaluate(() => sessionStorage.getItem('ekms-console-token')), null);
    const reused = await page.evaluate(async (tok) => {
      const r = await fetch('/console/api/context', { method: 'POST', headers: { 'content-type': 'application/json', 'x-ekms-console-token': tok ?? '' }, body: '{}' });
      return r.status;
    }, token);
    tt.equal(reused, 400, 'the old token is refused');
    tt.same(browser.problems, []);
  });

  /** Opens the console's key list on a new session, then has the server forget that session (as a restart would); returns its token. */
  async function openThenForget(url: string): Promise<string | null> {
    const { page } = browser;
    await page.goto('about:blank');
    await page.goto(`${url}/`);
    await page.getByText('Page 1: 0 keys.').waitFor();
    const old = await page.evaluate(() => sessionStorage.getItem('ekms-console-token'));
    await page.evaluate(async (tok) => {
      await fetch('/console/api/sign-out', { method: 'POST', headers: { 'content-type': 'application/json', 'x-ekms-console-token': tok ?? '' }, body: '{}' });
    }, old);
    return old;
  }

  t.test('without sign-in, a session the server forgot is replaced at once', async (tt) => {
    const s = await serve(tt);
    const { page } = browser;
    const old = await openThenForget(s.url);
    await s.kms.createKey({});
    await page.getByRole('link', { name: 'Customer managed keys' }).click();
    await page.getByLabel('Keys per page').selectOption('10');
    await page.getByText('Page 1: 1 key.').waitFor();
    const renewed = await page.evaluate(() => sessionStorage.getItem('ekms-console-token'));
    tt.ok(renewed && renewed !== old, 'a new session');
    tt.same(browser.problems, []);
  });

  // Several requests out when the session goes (the list's own, the page-size change's): found
  // flaky in CI, where a failing request's answer forgot the session just renewed and the page
  // renewed again and again (about 110 sessions in 8 s, until luck ended it). The answers are
  // delayed here to make that order the usual one.
  t.test('a forgotten session with several requests out is renewed once, and the page recovers', async (tt) => {
    const s = await serve(tt);
    const { page } = browser;
    await openThenForget(s.url);
    let sessions = 0;
    await routeFor(tt, '**/console/api/**', async (route) => {
      const path = route.request().url().split('/console/api/')[1];
      const operation = path === 'kms' ? route.request().headers()['x-amz-target']?.split('.')[1] : path;
      if (path === 'session') sessions += 1;
      const response = await route.fetch();
      const delay = operation === 'context' ? 150 : operation === 'ListKeys' && response.status() >= 400 ? 50 : 0;
      await new Promise((resolve) => setTimeout(resolve, delay));
      await route.fulfill({ response });
    });
    await s.kms.createKey({});
    await page.getByRole('link', { name: 'Customer managed keys' }).click();
    await page.getByLabel('Keys per page').selectOption('10');
    await page.getByText('Page 1: 1 key.').waitFor({ timeout: 10_000 });
    tt.equal(sessions, 1, 'one new session for every request that found the old one gone');
    tt.ok(await page.evaluate(() => sessionStorage.getItem('ekms-console-token')), 'the new session is kept');
    tt.same(browser.problems, []);
  });

  // A server restarted with another region: the page's header and ARNs follow the new context
  // once the session is silently renewed, instead of keeping the old one until a reload.
  t.test('after a silent renewal the page takes the server\'s context again', async (tt) => {
    const s = await serve(tt);
    const { page } = browser;
    await openThenForget(s.url);
    tt.match(await page.locator('#who').textContent(), new RegExp(`^${s.kms.arns.region} `));
    let contexts = 0;
    await routeFor(tt, '**/console/api/context', async (route) => {
      contexts += 1;
      const response = await route.fetch();
      const json = (await response.json()) as Record<string, unknown>;
      await route.fulfill({ response, json: { ...json, Region: 'eu-west-3' } });
    });
    await page.getByLabel('Keys per page').selectOption('10');
    await page.locator('#who', { hasText: /^eu-west-3 · / }).waitFor({ timeout: 10_000 });
    await page.getByText('Page 1: 0 keys.').waitFor();
    tt.equal(contexts, 1, 'one reading of the context');
    tt.same(browser.problems, []);
  });

  t.test('signing out when the session has already ended says only that you signed out', async (tt) => {
    const s = await serve(tt, { auth: 'sigv4', accessKeys: new Map([['AKIDCONSOLE', 'the-secret']]) });
    const { page } = browser;
    await page.goto('about:blank');
    await page.goto(`${s.url}/`);
    await page.getByLabel('Access key ID').fill('AKIDCONSOLE');
    await page.getByLabel('Secret access key').fill('the-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Page 1: 0 keys.').waitFor();
    await page.evaluate(async () => {
      const tok = sessionStorage.getItem('ekms-console-token') ?? '';
      await fetch('/console/api/sign-out', { method: 'POST', headers: { 'content-type': 'application/json', 'x-ekms-console-token': tok }, body: '{}' });
    });
    const flashes: string[] = [];
    await page.exposeFunction('recordFlash', (text: string) => void flashes.push(text));
    await page.evaluate(() => {
      const w = window as unknown as { recordFlash: (text: string) => void };
      // Every text the flash line is given, however soon the next replaces it.
      new MutationObserver((records) => {
        for (const r of records) for (const n of r.addedNodes) if (n.textContent) w.recordFlash(n.textContent);
      }).observe(document.getElementById('flash')!, { childList: true });
    });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to the key console' }).waitFor();
    await page.getByText('You have signed out.').waitFor();
    tt.notOk(flashes.some((f) => /session has ended/.test(f)), `no "session ended" on the way: ${JSON.stringify(flashes)}`);
    tt.same(browser.problems, []);
  });

  t.test('operations this build lacks are shown as unavailable', async (tt) => {
    const s = await serve(tt);
    const keyId = (await s.kms.createKey({})).KeyMetadata!.KeyId!;
    const { page } = browser;
    // As if PutKeyPolicy, the rotation operations and DescribeCustomKeyStores had not landed yet.
    const lacking = ['PutKeyPolicy', 'EnableKeyRotation', 'DescribeCustomKeyStores'];
    await routeFor(tt, '**/console/api/context', async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      body.Operations = body.Operations.filter((op: string) => !lacking.includes(op));
      await route.fulfill({ response, json: body });
    });
    await page.goto(`${s.url}/#/keys/${keyId}`);
    await page.getByRole('heading', { name: 'Key policy' }).waitFor();
    const policy = page.getByRole('region', { name: 'Key policy' });
    await policy.getByText('does not implement PutKeyPolicy yet').waitFor();
    tt.equal(await policy.getByRole('button', { name: 'Edit policy' }).count(), 0, 'no edit button');
    tt.match(await policy.locator('pre').textContent(), /Enable IAM User Permissions/, 'the policy is still shown');
    await page.getByRole('region', { name: 'Key rotation' }).getByText('does not implement EnableKeyRotation yet').waitFor();
    await page.goto(`${s.url}/#/create`);
    for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Next', exact: true }).click();
    await page.getByText('Custom key stores cannot be listed').waitFor();
    tt.same(browser.problems, []);
  });

  t.test('keyboard only: focus is visible, steps move with Tab, arrows and Enter', async (tt) => {
    const s = await serve(tt);
    const { page } = browser;
    await page.goto(`${s.url}/#/create`);
    await page.getByRole('heading', { name: 'Step 1 of 7: Key type' }).waitFor();
    const focused = () => page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      return { tag: el.tagName, name: el.getAttribute('name'), text: el.textContent, outline: getComputedStyle(el).outlineStyle };
    });
    // The page starts with focus on its heading; Tab moves on from there.
    tt.equal((await focused()).tag, 'H1');
    let f = await focused();
    for (let i = 0; i < 15 && f.name !== 'key-type'; i++) {
      await page.keyboard.press('Tab');
      f = await focused();
    }
    tt.equal(f.name, 'key-type', 'the key type radios are reachable by Tab');
    tt.not(f.outline, 'none', 'with a visible focus ring');
    await page.keyboard.press('ArrowDown');
    tt.ok(await page.getByRole('radio', { name: 'Asymmetric', exact: true }).isChecked(), 'arrows choose');
    // Previous is disabled on the first step, so Next is the next stop.
    await page.keyboard.press('Tab');
    f = await focused();
    tt.equal(f.text, 'Next');
    tt.not(f.outline, 'none');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Step 2 of 7: Key usage' }).waitFor();
    const names = await page.getByRole('radio').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).labels?.[0]?.textContent));
    tt.same(names, ['Encrypt and decrypt', 'Sign and verify', 'Key agreement'], 'every radio has a label');
    tt.same(browser.problems, []);
  });
}
