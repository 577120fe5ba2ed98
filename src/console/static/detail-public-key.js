// The public key of an asymmetric key: shown as PEM, downloadable as PEM or DER
// (SubjectPublicKeyInfo, as GetPublicKey returns it).
import { kms } from './api.js';
import { derBase64ToPem, base64ToBytes } from './pem.js';
import { download, errorSlot, h, panel, showError, unavailable } from './dom.js';

const TITLE = 'public-key-title';

export async function publicKeySection(key) {
  if (!key.has('GetPublicKey')) return panel(TITLE, 'Public key', unavailable('GetPublicKey'));
  const error = errorSlot();
  let der;
  try {
    der = (await kms('GetPublicKey', { KeyId: key.meta.KeyId })).PublicKey;
  } catch (err) {
    showError(error, err);
    return panel(TITLE, 'Public key', error);
  }
  const pem = derBase64ToPem(der);
  const name = key.meta.KeyId;
  return panel(TITLE, 'Public key',
    h('p', { class: 'hint' }, 'Share it with anyone who verifies signatures, encrypts data for this key or agrees a secret with it. The private key never leaves embedded-kms.'),
    h('pre', { class: 'policy', id: 'public-key-pem', tabindex: '0', 'aria-label': 'Public key in PEM format' }, pem),
    h('div', { class: 'actions' },
      h('button', { type: 'button', id: 'download-pem', onclick: () => download(pem, `${name}.pem`, 'application/x-pem-file') }, 'Download PEM'),
      h('button', { type: 'button', id: 'download-der', onclick: () => download(base64ToBytes(der), `${name}.der`, 'application/octet-stream') }, 'Download DER')),
    error);
}
