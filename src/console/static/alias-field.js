// The alias field, checked as the user types: the server applies CreateAlias's own rules and
// says whether the name is taken; the answer appears under the field.
import { checkAlias, AwsError } from './api.js';
import { clearError, field, h, showError } from './dom.js';

const PREFIX = 'alias/';

/** What the user typed, with the alias/ prefix added when it was left out. */
export function aliasNameOf(typed) {
  const name = typed.trim();
  return name === '' || name.startsWith(PREFIX) ? name : PREFIX + name;
}

/**
 * Returns { wrapper, input, verify(): Promise<boolean>, name(): string }. verify() checks the
 * current value at once (the Next or Create button calls it) and reports the outcome.
 */
export function aliasField({ label = 'Alias', value = '', required = true } = {}) {
  const input = h('input', { type: 'text', name: 'alias', value, autocomplete: 'off', spellcheck: 'false', required: required || undefined });
  const f = field(label, input, 'A name for the key, such as alias/my-app-key. The alias/ prefix is added if you leave it out; alias/aws/ is reserved.');
  const status = h('p', { class: 'ok status-line', 'aria-live': 'polite' });
  f.wrapper.append(status);
  let timer;
  let seq = 0;

  async function check() {
    const mine = ++seq;
    const name = aliasNameOf(input.value);
    status.textContent = '';
    if (name === '') {
      if (required) showError(f.error, 'Enter an alias for the key.', input);
      return false;
    }
    try {
      await checkAlias(name);
      if (mine !== seq) return false;
      clearError(f.error, input);
      status.textContent = `${name} is available.`;
      return true;
    } catch (err) {
      if (mine !== seq) return false;
      if (err instanceof AwsError && err.type === 'NotAuthorizedException')
        showError(f.error, `${name}: aliases beginning with alias/aws/ are reserved for AWS managed keys (NotAuthorizedException)`, input);
      else showError(f.error, err, input);
      return false;
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    status.textContent = '';
    timer = setTimeout(check, 250);
  });

  return {
    wrapper: f.wrapper,
    input,
    error: f.error,
    name: () => aliasNameOf(input.value),
    verify: () => {
      clearTimeout(timer);
      return check();
    },
  };
}
