// Automatic rotation of a symmetric encryption key (period of 90 to 2560 days), and rotation on
// demand.
import { kms } from './api.js';
import { busy, clearError, errorSlot, facts, field, formatDate, h, panel, showError, unavailable } from './dom.js';

const TITLE = 'rotation-title';

function onDemand(key) {
  if (!key.has('RotateKeyOnDemand')) return unavailable('RotateKeyOnDemand');
  const button = h('button', { type: 'button', id: 'rotate-now' }, 'Rotate now');
  const error = errorSlot(button);
  button.addEventListener('click', () =>
    busy(button, async () => {
      try {
        await kms('RotateKeyOnDemand', { KeyId: key.meta.KeyId });
        await key.refresh('The key has new key material; earlier ciphertexts still decrypt.', TITLE);
      } catch (err) {
        showError(error, err);
      }
    }));
  return h('div', {}, h('div', { class: 'actions' }, button), error);
}

export async function rotationSection(key) {
  const ops = ['GetKeyRotationStatus', 'EnableKeyRotation', 'DisableKeyRotation'];
  const missing = ops.find((op) => !key.has(op));
  if (missing) return panel(TITLE, 'Key rotation', unavailable(missing));
  const error = errorSlot();
  let status;
  try {
    status = await kms('GetKeyRotationStatus', { KeyId: key.meta.KeyId });
  } catch (err) {
    showError(error, err);
    return panel(TITLE, 'Key rotation', error, onDemand(key));
  }
  const limits = key.ctx.Limits.RotationPeriodInDays;
  const enabled = h('input', { type: 'checkbox', id: 'rotation-enabled', checked: status.KeyRotationEnabled });
  const period = h('input', { type: 'number', id: 'rotation-period', min: String(limits.Min), max: String(limits.Max), value: String(status.RotationPeriodInDays ?? limits.Default) });
  const periodField = field('Rotation period (days)', period, `Between ${limits.Min} and ${limits.Max} days.`);
  const save = h('button', { type: 'submit', class: 'primary', id: 'save-rotation' }, 'Save rotation settings');
  const form = h('form', { novalidate: true },
    h('div', { class: 'field' }, h('label', { for: enabled.id }, enabled, ' Rotate this key automatically')),
    periodField.wrapper,
    h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearError(periodField.error, period);
    const days = Number(period.value);
    if (enabled.checked && (!Number.isInteger(days) || days < limits.Min || days > limits.Max))
      return showError(periodField.error, `Enter a whole number of days from ${limits.Min} to ${limits.Max}.`, period);
    void busy(save, async () => {
      try {
        if (enabled.checked) await kms('EnableKeyRotation', { KeyId: key.meta.KeyId, RotationPeriodInDays: days });
        else await kms('DisableKeyRotation', { KeyId: key.meta.KeyId });
        await key.refresh('The rotation settings are saved.', TITLE);
      } catch (err) {
        showError(periodField.error, err, period);
      }
    });
  });
  return panel(TITLE, 'Key rotation',
    facts([
      ['Automatic rotation', status.KeyRotationEnabled ? 'Enabled' : 'Disabled'],
      ['Next rotation', status.NextRotationDate ? formatDate(status.NextRotationDate) : '—'],
    ]),
    form,
    h('h3', {}, 'Rotate on demand'),
    onDemand(key));
}
