// The create-key wizard: one step at a time, a list of steps to move back to any visited one,
// and Finish, which calls CreateKey and then CreateAlias. The choices live in `draft` while the
// page is open; leaving the wizard and coming back starts afresh.
import { AwsError, kms } from './api.js';
import { busy, clear, errorText, flash, flashAfterNavigation, h, showError } from './dom.js';
import { labelsStep } from './wizard-labels.js';
import { permissionsStep } from './wizard-permissions.js';
import { draftPolicy, reviewStep } from './wizard-review.js';
import { settle, specStep, storeStep, typeStep, usageStep } from './wizard-config.js';
import { SOFTWARE_STORE, customKeyStores } from './words.js';

const STEPS = [typeStep, usageStep, specStep, storeStep, labelsStep, permissionsStep, reviewStep];

/** Which review section an error of CreateKey concerns. */
export function errorSection(err) {
  if (!(err instanceof AwsError)) return 'general';
  const m = err.message;
  if (err.type === 'TagException' || /\btags?\b/i.test(m)) return 'tags';
  if (err.type === 'MalformedPolicyDocumentException' || /polic/i.test(m)) return 'policy';
  if (err.type.startsWith('CustomKeyStore') || /custom key store|token|origin/i.test(m)) return 'store';
  if (/description/i.test(m)) return 'labels';
  if (/KeySpec|KeyUsage/.test(m)) return 'spec';
  return 'general';
}

function newDraft(ctx, stores) {
  const preferred = stores.find((s) => s.CustomKeyStoreId === ctx.DefaultCustomKeyStoreId && s.ConnectionState === 'CONNECTED');
  const draft = {
    keyType: 'SYMMETRIC',
    keyUsage: 'ENCRYPT_DECRYPT',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyStore: preferred ? preferred.CustomKeyStoreId : SOFTWARE_STORE,
    alias: '',
    description: '',
    tags: [],
    administrators: '',
    users: '',
    adminsMayDelete: true,
  };
  settle(ctx, draft);
  return draft;
}

function createKeyInput(draft, ctx) {
  const input = { KeySpec: draft.keySpec, KeyUsage: draft.keyUsage, Policy: draftPolicy(draft, ctx) };
  if (draft.description) input.Description = draft.description;
  if (draft.tags.length) input.Tags = draft.tags.map((t) => ({ TagKey: t.key, TagValue: t.value }));
  // Origin AWS_KMS says "software" even where a token is the default for new keys.
  if (draft.keyStore === SOFTWARE_STORE) input.Origin = 'AWS_KMS';
  else input.CustomKeyStoreId = draft.keyStore;
  return input;
}

export async function renderWizard(main, ctx) {
  if (!ctx.Operations.includes('CreateKey')) {
    main.append(h('h1', { tabindex: '-1' }, 'Create key'), h('p', { class: 'warning' }, 'This version of embedded-kms does not implement CreateKey.'));
    return;
  }
  let stores = [];
  let storesListed = ctx.Operations.includes('DescribeCustomKeyStores');
  try {
    stores = await customKeyStores(ctx, kms);
  } catch (err) {
    storesListed = false;
    flash(`The key stores could not be listed: ${errorText(err)}`);
  }
  const draft = newDraft(ctx, stores);
  let current = 0;
  let furthest = 0;
  const progress = h('ol', { class: 'steps' });
  const stage = h('div');
  // Leaves the current step for step `to` (set by show() for the step on screen).
  let leave = (to) => show(to);
  const env = { stores, storesListed, goTo: (id) => leave(STEPS.findIndex((s) => s.id === id)) };

  function drawProgress() {
    clear(progress).append(...STEPS.map((s, i) => {
      const label = `${s.title}${i < current ? ' (done)' : ''}`;
      const item = i === current || i > furthest ? h('span', {}, label) : h('button', { type: 'button', onclick: () => leave(i) }, label);
      return h('li', { 'aria-current': i === current ? 'step' : undefined }, item);
    }));
  }

  function show(index) {
    current = index;
    furthest = Math.max(furthest, index);
    const step = STEPS[index];
    const view = step.render(draft, ctx, env);
    const back = h('button', { type: 'button', id: 'wizard-back', disabled: index === 0, onclick: () => leave(index - 1) }, 'Previous');
    const last = index === STEPS.length - 1;
    const next = h('button', { type: 'submit', class: 'primary', id: last ? 'wizard-finish' : 'wizard-next' }, last ? 'Create key' : 'Next');
    const toReview = !last && furthest === STEPS.length - 1
      ? h('button', { type: 'button', id: 'wizard-to-review', onclick: () => leave(STEPS.length - 1) }, 'Back to review')
      : null;
    const form = h('form', { novalidate: true, 'aria-labelledby': 'step-title', id: `step-${step.id}` },
      h('h2', { id: 'step-title', tabindex: '-1' }, `Step ${index + 1} of ${STEPS.length}: ${step.title}`),
      view.content,
      h('div', { class: 'actions' }, back, next, toReview, h('a', { href: '#/keys' }, 'Cancel')));

    // Going forward needs this step's answers to be valid; going back keeps them as typed.
    leave = async (to) => {
      const before = `${draft.keyType}/${draft.keyUsage}/${draft.keySpec}`;
      const valid = await view.commit(ctx);
      if (!valid && to > index) {
        const invalid = form.querySelector('[aria-invalid=true]') ?? form.querySelector('.error:not(:empty)')?.closest('fieldset')?.querySelector('input:not([disabled])');
        invalid?.focus();
        return;
      }
      // A changed type, usage or spec may change what later steps offer: go through them again.
      if (`${draft.keyType}/${draft.keyUsage}/${draft.keySpec}` !== before) furthest = Math.min(furthest, index + 1);
      show(Math.min(to, furthest + 1));
    };

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(next, () => (last ? finish(view.errors) : leave(index + 1)));
    });
    clear(stage).append(form);
    drawProgress();
    (view.focus ?? form.querySelector('#step-title')).focus();
  }

  async function finish(errors) {
    for (const slot of Object.values(errors)) slot.textContent = '';
    let created;
    try {
      created = (await kms('CreateKey', createKeyInput(draft, ctx))).KeyMetadata;
    } catch (err) {
      const slot = errors[errorSection(err)] ?? errors.general;
      showError(slot, err);
      slot.closest('section')?.querySelector('h2')?.focus();
      return;
    }
    const target = `#/keys/${encodeURIComponent(created.KeyId)}`;
    try {
      await kms('CreateAlias', { AliasName: draft.alias, TargetKeyId: created.KeyId });
      flashAfterNavigation(`Key ${draft.alias} (${created.KeyId}) is created.`);
    } catch (err) {
      // The key exists; its page lets the alias be added once the problem is fixed.
      flashAfterNavigation(`The key ${created.KeyId} is created, but its alias is not: ${errorText(err)}`);
    }
    location.hash = target;
  }

  main.append(
    h('h1', { tabindex: '-1' }, 'Create key'),
    h('nav', { 'aria-label': 'Wizard steps' }, progress),
    stage,
  );
  show(0);
}
