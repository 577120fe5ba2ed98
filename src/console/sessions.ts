// Console sessions. A browser gets a random token when it opens a session (after its access key
// is checked, under --auth sigv4) and sends it back in a header with every console request. The
// token is the session and the CSRF token at once: a header is never attached by a browser on
// its own, so another site cannot make the browser send it, and the page keeps it in
// sessionStorage, which (unlike a cookie) is private to this origin's scheme, host and port.
// Only a hash of each token is kept, so a lookup's timing says nothing about a valid token.
import { createHash, randomBytes } from 'node:crypto';

export interface Session {
  /** The access key the session signed in with (--auth sigv4), for the audit trail. */
  readonly accessKeyId?: string;
  readonly expiresAt: number;
}

export interface SessionOptions {
  /** How long a session lasts. Default 12 hours, as an AWS console sign-in. */
  lifetimeMs?: number;
  /** Sessions kept at most; the oldest is dropped past it, so no client can exhaust memory. */
  maxSessions?: number;
  now?: () => number;
}

const digest = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

export class ConsoleSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly lifetimeMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;

  constructor(options: SessionOptions = {}) {
    this.lifetimeMs = options.lifetimeMs ?? 12 * 3600_000;
    this.maxSessions = options.maxSessions ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** A new session's token (256 random bits, base64url). */
  open(accessKeyId?: string): string {
    const token = randomBytes(32).toString('base64url');
    while (this.sessions.size >= this.maxSessions) {
      // Map iteration follows insertion order: the first entry is the oldest session.
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    this.sessions.set(digest(token), { ...(accessKeyId !== undefined ? { accessKeyId } : {}), expiresAt: this.now() + this.lifetimeMs });
    return token;
  }

  /** The live session of `token`, or undefined (unknown, expired or absent). */
  find(token: string | undefined): Session | undefined {
    if (!token) return undefined;
    const key = digest(token);
    const session = this.sessions.get(key);
    if (session && session.expiresAt <= this.now()) {
      this.sessions.delete(key);
      return undefined;
    }
    return session;
  }

  close(token: string | undefined): void {
    if (token) this.sessions.delete(digest(token));
  }
}
