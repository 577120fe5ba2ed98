// The console's HTTP responses: JSON, AWS-shaped errors (the same {"__type", "message"} body the
// endpoint sends, so the page reads one error format), and static files. Every one carries the
// headers that keep a browser from sniffing, caching, framing or leaking it.
import { KmsError } from '../errors.js';
import { errorResponse, type WireResponse } from '../endpoint/wire.js';
import { ownUtf8 } from '../operations/result-buffer.js';

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** The page runs only its own scripts and styles, talks only to this server, and cannot be framed. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

export function secured(r: WireResponse): WireResponse {
  return { ...r, headers: { ...r.headers, ...SECURITY_HEADERS } };
}

export function jsonResponse(value: unknown, statusCode = 200): WireResponse {
  const body = ownUtf8(JSON.stringify(value));
  return secured({ statusCode, headers: { 'content-type': 'application/json', 'content-length': String(body.length) }, body });
}

export function errorOf(err: KmsError): WireResponse {
  return secured(errorResponse(err));
}

export function fileResponse(body: Buffer, contentType: string, extra: Record<string, string> = {}): WireResponse {
  return secured({ statusCode: 200, headers: { 'content-type': contentType, 'content-length': String(body.length), ...extra }, body });
}
