// The wizard's review step: every choice, each section with a way back to its step, and the
// key policy the choices make. The service's errors on Finish appear in the section they concern.
import { parsePrincipals } from './checks.js';
import { errorSlot, facts, h } from './dom.js';
import { consoleKeyPolicy } from './key-policy.js';
import { SOFTWARE_STORE, SOFTWARE_STORE_LABEL, TYPE_LABEL, USAGE_LABEL } from './words.js';

/** The policy document for the draft's choices. */
export function draftPolicy(draft, ctx) {
  return consoleKeyPolicy({
    partition: ctx.Partition,
    accountId: ctx.AccountId,
    keySpec: draft.keySpec,
    keyType: draft.keyType,
    keyUsage: draft.keyUsage,
    administrators: parsePrincipals(draft.administrators).principals,
    users: parsePrincipals(draft.users).principals,
    adminsMayDelete: draft.adminsMayDelete,
  });
}

function storeName(draft, env) {
  if (draft.keyStore === SOFTWARE_STORE) return SOFTWARE_STORE_LABEL;
  const s = env.stores.find((x) => x.CustomKeyStoreId === draft.keyStore);
  return s ? `${s.CustomKeyStoreName} (${s.CustomKeyStoreId})` : draft.keyStore;
}

const list = (items) => (items.length ? h('ul', {}, items.map((i) => h('li', { class: 'mono' }, i))) : 'None');

export const reviewStep = {
  id: 'review',
  title: 'Review',
  render(draft, ctx, env) {
    // One error slot per section, keyed as wizard.js's errorSection() names them.
    const errors = {};
    const section = (key, title, stepId, body) => {
      errors[key] = errorSlot();
      const headingId = `review-${key}`;
      return h('section', { class: 'review-section', 'aria-labelledby': headingId },
        h('div', { class: 'panel-head' },
          h('h2', { id: headingId, tabindex: '-1' }, title),
          h('button', { type: 'button', class: 'edit-step', 'data-step': stepId, 'aria-label': `Edit ${title.toLowerCase()}`, onclick: () => env.goTo(stepId) }, 'Edit')),
        body,
        errors[key]);
    };
    const spec = ctx.KeySpecs.find((s) => s.KeySpec === draft.keySpec);
    const tags = draft.tags.map((t) => `${t.key} = ${t.value}`);
    const content = [
      section('type', 'Key type', 'type', facts([['Key type', TYPE_LABEL[draft.keyType]]])),
      section('usage', 'Key usage', 'usage', facts([['Key usage', USAGE_LABEL[draft.keyUsage]]])),
      section('spec', 'Key spec', 'spec', facts([['Key spec', draft.keySpec], ['About', spec?.Hints[draft.keyUsage] ?? '']])),
      section('store', 'Key store', 'store', facts([['Key store', storeName(draft, env)]])),
      section('labels', 'Alias and description', 'labels', facts([['Alias', draft.alias], ['Description', draft.description || '—']])),
      section('tags', 'Tags', 'labels', list(tags)),
      section('permissions', 'Key administrators and users', 'permissions', facts([
        ['Key administrators', list(parsePrincipals(draft.administrators).principals)],
        ['Administrators may delete the key', draft.adminsMayDelete ? 'Yes' : 'No'],
        ['Key users', list(parsePrincipals(draft.users).principals)],
      ])),
      section('policy', 'Key policy', 'permissions',
        h('pre', { class: 'policy', id: 'review-policy-document', tabindex: '0', 'aria-label': 'Key policy' }, draftPolicy(draft, ctx))),
    ];
    errors.general = errorSlot();
    return { content: [errors.general, ...content], errors, commit: () => true };
  },
};
