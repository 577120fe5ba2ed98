// ListGrants (a key's grants) and ListRetirableGrants (the grants a principal may retire, on any
// key), in creation order. AWS: Limit 1–100, default 50. Markers carry the last grant's place.
import { ValidationException } from '../../errors.js';
import type { Arns } from '../../keys/arn.js';
import { checkGrantId } from '../../keys/grants.js';
import { checkKeyState } from '../../keys/state.js';
import type { GrantListEntry, ListGrantsResponse } from '../../model/types.js';
import { grantsPage, type GrantFilter, type GrantRecord } from '../../store/grants.js';
import { limitOf, nameAfter, pageOf, sequenceOf } from '../lifecycle/markers.js';
import { defineOperation, type OperationContext } from '../operation.js';

function entryOf(arns: Arns, g: GrantRecord): GrantListEntry {
  const e: GrantListEntry = { KeyId: arns.key(g.keyId), GrantId: g.grantId };
  // AWS lists a grant made without a Name with an empty one (the developer guide's grant-view
  // output, the AWS CLI's list-retirable-grants example).
  e.Name = g.name ?? '';
  e.CreationDate = g.createdAt;
  if (g.granteePrincipal !== undefined) e.GranteePrincipal = g.granteePrincipal;
  if (g.granteeServicePrincipal !== undefined) e.GranteeServicePrincipal = g.granteeServicePrincipal;
  if (g.retiringPrincipal !== undefined) e.RetiringPrincipal = g.retiringPrincipal;
  if (g.retiringServicePrincipal !== undefined) e.RetiringServicePrincipal = g.retiringServicePrincipal;
  e.IssuingAccount = arns.accountRoot();
  e.Operations = [...g.operations];
  if (g.constraints !== undefined) e.Constraints = structuredClone(g.constraints);
  return e;
}

/** `scope`: the listing, for its markers (markers.ts). */
function page(ctx: OperationContext, filter: GrantFilter, limit: number | undefined, marker: string | undefined, scope: string): ListGrantsResponse {
  const after = nameAfter(marker, scope);
  const afterSeq = after === undefined ? 0 : sequenceOf(after);
  const max = limitOf(limit, 50, 100);
  const rows = grantsPage(ctx.store.db, filter, afterSeq, max + 1);
  const p = pageOf(rows, max, (g) => String(g.seq), scope);
  const out: ListGrantsResponse = { Grants: p.items.map((g) => entryOf(ctx.arns, g)), Truncated: p.Truncated };
  if (p.NextMarker !== undefined) out.NextMarker = p.NextMarker;
  return out;
}

export const listGrants = defineOperation('ListGrants', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'ListGrants');
  if (input.GrantId !== undefined) checkGrantId(input.GrantId);
  if (input.GranteePrincipal !== undefined && input.GranteeServicePrincipal !== undefined)
    throw new ValidationException('You can specify either GranteePrincipal or GranteeServicePrincipal, but not both.');
  return page(
    ctx,
    { keyId: key.record.keyId, grantId: input.GrantId, granteePrincipal: input.GranteePrincipal, granteeServicePrincipal: input.GranteeServicePrincipal },
    input.Limit,
    input.Marker,
    `ListGrants ${key.record.keyId}`,
  );
});

export const listRetirableGrants = defineOperation('ListRetirableGrants', async (ctx, input) => {
  if (input.RetiringPrincipal === undefined && input.RetiringServicePrincipal === undefined)
    throw new ValidationException("1 validation error detected: Value null at 'retiringPrincipal' failed to satisfy constraint: Member must not be null");
  if (input.RetiringPrincipal !== undefined && input.RetiringServicePrincipal !== undefined)
    throw new ValidationException('You must specify either RetiringPrincipal or RetiringServicePrincipal, but not both.');
  // Either principal, in a scope of its own (the two kinds can share a text).
  const scope = input.RetiringPrincipal !== undefined ? `ListRetirableGrants ${input.RetiringPrincipal}` : `ListRetirableGrants service ${input.RetiringServicePrincipal}`;
  return page(ctx, { retiringPrincipal: input.RetiringPrincipal, retiringServicePrincipal: input.RetiringServicePrincipal }, input.Limit, input.Marker, scope);
});
