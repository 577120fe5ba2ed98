// A key's page: its metadata and one section per thing that can be done with it. After any
// change the page is drawn again from the service's answers, with focus back on the section.
import { kms } from './api.js';
import { clear, errorSlot, flash, h, showError } from './dom.js';
import { aliasesSection } from './detail-aliases.js';
import { generalSection } from './detail-general.js';
import { policySection } from './detail-policy.js';
import { publicKeySection } from './detail-public-key.js';
import { rotationSection } from './detail-rotation.js';
import { stateSection } from './detail-state.js';
import { tagsSection } from './detail-tags.js';
import { customKeyStores, keyTypeOf } from './words.js';

export async function renderKeyDetail(main, ctx, keyId) {
  let meta;
  try {
    meta = (await kms('DescribeKey', { KeyId: keyId })).KeyMetadata;
  } catch (err) {
    const error = errorSlot();
    showError(error, err);
    main.append(h('h1', { tabindex: '-1' }, 'Key not found'), error, h('p', {}, h('a', { href: '#/keys' }, 'Back to the keys')));
    return;
  }
  const [aliases, stores] = await Promise.all([
    kms('ListAliases', { KeyId: meta.KeyId, Limit: 100 }).then((r) => r.Aliases ?? [], () => []),
    customKeyStores(ctx, kms).catch(() => []),
  ]);

  const key = {
    ctx,
    meta,
    aliases,
    stores,
    type: keyTypeOf(ctx, meta.KeySpec),
    has: (op) => ctx.Operations.includes(op),
    /** Draws the page again; announces `message` and moves focus to the heading `focusId`. */
    async refresh(message, focusId) {
      clear(main);
      await renderKeyDetail(main, ctx, meta.KeyId);
      if (message) flash(message);
      (focusId && document.getElementById(focusId))?.focus();
    },
  };

  const title = aliases[0]?.AliasName ?? meta.KeyId;
  main.append(
    h('p', {}, h('a', { href: '#/keys' }, '← Customer managed keys')),
    h('h1', { tabindex: '-1' }, title),
    h('p', { class: 'lead mono' }, meta.Arn),
  );
  const sections = await Promise.all([
    stateSection(key),
    generalSection(key),
    key.type === 'ASYMMETRIC' ? publicKeySection(key) : undefined,
    policySection(key),
    meta.KeySpec === 'SYMMETRIC_DEFAULT' ? rotationSection(key) : undefined,
    tagsSection(key),
    aliasesSection(key),
  ]);
  main.append(...sections.filter(Boolean));
}
