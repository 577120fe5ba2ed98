// The wizard's permissions step: key administrators and key users (principal ARNs), and whether
// administrators may delete the key. They become the key policy shown on the review step.
import { parsePrincipals } from './checks.js';
import { field, h, showError, clearError } from './dom.js';

function principalsField(label, value, hint) {
  const input = h('textarea', { rows: '3', spellcheck: 'false' });
  input.value = value;
  const f = field(label, input, hint);
  return {
    wrapper: f.wrapper,
    input,
    read() {
      clearError(f.error, input);
      const { problems } = parsePrincipals(input.value);
      if (problems.length) showError(f.error, problems.join(' '), input);
      return problems.length === 0;
    },
  };
}

export const permissionsStep = {
  id: 'permissions',
  title: 'Key administrators and users',
  render(draft, ctx) {
    const example = `arn:${ctx.Partition}:iam::${ctx.AccountId}:role/KeyAdmins`;
    const admins = principalsField('Key administrators', draft.administrators,
      `One principal ARN per line, e.g. ${example}. Administrators manage the key but cannot use it.`);
    const mayDelete = h('input', { type: 'checkbox', id: 'admins-may-delete', checked: draft.adminsMayDelete });
    const users = principalsField('Key users', draft.users,
      `One principal ARN per line, e.g. arn:${ctx.Partition}:iam::${ctx.AccountId}:user/app. Users may use the key in cryptographic operations.`);
    return {
      content: [
        h('p', { class: 'hint' }, `The account (arn:${ctx.Partition}:iam::${ctx.AccountId}:root) always has full access, as in AWS's default key policy. embedded-kms stores key policies but does not evaluate them.`),
        admins.wrapper,
        h('div', { class: 'field' }, h('label', { for: mayDelete.id }, mayDelete, ' Allow key administrators to delete this key')),
        users.wrapper,
      ],
      focus: admins.input,
      commit() {
        const ok = [admins.read(), users.read()].every(Boolean);
        draft.administrators = admins.input.value;
        draft.users = users.input.value;
        draft.adminsMayDelete = mayDelete.checked;
        return ok;
      },
    };
  },
};
