// Signing in to the console under --auth sigv4: the access key id and secret the endpoint's
// SigV4 check accepts, compared in constant time. The secret travels in the request body once,
// so it is accepted only over TLS or on a loopback address; it is never logged or echoed.
import { createHash, timingSafeEqual } from 'node:crypto';

import { AccessDeniedException, MissingAuthenticationTokenException, UnrecognizedClientException, ValidationException } from '../errors.js';
import type { AccessKeys } from '../endpoint/access-keys.js';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** One message for an unknown key and a wrong secret: the form should not tell which. */
const REFUSED = 'The access key ID or the secret access key is not valid.';

export interface SignInRequest {
  AccessKeyId?: unknown;
  SecretAccessKey?: unknown;
}

/**
 * Checks the credentials of a sign-in form; returns the access key id, or throws an AWS error
 * whose message the page shows next to the form.
 */
export function checkSignIn(keys: AccessKeys, body: SignInRequest, secureTransport: boolean): string {
  if (!secureTransport)
    throw new AccessDeniedException(
      'Signing in sends the secret access key to the server: serve the console over HTTPS (--tls-cert, --tls-key) or on a loopback address.',
    );
  const { AccessKeyId: id, SecretAccessKey: secret } = body;
  // A page opening without credentials learns that it must show the sign-in form.
  if (id === undefined && secret === undefined) throw new MissingAuthenticationTokenException('Sign in with an access key ID and a secret access key.');
  if (typeof id !== 'string' || id === '' || typeof secret !== 'string' || secret === '')
    throw new ValidationException('Enter an access key ID and a secret access key.');
  const expected = keys.get(id);
  // Digests have equal lengths, so the comparison's time depends on neither the secret's length
  // nor its content; an unknown id is compared too (against the empty secret, never accepted).
  const same = timingSafeEqual(sha256(secret), sha256(expected ?? ''));
  if (expected === undefined || !same) throw new UnrecognizedClientException(REFUSED);
  return id;
}
