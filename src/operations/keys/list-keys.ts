import { InvalidMarkerException } from '../../errors.js';
import { sequenceOf } from '../lifecycle/markers.js';
import { defineOperation } from '../operation.js';

// Markers are opaque to callers; ours encode the position in the store's creation order, so
// paging stays correct while keys are created or deleted between pages.
const markerPrefix = 'ekms1:';

function parseMarker(marker: string | undefined): number {
  if (marker === undefined) return 0;
  if (!marker.startsWith(markerPrefix)) throw new InvalidMarkerException('Invalid marker');
  return sequenceOf(marker.slice(markerPrefix.length));
}

export const listKeys = defineOperation('ListKeys', async (ctx, input) => {
  const limit = input.Limit ?? 100;
  const after = parseMarker(input.Marker);
  const rows = ctx.store.listKeys(after, limit + 1);
  const page = rows.slice(0, limit);
  const truncated = rows.length > limit;
  const out: { Keys: { KeyId: string; KeyArn: string }[]; NextMarker?: string; Truncated: boolean } = {
    Keys: page.map((r) => ({ KeyId: r.keyId, KeyArn: ctx.arns.key(r.keyId) })),
    Truncated: truncated,
  };
  if (truncated) out.NextMarker = `${markerPrefix}${page[page.length - 1]?.seq ?? after}`;
  return out;
});
