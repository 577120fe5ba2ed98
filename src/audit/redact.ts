// What of a request or response may go into the audit trail: the members of AWS's model, named
// as CloudTrail names them (lowerCamel), with every blob replaced by its length and every
// sensitive member (the model's `sensitive` flag: plaintexts, passwords) left out. The walk is
// driven by the model, never by the value: unknown members are dropped, and a value of the
// wrong type is described by its type, never copied (a caller may pass a plaintext as a string
// where a blob belongs, and that string must not reach the log either).
import { shapes } from '../model/service-model.js';

const MAX_STRING = 32 * 1024; // key policies are the longest strings (32 KiB)
const MAX_ITEMS = 1000;
const MAX_DEPTH = 12;

export interface BlobSummary {
  /** Length in bytes; the bytes themselves are never logged. */
  length: number;
}

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

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
const memberCache = new Map<string, { name: string; logged: string; shape: string }[]>();
function membersOf(shapeName: string): { name: string; logged: string; shape: string }[] {
  let m = memberCache.get(shapeName);
  if (!m) {
    m = Object.entries(shapes[shapeName]?.members ?? {}).map(([name, def]) => ({ name, logged: lowerFirst(name), shape: def.shape }));
    memberCache.set(shapeName, m);
  }
  return m;
}

/** A wrong-typed value: only its type is recorded. */
const invalid = (v: unknown) => ({ invalidType: typeName(v) });

function walk(shapeName: string, value: unknown, depth: number): unknown {
  const s = shapes[shapeName];
  if (!s || depth > MAX_DEPTH) return undefined;
  switch (s.type) {
    case 'blob':
      return value instanceof Uint8Array ? ({ length: value.byteLength } satisfies BlobSummary) : invalid(value);
    case 'string':
      if (typeof value !== 'string') return invalid(value);
      if (s.sensitive) return '[redacted]';
      return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…[${value.length - MAX_STRING} more characters]` : value;
    case 'integer':
    case 'long':
      return typeof value === 'number' && Number.isFinite(value) ? value : invalid(value);
    case 'boolean':
      return typeof value === 'boolean' ? value : invalid(value);
    case 'timestamp':
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? invalid(value) : value.toISOString();
      return typeof value === 'number' && Number.isFinite(value) ? new Date(value * 1000).toISOString() : invalid(value);
    case 'list': {
      if (!Array.isArray(value)) return invalid(value);
      const out: unknown[] = [];
      for (const el of value.slice(0, MAX_ITEMS)) out.push(el === null || el === undefined ? null : walk(s.member!, el, depth + 1));
      if (value.length > MAX_ITEMS) out.push(`…[${value.length - MAX_ITEMS} more items]`);
      return out;
    }
    case 'map': {
      if (!isPlainObject(value)) return invalid(value);
      const out: Record<string, unknown> = {};
      const keys = Object.keys(value);
      const keyShape = shapes[s.key!];
      for (const k of keys.slice(0, MAX_ITEMS)) {
        const name = keyShape?.sensitive ? '[redacted]' : k.length > 1024 ? `${k.slice(0, 1024)}…` : k;
        const v = value[k];
        out[name] = v === null || v === undefined ? null : walk(s.value!, v, depth + 1);
      }
      return out;
    }
    case 'structure': {
      if (!isPlainObject(value)) return invalid(value);
      const out: Record<string, unknown> = {};
      for (const m of membersOf(shapeName)) {
        const v = value[m.name];
        if (v === undefined || v === null) continue;
        const w = walk(m.shape, v, depth + 1);
        if (w !== undefined) out[m.logged] = w;
      }
      return out;
    }
  }
}

/**
 * The loggable form of a value of `shapeName` (a request or response structure), or null when
 * there is nothing to log (no shape, or no value).
 */
export function loggable(shapeName: string | undefined, value: unknown): Record<string, unknown> | null {
  if (!shapeName || value === undefined || value === null) return null;
  const out = walk(shapeName, value, 0);
  return isPlainObject(out) ? out : { input: out };
}
