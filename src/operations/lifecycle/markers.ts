// Paging for the lifecycle listings (ListAliases, ListResourceTags, ListKeyPolicies). Markers are
// opaque to callers; ours carry the last name returned, so a page stays correct while items are
// added or removed between calls.
import { InvalidMarkerException } from '../../errors.js';

const prefix = 'ekms1:';

export function markerAfter(name: string): string {
  return prefix + Buffer.from(name, 'utf8').toString('base64url');
}

/** The name a marker continues after; undefined for the first page. */
export function nameAfter(marker: string | undefined): string | undefined {
  if (marker === undefined) return undefined;
  if (!marker.startsWith(prefix)) throw new InvalidMarkerException('Invalid marker');
  return Buffer.from(marker.slice(prefix.length), 'base64url').toString('utf8');
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
