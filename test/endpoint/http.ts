// Raw HTTP requests to an endpoint, for the cases an SDK would never send.
import { request, type OutgoingHttpHeaders } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The header names as sent, in their case. */
  headerNames: string[];
  text: string;
  json: Record<string, unknown> | undefined;
}

export function raw(
  url: string,
  opts: { method?: string; path?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer } = {},
): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname: u.hostname, port: u.port, method: opts.method ?? 'POST', path: opts.path ?? '/', headers: opts.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> | undefined;
          try {
            json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
          } catch {
            json = undefined;
          }
          const headerNames = res.rawHeaders.filter((_, i) => i % 2 === 0);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, headerNames, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A well-formed KMS request's headers for `op`. */
export function kmsHeaders(url: string, op: string, extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return { host: new URL(url).host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${op}`, ...extra };
}
