// An Ed25519 verifier of our own (RFC 8032 §5.1.7, in BigInt arithmetic), for the one signature
// nothing else on these machines can check: Ed25519ph (HashEdDSA), which Node's crypto does not
// offer and OpenSSL has only from 3.2 on, where it is the very library that made the signature.
// Slow (a few milliseconds a verification) and not constant-time: it checks, it never signs.
import { createHash, createPublicKey } from 'node:crypto';

const p = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

const mod = (a: bigint, m = p): bigint => ((a % m) + m) % m;

function pow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % p;
    b = (b * b) % p;
  }
  return result;
}

const inv = (a: bigint): bigint => pow(a, p - 2n);
const d = mod(-121665n * inv(121666n));
const sqrtMinus1 = pow(2n, (p - 1n) / 4n);

/** A point in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z. */
type Point = [bigint, bigint, bigint, bigint];

function add([x1, y1, z1, t1]: Point, [x2, y2, z2, t2]: Point): Point {
  const a = mod((y1 - x1) * (y2 - x2));
  const b = mod((y1 + x1) * (y2 + x2));
  const c = mod(2n * d * t1 * t2);
  const dd = mod(2n * z1 * z2);
  const e = b - a;
  const f = dd - c;
  const g = dd + c;
  const h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

function multiply(s: bigint, point: Point): Point {
  let result: Point = [0n, 1n, 1n, 0n];
  let q = point;
  for (let k = s; k > 0n; k >>= 1n) {
    if (k & 1n) result = add(result, q);
    q = add(q, q);
  }
  return result;
}

function encode([x, y, z]: Point): Buffer {
  const zi = inv(z);
  const ax = mod(x * zi);
  let n = mod(y * zi);
  if (ax & 1n) n |= 1n << 255n;
  const out = Buffer.alloc(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

const littleEndian = (bytes: Uint8Array): bigint => {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
};

/** The point a 32-byte encoding names, or undefined when it names none (RFC 8032 §5.1.3). */
function decode(bytes: Uint8Array): Point | undefined {
  if (bytes.length !== 32) return undefined;
  const n = littleEndian(bytes);
  const sign = n >> 255n;
  const y = n & ((1n << 255n) - 1n);
  if (y >= p) return undefined;
  const u = mod(y * y - 1n);
  const v = mod(d * y * y + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (p - 5n) / 8n));
  const vx2 = mod(v * x * x);
  if (vx2 === mod(-u)) x = mod(x * sqrtMinus1);
  else if (vx2 !== u) return undefined;
  if (x === 0n && sign === 1n) return undefined;
  if ((x & 1n) !== sign) x = p - x;
  return [x, y, 1n, mod(x * y)];
}

const baseY = mod(4n * inv(5n));
const base = decode(Buffer.from(baseY.toString(16).padStart(64, '0'), 'hex').reverse())!;

/** The 32-byte public key inside an Ed25519 SubjectPublicKeyInfo (GetPublicKey's output). */
export function ed25519RawPublicKey(spkiDer: Uint8Array): Buffer {
  const jwk = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('not an Ed25519 public key');
  return Buffer.from(jwk.x, 'base64url');
}

/**
 * RFC 8032 verification of `signature` over `message` by the raw 32-byte `publicKey`: pure
 * Ed25519, or with `prehash` Ed25519ph, which signs SHA-512(message) under dom2(1, "").
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, { prehash = false } = {}): boolean {
  if (signature.length !== 64) return false;
  const A = decode(publicKey);
  const R = decode(signature.subarray(0, 32));
  const S = littleEndian(signature.subarray(32));
  if (!A || !R || S >= L) return false;
  const h = createHash('sha512');
  if (prehash) h.update(Buffer.concat([Buffer.from('SigEd25519 no Ed25519 collisions', 'latin1'), Buffer.from([1, 0])]));
  h.update(signature.subarray(0, 32)).update(publicKey);
  h.update(prehash ? createHash('sha512').update(message).digest() : message);
  const k = mod(littleEndian(h.digest()), L);
  // [S]B = R + [k]A, compared by encoding (the cofactorless check; either is RFC 8032's).
  return encode(multiply(S, base)).equals(encode(add(R, multiply(k, A))));
}
