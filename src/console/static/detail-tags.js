// The key's tags, edited as a list and saved as the difference: UntagResource for removed keys,
// then TagResource for new and changed ones (in that order, so that replacing tags on a key at
// its 50-tag quota fits). A TagResource refused after the removals puts the removed tags back:
// a save that fails changes nothing.
import { kms } from './api.js';
import { busy, errorSlot, h, panel, showError, unavailable } from './dom.js';
import { tagsEditor } from './tags-editor.js';

const TITLE = 'tags-title';

async function allTags(keyId) {
  const tags = [];
  let marker;
  do {
    const page = await kms('ListResourceTags', { KeyId: keyId, ...(marker ? { Marker: marker } : {}) });
    tags.push(...(page.Tags ?? []));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return tags;
}

/**
 * TagResource of `changed`; if it is refused, `restore` (the tags just removed) is put back and
 * the refusal passed on. Were the restore to fail too, the refusal says so.
 */
async function tagOrRestore(keyId, changed, restore) {
  try {
    await kms('TagResource', { KeyId: keyId, Tags: changed.map((t) => ({ TagKey: t.key, TagValue: t.value })) });
  } catch (err) {
    if (restore.length === 0) throw err;
    try {
      await kms('TagResource', { KeyId: keyId, Tags: restore });
    } catch (again) {
      err.message = `${err.message} The tags removed before it could not be put back (${again.message}): reload the page to see the key's tags.`;
    }
    throw err;
  }
}

export async function tagsSection(key) {
  const missing = ['ListResourceTags', 'TagResource', 'UntagResource'].find((op) => !key.has(op));
  if (missing) return panel(TITLE, 'Tags', unavailable(missing));
  let current;
  try {
    current = await allTags(key.meta.KeyId);
  } catch (err) {
    const error = errorSlot();
    showError(error, err);
    return panel(TITLE, 'Tags', error);
  }
  const editor = tagsEditor(current.map((t) => ({ key: t.TagKey, value: t.TagValue })), key.ctx.Limits, { hideLegend: true });
  const save = h('button', { type: 'submit', class: 'primary', id: 'save-tags' }, 'Save tags');
  const form = h('form', { novalidate: true }, editor.wrapper, h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!editor.validate()) return;
    const wanted = editor.tags();
    const before = new Map(current.map((t) => [t.TagKey, t.TagValue]));
    const removed = [...before.keys()].filter((k) => !wanted.some((t) => t.key === k));
    const changed = wanted.filter((t) => before.get(t.key) !== t.value);
    void busy(save, async () => {
      try {
        if (removed.length) await kms('UntagResource', { KeyId: key.meta.KeyId, TagKeys: removed });
        if (changed.length) await tagOrRestore(key.meta.KeyId, changed, removed.map((k) => ({ TagKey: k, TagValue: before.get(k) })));
        await key.refresh('The tags are saved.', TITLE);
      } catch (err) {
        showError(editor.error, err);
      }
    });
  });
  return panel(TITLE, 'Tags', form);
}
