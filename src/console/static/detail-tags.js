// The key's tags, edited as a list and saved as the difference: UntagResource for removed keys,
// TagResource for new and changed ones.
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
        if (changed.length) await kms('TagResource', { KeyId: key.meta.KeyId, Tags: changed.map((t) => ({ TagKey: t.key, TagValue: t.value })) });
        await key.refresh('The tags are saved.', TITLE);
      } catch (err) {
        showError(editor.error, err);
      }
    });
  });
  return panel(TITLE, 'Tags', form);
}
