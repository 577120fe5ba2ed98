// The HTTP(S) endpoint: reads requests off sockets (with a body limit and timeouts, so no
// client can stall or exhaust the server), applies the browser guard and SigV4 when asked, and
// hands each request to the shared AWS JSON 1.1 processing of wire.ts, or to the key console
// (src/console/) when a browser asks for the page or one of its /console/ paths.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

import { createConsole } from '../console/index.js';
import { RequestEntityTooLargeException } from '../errors.js';
import type { Kms } from '../kms.js';
import { ownConcat } from '../operations/result-buffer.js';
import { loadAccessKeys, type AccessKeys } from './access-keys.js';
import { isLoopbackHost, requestGuard } from './guard.js';
import { verifySigV4 } from './sigv4.js';
import { DEFAULT_MAX_BODY_BYTES, errorResponse, processRequest, type ProcessOptions, type WireRequest, type WireResponse } from './wire.js';

export type AuthMode = 'none' | 'sigv4';

export interface ServerOptions {
  /** Default EKMS_HOST or 127.0.0.1. */
  host?: string;
  /** Default EKMS_PORT or 4599; 0 picks a free port. */
  port?: number;
  /** `none` (loopback only) accepts any or no credentials; `sigv4` verifies signatures. */
  auth?: AuthMode;
  /** For sigv4. Default: $EKMS_HOME/credentials.json and EKMS_ACCESS_KEYS. */
  accessKeys?: AccessKeys;
  /** The region credential scopes must name. Default: the key store's region. */
  region?: string;
  /** PEM certificate chain and private key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  maxBodyBytes?: number;
  /** More Host names to accept besides the loopback ones. */
  allowedHosts?: readonly string[];
  /** Time allowed to receive the request headers. Default 10 s. */
  headersTimeoutMs?: number;
  /** Time allowed to receive a whole request. Default 30 s. */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open. Default 5 s. */
  keepAliveTimeoutMs?: number;
  /** For tests of clock skew. */
  clock?: () => Date;
  /** Serve the key console (src/console/) at / for browsers. Default true. */
  console?: boolean;
  /**
   * Say what is unsafe in this configuration (EmbeddedKmsWarning). Default true; false where
   * another process checked the same configuration and said it (the workers of `ekms serve`).
   */
  warnings?: boolean;
}

export interface ServerHandle {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly auth: AuthMode;
  /** Stops accepting connections, lets requests in flight finish, then closes every connection. */
  close(options?: { graceMs?: number }): Promise<void>;
}

export class EndpointConfigError extends Error {
  override readonly name = 'EndpointConfigError';
}

/**
 * The request's headers, a header sent on several lines as one value joined by commas, as
 * SigV4's canonical form joins them (Node joins them with ", ", which would fail the signature of
 * a client that signed such a header).
 */
function headerRecord(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    const lines = req.headersDistinct[k];
    // Only where Node joined the lines: of some headers (Host, Authorization) it keeps the first.
    const joinedByNode = lines !== undefined && lines.length > 1 && v === lines.join(', ');
    out[k] = joinedByNode ? lines.join(',') : Array.isArray(v) ? v.join(',') : v;
  }
  return out;
}

/**
 * The request-target in origin form (`/path?query`). HTTP/1.1 requires a server to accept the
 * absolute form too (`POST http://host:port/ HTTP/1.1`, RFC 9112 §3.2.2), which a client sends
 * when it takes this endpoint for its HTTP proxy; the target's authority then stands for the Host
 * header, so the rebinding guard and SigV4 see the name the client addressed.
 */
function originForm(target: string, headers: Record<string, string | undefined>): string {
  const absolute = /^https?:\/\/([^/?#]*)/i.exec(target);
  if (!absolute) return target;
  headers['host'] = absolute[1]!;
  const rest = target.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

// On the wire, the header names AWS sends (clients read them in any case; a person reading
// `curl -i` or a case-sensitive script sees AWS's). Responses carry them in lower case otherwise.
const AWS_HEADER_NAMES: Readonly<Record<string, string>> = { 'x-amzn-requestid': 'x-amzn-RequestId', 'x-amzn-errortype': 'x-amzn-ErrorType' };

function send(res: ServerResponse, r: WireResponse, closing: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.headers)) headers[AWS_HEADER_NAMES[name] ?? name] = value;
  if (closing) headers['connection'] = 'close';
  res.writeHead(r.statusCode, headers);
  res.end(r.body);
}

/** The most of a refused request's body read and dropped before the refusal is sent (drain()). */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Reads and drops the rest of the body of a request we refuse, up to DRAIN_LIMIT_BYTES, so that
 * the refusal reaches a client still uploading: a server that answers and closes meanwhile resets
 * the connection, and the client sees EPIPE instead of the error (and an SDK uploads the whole
 * body again). Past the limit, or on an error, it gives up and the refusal goes out at once. A
 * body declared larger than the limit, or one refused while the server shuts down, is not waited
 * for (it is still read and dropped while the answer goes out).
 */
function drain(req: IncomingMessage, wait: boolean): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  if (!wait || Number(req.headers['content-length'] ?? '0') > DRAIN_LIMIT_BYTES) {
    req.resume();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    let size = 0;
    const done = (): void => {
      req.off('data', onData);
      req.off('end', done);
      req.off('error', done);
      req.off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > DRAIN_LIMIT_BYTES) done();
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('error', done);
    req.once('close', done);
    req.resume();
  });
}

/** Reads the body up to `max` bytes; resolves undefined when it is larger (the rest is discarded). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > max) {
        tooLarge = true;
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      // A Buffer of its own: the body may carry a plaintext (Encrypt), kept out of the pool.
      if (!tooLarge) resolve(ownConcat(chunks));
    });
    req.on('error', reject);
  });
}

interface Setup {
  host: string;
  port: number;
  auth: AuthMode;
  keys: AccessKeys | undefined;
}

/**
 * The server's configuration, checked: EndpointConfigError for one that cannot serve, and each
 * unsafe part said once (EmbeddedKmsWarning), after the checks, so a refused configuration
 * leaves only its error.
 */
function setupOf(kms: Kms, options: ServerOptions): Setup {
  const host = options.host ?? process.env.EKMS_HOST ?? '127.0.0.1';
  // EKMS_PORT when no port is given (empty: unset); a value that is not all digits is no port.
  const envPort = options.port === undefined ? process.env.EKMS_PORT || undefined : undefined;
  const port = options.port ?? (envPort === undefined ? 4599 : /^\d+$/.test(envPort) ? Number(envPort) : NaN);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new EndpointConfigError(envPort !== undefined ? `invalid port in EKMS_PORT: ${JSON.stringify(envPort)}` : `invalid port ${String(port)}`);
  const auth: AuthMode = options.auth ?? 'none';
  if (auth !== 'none' && auth !== 'sigv4') throw new EndpointConfigError(`unknown auth mode ${String(auth)}: use none or sigv4`);
  if (auth === 'none' && !isLoopbackHost(host))
    throw new EndpointConfigError(`refusing to listen on ${host} without authentication: use a loopback address or --auth sigv4`);
  const warn = options.warnings !== false;
  let keys: AccessKeys | undefined;
  if (auth === 'sigv4') {
    keys = options.accessKeys ?? loadAccessKeys(kms.config.home, process.env, { warn });
    if (keys.size === 0)
      throw new EndpointConfigError(`--auth sigv4 needs access keys: ${kms.config.home}/credentials.json or EKMS_ACCESS_KEYS`);
  }
  if (warn && auth === 'sigv4' && !options.tls && !isLoopbackHost(host))
    // SigV4 authenticates requests; it does not hide responses: Decrypt's plaintexts and
    // GenerateDataKey's keys would cross the network in the clear. Said, not refused (a container
    // network or a tunnel may already protect the traffic).
    process.emitWarning(
      `serving ${host} over plain HTTP: requests are signed, but responses (plaintexts, data keys) cross the network unencrypted; give --tls-cert and --tls-key (or use a loopback address)`,
      'EmbeddedKmsWarning',
    );
  return { host, port, auth, keys };
}

/**
 * Checks a configuration as startServer would, without serving: EndpointConfigError when it
 * cannot serve; its warnings are said here. (`ekms serve --workers` checks once, in the primary,
 * before any worker starts.)
 */
export function checkServerConfig(kms: Kms, options: ServerOptions = {}): void {
  setupOf(kms, options);
}

export async function startServer(kms: Kms, options: ServerOptions = {}): Promise<ServerHandle> {
  const { host, port, auth, keys } = setupOf(kms, options);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  const processing: ProcessOptions = { callerKind: 'endpoint', maxBodyBytes };
  if (keys) {
    const region = options.region ?? kms.config.region;
    const clock = options.clock;
    const accepted = keys;
    processing.authenticate = (req) => verifySigV4(req, { keys: accepted, region, service: 'kms', ...(clock ? { clock } : {}) });
  }
  // The console signs in with the same access keys, and sends a secret only over TLS or loopback.
  const consoleApp =
    options.console === false
      ? undefined
      : createConsole(kms, { ...(keys ? { accessKeys: keys } : {}), secureTransport: !!options.tls || isLoopbackHost(host), maxBodyBytes });

  let closing = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  let guard: ReturnType<typeof requestGuard> | undefined;

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++;
    res.on('close', () => {
      inFlight--;
      if (closing) {
        server.closeIdleConnections();
        if (inFlight === 0) drained?.();
      }
    });
    void handle(req, res);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers = headerRecord(req);
    const path = originForm(req.url ?? '/', headers);
    const refused = guard!.check(headers);
    if (refused) {
      await drain(req, !closing);
      send(res, errorResponse(refused), true);
      return;
    }
    const declared = Number(headers['content-length'] ?? '0');
    if (declared > maxBodyBytes) {
      // Nothing of it is kept; the connection closes after the answer.
      await drain(req, !closing);
      send(res, errorResponse(new RequestEntityTooLargeException(`Request body of ${declared} bytes exceeds the limit of ${maxBodyBytes} bytes.`)), true);
      return;
    }
    let body: Buffer | undefined;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch {
      res.destroy();
      return;
    }
    if (body === undefined) {
      await drain(req, !closing);
      send(res, errorResponse(new RequestEntityTooLargeException(`Request body exceeds the limit of ${maxBodyBytes} bytes.`)), true);
      return;
    }
    const request: WireRequest = {
      method: req.method ?? 'GET',
      path,
      headers,
      body,
      ...(req.socket.remoteAddress ? { sourceAddress: req.socket.remoteAddress } : {}),
    };
    const wire = consoleApp?.serves(request) ? await consoleApp.handle(request) : await processRequest(kms, request, processing);
    send(res, wire, closing);
  }

  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler)
    : createHttpServer(handler);
  server.headersTimeout = options.headersTimeoutMs ?? 10_000;
  server.requestTimeout = options.requestTimeoutMs ?? 30_000;
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  guard = requestGuard({ host, port: bound, tls: !!options.tls, ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}) });
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const url = `${options.tls ? 'https' : 'http'}://${urlHost}:${bound}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    host,
    port: bound,
    auth,
    close({ graceMs = 30_000 } = {}) {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        const serverClosed = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        const requestsDone = new Promise<void>((r) => {
          drained = r;
          if (inFlight === 0) r();
        });
        // After the grace period, connections still open are cut.
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        timer.unref();
        void requestsDone
          .then(() => server.closeIdleConnections())
          .then(() => serverClosed)
          .then(() => {
            clearTimeout(timer);
            resolve();
          });
      });
      return closed;
    },
  };
}
