// Imported key material on a PKCS#11 token (a custom key store): the material is unwrapped inside
// the token with C_UnwrapKey (native/include/ekms/pkcs11/token_import.hpp), so it is never in this
// process in the clear. A key goes there when CreateKey names the token's CustomKeyStoreId with
// Origin EXTERNAL. Without a CustomKeyStoreId an EXTERNAL key is a software key (its material
// wrapped under the store's root key), also on a store whose default is a token: that is AWS's
// meaning of Origin EXTERNAL, and it keeps every wrapping algorithm available (SoftHSM2 2.6.1,
// for one, refuses OAEP with SHA-256).
//
// Token objects of an import, and what removes them if a process dies half way (token-orphans.ts):
// - the wrapping key "<keyId>/import-<wrappingKeyId>": noted before it is made, the note cleared
//   once its parameters are stored; destroyed once the parameters expired, or when they are gone
//   (the key was deleted), by sweepImportObjects;
// - the imported key "<keyId>/pending-<random>" while its material id is computed, then renamed
//   "<keyId>/<materialId>": both names are noted before the object has them, and both notes go
//   when the import fails short of the rename. The material id is the same for every import of
//   the same material, so the sweeps and DeleteImportedKeyMaterial claim such an object
//   (renaming it "<keyId>/doomed-…") and check again before destroying it. The note of the final
//   name is shared by every import of the material under way and stays until the last of them
//   has stored its record: each also keeps a note of its own, "<materialId>/importing-<random>".
import { randomBytes } from 'node:crypto';

import { clearTokenCreation, noteImport, noteTokenCreation, releaseImportNote } from '../../backends/token-orphans.js';
import type { TokenBackend } from '../../backends/token.js';
import { CustomKeyStoreNotFoundException, KeyUnavailableException, UnsupportedOperationException } from '../../errors.js';
import { nativeImports } from '../../keys/import-native.js';
import { ImportStore, type ImportParametersRecord } from '../../keys/import-store.js';
import type { LoadedKey } from '../../keys/registry.js';
import type { KeySpec } from '../../model/types.js';
import { nativeCode } from '../../native/addon.js';
import { requireConnected } from '../custom-key-stores/store-of.js';
import { native } from '../native-errors.js';
import type { OperationContext } from '../operation.js';

/** Marks stored import parameters whose wrapping key lives on the token (import_parameters.wrapped_private_key). */
export const onTokenMarker = Buffer.alloc(0);

export function wrappingTokenRef(keyId: string, wrappingKeyId: string): string {
  return `${keyId}/import-${wrappingKeyId}`;
}

/** CreateKey with Origin EXTERNAL and a CustomKeyStoreId: the token the key goes to. */
export function tokenForExternalKey(ctx: OperationContext, customKeyStoreId: string, keySpec: KeySpec): TokenBackend {
  const token = ctx.token;
  if (token === undefined || token.customKeyStoreId !== customKeyStoreId)
    throw new CustomKeyStoreNotFoundException(`Custom key store ${customKeyStoreId} does not exist.`);
  if (keySpec === 'ECC_NIST_EDWARDS25519')
    throw new UnsupportedOperationException(
      `Keys with KeySpec ECC_NIST_EDWARDS25519 and Origin EXTERNAL cannot be created in custom key store ${customKeyStoreId}: ` +
        'a PKCS#11 token does not give the public key of an Ed25519 private key it unwrapped, and it cannot be computed from signatures. ' +
        "Create the key without CustomKeyStoreId; its imported material is then protected by the key store's root key.",
    );
  return requireConnected(token);
}

/** The token an EXTERNAL key in a custom key store lives on. */
export function tokenOfKey(ctx: OperationContext, key: LoadedKey): TokenBackend {
  const token = ctx.token;
  if (token === undefined || token.customKeyStoreId !== key.record.customKeyStoreId)
    throw new KeyUnavailableException(`${key.arn} lives on a PKCS#11 token (custom key store ${key.record.customKeyStoreId}), and this key store was opened without it.`);
  return token;
}

/** GetParametersForImport for a token key: the wrapping key pair is made on the token. */
export async function tokenParametersForImport(
  ctx: OperationContext,
  key: LoadedKey,
  wrappingKeySpec: string,
  algorithm: string,
  now: Date,
  validTo: Date,
): Promise<{ parameters: ImportParametersRecord; importToken: Buffer }> {
  const token = tokenOfKey(ctx, key);
  const { keyId } = key.record;
  const wrappingKeyId = randomBytes(32).toString('hex');
  // The import token first: it checks the algorithm and spec before anything is made on the token.
  const importToken = nativeImports.sealImportToken(ctx.engine, keyId, wrappingKeyId, wrappingKeySpec, algorithm, validTo.getTime());
  noteTokenCreation(ctx.store, keyId, `import-${wrappingKeyId}`, now);
  let generated: { publicKey: Uint8Array };
  try {
    generated = await native(token.generateWrappingKey(keyId, wrappingKeyId, wrappingKeySpec, algorithm, key.record.keySpec));
  } catch (err) {
    // Refused (SoftHSM2 refuses OAEP with SHA-256), or the token failed. Nothing else will ever
    // store parameters for this wrapping key id, so an object left behind is swept without the
    // note (sweepImportObjects: a wrapping key without parameters).
    clearTokenCreation(ctx.store, keyId, `import-${wrappingKeyId}`);
    throw err;
  }
  const parameters: ImportParametersRecord = {
    wrappingKeyId,
    keyId,
    wrappingKeySpec,
    algorithm,
    createdAt: now,
    validTo,
    wrappedPrivateKey: onTokenMarker,
    publicKey: Buffer.from(generated.publicKey),
  };
  return { parameters, importToken };
}

/** Once the parameters are stored, the wrapping key is no orphan. */
export function wrappingKeyStored(ctx: OperationContext, keyId: string, wrappingKeyId: string): void {
  clearTokenCreation(ctx.store, keyId, `import-${wrappingKeyId}`);
}

/**
 * ImportKeyMaterial for a token key: unwraps inside the token, lets `accept` refuse the material
 * by its id (different material, ImportType rules) before the object gets its final name, and
 * returns the material's id, CKA_ID and public key. The caller stores the record and then calls
 * importedMaterialStored.
 */
export async function importIntoToken(
  ctx: OperationContext,
  key: LoadedKey,
  wrappingKeyId: string,
  algorithm: string,
  encryptedKeyMaterial: Uint8Array,
  accept: (materialId: string) => void,
): Promise<{ materialId: string; tokenRef: string; publicKey?: Uint8Array; note: string }> {
  const token = tokenOfKey(ctx, key);
  const { keyId } = key.record;
  const now = ctx.now();
  const pendingId = `pending-${randomBytes(16).toString('hex')}`;
  const pendingRef = `${keyId}/${pendingId}`;
  noteTokenCreation(ctx.store, keyId, pendingId, now);
  let unwrapped: { materialId: string; legacyMaterialId?: string; publicKey?: Uint8Array };
  try {
    unwrapped = await token.unwrapKeyMaterial(key.record, wrappingTokenRef(keyId, wrappingKeyId), algorithm, pendingRef, encryptedKeyMaterial);
  } catch (err) {
    // The native side destroys the pending object when it refuses the material. Only when the
    // token could not be reached may one be left: the note stays for the orphan sweep.
    if (nativeCode(err) !== 'EKMS_KEY_UNAVAILABLE') clearTokenCreation(ctx.store, keyId, pendingId);
    throw err;
  }
  // HMAC material imported before keeps the id it got then (native/include/ekms/import.hpp).
  const legacy = unwrapped.legacyMaterialId;
  if (legacy !== undefined && new ImportStore(ctx.store).materials(keyId).some((m) => m.materialId === legacy)) unwrapped.materialId = legacy;
  const tokenRef = `${keyId}/${unwrapped.materialId}`;
  let note: string | undefined;
  try {
    accept(unwrapped.materialId);
    note = noteImport(ctx.store, keyId, unwrapped.materialId, now);
    await token.commitImported(pendingRef, tokenRef);
  } catch (err) {
    // Refused, or the rename failed: the pending object goes (its note stays if it cannot).
    await token.destroyTokenRef(pendingRef).then(
      () => clearTokenCreation(ctx.store, keyId, pendingId),
      () => undefined,
    );
    // The note of the final name goes too: nothing was renamed to it. Left behind, it would make
    // the orphan sweep take the name for an orphan later, when another import may be using it.
    // (When the token could not be reached the rename may have happened: the note stays, and the
    // sweep claims the object before deciding, token-orphans.ts.) Another import of the same
    // material under way keeps the shared note (releaseImportNote).
    if (note !== undefined && nativeCode(err) !== 'EKMS_KEY_UNAVAILABLE') releaseImportNote(ctx.store, keyId, unwrapped.materialId, note);
    throw err;
  }
  clearTokenCreation(ctx.store, keyId, pendingId);
  const out: { materialId: string; tokenRef: string; publicKey?: Uint8Array; note: string } = { materialId: unwrapped.materialId, tokenRef, note };
  if (unwrapped.publicKey) out.publicKey = unwrapped.publicKey;
  return out;
}

export function importedMaterialStored(ctx: OperationContext, keyId: string, materialId: string, note: string): void {
  releaseImportNote(ctx.store, keyId, materialId, note);
}
