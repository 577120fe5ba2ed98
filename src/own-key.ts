// Maps built from a caller's data (an encryption context, a grant's constraints, tags given as
// shorthand) may have any string as a key, "__proto__" included. Assigning that key
// (`out[key] = value`) sets the object's prototype instead of adding an entry: the pair would be
// dropped without a word, and an encryption context made narrower than the caller's. setOwn
// always adds the entry.
export function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}
