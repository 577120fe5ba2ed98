// Walks the create-key wizard the way a user does: by labels and button names, with the
// keyboard-reachable controls the page offers.
import type { Page } from 'playwright-core';

import { screenshot } from './browser.js';

export interface KeyChoice {
  type: 'Symmetric' | 'Asymmetric';
  usage: 'Encrypt and decrypt' | 'Sign and verify' | 'Key agreement' | 'Generate and verify MAC';
  spec: string;
  /** The accessible name of the key store radio; default the software store. */
  store?: RegExp;
  alias: string;
  description: string;
  tags: [string, string][];
  administrators: string[];
  users: string[];
  adminsMayDelete: boolean;
}

const next = (page: Page) => page.getByRole('button', { name: 'Next', exact: true }).click();

async function onStep(page: Page, n: number, title: string): Promise<void> {
  await page.getByRole('heading', { name: `Step ${n} of 7: ${title}` }).waitFor();
}

/** Fills steps 1–6 and stops on the review step; screenshots each step as `<shots>-<n>-<step>` when asked. */
export async function fillWizard(page: Page, url: string, c: KeyChoice, shots?: string): Promise<void> {
  const shot = async (name: string) => {
    if (shots) await screenshot(page, `${shots}-${name}`);
  };
  // A fresh load: going to the same #/create address would not start the wizard again.
  await page.goto('about:blank');
  await page.goto(`${url}/#/create`);
  await onStep(page, 1, 'Key type');
  await page.getByRole('radio', { name: c.type, exact: true }).check();
  await shot('1-type');
  await next(page);

  await onStep(page, 2, 'Key usage');
  await page.getByRole('radio', { name: c.usage, exact: true }).check();
  await shot('2-usage');
  await next(page);

  await onStep(page, 3, 'Key spec');
  await page.getByRole('radio', { name: c.spec, exact: true }).check();
  await shot('3-spec');
  await next(page);

  await onStep(page, 4, 'Key store');
  await page.getByRole('radio', { name: c.store ?? /^AWS KMS/ }).check();
  await shot('4-store');
  await next(page);

  await onStep(page, 5, 'Alias, description and tags');
  await page.getByLabel('Alias', { exact: true }).fill(c.alias);
  await page.getByText(`${c.alias.startsWith('alias/') ? c.alias : `alias/${c.alias}`} is available.`).waitFor();
  await page.getByLabel('Description (optional)').fill(c.description);
  for (const [i, [k, v]] of c.tags.entries()) {
    await page.getByRole('button', { name: 'Add tag' }).click();
    await page.getByLabel(`Tag key ${i + 1}`, { exact: true }).fill(k);
    await page.getByLabel(`Tag value ${i + 1}`, { exact: true }).fill(v);
  }
  await shot('5-labels');
  await next(page);

  await onStep(page, 6, 'Key administrators and users');
  await page.getByLabel('Key administrators', { exact: true }).fill(c.administrators.join('\n'));
  await page.getByLabel('Allow key administrators to delete this key').setChecked(c.adminsMayDelete);
  await page.getByLabel('Key users', { exact: true }).fill(c.users.join('\n'));
  await shot('6-permissions');
  await next(page);

  await onStep(page, 7, 'Review');
  await shot('7-review');
}

/** On the review step: Create key, then wait for the new key's page; returns its key id. */
export async function finishWizard(page: Page, alias: string): Promise<string> {
  await page.getByRole('button', { name: 'Create key', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: alias }).waitFor({ timeout: 60_000 });
  await page.getByRole('status').getByText(`Key ${alias} (`).waitFor();
  const m = /#\/keys\/([0-9a-f-]+)$/.exec(page.url());
  if (!m) throw new Error(`not on a key page: ${page.url()}`);
  return m[1]!;
}
