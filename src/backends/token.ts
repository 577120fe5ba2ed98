// The seam between the KMS operations and a PKCS#11 token (a "custom key store" in AWS's
// vocabulary). Operations call these methods; src/backends/pkcs11.ts implements them.
import type { ConnectionErrorCodeType, ConnectionStateType, CustomKeyStoresListEntry, KeySpec, KeyUsageType } from '../model/types.js';
import type { NativeKeyHandle } from '../native/addon.js';
import type { KeyRecord, MaterialRecord } from '../store/records.js';

export interface TokenBackend {
  /** The id this token has as a custom key store (cks- and 17 hex digits, as AWS's). */
  readonly customKeyStoreId: string;
  /** When true, CreateKey without CustomKeyStoreId puts new keys on this token. */
  readonly isDefault: boolean;
  /** Generates the key on the token; returns how to find it again and a usable handle. */
  createKey(
    spec: KeySpec,
    usage: KeyUsageType,
    keyId: string,
    materialId: string,
  ): Promise<{ tokenRef: string; publicKey?: Uint8Array; handle: NativeKeyHandle }>;
  /** A handle for a material that lives on this token. */
  handleFor(key: KeyRecord, material: MaterialRecord): NativeKeyHandle;
  /**
   * Destroys the token objects of a material (key deletion), those this store made or took over;
   * resolves to how many objects with its name another store made, which stay.
   */
  destroyMaterial(key: KeyRecord, material: MaterialRecord): Promise<number>;
  /**
   * GetParametersForImport for a key on this token: the RSA wrapping key pair is made on the
   * token (its private half can only unwrap, into objects that stay on the token where it can
   * say so: keySpec, the KMS key's, tells; native/include/ekms/pkcs11/token_import.hpp); returns
   * its CKA_ID and public key.
   */
  generateWrappingKey(keyId: string, wrappingKeyId: string, wrappingKeySpec: string, algorithm: string, keySpec: string): Promise<{ tokenRef: string; publicKey: Uint8Array }>;
  /**
   * ImportKeyMaterial: unwraps inside the token into an object named pendingRef; returns the
   * material id it computed (and for HMAC material the id the first derivation gave it, which
   * material imported before keeps: native/include/ekms/import.hpp).
   */
  unwrapKeyMaterial(
    key: KeyRecord,
    wrappingRef: string,
    algorithm: string,
    pendingRef: string,
    encryptedKeyMaterial: Uint8Array,
  ): Promise<{ materialId: string; legacyMaterialId?: string; publicKey?: Uint8Array }>;
  /** Renames the pending object to finalRef, or drops it when finalRef exists already (this store's objects only). */
  commitImported(pendingRef: string, finalRef: string): Promise<boolean>;
  /** Destroys every object with this CKA_ID that this store made or took over; returns how many. */
  destroyTokenRef(tokenRef: string): Promise<number>;
  /** The CKA_IDs of every private or secret object this store made on the token, or took over. */
  listTokenRefs(): Promise<string[]>;
  /** Whether an object with this CKA_ID is on the token that neither this store nor one it took over made. */
  heldByAnotherStore(tokenRef: string): Promise<boolean>;
  /** Random bytes from the token's own generator (GenerateRandom with CustomKeyStoreId). */
  generateRandom(numberOfBytes: number): Promise<Uint8Array>;
  describe(): CustomKeyStoresListEntry;
  /** CONNECTED unless DisconnectCustomKeyStore (or a failed ConnectCustomKeyStore) says otherwise. */
  readonly connectionState: ConnectionStateType;
  /** Why the last connection failed, in AWS's ConnectionErrorCode vocabulary (FAILED only). */
  readonly connectionErrorCode: ConnectionErrorCodeType | undefined;
  /** Logs in again; a failure makes the store FAILED (with its code) rather than rejecting. */
  connect(): Promise<void>;
  /**
   * Takes the state another process recorded, without touching the token: DISCONNECTED, or FAILED
   * with its code. For a token that is not connected (disconnect() first).
   */
  adopt(state: 'DISCONNECTED' | 'FAILED', code?: ConnectionErrorCodeType): void;
  disconnect(): Promise<void>;
  close(): Promise<void>;
}
