// A request handler for @aws-sdk/client-kms that serves the SDK's requests from a Kms in this
// process, with no socket:
//
//   const client = new KMSClient({ region: 'us-east-1', credentials, requestHandler: createInProcessHandler(kms) });
//
// The SDK serializes each command to an AWS JSON 1.1 request as usual; we pass it through the
// same processing as the HTTP endpoint (endpoint/wire.ts) and return the same response, so the
// SDK's own deserializers and error classes see exactly what they would see over the network.
// The SDK is not imported here (it is an optional peer dependency): the types are structural.
import { Readable } from 'node:stream';

import { processRequest, type ProcessOptions } from '../endpoint/wire.js';
import type { Kms } from '../kms.js';
import { ownConcat, ownUtf8 } from '../operations/result-buffer.js';

/** The parts of the SDK's HttpRequest (@smithy/protocol-http) this handler reads. */
export interface SdkHttpRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

/** Shaped like the SDK's HttpResponse: a Node stream body, as its stream collector expects. */
export interface SdkHttpResponse {
  statusCode: number;
  reason?: string;
  headers: Record<string, string>;
  body: Readable;
}

export interface InProcessHandler {
  readonly metadata: { handlerProtocol: string };
  handle(request: SdkHttpRequest, options?: { abortSignal?: { aborted: boolean } }): Promise<{ response: SdkHttpResponse }>;
  updateHttpClientConfig(key: never, value: never): void;
  httpHandlerConfigs(): Record<string, never>;
  destroy(): void;
}

async function bodyBytes(body: unknown): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array(0);
  // Buffers of their own, not the pool's: a body may carry a plaintext (Encrypt's).
  if (typeof body === 'string') return ownUtf8(body);
  if (body instanceof Uint8Array) return body;
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    const chunks: Uint8Array[] = [];
    for await (const c of body as AsyncIterable<string | Uint8Array>) chunks.push(typeof c === 'string' ? ownUtf8(c) : c);
    return ownConcat(chunks);
  }
  throw new TypeError('unsupported request body type');
}

function pathWithQuery(req: SdkHttpRequest): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(req.query ?? {})) {
    if (v === null) params.append(k, '');
    else for (const x of Array.isArray(v) ? v : [v]) params.append(k, x);
  }
  const q = params.toString();
  return q ? `${req.path}?${q}` : req.path;
}

export function createInProcessHandler(kms: Kms, options: Pick<ProcessOptions, 'authenticate' | 'maxBodyBytes'> = {}): InProcessHandler {
  return {
    metadata: { handlerProtocol: 'embedded-kms/in-process' },
    async handle(request, handlerOptions) {
      if (handlerOptions?.abortSignal?.aborted) {
        const err = new Error('Request aborted');
        err.name = 'AbortError';
        throw err;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
      const wire = await processRequest(
        kms,
        { method: request.method, path: pathWithQuery(request), headers, body: await bodyBytes(request.body) },
        { ...options, callerKind: 'library' },
      );
      return { response: { statusCode: wire.statusCode, headers: wire.headers, body: Readable.from([wire.body]) } };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
    destroy() {},
  };
}
