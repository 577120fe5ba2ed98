// A list of tags to edit: rows of key and value, with Add and Remove. Used by the create-key
// wizard and the key detail page.
import { tagProblems } from './checks.js';
import { clear, clearError, errorSlot, h, showError, uid } from './dom.js';

/**
 * Returns { wrapper, tags(): {key, value}[], validate(): boolean, error }. `error` is the
 * slot for the service's answer (TagException and the like).
 */
export function tagsEditor(initial, limits, { hideLegend = false } = {}) {
  const rows = h('div', { class: 'tag-rows' });
  const listId = uid('tags');
  const error = errorSlot();
  const empty = h('p', { class: 'hint' }, 'No tags.');
  let entries = [];

  function addRow(tag = { key: '', value: '' }) {
    const key = h('input', { type: 'text', value: tag.key, placeholder: 'Tag key', class: 'tag-key' });
    const value = h('input', { type: 'text', value: tag.value, placeholder: 'Tag value (optional)', class: 'tag-value' });
    const rowError = errorSlot(key);
    const entry = { key, value, rowError };
    entry.remove = h('button', { type: 'button', onclick: () => {
      entries = entries.filter((e) => e !== entry);
      render();
      addButton.focus();
    } }, 'Remove');
    entry.row = h('div', {}, h('div', { class: 'tag-row' }, key, value, entry.remove), rowError);
    entries.push(entry);
    render();
    return entry;
  }

  function render() {
    clear(rows);
    if (entries.length === 0) rows.append(empty);
    // Rows are named by their position, renumbered as rows come and go.
    entries.forEach((e, i) => {
      e.key.setAttribute('aria-label', `Tag key ${i + 1}`);
      e.value.setAttribute('aria-label', `Tag value ${i + 1}`);
      e.remove.setAttribute('aria-label', `Remove tag ${i + 1}`);
      rows.append(e.row);
    });
  }

  const addButton = h('button', { type: 'button', onclick: () => addRow().key.focus() }, 'Add tag');
  for (const t of initial) addRow(t);
  render();

  const tags = () => entries.map((e) => ({ key: e.key.value.trim(), value: e.value.value }));

  return {
    wrapper: h('fieldset', { id: listId }, h('legend', { class: hideLegend ? 'visually-hidden' : undefined }, 'Tags'),
      h('p', { class: 'hint' }, `Optional key–value pairs, up to ${limits.MaxTagsPerKey}. Keys beginning with aws: are reserved.`),
      rows, addButton, error),
    tags,
    error,
    validate() {
      clearError(error);
      for (const e of entries) {
        clearError(e.rowError, e.key);
        e.value.removeAttribute('aria-invalid');
      }
      const problems = tagProblems(tags(), limits);
      for (const p of problems) {
        const e = entries[p.index];
        if (e) showError(e.rowError, p.message, p.field === 'key' ? e.key : e.value);
        else showError(error, p.message);
      }
      return problems.length === 0;
    },
  };
}
