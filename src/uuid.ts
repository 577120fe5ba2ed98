// Random (version 4) UUIDs for request and event ids, made once per call on the hot path of
// every operation (two per Sign: the request's id and its audit event's).
//
// crypto.randomUUID() builds its string from 20 pieces, about 570 bytes of garbage per id: with
// two ids a call, a quarter of all a Sign allocated, and the young generation filled twice as
// fast. Here the 36 characters are written into a scratch buffer and read out as one string.
// The random bytes are crypto.randomFillSync's, drawn 4 KiB at a time, as randomUUID does.
import { randomFillSync } from 'node:crypto';

const BATCH = 256; // ids per draw of random bytes
const pool = Buffer.allocUnsafeSlow(16 * BATCH);
let next = BATCH; // drawn on first use
const text = Buffer.allocUnsafeSlow(36);
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** Byte offsets in the 36 characters of each of the 16 bytes: dashes after bytes 4, 6, 8, 10. */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
text[8] = text[13] = text[18] = text[23] = 0x2d;

export function uuid(): string {
  if (next === BATCH) {
    randomFillSync(pool);
    next = 0;
  }
  const base = 16 * next++;
  for (let i = 0; i < 16; i++) {
    let b = pool[base + i]!;
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // RFC 9562 variant
    const at = AT[i]!;
    text[at] = HEX[b >> 4]!;
    text[at + 1] = HEX[b & 0x0f]!;
  }
  return text.toString('latin1', 0, 36);
}
