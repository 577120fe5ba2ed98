// AWS Signature Version 4 verification (header form) for the endpoint's `--auth sigv4`.
//
// The signature itself is computed by @smithy/signature-v4, the AWS SDK's own signer: we give it
// the request as the client says it signed it (exactly the SignedHeaders, the raw body, the
// client's X-Amz-Date) and the secret of the claimed access key, and compare its signature with
// the client's in constant time. This module only parses the Authorization header, checks the
// credential scope and the clock, and reports failures with AWS's error types and wording.
import { createHash, timingSafeEqual } from 'node:crypto';

import { SignatureV4 } from '@smithy/signature-v4';

import {
  IncompleteSignatureException,
  InvalidSignatureException,
  MissingAuthenticationTokenException,
  UnrecognizedClientException,
} from '../errors.js';
import type { AccessKeys } from './access-keys.js';
import { NodeSha256 } from './sha256.js';

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS accepts requests signed up to 5 minutes before or after its own clock. */
const MAX_SKEW_MS = 5 * 60 * 1000;
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

export interface SignedRequest {
  method: string;
  /** Path and query as received, e.g. `/` or `/?a=b`. */
  path: string;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  body: Uint8Array;
}

export interface SigV4Options {
  keys: AccessKeys;
  /** The region a credential scope must name. */
  region: string;
  /** The service a credential scope must name. */
  service?: string;
  clock?: () => Date;
}

interface Authorization {
  credential?: string;
  signedHeaders?: string;
  signature?: string;
}

function parseAuthorization(value: string): Authorization {
  const rest = value.slice(ALGORITHM.length).trim();
  const out: Authorization = {};
  for (const part of rest.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (name === 'Credential') out.credential = v;
    else if (name === 'SignedHeaders') out.signedHeaders = v;
    else if (name === 'Signature') out.signature = v;
  }
  return out;
}

/** `20260102T030405Z` → Date, or undefined when malformed. */
function parseAmzDate(s: string | undefined): Date | undefined {
  const m = s && /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function amzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function checkClock(signed: Date, raw: string, now: Date): void {
  const earliest = new Date(now.getTime() - MAX_SKEW_MS);
  const latest = new Date(now.getTime() + MAX_SKEW_MS);
  if (signed < earliest)
    throw new InvalidSignatureException(`Signature expired: ${raw} is now earlier than ${amzDate(earliest)} (${amzDate(now)} - 5 min.)`);
  if (signed > latest)
    throw new InvalidSignatureException(`Signature not yet current: ${raw} is still later than ${amzDate(latest)} (${amzDate(now)} + 5 min.)`);
}

function splitPath(path: string): { path: string; query: Record<string, string | string[]> } {
  const q = path.indexOf('?');
  if (q < 0) return { path, query: {} };
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(path.slice(q + 1))) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return { path: path.slice(0, q) || '/', query };
}

function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  // Compare equal-length buffers only; a different length is a mismatch, and says nothing secret.
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Verifies the request's SigV4 Authorization header. Returns the access key id on success;
 * throws MissingAuthenticationTokenException, IncompleteSignatureException,
 * UnrecognizedClientException or InvalidSignatureException as AWS does.
 */
export async function verifySigV4(req: SignedRequest, options: SigV4Options): Promise<{ accessKeyId: string }> {
  const service = options.service ?? 'kms';
  const header = req.headers['authorization'];
  if (header === undefined || header === '') throw new MissingAuthenticationTokenException('Missing Authentication Token');
  if (!header.startsWith(`${ALGORITHM} `)) {
    const alg = header.split(/\s/, 1)[0] ?? '';
    throw new IncompleteSignatureException(`Unsupported AWS 'algorithm': '${alg}'. Only ${ALGORITHM} is supported.`);
  }
  const auth = parseAuthorization(header);
  const rawDate = req.headers['x-amz-date'];
  const missing: string[] = [];
  if (!auth.credential) missing.push("Authorization header requires 'Credential' parameter.");
  if (!auth.signature) missing.push("Authorization header requires 'Signature' parameter.");
  if (!auth.signedHeaders) missing.push("Authorization header requires 'SignedHeaders' parameter.");
  // SigV4 also allows the HTTP Date header as the signing time, which every SDK replaces with
  // X-Amz-Date; the signer this verifier uses drops a Date header, so such a request is refused,
  // saying so rather than claiming the header is missing.
  if (!rawDate && req.headers['date'] !== undefined)
    missing.push("embedded-kms takes the signing time from the 'X-Amz-Date' header only; a request dated by its 'Date' header is not supported.");
  else if (!rawDate) missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  if (missing.length) throw new IncompleteSignatureException(missing.join(' '));

  const scope = auth.credential!.split('/');
  if (scope.length !== 5)
    throw new IncompleteSignatureException(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${auth.credential}'`,
    );
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator] = scope as [string, string, string, string, string];
  const secret = options.keys.get(accessKeyId);
  if (secret === undefined) throw new UnrecognizedClientException('The security token included in the request is invalid.');
  // The endpoint's keys are long-term keys, which take no session token: AWS refuses a request
  // that carries one (a stale AWS_SESSION_TOKEN beside them), and so does this endpoint, so that
  // a setup that works here does not fail against AWS.
  if (req.headers['x-amz-security-token'] !== undefined) throw new UnrecognizedClientException('The security token included in the request is invalid.');

  const signingDate = parseAmzDate(rawDate);
  if (!signingDate) throw new IncompleteSignatureException(`X-Amz-Date must be in the ISO-8601 basic format yyyyMMdd'T'HHmmss'Z', got '${rawDate}'.`);
  if (scopeDate !== rawDate!.slice(0, 8))
    throw new InvalidSignatureException(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${rawDate!.slice(0, 8)}', from '${rawDate}'.`,
    );
  if (scopeRegion !== options.region) throw new InvalidSignatureException(`Credential should be scoped to a valid region, not '${scopeRegion}'.`);
  if (scopeService !== service) throw new InvalidSignatureException(`Credential should be scoped to correct service: '${service}'.`);
  if (terminator !== 'aws4_request')
    throw new InvalidSignatureException(`Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`);

  const signedHeaders = auth.signedHeaders!.split(';').map((h) => h.trim().toLowerCase());
  if (!signedHeaders.includes('host')) throw new InvalidSignatureException("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  if (!signedHeaders.includes('x-amz-date')) throw new InvalidSignatureException("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
  // The operation is named by X-Amz-Target: unsigned, a captured request (a DescribeKey) could be
  // sent again as another operation whose input the body also fits (ScheduleKeyDeletion). Every
  // SDK and the AWS CLI sign it.
  if (req.headers['x-amz-target'] !== undefined && !signedHeaders.includes('x-amz-target'))
    throw new InvalidSignatureException("'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.");

  checkClock(signingDate, rawDate!, (options.clock ?? (() => new Date()))());

  // The signer takes a declared payload hash at its word, so check the declaration first. KMS
  // signs its bodies: UNSIGNED-PAYLOAD (and S3's STREAMING- forms) would leave the body
  // unauthenticated, and AWS, hashing the body itself, finds such a signature wrong.
  const declared = req.headers['x-amz-content-sha256'];
  if (declared !== undefined) {
    if (declared === 'UNSIGNED-PAYLOAD' || declared.startsWith('STREAMING-')) throw new InvalidSignatureException(MISMATCH);
    const actual = createHash('sha256').update(req.body).digest('hex');
    if (!sameSignature(declared.toLowerCase(), actual))
      throw new InvalidSignatureException("The provided 'x-amz-content-sha256' header does not match what was computed.");
  }

  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const v = req.headers[name];
    if (v === undefined) throw new InvalidSignatureException(MISMATCH);
    headers[name] = v;
  }
  const { path, query } = splitPath(req.path);
  const signer = new SignatureV4({
    service: scopeService,
    region: scopeRegion,
    credentials: { accessKeyId, secretAccessKey: secret },
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const expected = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: headers['host'] ?? '', path, query, headers, body: req.body },
    { signingDate, signableHeaders: new Set(signedHeaders) },
  );
  const computed = /Signature=([0-9a-f]+)/.exec(String(expected.headers['authorization'] ?? ''))?.[1] ?? '';
  if (!computed || !sameSignature(computed, auth.signature!.toLowerCase())) throw new InvalidSignatureException(MISMATCH);
  return { accessKeyId };
}
