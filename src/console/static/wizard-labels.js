// The wizard's labels step: alias (required, checked as it is typed), description, tags.
import { aliasField } from './alias-field.js';
import { textLength } from './checks.js';
import { field, h, showError, clearError } from './dom.js';
import { tagsEditor } from './tags-editor.js';

export const labelsStep = {
  id: 'labels',
  title: 'Alias, description and tags',
  render(draft, ctx) {
    const alias = aliasField({ value: draft.alias });
    const description = h('textarea', { rows: '3', id: 'key-description-input' });
    description.value = draft.description;
    const max = ctx.Limits.DescriptionLength.Max;
    const descriptionField = field('Description (optional)', description, `What the key is for, up to ${max} characters.`);
    const tags = tagsEditor(draft.tags, ctx.Limits);
    return {
      content: [alias.wrapper, descriptionField.wrapper, tags.wrapper],
      focus: alias.input,
      async commit() {
        clearError(descriptionField.error, description);
        let ok = true;
        const length = textLength(description.value);
        if (length > max) {
          showError(descriptionField.error, `The description has ${length} characters; at most ${max} are allowed.`, description);
          ok = false;
        }
        if (!tags.validate()) ok = false;
        if (!(await alias.verify())) ok = false;
        draft.alias = alias.name();
        draft.description = description.value;
        draft.tags = tags.tags();
        return ok;
      },
    };
  },
};
