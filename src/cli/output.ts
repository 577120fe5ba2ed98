// Printing a response as the AWS CLI v2 does: members in the model's order, blobs as base64,
// timestamps as ISO 8601 in the local time zone (Python's datetime.isoformat(), which the AWS
// CLI uses) or as the wire's epoch seconds, then `--query` (JMESPath), then `--output json`
// (4-space indent), `--output text` (the AWS CLI's tab-separated format), `--output table`
// (table.ts) or `--output yaml` / `yaml-stream` (yaml.ts).
import { shapes } from '../model/service-model.js';
import { jmespath } from './jmespath.js';
import { pythonStr } from './python-str.js';
import { renderTable } from './table.js';
import { yamlDocument } from './yaml.js';
import { UsageError, type ParsedArgs } from './args.js';
import { setOwn } from '../own-key.js';

/** The --output a command line asks for (json when none), refused as the AWS CLI refuses it. */
export function outputFormat(args: ParsedArgs): OutputFormat {
  const value = args.globals.get('--output');
  if (value === undefined) return 'json';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(value))
    throw new UsageError(`argument --output: Found invalid choice '${value}'; valid choices: ${OUTPUT_FORMATS.join(', ')}`);
  return value as OutputFormat;
}

export type TimestampFormat = 'iso8601' | 'wire';
export const OUTPUT_FORMATS = ['json', 'text', 'table', 'yaml', 'yaml-stream'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Python's round(): halves to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Epoch seconds → `2026-03-04T05:06:07.890000+00:00` in the local zone, as Python's
 * datetime.fromtimestamp(t).isoformat() prints it: microseconds rounded half to even, and no
 * fraction when they are 0.
 */
export function isoTimestamp(epochSeconds: number): string {
  let whole = Math.trunc(epochSeconds);
  let micros = roundHalfEven((epochSeconds - whole) * 1e6);
  if (micros >= 1e6) {
    whole += 1;
    micros -= 1e6;
  } else if (micros < 0) {
    whole -= 1;
    micros += 1e6;
  }
  const ms = whole * 1000;
  const offset = -new Date(ms).getTimezoneOffset();
  const local = new Date(ms + offset * 60_000).toISOString().slice(0, 19);
  const frac = micros ? `.${pad(micros, 6)}` : '';
  const a = Math.abs(offset);
  return `${local}${frac}${offset >= 0 ? '+' : '-'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

const ISO_TEXT = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6})\d*)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * A timestamp another endpoint sent as text, as botocore reads it: a number of seconds, or ISO
 * 8601 kept in its own offset (`Z` is `+00:00`); anything else is printed as it came.
 */
function isoOfText(text: string): string {
  if (/^[+-]?\d+(\.\d+)?$/.test(text.trim())) return isoTimestamp(Number(text));
  const m = ISO_TEXT.exec(text.trim());
  if (!m) return text;
  const micros = Number((m[3] ?? '').padEnd(6, '0'));
  const zone = m[4] === undefined ? '' : /^z$/i.test(m[4]) ? '+00:00' : m[4].includes(':') ? m[4] : `${m[4].slice(0, 3)}:${m[4].slice(3)}`;
  return `${m[1]}T${m[2]}${micros ? `.${pad(micros, 6)}` : ''}${zone === '-00:00' ? '+00:00' : zone}`;
}

/**
 * A response as botocore parses it before the AWS CLI prints it: each structure's members in the
 * model's order, without the members the model does not have or that are null; lists and maps
 * item by item; other values (timestamps among them: forDisplay) as they came. Our endpoint
 * answers so already; another (AWS, an emulator, a proxy) may not, and the text format's columns
 * would move.
 */
export function asParsed(shapeName: string | undefined, value: unknown): unknown {
  if (!shapeName || value === null || value === undefined) return value;
  const s = shapes[shapeName];
  if (!s || typeof value !== 'object') return value;
  switch (s.type) {
    case 'list':
      return Array.isArray(value) ? value.map((v) => asParsed(s.member, v)) : value;
    case 'map': {
      if (Array.isArray(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) setOwn(out, k, asParsed(s.value, v));
      return out;
    }
    case 'structure': {
      if (Array.isArray(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [name, member] of Object.entries(s.members ?? {})) {
        const v = (value as Record<string, unknown>)[name];
        if (v !== null && v !== undefined) out[name] = asParsed(member.shape, v);
      }
      return out;
    }
    default:
      return value;
  }
}

/** Converts the timestamps of a wire value of `shapeName` for display. */
export function forDisplay(shapeName: string | undefined, value: unknown, format: TimestampFormat): unknown {
  if (format === 'wire' || !shapeName || value === null || value === undefined) return value;
  const s = shapes[shapeName];
  if (!s) return value;
  switch (s.type) {
    case 'timestamp':
      return typeof value === 'number' ? isoTimestamp(value) : typeof value === 'string' ? isoOfText(value) : value;
    case 'list':
      return Array.isArray(value) ? value.map((v) => forDisplay(s.member, v, format)) : value;
    case 'map': {
      if (typeof value !== 'object') return value;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) setOwn(out, k, forDisplay(s.value, v, format));
      return out;
    }
    case 'structure': {
      if (typeof value !== 'object') return value;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = forDisplay(s.members?.[k]?.shape, v, format);
      return out;
    }
    default:
      return value;
  }
}

/** A --query that cannot be parsed (exit 252), or fails on the response (an unknown function, a wrong argument: 255), as the AWS CLI reports them. */
export class QueryError extends Error {
  override readonly name = 'QueryError';
  constructor(
    message: string,
    readonly exitCode: 252 | 255,
  ) {
    super(message);
  }
}

/**
 * Whether a parsed expression has a missing child (jmespath.js's sign of a malformed one). A
 * slice's children are its start, stop and step, which may be missing (`a[1:]`).
 */
function hasHole(node: unknown): boolean {
  const { type, children } = (node ?? {}) as { type?: string; children?: unknown[] };
  if (type === 'Slice' || !Array.isArray(children)) return false;
  return children.some((c) => c === null || c === undefined || hasHole(c));
}

/** Whether a query result holds an expression reference (`&KeyId`), which is no JSON value. */
function holdsExpref(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if ((v as { jmespathType?: unknown }).jmespathType === 'Expref') return true;
  return Object.values(v).some(holdsExpref);
}

export function applyQuery(value: unknown, query: string | undefined): unknown {
  if (query === undefined) return value;
  // Parsed first: a parse error is a bad --query (exit 252), as in the AWS CLI. jmespath.js
  // parses some malformed expressions (`a..b`) into a tree with a hole, which would fail only
  // while searching, with a TypeError of its own.
  let tree: unknown;
  try {
    tree = jmespath.compile(query);
  } catch (err) {
    throw new QueryError(`Bad value for --query ${query}: ${(err as Error).message}`, 252);
  }
  if (hasHole(tree)) throw new QueryError(`Bad value for --query ${query}: Invalid jmespath expression`, 252);
  let result: unknown;
  try {
    result = jmespath.search(value as object, query) as unknown;
  } catch (err) {
    throw new QueryError((err as Error).message, 255);
  }
  // The AWS CLI cannot print one either: its JSON encoder fails on the function object.
  if (holdsExpref(result)) throw new QueryError('Circular reference detected', 255);
  return result;
}

// ---------------------------------------------------------------- text

function isContainer(v: unknown): boolean {
  return typeof v === 'object' && v !== null;
}

/** A response without members (`{}`): the AWS CLI prints nothing for it. */
const isEmptyMapping = (v: unknown): boolean => isContainer(v) && !Array.isArray(v) && Object.keys(v as object).length === 0;

function allScalarKeys(list: readonly Record<string, unknown>[]): string[] {
  const keys = new Set<string>();
  for (const d of list) for (const [k, v] of Object.entries(d)) if (!isContainer(v)) keys.add(k);
  return [...keys].sort();
}

function formatText(item: unknown, out: string[], identifier?: string, scalarKeys?: readonly string[]): void {
  if (Array.isArray(item)) formatList(item, out, identifier);
  else if (isContainer(item)) formatDict(item as Record<string, unknown>, out, identifier, scalarKeys);
  else out.push(`${pythonStr(item)}\n`);
}

function formatScalarList(elements: readonly unknown[], out: string[], identifier?: string): void {
  if (identifier !== undefined) for (const e of elements) out.push(`${identifier.toUpperCase()}\t${pythonStr(e)}\n`);
  else out.push(`${elements.map(pythonStr).join('\t')}\n`);
}

function formatList(list: readonly unknown[], out: string[], identifier?: string): void {
  if (list.length === 0) return;
  if (list.some((e) => isContainer(e) && !Array.isArray(e))) {
    const keys = allScalarKeys(list.filter((e) => isContainer(e) && !Array.isArray(e)) as Record<string, unknown>[]);
    for (const e of list) formatText(e, out, identifier, keys);
  } else if (list.some(Array.isArray)) {
    const scalars = list.filter((e) => !isContainer(e));
    if (scalars.length) formatScalarList(scalars, out, identifier);
    for (const e of list.filter(isContainer)) formatText(e, out, identifier);
  } else {
    formatScalarList(list, out, identifier);
  }
}

function formatDict(d: Record<string, unknown>, out: string[], identifier?: string, scalarKeys?: readonly string[]): void {
  const scalars: string[] = [];
  const nested: [string, unknown][] = [];
  if (scalarKeys === undefined) {
    for (const k of Object.keys(d).sort()) {
      if (isContainer(d[k])) nested.push([k, d[k]]);
      else scalars.push(pythonStr(d[k]));
    }
  } else {
    for (const k of scalarKeys) scalars.push(k in d ? pythonStr(d[k]) : '');
    for (const k of Object.keys(d).filter((k) => !scalarKeys.includes(k)).sort()) nested.push([k, d[k]]);
  }
  if (scalars.length) {
    if (identifier !== undefined) scalars.unshift(identifier.toUpperCase());
    out.push(`${scalars.join('\t')}\n`);
  }
  for (const [k, v] of nested) formatText(v, out, k);
}

/**
 * A response in YAML as the AWS CLI's YAML dumper prints it: a scalar (what a --query may leave)
 * as JSON, anything else as a YAML document.
 */
function yamlOf(value: unknown): string {
  if (value === null || value === undefined || typeof value !== 'object') return `${JSON.stringify(value ?? null)}\n`;
  return yamlDocument(value);
}

/**
 * The printed response: `''` for an empty response (the AWS CLI prints nothing for operations
 * without output), else JSON, text, a table or YAML ending in a newline; `table` titles the table
 * with the operation's name. `yaml-stream` prints each
 * response (each page of a paginated one: `page`) as an item of a YAML sequence.
 */
export function render(value: unknown, format: OutputFormat, queried: boolean, table?: { title: string; width?: number }, page = false): string {
  if (format === 'table') return renderTable(table?.title ?? '', value, table?.width);
  // The AWS CLI's JSON and YAML formatters leave out a response that is `{}` (after the --query,
  // if any: a query that makes one prints nothing too); its YAML stream leaves out only a
  // one-call response that is, and prints each page of a listing whatever it holds.
  if (format === 'yaml-stream') return !page && isEmptyMapping(value) ? '' : yamlDocument([value ?? null]);
  if (format === 'yaml') return isEmptyMapping(value) ? '' : yamlOf(value);
  if (format === 'json' && isEmptyMapping(value)) return '';
  if (!queried && isEmptyMapping(value)) return '';
  if (format === 'text') {
    if (value === null || value === undefined) return queried ? 'None\n' : '';
    const out: string[] = [];
    formatText(value, out);
    return out.join('');
  }
  return `${JSON.stringify(value, null, 4) ?? 'null'}\n`;
}
