// Key status: enable or disable the key; schedule its deletion after a waiting period of 7 to
// 30 days, or cancel a scheduled deletion.
import { kms } from './api.js';
import { busy, errorSlot, facts, field, formatDate, h, panel, showError, unavailable, clearError } from './dom.js';

const TITLE = 'status-title';

function enableDisable(key) {
  const { meta } = key;
  if (meta.KeyState === 'PendingDeletion') return h('p', {}, 'Cancel the deletion to use or enable the key again.');
  const op = meta.KeyState === 'Enabled' ? 'DisableKey' : 'EnableKey';
  if (!key.has(op)) return unavailable(op);
  const button = h('button', { type: 'button', id: 'toggle-key' }, op === 'DisableKey' ? 'Disable key' : 'Enable key');
  const error = errorSlot(button);
  button.addEventListener('click', () =>
    busy(button, async () => {
      try {
        await kms(op, { KeyId: meta.KeyId });
        await key.refresh(op === 'DisableKey' ? 'The key is disabled.' : 'The key is enabled.', TITLE);
      } catch (err) {
        showError(error, err);
      }
    }));
  return h('div', {}, h('div', { class: 'actions' }, button), error);
}

function cancelDeletion(key) {
  if (!key.has('CancelKeyDeletion')) return unavailable('CancelKeyDeletion');
  const button = h('button', { type: 'button', id: 'cancel-deletion' }, 'Cancel key deletion');
  const error = errorSlot(button);
  button.addEventListener('click', () =>
    busy(button, async () => {
      try {
        await kms('CancelKeyDeletion', { KeyId: key.meta.KeyId });
        await key.refresh('Key deletion is cancelled; the key is disabled until you enable it.', TITLE);
      } catch (err) {
        showError(error, err);
      }
    }));
  return h('div', {}, h('div', { class: 'actions' }, button), error);
}

function scheduleDeletion(key) {
  if (!key.has('ScheduleKeyDeletion')) return unavailable('ScheduleKeyDeletion');
  const limits = key.ctx.Limits.PendingWindowInDays;
  const days = h('input', { type: 'number', id: 'deletion-days', min: String(limits.Min), max: String(limits.Max), value: String(limits.Default), required: true });
  const days_ = field('Waiting period (days)', days, `Between ${limits.Min} and ${limits.Max} days. Until then the key can be restored by cancelling the deletion.`);
  const confirm = h('input', { type: 'checkbox', id: 'deletion-confirm' });
  const confirmError = errorSlot(confirm);
  const button = h('button', { type: 'submit', class: 'danger', id: 'schedule-deletion' }, 'Schedule key deletion');
  const form = h('form', { novalidate: true },
    h('h3', {}, 'Delete this key'),
    h('p', { class: 'hint' }, 'After the waiting period the key is destroyed, and data encrypted under it can never be decrypted again.'),
    days_.wrapper,
    h('div', { class: 'field' }, h('label', { for: confirm.id, class: 'plain-label' }, confirm, ' I understand that data encrypted under this key will be unrecoverable once the key is deleted.'), confirmError),
    h('div', { class: 'actions' }, button));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearError(days_.error, days);
    clearError(confirmError, confirm);
    const n = Number(days.value);
    if (!Number.isInteger(n) || n < limits.Min || n > limits.Max)
      return showError(days_.error, `Enter a whole number of days from ${limits.Min} to ${limits.Max}.`, days);
    if (!confirm.checked) return showError(confirmError, 'Confirm that you understand the consequences first.', confirm);
    void busy(button, async () => {
      try {
        const out = await kms('ScheduleKeyDeletion', { KeyId: key.meta.KeyId, PendingWindowInDays: n });
        await key.refresh(`The key is scheduled for deletion on ${formatDate(out.DeletionDate)}.`, TITLE);
      } catch (err) {
        showError(days_.error, err, days);
      }
    });
  });
  return form;
}

export async function stateSection(key) {
  const { meta } = key;
  const rows = [['Status', h('span', { class: `state state-${meta.KeyState}`, id: 'key-state' }, meta.KeyState)]];
  if (meta.DeletionDate) rows.push(['Deletion date', formatDate(meta.DeletionDate)]);
  return panel(TITLE, 'Key status',
    facts(rows),
    enableDisable(key),
    meta.KeyState === 'PendingDeletion' ? cancelDeletion(key) : scheduleDeletion(key));
}
