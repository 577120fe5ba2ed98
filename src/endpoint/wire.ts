// The AWS JSON 1.1 request/response exchange of one KMS call, independent of any socket: the
// HTTP endpoint (server.ts) and the in-process SDK handler (client/in-process-handler.ts) both
// hand their requests to `processRequest`, so the two produce identical responses.
//
//   POST /  X-Amz-Target: TrentService.<Operation>  Content-Type: application/x-amz-json-1.1
//   → 200 with the operation's output as JSON, or 4xx/5xx with {"__type", "message"} and the
//     x-amzn-ErrorType header; every response carries x-amzn-RequestId.

import { InternalFailure, KmsError, RequestEntityTooLargeException, SerializationException, UnknownOperationException, httpStatusOf } from '../errors.js';
import type { Kms } from '../kms.js';
import { decodeInput, encodeOutput } from '../model/codec.js';
import { operations, targetPrefix, type OperationName } from '../model/service-model.js';
import type { Caller } from '../operations/operation.js';
import { ownUtf8 } from '../operations/result-buffer.js';
import { uuid } from '../uuid.js';

export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
/** Request bodies larger than this are refused with 413 (KMS's largest inputs are policies of 32 KiB). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface WireRequest {
  method: string;
  /** Path and query as received. */
  path: string;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  body: Uint8Array;
  sourceAddress?: string;
}

export interface WireResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface ProcessOptions {
  /** Checks the caller's credentials; throws an AWS auth error to refuse. */
  authenticate?: (req: WireRequest) => Promise<{ accessKeyId?: string }>;
  callerKind?: Caller['kind'];
  maxBodyBytes?: number;
}

// KMS answers its signature failures (InvalidSignatureException, MissingAuthenticationToken-
// Exception) and IAM refusals with 400, as every client fault. AccessDeniedException here is only
// ours: the refusals of requests from another origin or Host (DNS rebinding), which AWS never
// sends and HTTP calls 403.
const STATUS_OVERRIDES: Readonly<Record<string, number>> = {
  AccessDeniedException: 403,
};

export function statusOf(err: KmsError): number {
  return STATUS_OVERRIDES[err.name] ?? httpStatusOf(err);
}

function respond(statusCode: number, requestId: string, body: Buffer, extra: Record<string, string> = {}): WireResponse {
  return {
    statusCode,
    headers: {
      'x-amzn-requestid': requestId,
      'content-type': JSON_CONTENT_TYPE,
      'content-length': String(body.length),
      ...extra,
    },
    body,
  };
}

/**
 * The AWS JSON error response for `err`. An error AWS sends without a message (a signature or MAC
 * that does not verify, a ciphertext that does not decrypt) has no `message` member at all: AWS
 * leaves it out, and botocore then adds no top-level `message` to the parsed error (recorded
 * responses), where `"message": ""` would add one.
 */
export function errorResponse(err: KmsError, requestId: string = uuid()): WireResponse {
  const body = Buffer.from(JSON.stringify(err.message === '' ? { __type: err.name } : { __type: err.name, message: err.message }), 'utf8');
  return respond(statusOf(err), requestId, body, { 'x-amzn-errortype': err.name });
}

// AWS JSON clients send application/x-amz-json-1.1; some hand-written ones send JSON 1.0's type
// or plain application/json, which Coral services accept as well.
const ACCEPTED_TYPES = new Set([JSON_CONTENT_TYPE, 'application/x-amz-json-1.0', 'application/json']);

function contentTypeOk(value: string | undefined): boolean {
  if (!value) return false;
  return ACCEPTED_TYPES.has(value.split(';', 1)[0]!.trim().toLowerCase());
}

/** `TrentService.CreateKey` → `CreateKey`, or UnknownOperationException. */
export function operationOf(target: string | undefined): OperationName {
  if (!target) throw new UnknownOperationException('Missing X-Amz-Target header: expected TrentService.<Operation>.');
  const dot = target.indexOf('.');
  const prefix = dot < 0 ? '' : target.slice(0, dot);
  const name = dot < 0 ? target : target.slice(dot + 1);
  if (prefix !== targetPrefix || !Object.hasOwn(operations, name)) {
    // Only the target's shape is echoed, truncated: it is the client's text, not a secret, but
    // there is no reason to reflect arbitrary amounts of it.
    throw new UnknownOperationException(`Unknown operation ${JSON.stringify(target.slice(0, 128))}.`);
  }
  return name as OperationName;
}

// Fatal: bytes that are not UTF-8 refuse the request, as AWS's JSON front end refuses them
// (a SerializationException), where a lenient decoding would turn each into U+FFFD, and two
// different encryption contexts into one. A leading byte order mark is skipped, as Jackson does.
const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(body: Uint8Array): unknown {
  if (body.byteLength === 0) return {};
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new SerializationException('The request body is not valid UTF-8.');
  }
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the body, which may hold a plaintext: say only what failed.
    throw new SerializationException('The request body is not valid JSON.');
  }
}

/** Handles one AWS JSON 1.1 KMS request. Never throws: every failure becomes an AWS error response. */
export async function processRequest(kms: Kms, req: WireRequest, options: ProcessOptions = {}): Promise<WireResponse> {
  const requestId = uuid();
  try {
    const max = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    if (req.body.byteLength > max)
      throw new RequestEntityTooLargeException(`Request body of ${req.body.byteLength} bytes exceeds the limit of ${max} bytes.`);
    const pathOnly = req.path.split('?', 1)[0];
    if (req.method !== 'POST' || pathOnly !== '/')
      throw new UnknownOperationException(`Only POST / is served (AWS JSON 1.1), not ${req.method} ${JSON.stringify(pathOnly?.slice(0, 128))}.`);
    if (!contentTypeOk(req.headers['content-type']))
      throw new UnknownOperationException(`Content-Type must be ${JSON_CONTENT_TYPE}.`);
    const auth = options.authenticate ? await options.authenticate(req) : {};
    const op = operationOf(req.headers['x-amz-target']);
    const input = decodeInput(op, parseJson(req.body));
    const caller: Partial<Caller> = { kind: options.callerKind ?? 'endpoint', requestId };
    if (auth.accessKeyId !== undefined) caller.accessKeyId = auth.accessKeyId;
    if (req.sourceAddress !== undefined) caller.sourceAddress = req.sourceAddress;
    if (req.headers['user-agent'] !== undefined) caller.userAgent = req.headers['user-agent'];
    const output = await kms.execute(op, input as never, caller);
    // Operations without an output shape answer with an empty body, as AWS does.
    // A Buffer of its own: the output may be a plaintext (Decrypt, GenerateDataKey...), which the
    // pool would share with unrelated Buffers of the process.
    const body = operations[op]!.output ? ownUtf8(JSON.stringify(encodeOutput(op, output))) : Buffer.alloc(0);
    return respond(200, requestId, body);
  } catch (err) {
    if (err instanceof KmsError) return errorResponse(err, requestId);
    // Not an AWS error: a bug. Its message may name internals, never key material; keep it
    // out of the response all the same.
    return errorResponse(new InternalFailure('The request processing has failed because of an unknown error.'), requestId);
  }
}
