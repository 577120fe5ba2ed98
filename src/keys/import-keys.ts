// Keys with imported key material (Origin EXTERNAL): how they are created, and how their key
// state follows their materials, as AWS KMS does it:
// - CreateKey makes the key without material, in PendingImport.
// - A key is Enabled only while every material associated with it is imported (symmetric keys
//   may have several: rotations); a material deleted or expired sends it back to PendingImport,
//   and importing it again brings the key back to Enabled. A key pending deletion keeps its state.
// - Asymmetric and HMAC keys have one material for life; symmetric keys may import new material
//   (pending rotation until RotateKeyOnDemand makes it current).
import { KMSInvalidStateException, UnsupportedOperationException, ValidationException } from '../errors.js';
import type { KeySpec, KeyState, KeyUsageType, RotationsListEntry } from '../model/types.js';
import type { KeyRecord, TagRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { ImportStore as ImportStoreClass, type ImportedMaterialRecord, type ImportStore } from './import-store.js';
import type { KeyRegistry, LoadedKey } from './registry.js';
import { checkKeyState } from './state.js';

/** GetParametersForImport's public key and import token are valid for 24 hours. */
export const importParametersValidityMs = 24 * 3600_000;
/** ImportKeyMaterial's ValidTo may be at most 365 days ahead. */
export const maxValidToMs = 365 * 86_400_000;

/**
 * Import operations work on EXTERNAL keys only (AWS's words, recorded), then as the key's state
 * allows. The origin comes first: a key that can never hold imported material is refused so in
 * any state (AWS's key state table, footnote: "If the KMS key cannot or does not have imported
 * key material").
 */
export function requireImportable(key: LoadedKey, operation: 'GetParametersForImport' | 'ImportKeyMaterial' | 'DeleteImportedKeyMaterial'): void {
  if (key.record.origin !== 'EXTERNAL')
    throw new UnsupportedOperationException(`${key.arn} origin is ${key.record.origin} which is not valid for this operation.`);
  checkKeyState(key, operation);
}

export function isSymmetric(record: Pick<KeyRecord, 'keySpec'>): boolean {
  return record.keySpec === 'SYMMETRIC_DEFAULT';
}

/** A symmetric key with imported material: several materials, on-demand rotation, import states in ListKeyRotations. */
export function isImportedSymmetric(record: Pick<KeyRecord, 'keySpec' | 'origin'>): boolean {
  return record.origin === 'EXTERNAL' && isSymmetric(record);
}

/** The key state once the key's materials stand as `materials` say. */
export function keyStateAfter(record: Pick<KeyRecord, 'state'>, materials: readonly ImportedMaterialRecord[]): KeyState {
  if (record.state === 'PendingDeletion') return record.state;
  const associated = materials.filter((m) => !m.pendingRotation);
  const complete = associated.length > 0 && associated.every((m) => m.importState === 'IMPORTED');
  if (!complete) return 'PendingImport';
  return record.state === 'PendingImport' ? 'Enabled' : record.state;
}

export interface NewExternalKey {
  keyId: string;
  keySpec: KeySpec;
  keyUsage: KeyUsageType;
  description: string;
  policy: string;
  multiRegion: boolean;
  tags: readonly TagRecord[];
  createdAt: Date;
  /** A key whose material will be unwrapped into this PKCS#11 token (operations/import/token.ts). */
  customKeyStoreId?: string;
}

/** Writes a new EXTERNAL key without key material (KeyState PendingImport). */
export function insertExternalKey(deps: { store: Store; keys: KeyRegistry }, k: NewExternalKey): KeyRecord {
  const record: KeyRecord = {
    seq: 0,
    keyId: k.keyId,
    createdAt: k.createdAt,
    keySpec: k.keySpec,
    keyUsage: k.keyUsage,
    origin: 'EXTERNAL',
    state: 'PendingImport',
    description: k.description,
    policy: k.policy,
    rotationEnabled: false,
    multiRegion: k.multiRegion,
  };
  if (k.customKeyStoreId !== undefined) record.customKeyStoreId = k.customKeyStoreId;
  deps.store.insertKey(record, undefined, k.tags);
  deps.keys.invalidate(k.keyId);
  return record;
}

/** ImportKeyMaterial's expiration parameters, checked as AWS checks them. Returns the model and date to store. */
export function checkExpiration(
  model: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE',
  validTo: Date | undefined,
  now: Date,
): Date | undefined {
  if (model === 'KEY_MATERIAL_DOES_NOT_EXPIRE') {
    if (validTo !== undefined) throw new ValidationException('A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE');
    return undefined;
  }
  if (validTo === undefined) throw new ValidationException('A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES');
  if (validTo.getTime() <= now.getTime()) throw new ValidationException('The validTo date must be in the future.');
  if (validTo.getTime() - now.getTime() > maxValidToMs)
    throw new ValidationException('The validTo date must be no more than 365 days from the time of the request.');
  return validTo;
}

/**
 * Takes one material away from an EXTERNAL key (DeleteImportedKeyMaterial, or its ValidTo
 * came), inside a store transaction: a material waiting for rotation is dropped (nothing was
 * encrypted under it); any other keeps its id for a reimport, and the key goes to PendingImport
 * (a key pending deletion keeps its state). False when there was nothing to take.
 */
export function forgetImportedMaterial(store: Store, imports: ImportStoreLike, keyId: string, materialId: string): boolean {
  const record = store.getKey(keyId);
  const m = imports.material(keyId, materialId);
  if (!record || !m || m.importState !== 'IMPORTED') return false;
  if (m.pendingRotation) imports.removeMaterial(keyId, materialId);
  else imports.forgetMaterial(keyId, materialId);
  const state = keyStateAfter(record, imports.materials(keyId));
  if (state !== record.state) store.updateKey(keyId, { state });
  imports.updateSummary(keyId, record.currentMaterialId);
  return true;
}

type ImportStoreLike = Pick<ImportStore, 'material' | 'materials' | 'removeMaterial' | 'forgetMaterial' | 'updateSummary'>;

/**
 * RotateKeyOnDemand of a symmetric key with imported material: the material imported for the
 * rotation (ImportType NEW_KEY_MATERIAL) becomes current; without one, AWS's refusal (recorded).
 * Returns that material's id, or undefined when another writer changed the key's current material
 * meanwhile.
 */
export function rotateToPendingMaterial(deps: { store: Store; keys: KeyRegistry }, key: LoadedKey, now: Date): string | undefined {
  const imports = new ImportStoreClass(deps.store);
  const { keyId, currentMaterialId } = key.record;
  const done = deps.store.write(() => {
    const pending = imports.materials(keyId).find((m) => m.pendingRotation && m.importState === 'IMPORTED');
    if (!pending) throw new KMSInvalidStateException(`No available key material pending rotation for the key: ${key.arn}.`);
    if (deps.store.getKey(keyId)?.currentMaterialId !== currentMaterialId) return undefined;
    imports.completeRotation(keyId, pending.materialId, now);
    deps.store.updateKey(keyId, { currentMaterialId: pending.materialId });
    imports.updateSummary(keyId, pending.materialId);
    return pending.materialId;
  });
  deps.keys.invalidate(keyId);
  return done;
}

/** ListKeyRotations of a symmetric key with imported material: each material's import state, by id. */
export function importedMaterialsOf(store: Store, keyId: string): Map<string, ImportedMaterialRecord> {
  return new Map(new ImportStoreClass(store).materials(keyId).map((m) => [m.materialId, m]));
}

/** A ListKeyRotations entry with the members AWS adds for imported material, in the model's order. */
export function withImportFields(entry: RotationsListEntry, m: ImportedMaterialRecord | undefined): RotationsListEntry {
  if (!m) return entry;
  const out: RotationsListEntry = { KeyId: entry.KeyId, KeyMaterialId: entry.KeyMaterialId };
  if (m.description !== undefined) out.KeyMaterialDescription = m.description;
  out.ImportState = m.importState;
  out.KeyMaterialState = m.pendingRotation ? 'PENDING_ROTATION' : entry.KeyMaterialState;
  if (m.expirationModel !== undefined) out.ExpirationModel = m.expirationModel;
  if (m.validTo !== undefined) out.ValidTo = m.validTo;
  // A material waiting for its rotation has no rotation date or type yet.
  if (!m.pendingRotation && entry.RotationDate !== undefined) out.RotationDate = entry.RotationDate;
  if (!m.pendingRotation && entry.RotationType !== undefined) out.RotationType = entry.RotationType;
  return out;
}

/**
 * The state CancelKeyDeletion should leave a key in: Disabled, as for every key, unless it is an
 * EXTERNAL key that lost imported material while pending deletion (deleted or expired), which
 * AWS leaves in PendingImport until the material is imported again.
 */
export function stateAfterCancelledDeletion(store: Store, record: Pick<KeyRecord, 'keyId' | 'origin'>): 'Disabled' | 'PendingImport' {
  if (record.origin !== 'EXTERNAL') return 'Disabled';
  return keyStateAfter({ state: 'Disabled' }, new ImportStoreClass(store).materials(record.keyId)) === 'PendingImport' ? 'PendingImport' : 'Disabled';
}
