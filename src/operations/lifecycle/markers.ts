// Paging for the lifecycle listings (ListAliases, ListResourceTags, ListKeyPolicies). Markers are
// opaque to callers; ours carry the last name returned, so a page stays correct while items are
// added or removed between calls.
import { InvalidMarkerException } from '../../errors.js';

const prefix = 'ekms1:';

export function markerAfter(name: string): string {
  return prefix + Buffer.from(name, 'utf8').toString('base64url');
}

/**
 * The name a marker continues after; undefined for the first page. Only a marker we could have
 * made is accepted: Node's base64url decoding skips what is not base64url, so a junk marker would
 * otherwise decode to '' (or to a part of itself) and silently restart or skip the listing.
 */
export function nameAfter(marker: string | undefined): string | undefined {
  if (marker === undefined) return undefined;
  const name = marker.startsWith(prefix) ? Buffer.from(marker.slice(prefix.length), 'base64url').toString('utf8') : '';
  if (name === '' || markerAfter(name) !== marker) throw new InvalidMarkerException('Invalid marker');
  return name;
}

/** A position in a creation order (a decimal sequence number, from 1), as markers carry it. */
export function sequenceOf(text: string): number {
  const n = /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidMarkerException('Invalid marker');
  return n;
}

/** One page out of `fetch(limit + 1)` rows: the items, and a marker when there are more. */
export function pageOf<T>(
  rows: readonly T[],
  limit: number,
  nameOf: (row: T) => string,
): { items: T[]; Truncated: boolean; NextMarker?: string } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  if (rows.length <= limit || last === undefined) return { items, Truncated: false };
  return { items, Truncated: true, NextMarker: markerAfter(nameOf(last)) };
}

/** AWS documents a smaller range than the model allows for some listings; larger limits are capped. */
export function limitOf(requested: number | undefined, fallback: number, max: number): number {
  return Math.min(requested ?? fallback, max);
}
