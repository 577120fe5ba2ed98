// The store's rows as the rest of the code sees them. Public data and wrapped blobs only.
import type { ExpirationModelType, KeySpec, KeyState, KeyUsageType, OriginType } from '../model/types.js';

export interface KeyRecord {
  seq: number;
  keyId: string;
  createdAt: Date;
  keySpec: KeySpec;
  keyUsage: KeyUsageType;
  origin: OriginType;
  state: KeyState;
  description: string;
  policy: string;
  customKeyStoreId?: string;
  deletionDate?: Date;
  pendingWindowDays?: number;
  currentMaterialId?: string;
  rotationEnabled: boolean;
  rotationPeriodDays?: number;
  nextRotationDate?: Date;
  multiRegion: boolean;
  /** Origin EXTERNAL: the expiration DescribeKey reports (kept in keys.extra; src/keys/import-store.ts writes it). */
  imported?: KeyImportSummary;
}

export interface KeyImportSummary {
  expirationModel?: ExpirationModelType;
  /** The earliest expiry of the key's imported materials, when any expires. */
  validTo?: Date;
}

export interface MaterialRecord {
  keyId: string;
  materialId: string;
  createdAt: Date;
  rotationType?: 'AUTOMATIC' | 'ON_DEMAND';
  /** Software keys: the material wrapped under the root key. */
  wrapped?: Uint8Array;
  /**
   * A blob this process has just made: the check value of the root key it was wrapped under (the
   * store's, as this process knew it before the native call). Its write is refused when the store
   * has another root key by then (Store.insertMaterial). Never read back from the store.
   */
  wrappedUnder?: Uint8Array;
  /** Asymmetric keys: DER SubjectPublicKeyInfo, so GetPublicKey and Verify need no unwrap. */
  publicKey?: Uint8Array;
  /** Token keys: how to find the object on the token. */
  tokenRef?: string;
}

export interface TagRecord {
  TagKey: string;
  TagValue: string;
}

export interface AliasRecord {
  aliasName: string;
  keyId: string;
  createdAt: Date;
  updatedAt: Date;
}
