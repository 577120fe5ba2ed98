// Finds DER-encoded private keys (PKCS#8, SEC1, PKCS#1) anywhere in a byte string: at every
// offset that starts an ASN.1 SEQUENCE, the enclosed bytes are handed to Node's parser. Used to
// show that stores and API outputs hold no private key in the clear.
import { createPrivateKey } from 'node:crypto';

function derLength(buf: Uint8Array, i: number): { len: number; hdr: number } | undefined {
  const first = buf[i + 1];
  if (first === undefined) return undefined;
  if (first < 0x80) return { len: first, hdr: 2 };
  const n = first & 0x7f;
  if (n === 0 || n > 3 || i + 2 + n > buf.length) return undefined;
  let len = 0;
  for (let k = 0; k < n; k++) len = (len << 8) | (buf[i + 2 + k] as number);
  return { len, hdr: 2 + n };
}

export function findPrivateKeys(buf: Uint8Array): { offset: number; type: string }[] {
  const found: { offset: number; type: string }[] = [];
  for (let i = 0; i + 4 < buf.length; i++) {
    if (buf[i] !== 0x30) continue;
    const l = derLength(buf, i);
    // A private key's SEQUENCE starts with INTEGER version (0 or 1).
    if (!l || l.len < 30 || i + l.hdr + l.len > buf.length || buf[i + l.hdr] !== 0x02) continue;
    const slice = Buffer.from(buf.subarray(i, i + l.hdr + l.len));
    for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
      try {
        createPrivateKey({ key: slice, format: 'der', type });
        found.push({ offset: i, type });
        break;
      } catch {
        // not a private key of this type
      }
    }
  }
  return found;
}
