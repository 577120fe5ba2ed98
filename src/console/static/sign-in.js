// The sign-in form, under --auth sigv4: an access key id and secret the endpoint accepts. The
// server checks them once and opens a session; the secret is not kept by the page.
import { errorSlot, field, h, showError, busy } from './dom.js';

export function renderSignIn(main, message, submit) {
  const id = h('input', { type: 'text', name: 'access-key-id', autocomplete: 'username', spellcheck: 'false', required: true });
  const secret = h('input', { type: 'password', name: 'secret-access-key', autocomplete: 'current-password', required: true });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const error = errorSlot(secret);
  if (message) error.textContent = message;
  const form = h('form', { class: 'panel', 'aria-labelledby': 'sign-in-title', novalidate: true },
    field('Access key ID', id).wrapper,
    field('Secret access key', secret, 'The server checks it and opens a session; the page does not keep it.').wrapper,
    error,
    h('div', { class: 'actions' }, button));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(button, async () => {
      try {
        await submit({ AccessKeyId: id.value.trim(), SecretAccessKey: secret.value });
      } catch (err) {
        secret.value = '';
        showError(error, err, secret);
        secret.focus();
      }
    });
  });
  main.append(
    h('h1', { id: 'sign-in-title', tabindex: '-1' }, 'Sign in to the key console'),
    h('p', { class: 'lead' }, 'This endpoint requires AWS Signature Version 4 credentials. Use an access key the server accepts.'),
    form,
  );
}
