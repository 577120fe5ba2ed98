// Model-driven input validation, shared by the library, the endpoint and the CLI: every request
// is checked against the constraints of AWS's service model (required members, string and blob
// lengths, integer ranges, enums, patterns, list lengths) before any key is looked up, and a
// violation is reported as AWS reports it, word for word:
//
//   1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint:
//   Member must have value less than or equal to 1024
//
// Format notes (from recorded AWS responses and Coral-based services):
// - several violations: "N validation errors detected: " + violations joined by "; ";
// - a missing member: "Value null at 'keyId' … Member must not be null";
// - blobs and sensitive members never show their value: "Value at 'plaintext' failed …";
// - paths use lowerCamel member names; list elements are "tags.1.member.tagKey" (1-based);
// - a list of constrained scalars fails as a whole: "Value '[a, b]' at 'grantTokens' failed to
//   satisfy constraint: Member must satisfy constraint: [Member must have length …]";
// - string lengths count Unicode code points (Java's codePointCount), blob lengths count bytes;
// - patterns must match the whole string (Java's Pattern.matches);
// - enum sets are listed in the order AWS lists them where recorded AWS responses show that
//   order (it is not the model's order), else in the model's order.
//
// Library inputs are JS values: Uint8Array (Buffer too) for blobs, Date or a number of epoch
// seconds for timestamps. As @aws-sdk/client-kms takes them, a string for a blob is its UTF-8
// bytes (the SDK's own examples pass `Plaintext: "<binary data>"`), and a map entry whose value
// is undefined is left out. A value of another wrong JS type (a string for an integer, a number
// for an enum, …) would make the AWS SDK fail while serializing the request; we report it as a
// ValidationException in the same format ("Member must be a string", …) so the caller learns
// which member is wrong. Unknown members are ignored, as AWS ignores them.
//
// Validators are compiled once per shape, lazily, and allocate nothing on success (this runs on
// the hot path of Sign and Encrypt).

import { operations, shapes, type OperationName, type ShapeDef } from './service-model.js';
import { UnknownOperationException, ValidationException } from '../errors.js';

const utf8 = new TextEncoder();

/** Coral stops collecting violations after this many. */
const MAX_ERRORS = 10;

/**
 * Enum orders as AWS's validation messages list them, from aws-kms-recorded-responses.json
 * (AWS's order is neither the model's nor alphabetical). Values the recording predates are
 * appended in the model's order.
 */
const AWS_ENUM_ORDER: Record<string, readonly string[]> = {
  KeySpec: ['RSA_2048', 'ECC_NIST_P384', 'ECC_NIST_P256', 'ECC_NIST_P521', 'HMAC_384', 'RSA_3072', 'ECC_SECG_P256K1', 'RSA_4096', 'SYMMETRIC_DEFAULT', 'HMAC_256', 'HMAC_224', 'HMAC_512'],
  KeyUsageType: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC'],
  MacAlgorithmSpec: ['HMAC_SHA_384', 'HMAC_SHA_256', 'HMAC_SHA_224', 'HMAC_SHA_512'],
  KeyAgreementAlgorithmSpec: ['ECDH'],
};

/**
 * Values AWS's messages leave out although the model has them: SM2 keys exist in the China
 * Regions only, and the recorded KeySpec message (April 2023, when the model already had SM2)
 * does not list it. (SM2DSA and SM2PKE may be left out likewise; no recording says so.)
 */
const AWS_ENUM_OMITTED: Record<string, readonly string[]> = { KeySpec: ['SM2'] };

/** The enum values of a shape in the order AWS's error messages list them. */
export function enumMessageOrder(shapeName: string): readonly string[] {
  const omitted = AWS_ENUM_OMITTED[shapeName] ?? [];
  const values = (shapes[shapeName]?.enum ?? []).filter((v) => !omitted.includes(v));
  const aws = AWS_ENUM_ORDER[shapeName];
  if (!aws) return values;
  const known = aws.filter((v) => values.includes(v));
  return [...known, ...values.filter((v) => !known.includes(v))];
}

// ---------------------------------------------------------------- errors

class Collector {
  errors: string[] | undefined;
  protected push(text: string): void {
    const errors = (this.errors ??= []);
    if (errors.length < MAX_ERRORS) errors.push(text);
  }
  /** A constraint violation. */
  add(shown: string, path: string, constraint: string): void {
    this.push(`Value ${shown}at '${path}' failed to satisfy constraint: ${constraint}`);
  }
  /** A value of the wrong JS type (or a null list element / map value). */
  addType(shown: string, path: string, what: string): void {
    this.add(shown, path, what);
  }
}

/**
 * Collects for a list of constrained scalars or a map: counts constraint violations (reported
 * once, for the whole list or map, by the caller) and passes type errors on to `parent`.
 */
class Tally extends Collector {
  violations = 0;
  constructor(private readonly parent: Collector) {
    super();
  }
  override add(): void {
    this.violations++;
  }
  override addType(shown: string, path: string, what: string): void {
    this.parent.addType(shown, path, what);
  }
}

/** "N validation error(s) detected: a; b" */
export function validationMessage(errors: readonly string[]): string {
  const n = errors.length;
  return `${n} validation error${n === 1 ? '' : 's'} detected: ${errors.join('; ')}`;
}

// Java's toString of the value, quoted, with a trailing space ("'1025' "), or "null ", or ""
// for values AWS does not show (blobs, sensitive members).
function shown(value: unknown, hidden: boolean): string {
  if (value === null || value === undefined) return 'null ';
  if (hidden) return '';
  return `'${javaString(value)}' `;
}

// Lists and objects nested deeper than this are shown as "...": a library caller's value may be
// nested thousands deep (the endpoint's decoder refuses such JSON before), and rendering it all
// would overflow the stack, turning a ValidationException into an internal error.
const MAX_SHOWN_DEPTH = 8;

function javaString(value: unknown, depth = 0): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Uint8Array) return `java.nio.HeapByteBuffer[pos=0 lim=${value.byteLength} cap=${value.byteLength}]`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (typeof value === 'object' && depth >= MAX_SHOWN_DEPTH) return '...';
  if (Array.isArray(value)) return `[${value.map((v) => javaString(v, depth + 1)).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}=${javaString(v, depth + 1)}`)
      .join(', ')}}`;
  }
  return typeof value;
}

// ---------------------------------------------------------------- compiled validators

/** Checks `value` (never null/undefined), records violations, returns the value (normalized). */
type Validator = (value: unknown, path: string, c: Collector) => unknown;

const compiled = new Map<string, Validator>();

function validatorFor(shapeName: string): Validator {
  let v = compiled.get(shapeName);
  if (!v) {
    // Register a forwarder first so recursive shapes compile.
    let real: Validator | undefined;
    compiled.set(shapeName, (value, path, c) => real!(value, path, c));
    real = compile(shapeName);
    compiled.set(shapeName, real);
    v = real;
  }
  return v;
}

function shapeOf(name: string): ShapeDef {
  const s = shapes[name];
  if (!s) throw new Error(`service model has no shape ${name}`);
  return s;
}

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function patternRegExp(pattern: string): RegExp {
  // Java's Pattern.matches: the whole value must match. Model patterns are Java regexes; the ones
  // of the KMS model mean the same in JavaScript without the u flag.
  return new RegExp(`^(?:${pattern})$`);
}

/** The constraint texts of a scalar shape, in the order AWS lists them inside "[…]". */
function constraintTexts(name: string, s: ShapeDef): string[] {
  const out: string[] = [];
  if (s.enum) out.push(`Member must satisfy enum value set: [${enumMessageOrder(name).join(', ')}]`);
  if (s.type === 'integer' || s.type === 'long') {
    if (s.max !== undefined) out.push(`Member must have value less than or equal to ${s.max}`);
    if (s.min !== undefined) out.push(`Member must have value greater than or equal to ${s.min}`);
  } else {
    if (s.max !== undefined) out.push(`Member must have length less than or equal to ${s.max}`);
    if (s.min !== undefined) out.push(`Member must have length greater than or equal to ${s.min}`);
    if (s.pattern !== undefined) out.push(`Member must satisfy regular expression pattern: ${s.pattern}`);
  }
  return out;
}

function hasConstraints(s: ShapeDef): boolean {
  return s.enum !== undefined || s.min !== undefined || s.max !== undefined || s.pattern !== undefined;
}

function compile(name: string): Validator {
  const s = shapeOf(name);
  const hidden = s.type === 'blob' || s.sensitive === true;
  const typeError = (value: unknown, path: string, c: Collector, what: string): unknown => {
    c.addType(shown(value, hidden), path, `Member must be ${what}`);
    return value;
  };
  const { min, max } = s;

  switch (s.type) {
    case 'string': {
      const re = s.pattern !== undefined ? patternRegExp(s.pattern) : undefined;
      const enumSet = s.enum ? new Set(s.enum) : undefined;
      const enumText = s.enum ? `Member must satisfy enum value set: [${enumMessageOrder(name).join(', ')}]` : '';
      const twiceMin = (min ?? 0) * 2;
      return (value, path, c) => {
        if (typeof value !== 'string') return typeError(value, path, c, enumSet ? 'a string (one of the enum values)' : 'a string');
        if (min !== undefined || max !== undefined) {
          let n = value.length; // UTF-16 units >= code points >= units / 2
          if ((max !== undefined && n > max) || n < twiceMin) n = codePointLength(value);
          if (min !== undefined && n < min) c.add(shown(value, hidden), path, `Member must have length greater than or equal to ${min}`);
          if (max !== undefined && n > max) c.add(shown(value, hidden), path, `Member must have length less than or equal to ${max}`);
        }
        if (re && !re.test(value)) c.add(shown(value, hidden), path, `Member must satisfy regular expression pattern: ${s.pattern}`);
        if (enumSet && !enumSet.has(value)) c.add(shown(value, hidden), path, enumText);
        return value;
      };
    }
    case 'integer':
    case 'long':
      return (value, path, c) => {
        if (typeof value !== 'number' || !Number.isInteger(value)) return typeError(value, path, c, 'an integer');
        if (min !== undefined && value < min) c.add(shown(value, hidden), path, `Member must have value greater than or equal to ${min}`);
        if (max !== undefined && value > max) c.add(shown(value, hidden), path, `Member must have value less than or equal to ${max}`);
        return value;
      };
    case 'boolean':
      return (value, path, c) => (typeof value === 'boolean' ? value : typeError(value, path, c, 'a boolean'));
    case 'blob':
      return (given, path, c) => {
        const value = typeof given === 'string' ? utf8.encode(given) : given;
        if (!(value instanceof Uint8Array)) return typeError(value, path, c, 'a Uint8Array');
        const n = value.byteLength;
        if (min !== undefined && n < min) c.add('', path, `Member must have length greater than or equal to ${min}`);
        if (max !== undefined && n > max) c.add('', path, `Member must have length less than or equal to ${max}`);
        return value;
      };
    case 'timestamp':
      return (value, path, c) => {
        if (value instanceof Date && !Number.isNaN(value.getTime())) return new Date(value.getTime());
        if (typeof value === 'number' && Number.isFinite(value)) return new Date(value * 1000);
        return typeError(value, path, c, 'a Date or a number of seconds since the epoch');
      };
    case 'list':
      return compileList(name, s, hidden);
    case 'map':
      return compileMap(s);
    case 'structure':
      return compileStructure(s);
  }
}

function compileList(name: string, s: ShapeDef, hidden: boolean): Validator {
  const memberName = s.member!;
  const ms = shapeOf(memberName);
  const { min, max } = s;
  const scalar = ms.type !== 'structure' && ms.type !== 'list' && ms.type !== 'map';
  // A list of constrained scalars reports one violation for the whole list, listing every
  // constraint of the element shape; other lists report per element ("tags.1.member.tagKey").
  const aggregate = scalar && hasConstraints(ms);
  const aggregateText = aggregate ? `Member must satisfy constraint: [${constraintTexts(memberName, ms).join(', ')}]` : '';
  let member: Validator | undefined;
  return (value, path, c) => {
    if (!Array.isArray(value)) {
      c.addType(shown(value, hidden), path, 'Member must be a list');
      return value;
    }
    const n = value.length;
    if (min !== undefined && n < min) c.add(shown(value, hidden), path, `Member must have length greater than or equal to ${min}`);
    if (max !== undefined && n > max) c.add(shown(value, hidden), path, `Member must have length less than or equal to ${max}`);
    const out: unknown[] = new Array<unknown>(n);
    if (n === 0) return out;
    member ??= validatorFor(memberName);
    const tally = aggregate ? new Tally(c) : undefined;
    for (let i = 0; i < n; i++) {
      const el: unknown = value[i];
      const elPath = `${path}.${i + 1}.member`;
      if (el === null || el === undefined) {
        c.addType('null ', elPath, 'Member must not be null');
        continue;
      }
      out[i] = member(el, elPath, tally ?? c);
    }
    if (tally && tally.violations > 0) c.add(shown(value, hidden), path, aggregateText);
    return out;
  };
}

function compileMap(s: ShapeDef): Validator {
  const keyName = s.key!;
  const valueName = s.value!;
  const ks = shapeOf(keyName);
  const vs = shapeOf(valueName);
  const keyText = `Map keys must satisfy constraint: [${constraintTexts(keyName, ks).join(', ')}]`;
  const valueText = `Map value must satisfy constraint: [${constraintTexts(valueName, vs).join(', ')}]`;
  // Keys are always strings; check them only when their shape constrains them.
  const checkKeys = ks.type === 'string' && hasConstraints(ks);
  // Plain string values (EncryptionContext) take a fast path without a compiled validator.
  const plainStrings = vs.type === 'string' && !hasConstraints(vs);
  const { min, max } = s;
  let keyV: Validator | undefined;
  let valV: Validator | undefined;
  return (value, path, c) => {
    if (!isPlainObject(value)) {
      c.addType(shown(value, false), path, 'Member must be a map');
      return value;
    }
    // Each value read once: an entry whose value is undefined is no entry (the SDK leaves it out
    // of the request). The copy is made by Object.fromEntries, which keeps a key such as
    // "__proto__" an entry of its own, as JSON.parse does (an assignment would drop it).
    const entries: [string, unknown][] = [];
    for (const k of Object.keys(value)) {
      const v = value[k];
      if (v !== undefined) entries.push([k, v]);
    }
    const n = entries.length;
    if (min !== undefined && n < min) c.add(shown(value, false), path, `Member must have length greater than or equal to ${min}`);
    if (max !== undefined && n > max) c.add(shown(value, false), path, `Member must have length less than or equal to ${max}`);
    if (plainStrings && !checkKeys) {
      for (const [k, v] of entries)
        if (typeof v !== 'string') c.addType(shown(v, false), `${path}.${k}`, v === null ? 'Member must not be null' : 'Member must be a string');
      return Object.fromEntries(entries);
    }
    const keyTally = new Tally(c);
    const valueTally = new Tally(c);
    for (const entry of entries) {
      const [k, v] = entry;
      if (checkKeys) (keyV ??= validatorFor(keyName))(k, `${path}.${k}`, keyTally);
      if (v === null) {
        c.addType('null ', `${path}.${k}`, 'Member must not be null');
        continue;
      }
      entry[1] = (valV ??= validatorFor(valueName))(v, `${path}.${k}`, valueTally);
    }
    if (keyTally.violations > 0) c.add(shown(value, false), path, keyText);
    if (valueTally.violations > 0) c.add(shown(value, false), path, valueText);
    return Object.fromEntries(entries);
  };
}

function compileStructure(s: ShapeDef): Validator {
  const members = Object.entries(s.members ?? {}).map(([m, d]) => ({
    name: m,
    wire: lowerFirst(m),
    shape: d.shape,
    required: s.required?.includes(m) === true,
    v: undefined as Validator | undefined,
  }));
  return (value, path, c) => {
    if (!isPlainObject(value)) {
      // Not shown: a structure may hold secrets (an XKS proxy's credential), and a value of the
      // wrong type given for it is whatever the caller had at hand, its members in the clear.
      // Only a library caller gets here (the endpoint's decoder refuses such JSON first).
      c.addType(shown(value, true), path, 'Member must be a structure');
      return value;
    }
    // The model's members as validated, each read once (inherited ones too: class instances with
    // getters on their prototype); members outside the model are left out.
    const out: Record<string, unknown> = {};
    for (const m of members) {
      const v = value[m.name];
      const p = path === '' ? m.wire : `${path}.${m.wire}`;
      if (v === undefined || v === null) {
        // null is absent (as on the wire): operations test members against undefined only.
        if (m.required) c.add('null ', p, 'Member must not be null');
        continue;
      }
      out[m.name] = (m.v ??= validatorFor(m.shape))(v, p, c);
    }
    return out;
  };
}

// ---------------------------------------------------------------- public API

/**
 * Validates `value` against a shape of the model. Returns the (normalized) value and the
 * violation texts (without the "N validation errors detected: " prefix); `path` is the lowerCamel
 * path of the value ('' for a request structure).
 */
export function validateShape(shapeName: string, value: unknown, path = ''): { value: unknown; errors: string[] } {
  const c = new Collector();
  const out = value === undefined || value === null ? value : validatorFor(shapeName)(value, path, c);
  return { value: out, errors: c.errors ?? [] };
}

/**
 * Validates a library-side request of `operation` against the model and returns a copy of it:
 * every member of the model read once, as validated (timestamps given as epoch seconds become
 * Dates), in structures, lists and maps of its own. The operation uses only the copy, so a getter
 * that answers differently the second time, or a caller that changes its object while the call
 * waits (for due rotations, say), cannot make it act on a value that was never validated: a
 * rotation period of 0 days, read after a valid one was checked, made a key rotate forever and
 * every later call of the store wait on it. Blobs are not copied. `undefined` or `null` input is
 * `{}`. Throws ValidationException with AWS's message.
 */
export function validateInput(operation: OperationName, input: unknown): Record<string, unknown> {
  const op = operations[operation];
  if (!op) throw new UnknownOperationException(`Unknown operation ${String(operation)}`);
  const value: unknown = input === undefined || input === null ? {} : input;
  if (!isPlainObject(value)) {
    throw new ValidationException(`The input of ${operation} must be an object with the operation's members`);
  }
  if (!op.input) return value;
  const c = new Collector();
  const out = validatorFor(op.input)(value, '', c);
  if (c.errors) throw new ValidationException(validationMessage(c.errors));
  return out as Record<string, unknown>;
}
