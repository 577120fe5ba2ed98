// CreateKey: checks the combination of spec, usage and origin as AWS does, makes the key
// material in native code (or on a token), and stores record and material in one transaction.
import type { TokenBackend } from '../../backends/token.js';
import { clearTokenCreation, noteTokenCreation } from '../../backends/token-orphans.js';
import {
  CustomKeyStoreNotFoundException,
  UnsupportedOperationException,
  ValidationException,
} from '../../errors.js';
import { newKeyId, newMaterialId } from '../../keys/ids.js';
import { insertExternalKey } from '../../keys/import-keys.js';
import { keyMetadata } from '../../keys/metadata.js';
import { checkPolicy, defaultKeyPolicy } from '../../keys/policy.js';
import { keySpecs } from '../../keys/specs.js';
import { checkTags } from '../../keys/tags.js';
import type { KeySpec, KeyUsageType } from '../../model/types.js';
import type { KeyRecord, MaterialRecord } from '../../store/records.js';
import type { NativeKeyHandle } from '../../native/addon.js';
import { tokenForExternalKey } from '../import/token.js';
import { requireConnected } from '../custom-key-stores/store-of.js';
import { native } from '../native-errors.js';
import { defineOperation, type Input, type OperationContext } from '../operation.js';

/** A backend that can make key material elsewhere (a PKCS#11 token). */
export interface KeyMaker {
  create(
    ctx: OperationContext,
    spec: KeySpec,
    usage: KeyUsageType,
    keyId: string,
    materialId: string,
  ): Promise<{ material: MaterialRecord; handle: NativeKeyHandle }>;
}

export function resolveSpecAndUsage(input: Input<'CreateKey'>): { spec: KeySpec; usage: KeyUsageType } {
  if (input.KeySpec !== undefined && input.CustomerMasterKeySpec !== undefined)
    throw new ValidationException('You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.');
  const spec = (input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT') as KeySpec;
  const info = keySpecs[spec];
  if (input.KeyUsage === undefined && spec !== 'SYMMETRIC_DEFAULT')
    throw new ValidationException('You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.');
  const usage = input.KeyUsage ?? 'ENCRYPT_DECRYPT';
  if (!info.usages.includes(usage)) throw new ValidationException(`KeyUsage ${usage} is not compatible with KeySpec ${spec}`);
  if (!info.supported) throw new UnsupportedOperationException(info.unsupportedReason ?? `KeySpec ${spec} is not supported.`);
  if (input.Origin === 'EXTERNAL' && info.generatedOnly)
    throw new UnsupportedOperationException(`Importing key material for ${spec} keys is not supported by embedded-kms.`);
  return { spec, usage };
}

/**
 * The token a new key goes to, if any: the one CustomKeyStoreId names, the configured token for
 * Origin AWS_CLOUDHSM, or the default token when neither Origin nor CustomKeyStoreId is given.
 * Unlike AWS, which keeps only symmetric keys in custom key stores, every key spec may go there.
 */
export function tokenForNewKey(ctx: OperationContext, input: Input<'CreateKey'>): TokenBackend | undefined {
  const token = ctx.token;
  let chosen: TokenBackend | undefined;
  if (input.CustomKeyStoreId !== undefined) {
    // A store that does not exist first: what it could hold matters only for one that does.
    if (token === undefined || input.CustomKeyStoreId !== token.customKeyStoreId)
      throw new CustomKeyStoreNotFoundException(`Custom key store ${input.CustomKeyStoreId} does not exist.`);
    if (input.Origin !== undefined && input.Origin !== 'AWS_CLOUDHSM')
      throw new UnsupportedOperationException(`Origin ${input.Origin} cannot be used with a CustomKeyStoreId: keys in this custom key store have Origin AWS_CLOUDHSM.`);
    chosen = token;
  } else if (input.Origin === 'AWS_CLOUDHSM') {
    if (token === undefined)
      throw new UnsupportedOperationException('Origin AWS_CLOUDHSM needs a PKCS#11 token (the pkcs11 option or EKMS_PKCS11_MODULE).');
    chosen = token;
  } else if (input.Origin === undefined && token?.isDefault) {
    chosen = token;
  }
  return chosen && requireConnected(chosen);
}

export const createKey = defineOperation('CreateKey', async (ctx, input) => {
  const { spec, usage } = resolveSpecAndUsage(input);
  // As AWS: a multi-Region key cannot live in a custom key store (its replicas would need the
  // same material in other Regions, and a token's material never leaves it). Where the token is
  // the default store, the caller must ask for software material (Origin AWS_KMS or EXTERNAL)
  // rather than get it silently: whoever made the token the default expects keys in the HSM.
  if (input.MultiRegion === true) {
    if (input.CustomKeyStoreId !== undefined || input.Origin === 'AWS_CLOUDHSM')
      throw new UnsupportedOperationException('You cannot create a multi-Region key in a custom key store.');
    if (input.Origin === undefined && ctx.token?.isDefault)
      throw new UnsupportedOperationException(
        `You cannot create a multi-Region key in a custom key store, and new keys of this key store go to custom key store ${ctx.token.customKeyStoreId} ` +
          "(the PKCS#11 token) by default. To create a multi-Region key protected by the key store's root key, set Origin to AWS_KMS.",
      );
  }
  // Imported material unwrapped inside a token (operations/import/token.ts).
  const externalToken =
    input.Origin === 'EXTERNAL' && input.CustomKeyStoreId !== undefined ? tokenForExternalKey(ctx, input.CustomKeyStoreId, spec) : undefined;
  const token = externalToken ? undefined : tokenForNewKey(ctx, input);
  const origin = token ? 'AWS_CLOUDHSM' : (input.Origin ?? 'AWS_KMS');
  if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL' && !token) throw new UnsupportedOperationException(`Origin ${origin} is not supported by embedded-kms.`);
  if (input.XksKeyId !== undefined) throw new UnsupportedOperationException('External key stores are not supported by embedded-kms.');
  const tags = input.Tags ?? [];
  checkTags(tags);
  const policy = input.Policy ?? defaultKeyPolicy(ctx.arns.accountRoot());
  if (input.Policy !== undefined) checkPolicy(policy);

  if (origin === 'EXTERNAL') {
    // No key material yet (KeyState PendingImport): ImportKeyMaterial brings it (operations/import).
    const record = insertExternalKey(ctx, {
      keyId: newKeyId(input.MultiRegion === true),
      keySpec: spec,
      keyUsage: usage,
      description: input.Description ?? '',
      policy,
      multiRegion: input.MultiRegion === true,
      tags,
      createdAt: ctx.now(),
      ...(externalToken ? { customKeyStoreId: externalToken.customKeyStoreId } : {}),
    });
    return { KeyMetadata: keyMetadata(record, ctx.arns) };
  }

  const keyId = newKeyId(input.MultiRegion === true);
  const materialId = newMaterialId();
  const now = ctx.now();
  let material: MaterialRecord;
  let handle: NativeKeyHandle;
  if (token) {
    // Noted first, so that an object left by a crash before the record is stored is found later.
    noteTokenCreation(ctx.store, keyId, materialId, now);
    const generated = await native(token.createKey(spec, usage, keyId, materialId));
    material = { keyId, materialId, createdAt: now, tokenRef: generated.tokenRef, publicKey: generated.publicKey };
    handle = generated.handle;
  } else {
    const wrappedUnder = ctx.store.wrappingRootCheck;
    const generated = await native(ctx.engine.generateKey(spec, keyId, materialId));
    material = { keyId, materialId, createdAt: now, wrapped: generated.wrapped, publicKey: generated.publicKey, wrappedUnder };
    handle = generated.handle;
  }
  const record: KeyRecord = {
    seq: 0,
    keyId,
    createdAt: now,
    keySpec: spec,
    keyUsage: usage,
    origin,
    state: 'Enabled',
    description: input.Description ?? '',
    policy,
    currentMaterialId: materialId,
    rotationEnabled: false,
    multiRegion: input.MultiRegion === true,
  };
  if (token) record.customKeyStoreId = token.customKeyStoreId;
  try {
    ctx.store.insertKey(record, material, tags);
  } catch (err) {
    // No orphan on the token when the record cannot be written (the note stays if this fails too).
    if (token) await token.destroyMaterial(record, material).then(() => clearTokenCreation(ctx.store, keyId, materialId), () => undefined);
    throw err;
  }
  if (token) clearTokenCreation(ctx.store, keyId, materialId);
  ctx.keys.remember(record, [material], new Map([[materialId, handle]]));
  return { KeyMetadata: keyMetadata(record, ctx.arns) };
});
