// The key console: a web page for browsers, served by the endpoint beside its AWS JSON API.
//
//   GET  /                     the page (a browser's request for HTML; API clients still get the endpoint)
//   GET  /console/<file>       its scripts and styles
//   POST /console/api/session  opens a session (under --auth sigv4, after checking an access key)
//   POST /console/api/…        the page's calls, each with the session's token in a header:
//        context               what the forms offer (key specs, limits, operations available)
//        check-alias           the alias field's live check
//        kms                   one AWS JSON 1.1 KMS call, handled exactly as the endpoint handles it
//        sign-out
//
// The endpoint's browser guard (Host, Origin, Sec-Fetch-Site) has already run on every request;
// the console adds the session token, which is also its CSRF token (sessions.ts).
import {
  AccessDeniedException,
  ExpiredTokenException,
  InternalFailure,
  KmsError,
  MissingAuthenticationTokenException,
  SerializationException,
  UnknownOperationException,
} from '../errors.js';
import type { AccessKeys } from '../endpoint/access-keys.js';
import { operationOf, processRequest, type WireRequest, type WireResponse } from '../endpoint/wire.js';
import type { Kms } from '../kms.js';
import type { Caller } from '../operations/operation.js';
import { checkAliasAvailable } from './alias-check.js';
import { assetResponse, pageResponse } from './assets.js';
import { formLimits, specChoices } from './catalog.js';
import { availableConsoleOperations, consoleOperations } from './operations.js';
import { errorOf, jsonResponse, secured } from './responses.js';
import { ConsoleSessions, type Session, type SessionOptions } from './sessions.js';
import { checkSignIn } from './sign-in.js';

export const TOKEN_HEADER = 'x-ekms-console-token';

export interface ConsoleOptions {
  /** Under --auth sigv4: the access keys a sign-in must match. Absent: no sign-in. */
  accessKeys?: AccessKeys;
  /** TLS, or a loopback listen address: the only places a secret may be typed in. */
  secureTransport: boolean;
  maxBodyBytes: number;
  sessions?: SessionOptions;
}

export interface ConsoleApp {
  /** Whether this request is the console's (else it is the endpoint's). */
  serves(req: WireRequest): boolean;
  handle(req: WireRequest): Promise<WireResponse>;
}

const pathOf = (req: WireRequest): string => req.path.split('?', 1)[0] ?? '/';

/** A browser asking for a page: it accepts HTML and names no KMS operation. */
function wantsPage(req: WireRequest): boolean {
  return req.method === 'GET' && pathOf(req) === '/' && req.headers['x-amz-target'] === undefined && /\btext\/html\b/.test(req.headers['accept'] ?? '');
}

function parseJsonBody(body: Uint8Array): Record<string, unknown> {
  if (body.byteLength === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    throw new SerializationException('The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SerializationException('The request body must be a JSON object.');
  return value as Record<string, unknown>;
}

export function createConsole(kms: Kms, options: ConsoleOptions): ConsoleApp {
  const sessions = new ConsoleSessions(options.sessions);
  const auth = options.accessKeys ? 'sigv4' : 'none';

  function sessionOf(req: WireRequest): Session {
    const token = req.headers[TOKEN_HEADER];
    if (!token) throw new MissingAuthenticationTokenException('Missing Authentication Token');
    const session = sessions.find(token);
    if (!session) throw new ExpiredTokenException('The console session has expired or was closed. Sign in again.');
    return session;
  }

  function callerOf(req: WireRequest, session: Session): Partial<Caller> {
    const caller: Partial<Caller> = { kind: 'endpoint' };
    if (session.accessKeyId !== undefined) caller.accessKeyId = session.accessKeyId;
    if (req.sourceAddress !== undefined) caller.sourceAddress = req.sourceAddress;
    return caller;
  }

  function openSession(req: WireRequest): WireResponse {
    const body = parseJsonBody(req.body);
    const accessKeyId = options.accessKeys ? checkSignIn(options.accessKeys, body, options.secureTransport) : undefined;
    const token = sessions.open(accessKeyId);
    return jsonResponse({ Token: token, Auth: auth, ...(accessKeyId !== undefined ? { AccessKeyId: accessKeyId } : {}) });
  }

  function context(session: Session): WireResponse {
    const defaultStore = kms.token?.isDefault ? kms.token.customKeyStoreId : undefined;
    return jsonResponse({
      Auth: auth,
      ...(session.accessKeyId !== undefined ? { AccessKeyId: session.accessKeyId } : {}),
      AccountId: kms.arns.accountId,
      Region: kms.arns.region,
      Partition: kms.arns.partition,
      Operations: availableConsoleOperations(),
      KeySpecs: specChoices(),
      Limits: formLimits(),
      ...(defaultStore !== undefined ? { DefaultCustomKeyStoreId: defaultStore } : {}),
    });
  }

  async function kmsCall(req: WireRequest, session: Session): Promise<WireResponse> {
    const op = operationOf(req.headers['x-amz-target']);
    if (!consoleOperations.has(op)) throw new AccessDeniedException(`The console does not call ${op}; use the endpoint or the library.`);
    const caller = callerOf(req, session);
    // The endpoint's own processing: same decoding, table, encoding and error responses.
    const wire = await processRequest(kms, { ...req, path: '/' }, {
      callerKind: 'endpoint',
      maxBodyBytes: options.maxBodyBytes,
      authenticate: async () => (caller.accessKeyId !== undefined ? { accessKeyId: caller.accessKeyId } : {}),
    });
    return secured(wire);
  }

  async function api(req: WireRequest, name: string): Promise<WireResponse> {
    if (req.method !== 'POST') throw new UnknownOperationException(`Use POST for /console/api/${name}.`);
    if (name === 'session') return openSession(req);
    const session = sessionOf(req);
    switch (name) {
      case 'sign-out':
        sessions.close(req.headers[TOKEN_HEADER]);
        return jsonResponse({});
      case 'context':
        return context(session);
      case 'check-alias':
        await checkAliasAvailable(kms, parseJsonBody(req.body).AliasName, callerOf(req, session));
        return jsonResponse({});
      case 'kms':
        return kmsCall(req, session);
      default:
        throw new UnknownOperationException(`Unknown console call ${JSON.stringify(name.slice(0, 64))}.`);
    }
  }

  async function route(req: WireRequest): Promise<WireResponse> {
    if (wantsPage(req)) return pageResponse();
    const path = pathOf(req);
    if (path.startsWith('/console/api/')) return api(req, path.slice('/console/api/'.length));
    const asset = req.method === 'GET' ? assetResponse(path.slice('/console/'.length)) : undefined;
    if (!asset) throw new UnknownOperationException(`No console file ${JSON.stringify(path.slice(0, 128))}.`);
    return asset;
  }

  return {
    serves: (req) => wantsPage(req) || pathOf(req).startsWith('/console/'),
    async handle(req) {
      try {
        return await route(req);
      } catch (err) {
        // Not an AWS error: a bug, whose message stays out of the response.
        return errorOf(err instanceof KmsError ? err : new InternalFailure('The console request has failed because of an unknown error.'));
      }
    },
  };
}
