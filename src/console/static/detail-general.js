// General and cryptographic configuration: what DescribeKey says, and the description, which
// can be edited.
import { kms } from './api.js';
import { busy, facts, field, formatDate, h, panel, showError, unavailable } from './dom.js';
import { TYPE_LABEL, USAGE_LABEL, storeOf } from './words.js';

const TITLE = 'general-title';

function descriptionEditor(key) {
  const text = h('p', { id: 'key-description' }, key.meta.Description || '—');
  if (!key.has('UpdateKeyDescription')) return h('div', {}, text, unavailable('UpdateKeyDescription'));
  const edit = h('button', { type: 'button', id: 'edit-description' }, 'Edit description');
  const box = h('div', {}, text, h('div', { class: 'actions' }, edit));
  edit.addEventListener('click', () => {
    // No maxlength: the browser counts UTF-16 units, the service code points (checks.js); the
    // service's own refusal is shown beside the field.
    const input = h('textarea', { rows: '3', id: 'description-input' });
    input.value = key.meta.Description ?? '';
    const f = field('Description', input);
    const save = h('button', { type: 'submit', class: 'primary' }, 'Save description');
    const cancel = h('button', { type: 'button', onclick: () => key.refresh(undefined, TITLE) }, 'Cancel');
    const form = h('form', { novalidate: true }, f.wrapper, h('div', { class: 'actions' }, save, cancel));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(save, async () => {
        try {
          await kms('UpdateKeyDescription', { KeyId: key.meta.KeyId, Description: input.value });
          await key.refresh('The description is saved.', TITLE);
        } catch (err) {
          showError(f.error, err, input);
        }
      });
    });
    box.replaceChildren(form);
    input.focus();
  });
  return box;
}

function algorithms(meta) {
  const list = meta.EncryptionAlgorithms ?? meta.SigningAlgorithms ?? meta.KeyAgreementAlgorithms ?? meta.MacAlgorithms ?? [];
  return list.join(', ');
}

// GetKeyLastUsage: the key's last cryptographic operation, or since when it has not been used.
async function lastUsed(key) {
  if (!key.has('GetKeyLastUsage')) return '—';
  try {
    const out = await kms('GetKeyLastUsage', { KeyId: key.meta.KeyId });
    const used = out.KeyLastUsage ?? {};
    if (used.Operation) return h('span', { id: 'key-last-used' }, `${used.Operation}, ${formatDate(used.Timestamp)}`);
    return h('span', { id: 'key-last-used' }, `Not used since ${formatDate(out.TrackingStartDate)}`);
  } catch {
    return '—'; // the rest of the page stands without it
  }
}

export async function generalSection(key) {
  const { meta } = key;
  return panel(TITLE, 'General configuration',
    facts([
      ['Aliases', key.aliases.map((a) => a.AliasName).join(', ') || '—'],
      ['Key ID', h('span', { class: 'mono' }, meta.KeyId)],
      ['ARN', h('span', { class: 'mono' }, meta.Arn)],
      ['Creation date', formatDate(meta.CreationDate)],
      ['Key store', storeOf(meta, key.stores)],
      ['Origin', meta.Origin],
      ['Key type', TYPE_LABEL[key.type] ?? key.type],
      ['Key spec', h('span', { id: 'key-spec' }, meta.KeySpec)],
      ['Key usage', USAGE_LABEL[meta.KeyUsage] ?? meta.KeyUsage],
      ['Algorithms', algorithms(meta)],
      ['Regionality', meta.MultiRegion ? 'Multi-Region' : 'Single Region'],
      ['Last used', await lastUsed(key)],
    ]),
    h('h3', {}, 'Description'),
    descriptionEditor(key));
}
