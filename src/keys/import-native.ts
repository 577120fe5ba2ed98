// The addon's `imports` object (binding/import.cpp): the native half of GetParametersForImport and
// ImportKeyMaterial. JavaScript hands over the caller's EncryptedKeyMaterial and gets back a blob
// wrapped under the root key, never the material.
import { addon, type NativeEngine } from '../native/addon.js';

export interface NativeImportParameters {
  wrappingKeyId: string;
  wrappingKeySpec: string;
  algorithm: string;
  validToMs: number;
}

export interface NativeImports {
  generateWrappingKey(
    engine: NativeEngine,
    keyId: string,
    wrappingKeyId: string,
    wrappingKeySpec: string,
    algorithm: string,
    validToMs: number,
  ): Promise<{ wrappedPrivateKey: Buffer; publicKey: Buffer; importToken: Buffer }>;
  /** The import token alone, for a wrapping key made on a PKCS#11 token. */
  sealImportToken(engine: NativeEngine, keyId: string, wrappingKeyId: string, wrappingKeySpec: string, algorithm: string, validToMs: number): Buffer;
  /** Null when the token is not an intact import token of this store for this key. */
  openImportToken(engine: NativeEngine, keyId: string, importToken: Uint8Array): NativeImportParameters | null;
  /**
   * Unwraps, checks against keySpec and re-wraps under the root key. Rejects with
   * EKMS_INVALID_CIPHERTEXT when the material does not decrypt, EKMS_INVALID_INPUT when it does not
   * fit the key spec (the message says how). knownMaterialIds: the key's material ids, among
   * which HMAC material imported before this id derivation finds its own (ekms/import.hpp).
   */
  importKeyMaterial(
    engine: NativeEngine,
    keySpec: string,
    keyId: string,
    wrappingKeyId: string,
    wrappingKeySpec: string,
    algorithm: string,
    wrappedPrivateKey: Uint8Array,
    encryptedKeyMaterial: Uint8Array,
    knownMaterialIds: readonly string[],
  ): Promise<{ materialId: string; wrapped: Buffer; publicKey?: Buffer }>;
  /**
   * The material ids ImportKeyMaterial gives this (unwrapped) material for that key; throws
   * EKMS_INVALID_INPUT when it does not fit the key spec. For fixtures, whose material is known.
   */
  importedMaterialIds(keySpec: string, keyId: string, material: Uint8Array): { materialId: string; legacyMaterialId?: string };
}

export const nativeImports: NativeImports = (addon as unknown as { imports: NativeImports }).imports;
