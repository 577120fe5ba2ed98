// The AWS JSON 1.1 wire codec, driven by the service model, so the endpoint, the CLI and a
// remote client all read and write requests and responses exactly as AWS KMS does:
//
//   decodeInput   JSON request body → library input   (endpoint: base64 → Uint8Array, epoch
//                                                        seconds → Date; wrong JSON types →
//                                                        SerializationException, as Coral says it)
//   encodeOutput  library output → JSON response body (endpoint)
//   encodeInput   library input → JSON request body    (CLI / client of a remote endpoint)
//   decodeOutput  JSON response body → library output (CLI / client of a remote endpoint)
//
// Decoding follows the AWS JSON protocol as Coral implements it: null members (and null list
// elements and map values) count as absent, unknown members are dropped, floating point numbers
// given for integers are truncated. The SerializationException messages are Coral's as measured
// against AWS services: "NUMBER_VALUE can not be converted to a String", "STRING_VALUE can not be
// converted to an Integer", "Start of list found where not expected", "Start of structure or map
// found where not expected.", "Expected list or null", "Expected null". For base64 errors the
// wording follows Coral's ("Invalid Base64 character: '!'", …) but names the JSON token instead of
// echoing the value, which may be a plaintext.
//
// Constraints (lengths, enums, required members) are not checked here: validateInput does that
// on the decoded value. Decoders and encoders are compiled once per shape, lazily.

import { operations, shapes, type OperationName, type ShapeDef } from './service-model.js';
import { SerializationException, UnknownOperationException } from '../errors.js';
import { setOwn } from '../own-key.js';

// ---------------------------------------------------------------- names

/** `CreateKey` → `createKey`: the method names of @aws-sdk/client-kms's aggregated KMS client. */
export function lowerCamel(op: string): string {
  return op.charAt(0).toLowerCase() + op.slice(1);
}

/** Method name (`generateDataKey`) → operation name (`GenerateDataKey`). */
export const methodNames: Record<string, OperationName> = Object.fromEntries(
  Object.keys(operations).map((op) => [lowerCamel(op), op as OperationName]),
);

function operation(op: string) {
  const def = operations[op];
  if (!def) throw new UnknownOperationException(`Unknown operation ${op}`);
  return def;
}

function shapeOf(name: string): ShapeDef {
  const s = shapes[name];
  if (!s) throw new Error(`service model has no shape ${name}`);
  return s;
}

// ---------------------------------------------------------------- JSON → library values

type Decoder = (json: unknown) => unknown;

const LIST_START = 'Start of list found where not expected';
const MAP_START = 'Start of structure or map found where not expected.';

function ser(message: string): SerializationException {
  return new SerializationException(message);
}

/** The Coral name of a JSON scalar token: STRING_VALUE, NUMBER_VALUE, TRUE_VALUE, FALSE_VALUE. */
function token(json: unknown): string {
  switch (typeof json) {
    case 'string':
      return 'STRING_VALUE';
    case 'number':
      return 'NUMBER_VALUE';
    case 'boolean':
      return json ? 'TRUE_VALUE' : 'FALSE_VALUE';
    default:
      return 'VALUE';
  }
}

/** The SerializationException for `json` found where a scalar of `target` ("a String") was expected. */
function notScalar(json: unknown, target: string): SerializationException {
  if (Array.isArray(json)) return ser(LIST_START);
  if (typeof json === 'object' && json !== null) return ser(MAP_START);
  return ser(`${token(json)} can not be converted to ${target}`);
}

const B64_RE = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Strict standard base64 (padded, canonical), as Coral reads blobs. */
export function decodeBase64(s: string): Uint8Array {
  const prefix = 'STRING_VALUE can not be converted to a Blob: ';
  if (s.length % 4 !== 0) {
    throw ser(`${prefix}Base64 encoded length is expected a multiple of 4 bytes but found: ${s.length}`);
  }
  if (!B64_RE.test(s)) {
    const bad = /[^A-Za-z0-9+/=]|=[^=]/.exec(s);
    throw ser(`${prefix}Invalid Base64 character: '${bad ? bad[0][0] : '='}'`);
  }
  // The bits after the last byte must be zero, or two strings would decode to the same bytes.
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  if (pad) {
    const last = B64_ALPHABET.indexOf(s.charAt(s.length - pad - 1));
    if ((pad === 2 && (last & 0x0f) !== 0) || (pad === 1 && (last & 0x03) !== 0)) {
      // (sic) Coral's wording
      throw ser(`${prefix}Invalid last non-pad Base64 character dectected`);
    }
  }
  // A fresh, unpooled array: blobs may be plaintexts, which must not share a pool slab.
  const out = new Uint8Array(Buffer.byteLength(s, 'base64'));
  if (out.length > 0) Buffer.from(out.buffer, out.byteOffset, out.byteLength).write(s, 'base64');
  return out;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const decoders = new Map<string, Decoder>();

function decoderFor(name: string): Decoder {
  let d = decoders.get(name);
  if (!d) {
    let real: Decoder | undefined;
    decoders.set(name, (json) => real!(json)); // recursive shapes
    real = compileDecoder(name);
    decoders.set(name, real);
    d = real;
  }
  return d;
}

function compileDecoder(name: string): Decoder {
  const s = shapeOf(name);
  switch (s.type) {
    case 'string':
      return (json) => {
        if (typeof json === 'string') return json;
        throw notScalar(json, 'a String');
      };
    case 'integer':
    case 'long': {
      const target = s.type === 'integer' ? 'an Integer' : 'a Long';
      return (json) => {
        if (typeof json === 'number') return Math.trunc(json);
        throw notScalar(json, target);
      };
    }
    case 'boolean':
      return (json) => {
        if (typeof json === 'boolean') return json;
        throw notScalar(json, 'a Boolean');
      };
    case 'blob':
      return (json) => {
        if (typeof json === 'string') return decodeBase64(json);
        throw notScalar(json, 'a Blob');
      };
    case 'timestamp':
      // AWS JSON sends timestamps as epoch seconds, with a fraction.
      return (json) => {
        if (typeof json === 'number') return new Date(Math.round(json * 1000));
        throw notScalar(json, 'a Timestamp');
      };
    case 'list': {
      const memberName = s.member!;
      let member: Decoder | undefined;
      return (json) => {
        if (!Array.isArray(json)) {
          if (typeof json === 'object' && json !== null) throw ser(MAP_START);
          throw ser('Expected list or null');
        }
        member ??= decoderFor(memberName);
        const out: unknown[] = [];
        for (const el of json) if (el !== null && el !== undefined) out.push(member(el));
        return out;
      };
    }
    case 'map': {
      const keyName = s.key!;
      const valueName = s.value!;
      let key: Decoder | undefined;
      let value: Decoder | undefined;
      return (json) => {
        if (typeof json !== 'object' || json === null) throw ser('Expected map or null');
        if (Array.isArray(json)) throw ser(LIST_START);
        key ??= decoderFor(keyName);
        value ??= decoderFor(valueName);
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
          if (v === null || v === undefined) continue;
          setOwn(out, key(k) as string, value(v));
        }
        return out;
      };
    }
    case 'structure': {
      const members = Object.entries(s.members ?? {}).map(([m, d]) => ({ name: m, shape: d.shape, d: undefined as Decoder | undefined }));
      return (json) => {
        if (typeof json !== 'object' || json === null) throw ser('Expected null');
        if (Array.isArray(json)) throw ser(LIST_START);
        const src = json as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const m of members) {
          const v = src[m.name];
          if (v === null || v === undefined) continue;
          out[m.name] = (m.d ??= decoderFor(m.shape))(v);
        }
        return out;
      };
    }
  }
}

function decodeTop(shape: string | undefined, json: unknown): Record<string, unknown> {
  if (json === undefined || json === null) return {};
  if (Array.isArray(json)) throw ser(LIST_START);
  if (typeof json !== 'object') throw ser('');
  if (!shape) return {};
  return decoderFor(shape)(json) as Record<string, unknown>;
}

/**
 * A parsed JSON request body of `op` → the library input: blobs become Uint8Arrays, timestamps
 * Dates; null and unknown members are dropped. Throws SerializationException where AWS would.
 */
export function decodeInput(op: OperationName, json: unknown): Record<string, unknown> {
  return decodeTop(operation(op).input, json);
}

/** A parsed JSON response body of `op` (from a remote endpoint) → the library output. */
export function decodeOutput(op: OperationName, json: unknown): Record<string, unknown> {
  return decodeTop(operation(op).output, json);
}

// ---------------------------------------------------------------- library values → JSON

type Encoder = (value: unknown) => unknown;

const encoders = new Map<string, Encoder>();

function encoderFor(name: string): Encoder {
  let e = encoders.get(name);
  if (!e) {
    let real: Encoder | undefined;
    encoders.set(name, (v) => real!(v));
    real = compileEncoder(name);
    encoders.set(name, real);
    e = real;
  }
  return e;
}

const identity: Encoder = (v) => v;

function compileEncoder(name: string): Encoder {
  const s = shapeOf(name);
  switch (s.type) {
    case 'string':
    case 'integer':
    case 'long':
    case 'boolean':
      return identity;
    case 'blob':
      // A string is taken to be base64 already.
      return (v) => (v instanceof Uint8Array ? encodeBase64(v) : v);
    case 'timestamp':
      // Epoch seconds with milliseconds as the fraction, as AWS sends them.
      return (v) => (v instanceof Date ? v.getTime() / 1000 : v);
    case 'list': {
      const memberName = s.member!;
      let member: Encoder | undefined;
      return (v) => {
        if (!Array.isArray(v)) return v;
        member ??= encoderFor(memberName);
        const out: unknown[] = [];
        for (const el of v) if (el !== undefined && el !== null) out.push(member(el));
        return out;
      };
    }
    case 'map': {
      const valueName = s.value!;
      let value: Encoder | undefined;
      return (v) => {
        if (typeof v !== 'object' || v === null) return v;
        value ??= encoderFor(valueName);
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
          if (x !== undefined && x !== null) setOwn(out, k, value(x));
        }
        return out;
      };
    }
    case 'structure': {
      const members = Object.entries(s.members ?? {}).map(([m, d]) => ({ name: m, shape: d.shape, e: undefined as Encoder | undefined }));
      return (v) => {
        if (typeof v !== 'object' || v === null) return v;
        const src = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const m of members) {
          const x = src[m.name];
          if (x === undefined || x === null) continue;
          out[m.name] = (m.e ??= encoderFor(m.shape))(x);
        }
        return out;
      };
    }
  }
}

function encodeTop(shape: string | undefined, value: unknown): Record<string, unknown> {
  if (!shape || value === undefined || value === null) return {};
  return encoderFor(shape)(value) as Record<string, unknown>;
}

/**
 * A library output of `op` → a JSON-ready response body: Uint8Array → base64, Date → epoch
 * seconds, undefined members omitted, members not in the model dropped. `{}` for operations
 * without output.
 */
export function encodeOutput(op: OperationName, value: unknown): Record<string, unknown> {
  return encodeTop(operation(op).output, value);
}

/** A library input of `op` → a JSON-ready request body for a remote endpoint. */
export function encodeInput(op: OperationName, value: unknown): Record<string, unknown> {
  return encodeTop(operation(op).input, value);
}
