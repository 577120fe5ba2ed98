// The page's link to the server. KMS calls are AWS JSON 1.1 requests (X-Amz-Target,
// application/x-amz-json-1.1) sent to the console's KMS route, which hands them to the same
// processing as the endpoint; every console request carries the session token, which is also
// the CSRF token. Failures become AwsError, carrying AWS's error type and message.

const TOKEN_KEY = 'ekms-console-token';
const TOKEN_HEADER = 'x-ekms-console-token';

export class AwsError extends Error {
  constructor(type, message, status) {
    super(message);
    this.name = 'AwsError';
    this.type = type;
    this.status = status;
  }
}

// sessionStorage, not a cookie: private to this scheme, host and port, and never sent by the
// browser on its own.
let token = sessionStorage.getItem(TOKEN_KEY) ?? undefined;
let sessionLost = async () => false;
// The one renewal in flight: every request that finds its session gone waits for it, so a
// session lost while several requests are out is replaced once, not once per request.
let renewal;

/**
 * `handler` is called when the server no longer knows the session (expired, signed out,
 * restarted). It resolves true when it opened a new session (with openSession: it must not
 * make other calls, which wait for it): the requests that failed are then sent once more.
 */
export function onSessionLost(handler) {
  sessionLost = handler;
}

function renewSession() {
  if (!renewal) {
    const p = Promise.resolve().then(() => sessionLost());
    renewal = p;
    p.finally(() => {
      if (renewal === p) renewal = undefined;
    }).catch(() => undefined);
  }
  return renewal;
}

const isSessionError = (type) => type === 'ExpiredTokenException' || type === 'MissingAuthenticationTokenException';

export function hasSession() {
  return token !== undefined;
}

function forgetSession() {
  token = undefined;
  sessionStorage.removeItem(TOKEN_KEY);
}

async function post(path, body, options = {}, retried = false) {
  // renew: false for a request that must not open a new session when its own is gone (sign-out).
  const { contentType = 'application/json', headers = {}, anonymous = false, renew = true } = options;
  // A request sent while the session is being replaced would only fail: it waits for the new one.
  if (renewal && !anonymous) await renewal.catch(() => undefined);
  const sent = anonymous ? undefined : token;
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(sent ? { [TOKEN_HEADER]: sent } : {}), ...headers },
      body: JSON.stringify(body ?? {}),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new AwsError('NetworkError', 'The console cannot reach the server. Is `ekms serve` still running?', 0);
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const type = String(json?.__type ?? `HTTP ${res.status}`).split('#').pop();
    const err = new AwsError(type, String(json?.message ?? json?.Message ?? ''), res.status);
    if (!anonymous && isSessionError(type)) {
      // Forget only the session this request was sent with: a newer one, opened while it was
      // out, stands.
      if (token === sent) forgetSession();
      // The server refuses a request without a live session before acting on it, so sending
      // it again (once) with a new session repeats nothing.
      if (!retried && renew && (token !== undefined || (await renewSession()))) return post(path, body, options, true);
    }
    throw err;
  }
  return json ?? {};
}

/** Opens a session: with no credentials when the server needs none, else with an access key. */
export async function openSession(credentials = {}) {
  const out = await post('/console/api/session', credentials, { anonymous: true });
  token = out.Token;
  sessionStorage.setItem(TOKEN_KEY, token);
  return out;
}

export async function signOut() {
  try {
    // A session already gone is signed out: nothing to renew, and no "session ended" on the way.
    await post('/console/api/sign-out', {}, { renew: false });
  } finally {
    forgetSession();
  }
}

/** What the forms offer: key specs, limits, operations available, account and region. */
export function context() {
  return post('/console/api/context', {});
}

/** Resolves when the alias may be created; rejects with the error CreateAlias would give. */
export function checkAlias(aliasName) {
  return post('/console/api/check-alias', { AliasName: aliasName });
}

/** One KMS operation by its AWS name, e.g. kms('DescribeKey', { KeyId }). */
export function kms(operation, input = {}) {
  return post('/console/api/kms', input, {
    contentType: 'application/x-amz-json-1.1',
    headers: { 'x-amz-target': `TrentService.${operation}` },
  });
}
