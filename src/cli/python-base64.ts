// The AWS CLI decodes base64 with Python's base64.b64decode() without validate=True: a
// --starting-token and (in AWS CLI v2) a blob value are read so, and ekms reads them the same way.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALUE = new Map([...ALPHABET].map((c, i) => [c, i]));

/**
 * Python's binascii.a2b_base64 in its lenient mode, over the text's UTF-8 bytes (so a character
 * that is not ASCII is skipped, as botocore's decoding of a token skips it): characters outside the alphabet are skipped,
 * a completed padding ends the input (what follows is ignored), and a last group cut short is an
 * error (undefined).
 */
export function pythonBase64(text: string): Buffer | undefined {
  const out: number[] = [];
  let quadPos = 0;
  let left = 0;
  let pads = 0;
  for (const c of text) {
    if (c === '=') {
      pads += 1;
      if (quadPos >= 2 && quadPos + pads >= 4) return Buffer.from(out);
      continue;
    }
    const v = VALUE.get(c);
    if (v === undefined) continue;
    pads = 0;
    switch (quadPos) {
      case 0:
        left = v;
        break;
      case 1:
        out.push(((left << 2) | (v >> 4)) & 0xff);
        left = v & 0x0f;
        break;
      case 2:
        out.push(((left << 4) | (v >> 2)) & 0xff);
        left = v & 0x03;
        break;
      case 3:
        out.push(((left << 6) | v) & 0xff);
        break;
    }
    quadPos = (quadPos + 1) % 4;
  }
  return quadPos === 0 ? Buffer.from(out) : undefined;
}
