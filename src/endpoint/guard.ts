// Browser defences for a loopback endpoint. A server on 127.0.0.1 is still reachable from any
// web page the user opens: through DNS rebinding (evil.example resolving to 127.0.0.1, so the
// request carries `Host: evil.example`) or through a cross-origin fetch. So a request is
// refused unless its Host names this server's own loopback address and port, and unless any
// Origin it carries is this server's own origin. (We never send CORS headers either, so a
// browser would not let a page read a response anyway; refusing also stops the request from
// having an effect.)
import { AccessDeniedException, type KmsError } from '../errors.js';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Whether `host` (a listen address or a Host header's name) is a loopback address or name. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return LOOPBACK_NAMES.has(h) || /^127(?:\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

function bracket(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export interface GuardOptions {
  /** The address the server listens on. */
  host: string;
  port: number;
  tls: boolean;
  /** Extra Host names accepted (a server behind a name, or on a non-loopback address). */
  allowedHosts?: readonly string[];
}

export interface RequestGuard {
  /** undefined when the request may proceed, else the error to answer with. */
  check(headers: Readonly<Record<string, string | undefined>>): KmsError | undefined;
}

export function requestGuard(options: GuardOptions): RequestGuard {
  const scheme = options.tls ? 'https' : 'http';
  const defaultPort = options.tls ? 443 : 80;
  const names = new Set<string>((options.allowedHosts ?? []).map((h) => bracket(h.toLowerCase())));
  const loopback = isLoopbackHost(options.host);
  if (loopback) {
    for (const n of ['localhost', '127.0.0.1', '[::1]', bracket(options.host.toLowerCase())]) names.add(n);
  }
  // On a non-loopback address without allowedHosts there is no list of our own names; SigV4
  // (required there) covers the Host header, so only the Origin rule applies.
  const checkHost = names.size > 0;
  const hosts = new Set<string>();
  for (const n of names) {
    hosts.add(`${n}:${options.port}`);
    if (options.port === defaultPort) hosts.add(n);
  }

  return {
    check(headers) {
      const host = (headers['host'] ?? '').toLowerCase();
      if (checkHost && !hosts.has(host)) {
        return new AccessDeniedException(
          `Host ${JSON.stringify(host.slice(0, 255))} is not this endpoint's address; request refused (DNS rebinding protection).`,
        );
      }
      const origin = headers['origin'];
      if (origin !== undefined && origin.toLowerCase() !== `${scheme}://${host}`) {
        return new AccessDeniedException('Cross-origin browser requests are not accepted by this endpoint.');
      }
      // Browsers send Sec-Fetch-Site even where they omit Origin.
      const site = headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin' && site !== 'none') {
        return new AccessDeniedException('Cross-origin browser requests are not accepted by this endpoint.');
      }
      return undefined;
    },
  };
}
