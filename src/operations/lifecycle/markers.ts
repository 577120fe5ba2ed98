// Paging for the listings by name or sequence number (ListAliases, ListResourceTags,
// ListKeyPolicies, ListGrants, ListRetirableGrants). Markers are opaque to callers; ours carry the
// last name returned, so a page stays correct while items are added or removed between calls, and
// a tag of the listing they came from (its operation and what it lists: the key, the principal),
// so that a marker handed to another listing, or to the same one for another key, is refused
// rather than read as a position in it (which would silently skip that listing's first items).
import { createHash } from 'node:crypto';

import { InvalidMarkerException } from '../../errors.js';

const prefix = 'ekms2:';

/** 48 bits of SHA-256 of the listing's scope: enough to tell listings apart, not a secret. */
const tagOf = (scope: string): string => createHash('sha256').update(scope, 'utf8').digest('base64url').slice(0, 8);

/** The marker for the page after `name` in the listing `scope` names (e.g. `ListAliases`, `ListGrants ${keyId}`). */
export function markerAfter(name: string, scope: string): string {
  return `${prefix}${Buffer.from(name, 'utf8').toString('base64url')}.${tagOf(scope)}`;
}

/**
 * The name a marker continues after; undefined for the first page. Only a marker we could have
 * made for this listing is accepted: Node's base64url decoding skips what is not base64url, so a
 * junk marker would otherwise decode to '' (or to a part of itself) and silently restart or skip
 * the listing; and another listing's marker would name a position in the wrong list.
 */
export function nameAfter(marker: string | undefined, scope: string): string | undefined {
  if (marker === undefined) return undefined;
  const dot = marker.lastIndexOf('.');
  const name = marker.startsWith(prefix) && dot > prefix.length ? Buffer.from(marker.slice(prefix.length, dot), 'base64url').toString('utf8') : '';
  if (name === '' || markerAfter(name, scope) !== marker) throw new InvalidMarkerException('Invalid marker');
  return name;
}

/** A position in a creation order (a decimal sequence number, from 1), as markers carry it. */
export function sequenceOf(text: string): number {
  const n = /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidMarkerException('Invalid marker');
  return n;
}

/** One page out of `fetch(limit + 1)` rows: the items, and a marker (for `scope`) when there are more. */
export function pageOf<T>(
  rows: readonly T[],
  limit: number,
  nameOf: (row: T) => string,
  scope: string,
): { items: T[]; Truncated: boolean; NextMarker?: string } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  if (rows.length <= limit || last === undefined) return { items, Truncated: false };
  return { items, Truncated: true, NextMarker: markerAfter(nameOf(last), scope) };
}

/** AWS documents a smaller range than the model allows for some listings; larger limits are capped. */
export function limitOf(requested: number | undefined, fallback: number, max: number): number {
  return Math.min(requested ?? fallback, max);
}
