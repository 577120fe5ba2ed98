// RetireGrant (by the grant's token, or by key and grant id) and RevokeGrant (by key and grant
// id): the grant is deleted. Who may do which is not checked (grants are not evaluated).
import { NotFoundException, ValidationException } from '../../errors.js';
import { checkGrantId, parseGrantToken } from '../../keys/grants.js';
import type { LoadedKey } from '../../keys/registry.js';
import { checkKeyState } from '../../keys/state.js';
import { deleteGrant, getGrant } from '../../store/grants.js';
import { defineOperation, stopIfDryRun, type OperationContext } from '../operation.js';

function removeGrant(ctx: OperationContext, key: LoadedKey, grantId: string, dryRun: boolean | undefined): void {
  const missing = () => new NotFoundException(`Grant ID ${grantId} not found for ${key.arn}`);
  if (dryRun) {
    if (!getGrant(ctx.store.db, key.record.keyId, grantId)) throw missing();
    stopIfDryRun({ DryRun: dryRun });
  }
  if (!ctx.store.write(() => deleteGrant(ctx.store.db, key.record.keyId, grantId))) throw missing();
}

export const retireGrant = defineOperation('RetireGrant', async (ctx, input) => {
  let keyParam: string;
  let grantId: string;
  if (input.GrantToken !== undefined) {
    const named = parseGrantToken(input.GrantToken);
    // A token names its key and grant; a KeyId or GrantId given beside it must agree.
    if ((input.GrantId !== undefined && input.GrantId !== named.grantId) || (input.KeyId !== undefined && ctx.keys.resolve(input.KeyId, { aliases: false }).record.keyId !== named.keyId))
      throw new ValidationException('The grant token does not identify the grant named by KeyId and GrantId.');
    keyParam = named.keyId;
    grantId = named.grantId;
  } else {
    if (input.KeyId === undefined || input.GrantId === undefined)
      throw new ValidationException('Either GrantToken, or both KeyId and GrantId, must be specified.');
    checkGrantId(input.GrantId);
    keyParam = input.KeyId;
    grantId = input.GrantId;
  }
  const key = ctx.keys.resolve(keyParam, { aliases: false });
  checkKeyState(key, 'RetireGrant');
  removeGrant(ctx, key, grantId, input.DryRun);
  return {};
});

export const revokeGrant = defineOperation('RevokeGrant', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'RevokeGrant');
  checkGrantId(input.GrantId);
  removeGrant(ctx, key, input.GrantId, input.DryRun);
  return {};
});
