// What of a request or response may go into the audit trail: the members of AWS's model, named
// as CloudTrail names them (lowerCamel), with every blob left out (CloudTrail omits plaintexts,
// ciphertexts, messages, signatures and MACs, and so not even their lengths are told) and every
// sensitive string (the model's `sensitive` flag: passwords) redacted. The walk is
// driven by the model, never by the value: unknown members are dropped, and a value of the
// wrong type is described by its type, never copied (a caller may pass a plaintext in an array
// where a blob belongs, and it must not reach the log either). A string for a blob is its UTF-8
// bytes (validate.ts), logged by their length.
import { isNeverShown } from '../model/never-shown.js';
import { shapes } from '../model/service-model.js';

const MAX_STRING = 32 * 1024; // key policies are the longest strings (32 KiB)
const MAX_ITEMS = 1000;
const MAX_DEPTH = 12;

// CloudTrail's member names: the first letter lowered, unless the first two are capitals (Java's
// Introspector.decapitalize, whose rule the documented events follow: "AWSAccountId" stays).
const lowerFirst = (s: string): string => (/^[A-Z]{2}/.test(s) ? s : s.charAt(0).toLowerCase() + s.slice(1));

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v;
}

// Member lists per structure, computed once (this runs for every operation).
interface Member {
  name: string;
  logged: string;
  shape: string;
  blob: boolean;
}
const memberCache = new Map<string, Member[]>();
function membersOf(shapeName: string): Member[] {
  let m = memberCache.get(shapeName);
  if (!m) {
    m = Object.entries(shapes[shapeName]?.members ?? {}).map(([name, def]) => ({ name, logged: lowerFirst(name), shape: def.shape, blob: shapes[def.shape]?.type === 'blob' }));
    memberCache.set(shapeName, m);
  }
  return m;
}

/** A wrong-typed value: only its type is recorded. */
const invalid = (v: unknown): string => `{"invalidType":"${typeName(v)}"}`;

// Strings that need no escaping are quoted directly (most are: names, ids, ARNs, enums).
const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;
export const jsonString = (s: string): string => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A date inside requestParameters or responseElements as CloudTrail writes KMS's: US medium
 * date and time in UTC, "Aug 10, 2022, 10:38:27 PM" (ct-createkey's creationDate,
 * ct-importkeymaterial's validTo). Only eventTime is ISO 8601.
 */
export function cloudTrailDate(d: Date): string {
  const h = d.getUTCHours();
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${h % 12 === 0 ? 12 : h % 12}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}

const dateOrInvalid = (d: Date): string => (Number.isNaN(d.getTime()) ? invalid(d) : `"${cloudTrailDate(d)}"`);

/**
 * The JSON text of a value of a model shape, as it may be logged; undefined when nothing is
 * logged for it (no shape, too deep). Written as text directly, without an intermediate object:
 * this runs for every operation, on the hot path of Sign and Encrypt.
 */
function json(shapeName: string, value: unknown, depth: number): string | undefined {
  const s = shapes[shapeName];
  if (!s || depth > MAX_DEPTH) return undefined;
  switch (s.type) {
    case 'blob':
      // Left out, a string too (validate.ts takes it for its UTF-8 bytes); a value of another
      // type is described by its type, as everywhere.
      return typeof value === 'string' || value instanceof Uint8Array ? undefined : invalid(value);
    case 'string':
      if (typeof value !== 'string') return invalid(value);
      if (s.sensitive || isNeverShown(shapeName)) return '"[redacted]"';
      return jsonString(value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…[${value.length - MAX_STRING} more characters]` : value);
    case 'integer':
    case 'long':
      return typeof value === 'number' && Number.isFinite(value) ? String(value) : invalid(value);
    case 'boolean':
      return typeof value === 'boolean' ? String(value) : invalid(value);
    case 'timestamp':
      if (value instanceof Date) return dateOrInvalid(value);
      return typeof value === 'number' && Number.isFinite(value) ? dateOrInvalid(new Date(value * 1000)) : invalid(value);
    case 'list': {
      if (!Array.isArray(value)) return invalid(value);
      const out: string[] = [];
      for (const el of value.slice(0, MAX_ITEMS)) out.push(el === null || el === undefined ? 'null' : (json(s.member!, el, depth + 1) ?? 'null'));
      if (value.length > MAX_ITEMS) out.push(jsonString(`…[${value.length - MAX_ITEMS} more items]`));
      return `[${out.join(',')}]`;
    }
    case 'map': {
      if (!isPlainObject(value)) return invalid(value);
      const keyShape = shapes[s.key!];
      // Names are unique in the value; redacted or shortened ones may not be: the last one wins.
      const out = new Map<string, string>();
      for (const k of Object.keys(value).slice(0, MAX_ITEMS)) {
        const name = keyShape?.sensitive ? '[redacted]' : k.length > 1024 ? `${k.slice(0, 1024)}…` : k;
        const v = value[k];
        const text = v === null || v === undefined ? 'null' : json(s.value!, v, depth + 1);
        if (text === undefined) out.delete(name);
        else {
          out.delete(name); // a repeated name takes the place of its last occurrence, as in an object literal
          out.set(name, text);
        }
      }
      return `{${[...out].map(([name, text]) => `${jsonString(name)}:${text}`).join(',')}}`;
    }
    case 'structure': {
      if (!isPlainObject(value)) return invalid(value);
      let out = '';
      for (const m of membersOf(shapeName)) {
        const v = value[m.name];
        if (v === undefined || v === null) continue;
        const text = json(m.shape, v, depth + 1);
        if (text !== undefined) out += `${out ? ',' : ''}"${m.logged}":${text}`;
      }
      return `{${out}}`;
    }
  }
}

/**
 * The loggable form of a value of `shapeName` (a request or response structure) as JSON text,
 * or 'null' when there is nothing to log (no shape, or no value).
 */
export function loggableJson(shapeName: string | undefined, value: unknown): string {
  if (!shapeName || value === undefined || value === null) return 'null';
  const out = json(shapeName, value, 0);
  if (out === undefined) return '{}';
  return out.startsWith('{') ? out : `{"input":${out}}`;
}

/**
 * What the logged form of a request depends on, when every member it has is a scalar or a blob
 * (Sign, Verify, GenerateMac, Decrypt without a context...): each member's value, a blob's
 * presence alone. Undefined for any other request (a list, a map, a nested structure, a value of an
 * unexpected type): its logged form is made afresh each time.
 *
 * Two requests with equal fingerprints (sameFingerprint) log the same JSON: the hot path of the
 * cryptographic operations reuses that text (event.ts) instead of walking the model again.
 */
export function scalarFingerprint(shapeName: string, value: unknown): unknown[] | undefined {
  if (shapes[shapeName]?.type !== 'structure' || !isPlainObject(value)) return undefined;
  const members = membersOf(shapeName);
  const out = new Array<unknown>(members.length);
  for (let i = 0; i < members.length; i++) {
    const f = fingerprintOf(members[i]!, value[members[i]!.name]);
    if (f === NO_FINGERPRINT) return undefined;
    out[i] = f;
  }
  return out;
}

/**
 * The logged JSON of a request with this fingerprint: what loggableJson() gives for it, made from
 * the fingerprint's values (one reading of the request serves both, so a member that changes
 * between readings, a getter, cannot leave text that does not match its fingerprint).
 */
export function fingerprintJson(shapeName: string, fingerprint: readonly unknown[]): string {
  const members = membersOf(shapeName);
  let out = '';
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    const f = fingerprint[i];
    if (f === undefined) continue;
    if (m.blob) continue; // never logged (json)
    const text = json(m.shape, f, 1);
    if (text !== undefined) out += `${out ? ',' : ''}"${m.logged}":${text}`;
  }
  return `{${out}}`;
}

/** Whether `value` has the fingerprint `previous` (made by scalarFingerprint for the same shape). */
export function sameFingerprint(shapeName: string, value: unknown, previous: readonly unknown[]): boolean {
  if (!isPlainObject(value)) return false;
  const members = membersOf(shapeName);
  for (let i = 0; i < members.length; i++) {
    const f = fingerprintOf(members[i]!, value[members[i]!.name]);
    // NaN never equals itself: such a member misses every time, and is logged afresh.
    if (f === NO_FINGERPRINT || f !== previous[i]) return false;
  }
  return true;
}

const NO_FINGERPRINT = Symbol('no fingerprint');

// A member's part of the fingerprint: absent members are undefined (null is logged as absent
// too); a blob is `true` (nothing of it is logged); a primitive is itself. A blob member takes
// Uint8Arrays only (another value is logged afresh, by its type).
function fingerprintOf(member: Member, v: unknown): unknown {
  if (v === undefined || v === null) return undefined;
  if (member.blob) return v instanceof Uint8Array ? true : NO_FINGERPRINT;
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean' ? v : NO_FINGERPRINT;
}

/** loggableJson(), parsed. */
export function loggable(shapeName: string | undefined, value: unknown): Record<string, unknown> | null {
  return JSON.parse(loggableJson(shapeName, value)) as Record<string, unknown> | null;
}
