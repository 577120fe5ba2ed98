// CreateKey: checks the combination of spec, usage and origin as AWS does, makes the key
// material in native code (or on a token), and stores record and material in one transaction.
import { UnsupportedOperationException, ValidationException } from '../../errors.js';
import { newKeyId, newMaterialId } from '../../keys/ids.js';
import { keyMetadata } from '../../keys/metadata.js';
import { checkPolicy, defaultKeyPolicy } from '../../keys/policy.js';
import { keySpecs } from '../../keys/specs.js';
import { checkTags } from '../../keys/tags.js';
import type { KeySpec, KeyUsageType } from '../../model/types.js';
import type { KeyRecord, MaterialRecord } from '../../store/records.js';
import type { NativeKeyHandle } from '../../native/addon.js';
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
  return { spec, usage };
}

export const createKey = defineOperation('CreateKey', async (ctx, input) => {
  const { spec, usage } = resolveSpecAndUsage(input);
  const origin = input.Origin ?? 'AWS_KMS';
  if (origin !== 'AWS_KMS') throw new UnsupportedOperationException(`Origin ${origin} is not supported by embedded-kms.`);
  if (input.CustomKeyStoreId !== undefined)
    throw new UnsupportedOperationException('CustomKeyStoreId requires Origin AWS_CLOUDHSM and a configured PKCS#11 token.');
  if (input.XksKeyId !== undefined) throw new UnsupportedOperationException('External key stores are not supported by embedded-kms.');
  const tags = input.Tags ?? [];
  checkTags(tags);
  const policy = input.Policy ?? defaultKeyPolicy(ctx.arns.accountId);
  if (input.Policy !== undefined) checkPolicy(policy);

  const keyId = newKeyId(input.MultiRegion === true);
  const materialId = newMaterialId();
  const now = ctx.now();
  const generated = await native(ctx.engine.generateKey(spec, keyId, materialId));
  const material: MaterialRecord = {
    keyId,
    materialId,
    createdAt: now,
    wrapped: generated.wrapped,
    publicKey: generated.publicKey,
  };
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
  ctx.store.insertKey(record, material, tags);
  ctx.keys.remember(record, [material], new Map([[materialId, generated.handle]]));
  return { KeyMetadata: keyMetadata(record, ctx.arns) };
});
