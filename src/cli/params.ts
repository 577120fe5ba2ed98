// Command-line values → the AWS JSON (wire) form of an operation's input, as the AWS CLI v2
// reads them: blobs as base64 or `fileb://path` (raw bytes), `file://path` for text, maps and
// structures as JSON or shorthand (`k=v,k2=v2`), lists as several arguments (or one JSON list),
// lists of structures as several shorthand arguments (`TagKey=a,TagValue=b TagKey=c,TagValue=d`).
// The result goes through the same codec and validation as an endpoint request.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';

import { parse as parseYaml } from 'yaml';

import { encodeBase64 } from '../model/codec.js';
import { pythonBase64 } from './python-base64.js';
import { shapes, type ShapeDef } from '../model/service-model.js';
import { UnknownOptionsError, UsageError } from './args.js';
import { parseShorthand, ShorthandError, type ShorthandValue } from './shorthand.js';
import { cliTimestampMs } from './timestamp.js';
import { setOwn } from '../own-key.js';

/**
 * A value the CLI cannot read: exit 252, as the AWS CLI's parameter errors; 255 for those it
 * meets only while converting a value (invalid base64, an integer Python's int() refuses), where
 * its error escapes as an unexpected one.
 */
export class ParamError extends Error {
  override readonly name = 'ParamError';
  constructor(
    message: string,
    readonly exitCode: 252 | 255 = 252,
  ) {
    super(message);
  }
}

export type BinaryFormat = 'base64' | 'raw-in-base64-out';

export interface ParamContext {
  binaryFormat: BinaryFormat;
}

function shape(name: string): ShapeDef {
  const s = shapes[name];
  if (!s) throw new Error(`service model has no shape ${name}`);
  return s;
}

// Python's wording of the errors a paramfile meets, as the AWS CLI prints them (OSError's str).
const ERRNO_TEXT: Record<string, [number, string]> = {
  ENOENT: [2, 'No such file or directory'],
  EACCES: [13, 'Permission denied'],
  EISDIR: [21, 'Is a directory'],
  ENOTDIR: [20, 'Not a directory'],
  ELOOP: [40, 'Too many levels of symbolic links'],
  ENAMETOOLONG: [36, 'File name too long'],
};

/** Python's repr of a string, as OSError shows the file name. */
function pythonRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  return q + s.replace(/\\/g, '\\\\').replace(new RegExp(q, 'g'), `\\${q}`) + q;
}

/** A paramfile's path as the AWS CLI opens it: `~` and `$VAR`/`${VAR}` expanded (unknown ones kept). */
function expandPath(path: string): string {
  const home = process.env.HOME ?? homedir();
  const tilde = path === '~' || path.startsWith('~/') ? home + path.slice(1) : path;
  return tilde.replace(/\$(\w+|\{([^}]*)\})/g, (whole, name: string, braced: string | undefined) => process.env[braced ?? name] ?? whole);
}

// Strict UTF-8, a BOM kept as U+FEFF: Python's text mode in a UTF-8 locale.
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A `file://` (text) or `fileb://` (bytes) parameter's content, read as the AWS CLI reads it:
 * text must be valid UTF-8 (a binary file read as text is refused, not mangled), and its line
 * endings become \n (Python's universal newlines).
 */
function readParamFile(flag: string, prefixed: string, binary: boolean): Buffer | string {
  const path = expandPath(prefixed.slice(binary ? 8 : 7));
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const [errno, text] = ERRNO_TEXT[code] ?? [0, code || 'error'];
    throw new ParamError(`Error parsing parameter '${flag}': Unable to load paramfile ${prefixed}: [Errno ${errno}] ${text}: ${pythonRepr(path)}`);
  }
  if (binary) return bytes;
  try {
    return utf8Strict.decode(bytes).replace(/\r\n?/g, '\n');
  } catch {
    throw new ParamError(
      `Error parsing parameter '${flag}': Unable to load paramfile (${path}), text contents could not be decoded.  If this is a binary file, please use the fileb:// prefix instead of the file:// prefix.`,
    );
  }
}

/** `file://` and `fileb://` values are read from the file; other values are returned as given. */
function load(flag: string, token: string): { text?: string; bytes?: Buffer } {
  if (token.startsWith('fileb://')) return { bytes: readParamFile(flag, token, true) as Buffer };
  if (token.startsWith('file://')) return { text: readParamFile(flag, token, false) as string };
  return { text: token };
}

/** A shorthand `key@=` value: a file:// file's text; fileb:// bytes cannot be a text member. */
function paramFileText(flag: string, value: string): string {
  const loaded = load(flag, value);
  if (loaded.bytes) throw new ParamError(`Error parsing parameter '${flag}': ${value.split('://')[0]}:// loads bytes, and this value is text; use file://`);
  return loaded.text ?? '';
}

function blob(flag: string, loaded: { text?: string; bytes?: Buffer }, ctx: ParamContext): string {
  if (loaded.bytes) return encodeBase64(loaded.bytes);
  const text = loaded.text ?? '';
  if (ctx.binaryFormat === 'raw-in-base64-out') return encodeBase64(Buffer.from(text, 'utf8'));
  // As AWS CLI v2 decodes: what is outside the alphabet (whitespace of a value wrapped by
  // `base64`, say) is skipped; bad padding is refused, and so is a text that is not ASCII (Python
  // refuses such a str: it is text meant for raw-in-base64-out, not base64).
  const bytes = /[^\x00-\x7f]/.test(text) ? undefined : pythonBase64(text);
  // Never echo the value (the AWS CLI does): it may be a plaintext.
  if (bytes === undefined)
    throw new ParamError(
      `Invalid base64 in ${flag}: blob values are base64; use fileb://<path> for a file's bytes, or --cli-binary-format raw-in-base64-out for text.`,
      255,
    );
  return encodeBase64(bytes);
}

function scalar(flag: string, shapeName: string, text: string): unknown {
  const s = shape(shapeName);
  switch (s.type) {
    case 'integer':
    case 'long': {
      // What Python's int() takes: a sign, digits with single underscores between them, spaces around.
      if (!/^\s*[+-]?\d+(_\d+)*\s*$/.test(text)) throw new ParamError(`invalid literal for int() with base 10: '${text}'`, 255);
      return Number(text.replace(/_/g, ''));
    }
    case 'boolean': {
      const t = text.trim().toLowerCase();
      if (t !== 'true' && t !== 'false') throw new ParamError(`Error parsing parameter '${flag}': expected true or false, got '${text}'`);
      return t === 'true';
    }
    case 'timestamp': {
      const n = Number(text);
      if (text.trim() !== '' && Number.isFinite(n)) return n;
      const ms = cliTimestampMs(text);
      if (Number.isNaN(ms)) throw new ParamError(`Error parsing parameter '${flag}': Invalid timestamp value: ${text}`);
      return ms / 1000;
    }
    default:
      return text;
  }
}

/**
 * Shorthand or JSON-parsed values → wire values of `shapeName`. Shorthand gives only strings, read
 * by the shape; JSON gives its own types, passed on as they are (a number given as a string is
 * botocore's to refuse, param-check.ts), except base64 blobs and timestamp strings.
 */
function coerce(flag: string, shapeName: string, value: unknown, ctx: ParamContext, json: boolean): unknown {
  const s = shape(shapeName);
  if (value === null || value === undefined) return value;
  switch (s.type) {
    case 'structure': {
      if (typeof value !== 'object' || Array.isArray(value)) throw new ParamError(`Error parsing parameter '${flag}': expected a structure`);
      const members = s.members ?? {};
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const m = members[k];
        // An unknown member is botocore's parameter validation to report (param-check.ts), with
        // the others it finds: the AWS CLI v2 parses it through.
        out[k] = m ? coerce(flag, m.shape, v, ctx, json) : v;
      }
      return out;
    }
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value)) throw new ParamError(`Error parsing parameter '${flag}': expected a map`);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) setOwn(out, k, coerce(flag, s.value!, v, ctx, json));
      return out;
    }
    case 'list': {
      if (json && !Array.isArray(value)) return value;
      const items = Array.isArray(value) ? value : [value];
      return items.map((v) => coerce(flag, s.member!, v, ctx, json));
    }
    case 'blob':
      return typeof value === 'string' ? blob(flag, { text: value }, ctx) : value;
    default:
      return typeof value === 'string' && (!json || s.type === 'timestamp') ? scalar(flag, shapeName, value) : value;
  }
}

function parseJson(flag: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // Where, never what: V8 quotes the text around the mistake, which may be a secret read from a
    // file:// argument (an XKS proxy's credential).
    const position = /at position (\d+)/.exec((err as Error).message)?.[1];
    throw new ParamError(`Error parsing parameter '${flag}': Invalid JSON${position === undefined ? '' : ` at character ${Number(position) + 1}`}`);
  }
}

function structured(flag: string, shapeName: string, text: string, ctx: ParamContext): unknown {
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) return coerce(flag, shapeName, parseJson(flag, t), ctx, true);
  let parsed: Record<string, ShorthandValue>;
  try {
    parsed = parseShorthand(text, (value) => paramFileText(flag, value));
  } catch (err) {
    if (err instanceof ShorthandError) throw new ParamError(`Error parsing parameter '${flag}': ${err.message}`);
    throw err;
  }
  return coerce(flag, shapeName, parsed, ctx, false);
}

/** The wire value of a member given the arguments that followed its flag. */
export function memberValue(flag: string, shapeName: string, tokens: readonly string[], ctx: ParamContext): unknown {
  const s = shape(shapeName);
  if (tokens.length === 0) {
    // A list flag takes any number of values (the AWS CLI's nargs='*'): none sends an empty list.
    if (s.type === 'list') return [];
    // argparse's own refusal: the usage, then `ekms: error:` (exit 252), as the AWS CLI prints it.
    throw new UsageError(`argument ${flag}: expected one argument`);
  }
  if (s.type === 'list') {
    const member = shape(s.member!);
    if (tokens.length === 1) {
      const loaded = load(flag, tokens[0]!).text ?? '';
      if (loaded.trim().startsWith('[')) return coerce(flag, shapeName, parseJson(flag, loaded), ctx, true);
    }
    return tokens.map((tok) => {
      const loaded = load(flag, tok);
      if (member.type === 'structure' || member.type === 'map') return structured(flag, s.member!, loaded.text ?? '', ctx);
      if (member.type === 'blob') return blob(flag, loaded, ctx);
      return scalar(flag, s.member!, loaded.text ?? '');
    });
  }
  if (tokens.length > 1) throw new UnknownOptionsError(tokens.slice(1));
  const loaded = load(flag, tokens[0]!);
  switch (s.type) {
    case 'blob':
      return blob(flag, loaded, ctx);
    case 'structure':
    case 'map':
      return structured(flag, shapeName, loaded.text ?? loaded.bytes?.toString('utf8') ?? '', ctx);
    default:
      return scalar(flag, shapeName, loaded.text ?? loaded.bytes?.toString('utf8') ?? '');
  }
}

/** `--cli-input-json` (text or file://): the whole input in wire form, checked against the model. */
export function cliInputJson(inputShape: string | undefined, text: string, ctx: ParamContext): Record<string, unknown> {
  const flag = '--cli-input-json';
  const loaded = load(flag, text);
  let json: unknown;
  try {
    json = JSON.parse(loaded.text ?? loaded.bytes?.toString('utf8') ?? '');
  } catch {
    throw new ParamError("Error parsing parameter 'cli-input-json': Invalid JSON received."); // the AWS CLI's words
  }
  return wholeInput(flag, inputShape, json, ctx);
}

/** A --cli-input-* document as the command's input: a map, in wire form, checked against the model. */
function wholeInput(flag: string, inputShape: string | undefined, doc: unknown, ctx: ParamContext): Record<string, unknown> {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new ParamError(`Error parsing parameter '${flag}': Invalid type: expecting map, received ${pythonType(doc)}`);
  if (!inputShape) return {};
  return coerce(flag, inputShape, doc, ctx, true) as Record<string, unknown>;
}

/** YAML's values in the wire form --cli-input-json has: `!!binary` as base64, timestamps as ISO text. */
function wireFromYaml(v: unknown): unknown {
  if (v instanceof Uint8Array) return encodeBase64(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(wireFromYaml);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wireFromYaml(x)]));
  return v;
}

/**
 * `--cli-input-yaml` (text or file://): the whole input, as `--generate-cli-skeleton yaml-input`
 * lays it out. Read as the AWS CLI reads it (ruamel.yaml's safe loader: YAML 1.2, with `!!binary`
 * for blobs and timestamps), then as --cli-input-json's input.
 */
export function cliInputYaml(inputShape: string | undefined, text: string, ctx: ParamContext): Record<string, unknown> {
  const flag = '--cli-input-yaml';
  const loaded = load(flag, text);
  let doc: unknown;
  try {
    doc = parseYaml(loaded.text ?? loaded.bytes?.toString('utf8') ?? '', { customTags: ['binary', 'timestamp'] });
  } catch {
    throw new ParamError("Error parsing parameter 'cli-input-yaml': Invalid YAML received.");
  }
  return wholeInput(flag, inputShape, wireFromYaml(doc), ctx);
}

/** Python's `type(v)` of a loaded YAML value, as the AWS CLI's message shows it. */
function pythonType(v: unknown): string {
  const name = Array.isArray(v) ? 'list' : v === null ? 'NoneType' : typeof v === 'string' ? 'str' : typeof v === 'boolean' ? 'bool' : Number.isInteger(v) ? 'int' : 'float';
  return `<class '${name}'>`;
}

