// Small DOM helpers. Every piece of data goes in as text (never as HTML), so key descriptions,
// tags and policies cannot inject markup.
import { AwsError } from './api.js';

/** h('button', { class: 'primary', onclick: fn }, 'Save') */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else if (name === 'value') el.value = value;
    else if (name === 'checked') el.checked = Boolean(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

let nextId = 0;
/** A unique element id with a readable prefix. */
export function uid(prefix) {
  return `${prefix}-${++nextId}`;
}

// Messages for errors AWS sends without one.
const WITHOUT_MESSAGE = {
  NotAuthorizedException: 'This name is reserved: aliases beginning with alias/aws/ belong to AWS managed keys.',
  KMSInvalidStateException: 'The key is not in a state that allows this.',
  AccessDeniedException: 'Access denied.',
};

/** An error in words, with the AWS error type after it for reference. */
export function errorText(err) {
  if (err instanceof AwsError) {
    const words = err.message || WITHOUT_MESSAGE[err.type] || 'The request failed.';
    return `${words} (${err.type})`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** An error slot: a paragraph read out when it changes, tied to its control by aria-describedby. */
export function errorSlot(control) {
  const slot = h('p', { class: 'error', id: uid('error'), role: 'alert' });
  if (control) describedBy(control, slot.id);
  return slot;
}

export function describedBy(control, id) {
  const ids = new Set((control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean));
  ids.add(id);
  control.setAttribute('aria-describedby', [...ids].join(' '));
}

export function showError(slot, err, control) {
  slot.textContent = typeof err === 'string' ? err : errorText(err);
  if (control) control.setAttribute('aria-invalid', 'true');
}

export function clearError(slot, control) {
  slot.textContent = '';
  if (control) control.removeAttribute('aria-invalid');
}

/**
 * A labelled form field: label, optional hint, the control and its error slot.
 * Returns { wrapper, control, error }.
 */
export function field(label, control, hint) {
  if (!control.id) control.id = uid('field');
  const parts = [h('label', { for: control.id }, label)];
  if (hint) {
    const hintEl = h('p', { class: 'hint', id: uid('hint') }, hint);
    describedBy(control, hintEl.id);
    parts.push(hintEl);
  }
  const error = errorSlot(control);
  return { wrapper: h('div', { class: 'field' }, parts, control, error), control, error };
}

/** AWS JSON timestamps are epoch seconds. */
export function formatDate(seconds) {
  if (seconds === undefined || seconds === null) return '—';
  return new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Shows a message in the page's status line (read out by screen readers). */
export function flash(text) {
  const el = document.getElementById('flash');
  if (el) el.textContent = text;
}

let carried = '';
/** A message for the page about to be shown (flash() would be cleared by the navigation). */
export function flashAfterNavigation(text) {
  carried = text;
}

/** The message carried over to the page being shown, once. */
export function takeCarriedFlash() {
  const text = carried;
  carried = '';
  return text;
}

/** Disables a button while `work` runs, so a double click does not send a request twice. */
export async function busy(button, work) {
  button.disabled = true;
  try {
    return await work();
  } finally {
    button.disabled = false;
  }
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order of results. */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Saves bytes as a file through the browser's download. */
export function download(bytes, fileName, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = h('a', { href: url, download: fileName, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A page section: a panel with a heading that focus can be moved to after a change. */
export function panel(id, title, ...children) {
  return h('section', { class: 'panel', 'aria-labelledby': id },
    h('div', { class: 'panel-head' }, h('h2', { id, tabindex: '-1' }, title)),
    children);
}

/** A definition list of label → value pairs (values may be nodes). */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

/** What a page shows where an operation this build lacks would be. */
export function unavailable(operation) {
  return h('p', { class: 'warning' }, `Not available: this version of embedded-kms does not implement ${operation} yet.`);
}
