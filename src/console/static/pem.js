// Public key formats for download: GetPublicKey returns DER (SubjectPublicKeyInfo) as base64;
// PEM is the same bytes, base64 in 64-character lines between the PUBLIC KEY armour.
// A pure module: the page and the Node tests both import it.

export function base64ToBytes(b64) {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function derBase64ToPem(b64, label = 'PUBLIC KEY') {
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
