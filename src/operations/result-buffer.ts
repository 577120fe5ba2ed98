// Results the addon makes on the calling thread (signatures, MACs, small ciphertexts) are written
// into a slice of Node's buffer pool that the call passes in, and the addon returns their length
// (binding/convert.hpp, intoCallersBuffer): a Buffer made by the addon has a backing store of its
// own, which with its later collection cost about 3 µs of a 40 µs software P-256 Sign. A result
// that does not fit, or one made on a pool thread, comes back as a Buffer of its own. Each call has
// its own slice, so nothing else writes into it meanwhile.
//
// Never a plaintext: a slice of the pool shares its ArrayBuffer with unrelated small Buffers of the
// process, and `.buffer` reaches all of it, from either side. A plaintext gets an ArrayBuffer of
// its own and exactly its size (secretRoom), or comes from the addon.

/**
 * Room for a result of at most `bytes` bytes: a slice of the pool, or undefined when the pool does
 * not serve that size (half of Buffer.poolSize and more: an allocation of its own either way, and
 * measured no cheaper from here than from the addon).
 */
export const resultRoom = (bytes: number): Buffer | undefined => (bytes < Buffer.poolSize >>> 1 ? Buffer.allocUnsafe(bytes) : undefined);

/** Room for a secret of exactly `bytes` bytes, in an ArrayBuffer of its own that it fills whole. */
export const secretRoom = (bytes: number): Buffer => Buffer.allocUnsafeSlow(bytes);

/**
 * `text` in UTF-8, in an ArrayBuffer of its own: for a request or response body that may carry a
 * plaintext (Buffer.from would put one under 4 KiB in the pool).
 */
export function ownUtf8(text: string): Buffer {
  const out = secretRoom(Buffer.byteLength(text, 'utf8'));
  out.write(text, 'utf8');
  return out;
}

/** `parts` joined in an ArrayBuffer of their own (Buffer.concat would use the pool under 4 KiB). */
export function ownConcat(parts: readonly Uint8Array[]): Buffer {
  const out = secretRoom(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The result: the part of `room` the addon filled, or the Buffer it made. */
export function resultIn(room: Buffer | undefined, r: number | Buffer): Buffer {
  if (typeof r !== 'number') return r;
  if (room === undefined) throw new TypeError('the addon wrote a result without room for it');
  return room.subarray(0, r);
}
