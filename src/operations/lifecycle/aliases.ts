// CreateAlias, UpdateAlias, DeleteAlias, ListAliases. An alias names one key; a key may have
// many aliases. Alias names follow keys/aliases.ts; target keys are given by key id or key ARN
// only (AWS refuses an alias as the target of an alias).
import { AlreadyExistsException, NotFoundException, ValidationException } from '../../errors.js';
import { checkAliasName, checkAliasQuota } from '../../keys/aliases.js';
import type { LoadedKey } from '../../keys/registry.js';
import { checkKeyState } from '../../keys/state.js';
import type { AliasListEntry } from '../../model/types.js';
import type { AliasRecord } from '../../store/records.js';
import { defineOperation, type OperationContext } from '../operation.js';
import { limitOf, nameAfter, pageOf } from './markers.js';

function alreadyExists(ctx: OperationContext, aliasName: string): AlreadyExistsException {
  return new AlreadyExistsException(`An alias with the name ${ctx.arns.alias(aliasName)} already exists`);
}

function notFound(ctx: OperationContext, aliasName: string): NotFoundException {
  return new NotFoundException(`Alias ${ctx.arns.alias(aliasName)} is not found.`);
}

/** Symmetric encryption, HMAC or asymmetric: an alias may move only within one family. */
/** The kind of key, with its article: "a symmetric key", "an asymmetric key", "an HMAC key". */
function family(key: LoadedKey): string {
  const spec = key.record.keySpec;
  if (spec === 'SYMMETRIC_DEFAULT') return 'a symmetric';
  if (spec.startsWith('HMAC_')) return 'an HMAC';
  return 'an asymmetric';
}

export const createAlias = defineOperation('CreateAlias', async (ctx, input) => {
  checkAliasName(input.AliasName);
  if (ctx.store.getAlias(input.AliasName)) throw alreadyExists(ctx, input.AliasName);
  const key = ctx.keys.resolve(input.TargetKeyId, { aliases: false });
  checkKeyState(key, 'CreateAlias');
  const now = ctx.now();
  const created = ctx.store.write(() => {
    // The target may have been deleted by another process since it was resolved.
    if (ctx.store.getKey(key.record.keyId) === undefined) return false;
    // Counted inside the transaction: another process may be naming the same key.
    if (!ctx.store.getAlias(input.AliasName)) checkAliasQuota(ctx.store.countAliases(key.record.keyId), key.arn);
    return ctx.store.insertAlias({ aliasName: input.AliasName, keyId: key.record.keyId, createdAt: now, updatedAt: now });
  });
  if (!created) {
    if (ctx.store.getAlias(input.AliasName)) throw alreadyExists(ctx, input.AliasName);
    throw new NotFoundException(`Key '${key.arn}' does not exist`);
  }
  ctx.keys.forgetAlias(input.AliasName);
  return {};
});

export const updateAlias = defineOperation('UpdateAlias', async (ctx, input) => {
  checkAliasName(input.AliasName);
  const alias = ctx.store.getAlias(input.AliasName);
  if (!alias) throw notFound(ctx, input.AliasName);
  const key = ctx.keys.resolve(input.TargetKeyId, { aliases: false });
  checkKeyState(key, 'UpdateAlias');
  const current = ctx.keys.get(alias.keyId);
  if (current && (family(current) !== family(key) || current.record.keyUsage !== key.record.keyUsage))
    throw new ValidationException(
      `${input.AliasName} cannot be changed from ${family(current)} key with key usage ${current.record.keyUsage} to ${family(key)} key with key usage ${key.record.keyUsage}.`,
    );
  const retargeted = ctx.store.write(() => {
    const existing = ctx.store.getAlias(input.AliasName);
    if (existing && existing.keyId !== key.record.keyId) checkAliasQuota(ctx.store.countAliases(key.record.keyId), key.arn);
    return ctx.store.retargetAlias(input.AliasName, key.record.keyId, ctx.now());
  });
  if (!retargeted) throw notFound(ctx, input.AliasName);
  ctx.keys.forgetAlias(input.AliasName);
  return {};
});

export const deleteAlias = defineOperation('DeleteAlias', async (ctx, input) => {
  checkAliasName(input.AliasName);
  // The key it named, for the audit trail (ct-deletealias names it in responseElements.keyId).
  const keyId = ctx.store.write(() => {
    const alias = ctx.store.getAlias(input.AliasName);
    return alias && ctx.store.deleteAlias(input.AliasName) ? alias.keyId : undefined;
  });
  if (keyId === undefined) throw notFound(ctx, input.AliasName);
  ctx.keys.forgetAlias(input.AliasName);
  ctx.actedOnKeyId = keyId;
  return {};
});

function entry(ctx: OperationContext, a: AliasRecord): AliasListEntry {
  return {
    AliasName: a.aliasName,
    AliasArn: ctx.arns.alias(a.aliasName),
    TargetKeyId: a.keyId,
    CreationDate: a.createdAt,
    LastUpdatedDate: a.updatedAt,
  };
}

// AWS: Limit 1–100, default 50.
export const listAliases = defineOperation('ListAliases', async (ctx, input) => {
  const limit = limitOf(input.Limit, 50, 100);
  let keyId: string | undefined;
  if (input.KeyId !== undefined) {
    const key = ctx.keys.resolve(input.KeyId, { aliases: false });
    checkKeyState(key, 'ListAliases');
    keyId = key.record.keyId;
  }
  const scope = keyId === undefined ? 'ListAliases' : `ListAliases ${keyId}`;
  const after = nameAfter(input.Marker, scope);
  const page = pageOf(ctx.store.listAliases(after, limit + 1, keyId), limit, (a) => a.aliasName, scope);
  const out: { Aliases: AliasListEntry[]; Truncated: boolean; NextMarker?: string } = {
    Aliases: page.items.map((a) => entry(ctx, a)),
    Truncated: page.Truncated,
  };
  if (page.NextMarker !== undefined) out.NextMarker = page.NextMarker;
  return out;
});
