// The key policy: shown as the service stores it; edited in a text area, checked as JSON on
// the page and then by PutKeyPolicy, whose error appears under the text area.
import { kms } from './api.js';
import { busy, errorSlot, field, h, panel, showError, unavailable } from './dom.js';

const TITLE = 'policy-title';

function jsonProblem(text) {
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    return `The policy is not valid JSON: ${err.message}`;
  }
}

export async function policySection(key) {
  if (!key.has('GetKeyPolicy')) return panel(TITLE, 'Key policy', unavailable('GetKeyPolicy'));
  const error = errorSlot();
  let policy;
  try {
    policy = (await kms('GetKeyPolicy', { KeyId: key.meta.KeyId, PolicyName: 'default' })).Policy;
  } catch (err) {
    showError(error, err);
    return panel(TITLE, 'Key policy', error);
  }
  const view = h('pre', { class: 'policy', id: 'key-policy', tabindex: '0', 'aria-label': 'Key policy' }, policy);
  const body = h('div', {}, view);
  const section = panel(TITLE, 'Key policy', body);
  if (!key.has('PutKeyPolicy')) {
    body.append(unavailable('PutKeyPolicy'));
    return section;
  }
  const edit = h('button', { type: 'button', id: 'edit-policy' }, 'Edit policy');
  body.append(h('div', { class: 'actions' }, edit));
  edit.addEventListener('click', () => {
    const input = h('textarea', { rows: '20', id: 'policy-input', spellcheck: 'false' });
    input.value = policy;
    const f = field('Policy document (JSON)', input, `At most ${key.ctx.Limits.PolicyBytes} bytes. The service checks the grammar when you save.`);
    const save = h('button', { type: 'submit', class: 'primary', id: 'save-policy' }, 'Save policy');
    const cancel = h('button', { type: 'button', onclick: () => key.refresh(undefined, TITLE) }, 'Cancel');
    const form = h('form', { novalidate: true }, f.wrapper, h('div', { class: 'actions' }, save, cancel));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const problem = jsonProblem(input.value);
      if (problem) {
        showError(f.error, problem, input);
        input.focus();
        return;
      }
      void busy(save, async () => {
        try {
          await kms('PutKeyPolicy', { KeyId: key.meta.KeyId, PolicyName: 'default', Policy: input.value });
          await key.refresh('The key policy is saved.', TITLE);
        } catch (err) {
          showError(f.error, err, input);
          input.focus();
        }
      });
    });
    body.replaceChildren(form);
    input.focus();
  });
  return section;
}
