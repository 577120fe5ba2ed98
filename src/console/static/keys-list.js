// The keys list: alias, key id, state, type, spec, usage and key store of each key, a page at
// a time (ListKeys markers), filtered by text and key state.
//
// ListKeys has no filter, so a filtered page is filled by reading the store forward: each
// ListKeys call asks only for as many keys as the page still lacks, so the marker after the
// last key read is exactly where the next page begins, and no key is skipped or shown twice.
// A very selective filter on a large store stops after SCAN_LIMIT keys and offers Next.
import { AwsError, kms } from './api.js';
import { clear, errorSlot, field, formatDate, h, mapLimit, showError, clearError } from './dom.js';
import { USAGE_LABEL, TYPE_LABEL, customKeyStores, keyTypeOf, storeOf } from './words.js';

const SCAN_LIMIT = 1000;
const PAGE_SIZES = [10, 25, 50, 100];

// Kept while the page is open, so coming back from a key shows the same page and filter.
const view = { text: '', keyState: '', pageSize: 25, starts: [undefined], page: 0 };

async function describeRow(keyId) {
  try {
    const [described, aliases] = await Promise.all([
      kms('DescribeKey', { KeyId: keyId }),
      kms('ListAliases', { KeyId: keyId, Limit: 100 }),
    ]);
    return { meta: described.KeyMetadata, aliases: (aliases.Aliases ?? []).map((a) => a.AliasName) };
  } catch (err) {
    // Deleted since ListKeys named it: not a row any more.
    if (err instanceof AwsError && err.type === 'NotFoundException') return undefined;
    throw err;
  }
}

function matches(row) {
  if (view.keyState && row.meta.KeyState !== view.keyState) return false;
  const text = view.text.trim().toLowerCase();
  if (!text) return true;
  return [row.meta.KeyId, row.meta.Arn, row.meta.Description ?? '', ...row.aliases].some((s) => s.toLowerCase().includes(text));
}

/** One page of rows from `start`, and the marker of the next page (undefined at the end). */
async function loadPage(start) {
  const rows = [];
  let marker = start;
  let scanned = 0;
  let more = true;
  while (more && rows.length < view.pageSize && scanned < SCAN_LIMIT) {
    const listed = await kms('ListKeys', { Limit: view.pageSize - rows.length, ...(marker ? { Marker: marker } : {}) });
    const keys = listed.Keys ?? [];
    scanned += keys.length;
    const described = await mapLimit(keys, 6, (k) => describeRow(k.KeyId));
    rows.push(...described.filter((r) => r !== undefined && matches(r)));
    more = listed.Truncated === true;
    marker = listed.NextMarker;
  }
  return { rows, next: more ? marker : undefined, scanned };
}

function rowOf(row, ctx, stores) {
  const m = row.meta;
  const type = keyTypeOf(ctx, m.KeySpec);
  return h('tr', {},
    h('td', { class: 'nowrap' }, row.aliases.length ? row.aliases.map((a, i) => [i ? h('br') : null, a]) : h('span', { class: 'hint' }, '—')),
    h('td', { class: 'mono' }, h('a', { href: `#/keys/${encodeURIComponent(m.KeyId)}` }, m.KeyId)),
    h('td', { class: `state state-${m.KeyState}` }, m.KeyState),
    h('td', {}, TYPE_LABEL[type] ?? type ?? '—'),
    h('td', {}, m.KeySpec),
    h('td', {}, USAGE_LABEL[m.KeyUsage] ?? m.KeyUsage),
    h('td', {}, storeOf(m, stores)),
    h('td', {}, formatDate(m.CreationDate)));
}

export async function renderKeyList(main, ctx) {
  const text = h('input', { type: 'search', value: view.text, autocomplete: 'off', id: 'filter-text' });
  const state = h('select', { id: 'filter-state' },
    h('option', { value: '' }, 'All states'),
    ctx.Limits.KeyStates.map((s) => h('option', { value: s, selected: s === view.keyState || undefined }, s)));
  const size = h('select', { id: 'page-size' }, PAGE_SIZES.map((n) => h('option', { value: String(n), selected: n === view.pageSize || undefined }, String(n))));
  const body = h('tbody');
  const caption = h('caption', { class: 'visually-hidden' });
  const status = h('p', { class: 'status-line', role: 'status', id: 'list-status' });
  const error = errorSlot();
  const prev = h('button', { type: 'button', id: 'page-prev' }, 'Previous page');
  const next = h('button', { type: 'button', id: 'page-next' }, 'Next page');
  const pageLabel = h('span', { id: 'page-number' });
  let stores = [];
  let loads = 0;

  async function load() {
    const mine = ++loads;
    prev.disabled = next.disabled = true;
    status.textContent = 'Loading keys…';
    clearError(error);
    try {
      const page = await loadPage(view.starts[view.page]);
      if (mine !== loads) return;
      view.starts[view.page + 1] = page.next;
      clear(body).append(...page.rows.map((r) => rowOf(r, ctx, stores)));
      if (page.rows.length === 0) body.append(h('tr', {}, h('td', { colspan: '8' }, view.text || view.keyState ? 'No keys match the filter on this page.' : 'No keys.')));
      const filtered = view.text || view.keyState ? ` matching the filter (${page.scanned} keys read)` : '';
      status.textContent = `Page ${view.page + 1}: ${page.rows.length} key${page.rows.length === 1 ? '' : 's'}${filtered}.`;
      caption.textContent = `Keys, page ${view.page + 1}`;
      pageLabel.textContent = `Page ${view.page + 1}`;
      prev.disabled = view.page === 0;
      next.disabled = page.next === undefined;
    } catch (err) {
      if (mine !== loads) return;
      status.textContent = '';
      showError(error, err);
    }
  }

  function restart() {
    view.starts = [undefined];
    view.page = 0;
    void load();
  }

  let typing;
  text.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      view.text = text.value;
      restart();
    }, 300);
  });
  state.addEventListener('change', () => {
    view.keyState = state.value;
    restart();
  });
  size.addEventListener('change', () => {
    view.pageSize = Number(size.value);
    restart();
  });
  prev.addEventListener('click', () => {
    view.page = Math.max(0, view.page - 1);
    void load();
  });
  next.addEventListener('click', () => {
    view.page += 1;
    void load();
  });

  main.append(
    h('h1', { tabindex: '-1' }, 'Customer managed keys'),
    h('p', { class: 'lead' }, `Keys in this key store (${ctx.Region}, account ${ctx.AccountId}).`),
    h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/create' }, 'Create key')),
    h('form', { class: 'toolbar', role: 'search', onsubmit: (e) => e.preventDefault() },
      field('Filter by alias, key ID or description', text).wrapper,
      field('Key state', state).wrapper,
      field('Keys per page', size).wrapper),
    status,
    error,
    h('table', {}, caption,
      h('thead', {}, h('tr', {}, ['Aliases', 'Key ID', 'Status', 'Key type', 'Key spec', 'Key usage', 'Key store', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
      body),
    h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, pageLabel, next),
  );
  try {
    stores = await customKeyStores(ctx, kms);
  } catch {
    // The list still works; the store column shows ids instead of names.
  }
  await load();
}
