// A minimal client of a KMS endpoint (ours or AWS's) speaking AWS JSON 1.1, for the CLI's
// `--endpoint-url`: it posts wire-form JSON, signs with SigV4 (@smithy/signature-v4) when it has
// credentials, and turns error responses into the AWS error classes of errors.ts.
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

import { SignatureV4 } from '@smithy/signature-v4';

import { errorFor, type KmsError } from '../errors.js';
import { NodeSha256 } from '../endpoint/sha256.js';
import { operations, shapes, targetPrefix, type OperationName } from '../model/service-model.js';
import { userAgent } from '../version.js';
import { pythonJson } from './python-json.js';

export interface RemoteCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface RemoteOptions {
  endpoint: string;
  region: string;
  /** Without credentials requests are sent unsigned (enough for an `--auth none` endpoint). */
  credentials?: RemoteCredentials;
  /** false: accept any TLS certificate (the AWS CLI's --no-verify-ssl). */
  verifyTls?: boolean;
  /** A PEM file of the certificate authorities to trust instead of Node's (the AWS CLI's --ca-bundle). */
  caBundle?: string;
  timeoutMs?: number;
}

/** The endpoint could not be reached or did not answer in AWS JSON. */
/** Node's codes for a server certificate that does not verify (OpenSSL's X509_V_ERR_* names, and the host check's). */
function isCertificateError(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY|DECRYPT)/.test(code);
}

export class EndpointConnectionError extends Error {
  override readonly name = 'EndpointConnectionError';
}

/**
 * A request's JSON as botocore writes it: the operation's members in the model's order (the AWS
 * CLI builds its parameters member by member), then Python's json.dumps() (python-json.ts).
 * Recorded fixtures and body hashes see the same bytes from either CLI.
 */
export function requestBody(op: OperationName, input: Record<string, unknown>): string {
  const members = Object.keys(shapes[operations[op]?.input ?? '']?.members ?? {});
  const ordered: Record<string, unknown> = {};
  for (const m of members) if (Object.hasOwn(input, m)) ordered[m] = input[m];
  for (const [k, v] of Object.entries(input)) if (!Object.hasOwn(ordered, k)) ordered[k] = v;
  return pythonJson(ordered);
}

export class RemoteKms {
  private readonly url: URL;
  private readonly signer: SignatureV4 | undefined;
  private readonly ca: Buffer | undefined;

  constructor(private readonly options: RemoteOptions) {
    this.url = new URL(options.endpoint);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:')
      throw new EndpointConnectionError(`Invalid endpoint: ${options.endpoint}`);
    this.signer = options.credentials
      ? new SignatureV4({ service: 'kms', region: options.region, credentials: options.credentials, sha256: NodeSha256 })
      : undefined;
    // Only HTTPS reads it (the AWS CLI ignores a bundle it has no use for).
    if (options.caBundle !== undefined && this.url.protocol === 'https:') {
      try {
        this.ca = readFileSync(options.caBundle);
      } catch (err) {
        throw new EndpointConnectionError(`Could not read the CA bundle ${options.caBundle} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
  }

  /**
   * Sends one operation with a wire-form input; resolves the wire-form output or rejects with its
   * KmsError. The body is the bytes botocore sends for it (requestBody).
   */
  async call(op: OperationName, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const body = Buffer.from(requestBody(op, input), 'utf8');
    const path = this.url.pathname || '/';
    let headers: Record<string, string> = {
      host: this.url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `${targetPrefix}.${op}`,
      'content-length': String(body.length),
      'user-agent': `${userAgent} ekms-cli`,
    };
    if (this.signer) {
      const signed = await this.signer.sign({
        method: 'POST',
        protocol: this.url.protocol,
        hostname: this.url.hostname,
        ...(this.url.port ? { port: Number(this.url.port) } : {}),
        path,
        query: {},
        headers,
        body,
      });
      headers = signed.headers;
    }
    const res = await this.send(path, headers, body);
    const text = res.body.toString('utf8');
    let json: unknown = {};
    if (text.trim()) {
      try {
        json = JSON.parse(text);
      } catch {
        throw new EndpointConnectionError(`The endpoint ${this.options.endpoint} answered HTTP ${res.status} with a body that is not JSON.`);
      }
    }
    if (res.status >= 200 && res.status < 300) return (json ?? {}) as Record<string, unknown>;
    throw this.errorOf(res.status, res.headers, json);
  }

  private errorOf(status: number, headers: IncomingMessage['headers'], json: unknown): KmsError {
    const body = (json ?? {}) as Record<string, unknown>;
    // botocore's JSON error parser: the body's __type, else the HTTP status as the code.
    const type = String(body['__type'] ?? status);
    const message = String(body['message'] ?? body['Message'] ?? '');
    const err = errorFor(type, message, status >= 500 ? 'server' : 'client');
    const requestId = headers['x-amzn-requestid'];
    Object.assign(err.$metadata, { httpStatusCode: status, ...(typeof requestId === 'string' ? { requestId } : {}) });
    return err;
  }

  private send(path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    const https = this.url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(
        {
          method: 'POST',
          hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
          port: this.url.port || (https ? 443 : 80),
          path,
          headers,
          ...(https && this.options.verifyTls === false ? { rejectUnauthorized: false } : {}),
          ...(https && this.ca !== undefined ? { ca: this.ca } : {}),
          timeout: this.options.timeoutMs ?? 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      // botocore's words, with the URL it requested (the endpoint's, `/` when it has no path).
      let connected = false;
      let timedOut = false;
      req.on('socket', (socket) => socket.once(https ? 'secureConnect' : 'connect', () => (connected = true)));
      req.on('timeout', () => {
        timedOut = true;
        req.destroy(new Error('timed out'));
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A certificate that does not verify is no refused connection: botocore says which.
        if (https && !connected && isCertificateError(err)) {
          // OpenSSL's reason only: Node 24 appends "; if the root CA is installed locally, try
          // running Node.js with --use-system-ca", advice for `node`, not for an `ekms` user.
          const reason = err.message.split(';')[0];
          reject(new EndpointConnectionError(`SSL validation failed for ${this.url.href} [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ${reason}`));
          return;
        }
        reject(
          new EndpointConnectionError(
            timedOut ? `${connected ? 'Read' : 'Connect'} timeout on endpoint URL: "${this.url.href}"` : `Could not connect to the endpoint URL: "${this.url.href}"`,
          ),
        );
      });
      req.end(body);
    });
  }
}
