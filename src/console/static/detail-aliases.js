// The key's aliases: delete one, or add another (checked as it is typed).
import { kms } from './api.js';
import { aliasField } from './alias-field.js';
import { busy, errorSlot, h, panel, showError, unavailable } from './dom.js';

const TITLE = 'aliases-title';

function aliasRow(key, alias) {
  const remove = h('button', { type: 'button', 'aria-label': `Delete alias ${alias.AliasName}` }, 'Delete');
  const error = errorSlot(remove);
  remove.addEventListener('click', () =>
    busy(remove, async () => {
      try {
        await kms('DeleteAlias', { AliasName: alias.AliasName });
        await key.refresh(`${alias.AliasName} is deleted.`, TITLE);
      } catch (err) {
        showError(error, err);
      }
    }));
  return h('tr', {}, h('td', { class: 'mono' }, alias.AliasName), h('td', {}, key.has('DeleteAlias') ? [remove, error] : '—'));
}

function addAlias(key) {
  if (!key.has('CreateAlias')) return unavailable('CreateAlias');
  const alias = aliasField({ label: 'New alias' });
  const create = h('button', { type: 'submit', id: 'create-alias' }, 'Add alias');
  const form = h('form', { novalidate: true }, alias.wrapper, h('div', { class: 'actions' }, create));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(create, async () => {
      if (!(await alias.verify())) return alias.input.focus();
      try {
        await kms('CreateAlias', { AliasName: alias.name(), TargetKeyId: key.meta.KeyId });
        await key.refresh(`${alias.name()} now names this key.`, TITLE);
      } catch (err) {
        showError(alias.error, err, alias.input);
      }
    });
  });
  return form;
}

export async function aliasesSection(key) {
  const rows = key.aliases.map((a) => aliasRow(key, a));
  return panel(TITLE, 'Aliases',
    rows.length
      ? h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Alias'), h('th', { scope: 'col' }, 'Actions'))), h('tbody', {}, rows))
      : h('p', {}, 'This key has no alias.'),
    addAlias(key));
}
