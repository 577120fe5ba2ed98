// ImportKeyMaterial: the caller's material, wrapped with GetParametersForImport's public key, is
// unwrapped, checked against the key spec and re-wrapped under the root key in native code;
// JavaScript sees only its material id (a keyed check value, import.hpp) and the new blob.
//
// As AWS KMS: the first import makes the key Enabled; asymmetric and HMAC keys take that same
// material again and nothing else (IncorrectKeyMaterialException); symmetric keys also take new
// material (ImportType NEW_KEY_MATERIAL), which waits as PENDING_ROTATION until
// RotateKeyOnDemand, one at a time. Reimporting a material (EXISTING_KEY_MATERIAL) restores it
// after DeleteImportedKeyMaterial or expiry and sets its expiration anew.
//
// For a key in a custom key store the material is unwrapped inside the PKCS#11 token instead
// (./token.ts): the token computes the material id, the rules above are checked against it
// before the object gets its final name, and the record names the token object.
import {
  ExpiredImportTokenException,
  IncorrectKeyMaterialException,
  InvalidCiphertextException,
  InvalidImportTokenException,
  KMSInvalidStateException,
  ValidationException,
} from '../../errors.js';
import { checkExpiration, isSymmetric, keyStateAfter, requireImportable } from '../../keys/import-keys.js';
import { nativeImports } from '../../keys/import-native.js';
import { ImportStore, type ImportedMaterialRecord } from '../../keys/import-store.js';
import type { ImportKeyMaterialResponse } from '../../model/types.js';
import { nativeCode } from '../../native/addon.js';
import type { MaterialRecord } from '../../store/records.js';
import { fromNative } from '../native-errors.js';
import { defineOperation } from '../operation.js';
import { importedMaterialStored, importIntoToken } from './token.js';

// RotateRootKey forgets outstanding import parameters (durable-ops.ts, forgetImportParameters):
// the message names that cause too, the one an operator can tell from here.
const invalidToken = (arn: string) =>
  new InvalidImportTokenException(
    `The import token is not valid for ${arn}: it is altered, from another key store, for another KMS key, or from before the key store's root key was rotated. Use GetParametersForImport to get a new import token and public key.`,
  );

export const importKeyMaterial = defineOperation('ImportKeyMaterial', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  requireImportable(key, 'ImportKeyMaterial');
  const { keyId, keySpec } = key.record;
  const symmetric = isSymmetric(key.record);
  if (!symmetric) {
    for (const member of ['ImportType', 'KeyMaterialId', 'KeyMaterialDescription'] as const)
      if (input[member] !== undefined)
        throw new ValidationException(`${member} is only supported for symmetric encryption keys (KeySpec SYMMETRIC_DEFAULT).`);
  }
  const imports = new ImportStore(ctx.store);
  // The model's ImportType: NEW_KEY_MATERIAL when left out and no material was ever imported.
  const importTypeFor = (materials: readonly ImportedMaterialRecord[]) => input.ImportType ?? (materials.length === 0 ? 'NEW_KEY_MATERIAL' : 'EXISTING_KEY_MATERIAL');
  const refuseMaterialId = (materials: readonly ImportedMaterialRecord[]) => {
    if (input.KeyMaterialId !== undefined && importTypeFor(materials) === 'NEW_KEY_MATERIAL')
      throw new ValidationException('You cannot specify a KeyMaterialId with ImportType NEW_KEY_MATERIAL.');
  };
  if (symmetric) refuseMaterialId(imports.materials(keyId));
  const now = ctx.now();
  const expirationModel = input.ExpirationModel ?? 'KEY_MATERIAL_EXPIRES';
  const validTo = checkExpiration(expirationModel, input.ValidTo, now);

  // The import token: sealed under this store's root key for this key, and not expired.
  const token = nativeImports.openImportToken(ctx.engine, keyId, input.ImportToken);
  if (token === null) throw invalidToken(key.arn);
  if (token.validToMs <= now.getTime())
    throw new ExpiredImportTokenException(
      `The import token expired at ${new Date(token.validToMs).toISOString()}. Use GetParametersForImport to get a new import token and public key.`,
    );
  const parameters = imports.parameters(token.wrappingKeyId);
  if (!parameters || parameters.keyId !== keyId) throw invalidToken(key.arn);

  const onToken = key.record.customKeyStoreId !== undefined;
  // Parameters of a wrapping key on the token store no private key (token.ts).
  if (onToken !== (parameters.wrappedPrivateKey.length === 0)) throw invalidToken(key.arn);

  /** The import rules of the header, for material `materialId`; returns what to store. */
  const place = (materials: ImportedMaterialRecord[], materialId: string) => {
    const existing = materials.find((m) => m.materialId === materialId);
    let pendingRotation = false;
    if (!symmetric) {
      if (materials.length > 0 && !existing)
        throw new IncorrectKeyMaterialException(`The key material is not the key material that was previously imported into ${key.arn}.`);
    } else {
      // Judged again on the materials of the commit: another process may have imported meanwhile.
      refuseMaterialId(materials);
      const importType = importTypeFor(materials);
      if (importType === 'NEW_KEY_MATERIAL') {
        if (existing)
          throw new IncorrectKeyMaterialException(
            `The key material (id: ${materialId}) is already associated with ${key.arn}. Import it with ImportType EXISTING_KEY_MATERIAL.`,
          );
        const pending = materials.find((m) => m.pendingRotation);
        if (pending)
          throw new KMSInvalidStateException(
            `New key material (id: ${materialId}) cannot be imported into KMS key ${key.arn}, because another key material (id: ${pending.materialId}) is pending rotation.`,
          );
        pendingRotation = materials.length > 0;
      } else {
        if (!existing)
          throw new IncorrectKeyMaterialException(
            `The key material (id: ${materialId}) is not associated with ${key.arn}. Import new key material with ImportType NEW_KEY_MATERIAL.`,
          );
        if (input.KeyMaterialId !== undefined && input.KeyMaterialId !== materialId)
          throw new IncorrectKeyMaterialException(`The key material in the request does not have the key material id ${input.KeyMaterialId}.`);
        pendingRotation = existing.pendingRotation;
      }
    }
    return { existing, pendingRotation };
  };

  let imported: { materialId: string; wrapped?: Buffer; tokenRef?: string; publicKey?: Uint8Array; note?: string };
  // The root key the material is wrapped under: its write is refused if another process rotated it meanwhile.
  const wrappedUnder = ctx.store.wrappingRootCheck;
  try {
    if (onToken) {
      imported = await importIntoToken(ctx, key, token.wrappingKeyId, token.algorithm, input.EncryptedKeyMaterial, (materialId) => {
        place(imports.materials(keyId), materialId);
      });
    } else {
      imported = await nativeImports.importKeyMaterial(
        ctx.engine,
        keySpec,
        keyId,
        token.wrappingKeyId,
        token.wrappingKeySpec,
        token.algorithm,
        parameters.wrappedPrivateKey,
        input.EncryptedKeyMaterial,
        imports.materials(keyId).map((m) => m.materialId),
      );
    }
  } catch (err) {
    if (nativeCode(err) === 'EKMS_INVALID_CIPHERTEXT')
      throw new InvalidCiphertextException(
        `The encrypted key material cannot be decrypted with the wrapping key and wrapping algorithm (${token.algorithm}) of the import token.`,
      );
    if (nativeCode(err) === 'EKMS_INVALID_INPUT') throw new IncorrectKeyMaterialException(`The key material does not fit ${key.arn}: ${(err as Error).message}.`);
    // A token's wrapping key that is gone (its parameters expired and were swept).
    if (onToken && nativeCode(err) === 'EKMS_INVALID_KEY_BLOB') throw invalidToken(key.arn);
    throw fromNative(err);
  }
  const materialId = imported.materialId;

  ctx.store.write(() => {
    // Read again inside the transaction: another process may have imported meanwhile.
    const record = ctx.store.getKey(keyId);
    if (!record) throw new KMSInvalidStateException(`${key.arn} was deleted during the import.`);
    const { existing, pendingRotation } = place(imports.materials(keyId), materialId);
    const material: MaterialRecord = { keyId, materialId, createdAt: now };
    if (imported.wrapped) material.wrapped = imported.wrapped;
    if (imported.wrapped && wrappedUnder) material.wrappedUnder = wrappedUnder;
    if (imported.tokenRef !== undefined) material.tokenRef = imported.tokenRef;
    if (imported.publicKey) material.publicKey = Buffer.from(imported.publicKey);
    const state: ImportedMaterialRecord = { keyId, materialId, importState: 'IMPORTED', expirationModel, pendingRotation };
    if (validTo) state.validTo = validTo;
    // The description stays what it was unless a new one is given.
    const description = input.KeyMaterialDescription ?? existing?.description;
    if (description !== undefined) state.description = description;
    imports.putMaterial(material, state);

    const currentMaterialId = record.currentMaterialId ?? materialId;
    const after = imports.materials(keyId);
    const changes: Parameters<typeof ctx.store.updateKey>[1] = {};
    if (record.currentMaterialId === undefined) changes.currentMaterialId = materialId;
    const newState = keyStateAfter(record, after);
    if (newState !== record.state) changes.state = newState;
    ctx.store.updateKey(keyId, changes);
    imports.updateSummary(keyId, currentMaterialId);
  });
  if (imported.note !== undefined) importedMaterialStored(ctx, keyId, materialId, imported.note);
  ctx.keys.invalidate(keyId);
  const out: ImportKeyMaterialResponse = { KeyId: key.arn };
  // AWS shows material ids only for symmetric encryption keys.
  if (symmetric) out.KeyMaterialId = materialId;
  return out;
});
