// The PKCS#11 token backend: keys generated and used inside a token (an HSM in production,
// SoftHSM2 in development and CI), presented in AWS's vocabulary as a custom key store of type
// AWS_CLOUDHSM. Everything that touches the token is native (binding/token.cpp); this module
// holds configuration, connection state and public data only.
//
// Token objects are named as native/include/ekms/pkcs11/token_key.hpp describes: CKA_ID is the
// tokenRef "<keyId>/<materialId>", CKA_LABEL is "ekms <storeId> <keyId>".
import { createHash } from 'node:crypto';
import { join } from 'node:path';

import type { Pkcs11Options } from '../config.js';
import { warnIfOthersCanAccess } from '../files/secret-file-mode.js';
import type { ConnectionErrorCodeType, ConnectionStateType, CustomKeyStoresListEntry, KeySpec, KeyUsageType } from '../model/types.js';
import { addon, nativeCode, type NativeAddon, type NativeKeyHandle } from '../native/addon.js';
import type { KeyRecord, MaterialRecord } from '../store/records.js';
import { Store } from '../store/store.js';
import { labelName, recordedConnection, type MetaReader, type RecordedConnection } from './connection-state.js';
import type { TokenBackend } from './token.js';

export interface TokenInfo {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  /** Names (CKM_…) of the mechanisms the token lists. */
  mechanisms: string[];
}

/** The protections of a key's private or secret object, as the token reports them. */
export interface TokenKeyAttributes {
  found: boolean;
  objectClass?: 'CKO_PRIVATE_KEY' | 'CKO_SECRET_KEY';
  sensitive?: boolean;
  extractable?: boolean;
  neverExtractable?: boolean;
  alwaysSensitive?: boolean;
  token?: boolean;
  private?: boolean;
  /** CKA_UNWRAP, and CKA_WRAP (false for a private key, which has none). */
  unwrap?: boolean;
  wrap?: boolean;
  id?: Buffer;
  label?: string;
  /** Asking the token for the secret value (CKA_VALUE, CKA_PRIVATE_EXPONENT for RSA) was refused. */
  valueRefused?: boolean;
  /** What the token answered when asked for it, e.g. CKR_ATTRIBUTE_SENSITIVE. */
  valueRv?: string;
  hasPublicObject?: boolean;
}

/** The addon's Token class (binding/token.hpp). */
export interface NativeToken {
  open(modulePath: string, tokenLabel: string, pin: Uint8Array | null, pinFile: string | null, cacheCapacity: number, objectsLockPath: string | null): Promise<void>;
  generateKey(
    keySpec: string,
    keyId: string,
    materialId: string,
    keyUsage: string,
    storeId: string,
  ): Promise<{ tokenRef: string; publicKey?: Buffer; handle: NativeKeyHandle }>;
  /** `owners`: of several objects with the tokenRef (a store and a restored copy may each have one), the key uses one these stores made. */
  keyHandle(keySpec: string, keyId: string, materialId: string, tokenRef: string, publicKey?: Uint8Array, owners?: readonly string[]): NativeKeyHandle;
  /** Destroys the objects of tokenRef that a store in `owners` made (CKA_LABEL); another store's stay. */
  destroyKey(tokenRef: string, owners: readonly string[]): Promise<{ destroyed: number; othersKept: number }>;
  /** How many objects of tokenRef a store not in `owners` made (CKA_LABEL); reads labels only. */
  countOthers(tokenRef: string, owners: readonly string[]): Promise<number>;
  /** The tokenRefs of the private and secret objects a store in `owners` made (CKA_LABEL). */
  listKeys(owners: readonly string[]): Promise<string[]>;
  info(): TokenInfo;
  readAttributes(tokenRef: string): Promise<TokenKeyAttributes>;
  random(numberOfBytes: number): Promise<Buffer>;
  generateWrappingKey(keyId: string, wrappingKeyId: string, wrappingKeySpec: string, algorithm: string, keySpec: string, storeId: string): Promise<{ tokenRef: string; publicKey: Buffer; guarded: boolean }>;
  unwrapKeyMaterial(
    keySpec: string,
    keyUsage: string,
    keyId: string,
    storeId: string,
    wrappingRef: string,
    algorithm: string,
    pendingRef: string,
    encryptedKeyMaterial: Uint8Array,
  ): Promise<{ materialId: string; legacyMaterialId?: string; publicKey?: Buffer }>;
  /** Renames (or drops) only pending objects a store in `owners` made; another store's count as absent. */
  commitImported(pendingRef: string, finalRef: string, owners: readonly string[]): Promise<boolean>;
  /** Logs in again (the PIN file, if any, read again), presenting a PIN the token refused once more. */
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  connected(): boolean;
  /** Why the user PIN is no longer presented to the token (it refused it at a later login), or null. */
  pinRefused(): string | null;
  close(): Promise<void>;
}

type AddonWithToken = NativeAddon & { Token: new () => NativeToken };

/** A store's id, which its new token objects carry, and the stores whose objects it owns. */
export interface Ownership {
  storeId: string;
  /** Its own id first, then those it took over (Store.adoptedStoreIds). */
  owners: readonly string[];
}

/**
 * The ownership of `store`, read afresh at each call: the stores whose token objects it may
 * destroy, rename or sweep are itself and those it took over. A store restored from a backup
 * shares the original's objects, and must not destroy what the original may still use
 * (src/durability/restore.ts).
 */
export function storeOwnership(store: Store): () => Ownership {
  return () => {
    const storeId = store.storeId;
    return { storeId, owners: [storeId, ...store.adoptedStoreIds] };
  };
}

export class Pkcs11ConfigError extends Error {
  override readonly name = 'Pkcs11ConfigError';
}

/**
 * Loads the module, finds the token by label and logs in: every failure (module missing or not
 * PKCS#11, no such token, wrong or locked PIN) rejects with the cause in its message, and no
 * token stays open. A PIN given as a string is copied into a buffer that is wiped after the
 * native copy is made; a PIN file is read by native code only.
 */
/**
 * The file the processes sharing a store lock around every creation and destruction of its token
 * objects (ObjectsFileLock, native/include/ekms/pkcs11/token.hpp): SoftHSM2's file store fails
 * such calls, and has lost an object, when processes make them at the same moment.
 */
export function tokenObjectsLock(home: string): string {
  return join(home, 'token.lock');
}

export async function openNativeToken(options: Pkcs11Options, cacheCapacity: number, objectsLockPath?: string): Promise<NativeToken> {
  if (!options.module) throw new Pkcs11ConfigError('no PKCS#11 module path is configured (pkcs11.module, EKMS_PKCS11_MODULE)');
  if (!options.tokenLabel)
    throw new Pkcs11ConfigError('no PKCS#11 token label is configured (pkcs11.tokenLabel, EKMS_PKCS11_TOKEN_LABEL)');
  const hasPin = options.pin !== undefined && options.pin !== '';
  const hasPinFile = options.pinFile !== undefined && options.pinFile !== '';
  if (hasPin === hasPinFile)
    throw new Pkcs11ConfigError(
      hasPin
        ? 'give the PKCS#11 PIN either as pin or as pinFile, not both'
        : 'no PKCS#11 user PIN is configured (pkcs11.pin or pkcs11.pinFile, EKMS_PKCS11_PIN or EKMS_PKCS11_PIN_FILE)',
    );
  if (hasPinFile) warnIfOthersCanAccess(options.pinFile as string, 'the PKCS#11 user PIN');
  const token = new (addon as AddonWithToken).Token();
  const pin = hasPin ? Buffer.from(options.pin as string, 'utf8') : null;
  try {
    await token.open(options.module, options.tokenLabel, pin, hasPinFile ? (options.pinFile as string) : null, cacheCapacity, objectsLockPath ?? null);
  } finally {
    pin?.fill(0);
  }
  return token;
}

/** AWS-style custom key store id (cks- and 17 hex digits), stable for one token. */
export function customKeyStoreIdOf(info: TokenInfo): string {
  const h = createHash('sha256').update([info.manufacturer, info.model, info.serial, info.label].join('\0')).digest('hex');
  return `cks-${h.slice(0, 17)}`;
}

/** What a failed connection attempt means in AWS's ConnectionErrorCode vocabulary. */
function connectionErrorCode(err: unknown): ConnectionErrorCodeType {
  const message = (err as Error | undefined)?.message ?? '';
  if (/CKR_PIN_LOCKED/.test(message)) return 'USER_LOCKED_OUT';
  if (/CKR_PIN_(INCORRECT|LEN_RANGE|EXPIRED)|PIN file/.test(message)) return 'INVALID_CREDENTIALS';
  if (/no token labelled|cannot load the PKCS#11 module/.test(message)) return 'CLUSTER_NOT_FOUND';
  if (nativeCode(err) === 'EKMS_KEY_UNAVAILABLE') return 'NETWORK_ERRORS';
  return 'INTERNAL_ERROR';
}

/** A store not connected that could not open its token: what the connection needs later. */
interface Detached {
  customKeyStoreId: string;
  label: string;
  state: 'DISCONNECTED' | 'FAILED';
  errorCode?: ConnectionErrorCodeType;
  /** Loads the module, finds the token and logs in (openNativeToken). */
  reopen: () => Promise<NativeToken>;
}

export class Pkcs11Backend implements TokenBackend {
  readonly customKeyStoreId: string;
  readonly isDefault = true;
  private state: ConnectionStateType = 'CONNECTED';
  private errorCode: ConnectionErrorCodeType | undefined;
  private info: TokenInfo;
  /** Undefined while a store opened detached has not connected yet. */
  private native: NativeToken | undefined;
  private readonly reopen: (() => Promise<NativeToken>) | undefined;
  /** Counts disconnections: a connection that one overtook (connect()) must not end CONNECTED. */
  private disconnections = 0;
  private unguardedWrappingKeyWarned = false;

  /**
   * @param native the opened token, or how to open it later for a store that is not connected
   *   and could not open it (Kms.open: the token is down, its PIN changed)
   * @param ownership this key store's id and owners (storeOwnership), read at every use: a restore
   *   in place gives an open store a new id, and new owners
   * @param creationDate when this store first used the token (CreationDate of the custom key store)
   */
  constructor(
    native: NativeToken | Detached,
    private readonly ownership: () => Ownership,
    private readonly creationDate: Date,
  ) {
    if ('reopen' in native) {
      this.info = { label: native.label, manufacturer: '', model: '', serial: '', mechanisms: [] };
      this.customKeyStoreId = native.customKeyStoreId;
      this.state = native.state;
      this.errorCode = native.errorCode;
      this.reopen = native.reopen;
    } else {
      this.native = native;
      this.info = native.info();
      this.customKeyStoreId = customKeyStoreIdOf(this.info);
    }
  }

  get connectionState(): ConnectionStateType {
    this.noticeRefusedPin();
    return this.state;
  }

  get connectionErrorCode(): ConnectionErrorCodeType | undefined {
    this.noticeRefusedPin();
    return this.state === 'FAILED' ? this.errorCode : undefined;
  }

  /**
   * A connected store whose token refused the PIN at a later login (its sessions lost: the HSM
   * restarted, the user PIN changed on it) is FAILED, as a ConnectCustomKeyStore that failed is:
   * its keys are unavailable, and the PIN is not presented again (each wrong one brings the HSM
   * closer to locking the user out) until DisconnectCustomKeyStore and ConnectCustomKeyStore.
   */
  private noticeRefusedPin(): void {
    if (this.state !== 'CONNECTED') return;
    const why = this.native?.pinRefused();
    if (!why) return;
    this.state = 'FAILED';
    this.errorCode = connectionErrorCode(new Error(why));
  }

  get label(): string {
    return this.info.label;
  }

  tokenInfo(): TokenInfo {
    return { ...this.info, mechanisms: [...this.info.mechanisms] };
  }

  /** The opened token; before a detached store has connected, the addon's own refusal. */
  private get token(): NativeToken {
    if (this.native) return this.native;
    throw Object.assign(new Error('the PKCS#11 token is not open'), { code: 'EKMS_KEY_UNAVAILABLE' });
  }

  async createKey(
    spec: KeySpec,
    usage: KeyUsageType,
    keyId: string,
    materialId: string,
  ): Promise<{ tokenRef: string; publicKey?: Uint8Array; handle: NativeKeyHandle }> {
    return this.token.generateKey(spec, keyId, materialId, usage, this.ownership().storeId);
  }

  handleFor(key: KeyRecord, material: MaterialRecord): NativeKeyHandle {
    if (material.tokenRef === undefined) throw new Error(`key material ${material.materialId} is not on a token`);
    return this.token.keyHandle(key.keySpec, key.keyId, material.materialId, material.tokenRef, material.publicKey, this.ownership().owners);
  }

  async destroyMaterial(_key: KeyRecord, material: MaterialRecord): Promise<number> {
    if (material.tokenRef === undefined) return 0;
    return (await this.token.destroyKey(material.tokenRef, this.ownership().owners)).othersKept;
  }

  async generateWrappingKey(keyId: string, wrappingKeyId: string, wrappingKeySpec: string, algorithm: string, keySpec: string): Promise<{ tokenRef: string; publicKey: Uint8Array }> {
    const made = await this.token.generateWrappingKey(keyId, wrappingKeyId, wrappingKeySpec, algorithm, keySpec, this.ownership().storeId);
    if (!made.guarded && !this.unguardedWrappingKeyWarned) {
      // Once per token: the user learns the protection is weaker than the README's default.
      this.unguardedWrappingKeyWarned = true;
      process.emitWarning(
        `PKCS#11 token '${this.label}' refused CKA_ALLOWED_MECHANISMS and CKA_UNWRAP_TEMPLATE (or CKA_MODIFIABLE and CKA_COPYABLE too) on an import's wrapping key: it was made without them, and while its parameters are valid whoever has the PIN and the import's EncryptedKeyMaterial can read the imported key material`,
        'EmbeddedKmsWarning',
      );
    }
    return { tokenRef: made.tokenRef, publicKey: made.publicKey };
  }

  async unwrapKeyMaterial(
    key: KeyRecord,
    wrappingRef: string,
    algorithm: string,
    pendingRef: string,
    encryptedKeyMaterial: Uint8Array,
  ): Promise<{ materialId: string; legacyMaterialId?: string; publicKey?: Uint8Array }> {
    return this.token.unwrapKeyMaterial(key.keySpec, key.keyUsage, key.keyId, this.ownership().storeId, wrappingRef, algorithm, pendingRef, encryptedKeyMaterial);
  }

  async commitImported(pendingRef: string, finalRef: string): Promise<boolean> {
    return this.token.commitImported(pendingRef, finalRef, this.ownership().owners);
  }

  async destroyTokenRef(tokenRef: string): Promise<number> {
    return (await this.token.destroyKey(tokenRef, this.ownership().owners)).destroyed;
  }

  /** Random bytes from the token's generator (C_GenerateRandom). */
  generateRandom(numberOfBytes: number): Promise<Uint8Array> {
    return this.token.random(numberOfBytes);
  }

  /** The tokenRefs of every private or secret object this store made on the token, or took over. */
  async listTokenRefs(): Promise<string[]> {
    return this.token.listKeys(this.ownership().owners);
  }

  async heldByAnotherStore(tokenRef: string): Promise<boolean> {
    return (await this.token.countOthers(tokenRef, this.ownership().owners)) > 0;
  }

  /** The token's own account of a material's object (for tests of the protections). */
  attributesOf(material: MaterialRecord): Promise<TokenKeyAttributes> {
    if (material.tokenRef === undefined) return Promise.resolve({ found: false });
    return this.token.readAttributes(material.tokenRef);
  }

  describe(): CustomKeyStoresListEntry {
    this.noticeRefusedPin();
    const entry: CustomKeyStoresListEntry = {
      CustomKeyStoreId: this.customKeyStoreId,
      CustomKeyStoreName: this.info.label,
      ConnectionState: this.state,
    };
    if (this.state === 'FAILED' && this.errorCode !== undefined) entry.ConnectionErrorCode = this.errorCode;
    entry.CreationDate = this.creationDate;
    entry.CustomKeyStoreType = 'AWS_CLOUDHSM';
    return entry;
  }

  /**
   * Logs in again. As in AWS, a failure does not reject: the store becomes FAILED and
   * DescribeCustomKeyStores reports why (ConnectionErrorCode).
   */
  async connect(): Promise<void> {
    if (this.state === 'CONNECTED') return;
    this.state = 'CONNECTING';
    const disconnections = this.disconnections;
    try {
      if (this.native) await this.native.connect();
      else await this.attach();
    } catch (err) {
      if (this.disconnections !== disconnections) return; // disconnected meanwhile: that stands
      this.state = 'FAILED';
      this.errorCode = connectionErrorCode(err);
      return;
    }
    if (this.disconnections !== disconnections) {
      // A Disconnect came while the token was being opened or logged in to, and has returned:
      // the store stays disconnected, and so do this process's sessions.
      await this.native?.disconnect().catch(() => undefined);
      return;
    }
    this.state = 'CONNECTED';
    this.errorCode = undefined;
  }

  /** A detached store's first connection: opens the token, which must be the one it was. */
  private async attach(): Promise<void> {
    const native = await this.reopen!();
    const info = native.info();
    if (customKeyStoreIdOf(info) !== this.customKeyStoreId) {
      await native.close().catch(() => undefined);
      // Another token has the label now (re-initialised, or another device): not this store's.
      throw new Error(`no token labelled '${this.info.label}' is custom key store ${this.customKeyStoreId}`);
    }
    this.native = native;
    this.info = info;
  }

  /** Waits for operations in flight, then closes this store's sessions on the token. */
  async disconnect(): Promise<void> {
    this.disconnections += 1;
    this.state = 'DISCONNECTING';
    try {
      await this.native?.disconnect();
    } finally {
      this.state = 'DISCONNECTED';
      this.errorCode = undefined;
    }
  }

  adopt(state: 'DISCONNECTED' | 'FAILED', code?: ConnectionErrorCodeType): void {
    this.state = state;
    this.errorCode = state === 'FAILED' ? code : undefined;
  }

  async close(): Promise<void> {
    this.state = 'DISCONNECTED';
    await this.native?.close();
  }
}

/**
 * The backend for an opened token within one key store. The store remembers when it first used
 * this token: that is the custom key store's CreationDate.
 */
export function tokenBackendFor(native: NativeToken, store: Store): Pkcs11Backend {
  const info = native.info();
  const id = customKeyStoreIdOf(info);
  const created = store.setMetaIfAbsent(`custom_key_store_created:${id}`, Buffer.from(new Date().toISOString()));
  if (store.getMeta(labelName(id)) === undefined) store.setMetaIfAbsent(labelName(id), Buffer.from(info.label, 'utf8'));
  return new Pkcs11Backend(native, storeOwnership(store), new Date(created.toString()));
}

/**
 * The custom key store a store may open without its token labelled `tokenLabel`: provided every
 * custom key store recorded for that label is not connected (a token re-initialised under the
 * same label is another id, and one that is connected needs the token), the most recent of them.
 */
function detachable(
  meta: MetaReader,
  labelRows: readonly { name: string; value: Buffer }[],
  tokenLabel: string,
): { id: string; recorded: Exclude<RecordedConnection, { state: 'CONNECTED' }>; created: Date } | undefined {
  let chosen: ReturnType<typeof detachable>;
  for (const { name, value } of labelRows) {
    if (value.toString('utf8') !== tokenLabel) continue;
    const id = name.slice(labelName('').length);
    const recorded = recordedConnection(meta, id);
    if (recorded.state === 'CONNECTED') return undefined;
    const created = meta.getMeta(`custom_key_store_created:${id}`);
    if (created === undefined) continue;
    const at = new Date(created.toString());
    if (!chosen || at > chosen.created) chosen = { id, recorded, created: at };
  }
  return chosen;
}

/** Whether the store at `dbPath`, read without altering it, may open without that token (detachable). */
export function recordedNotConnected(dbPath: string, tokenLabel: string): boolean {
  const peek: MetaReader = { getMeta: (name) => Store.peekMeta(dbPath, name) };
  return detachable(peek, Store.peekMetaRows(dbPath, labelName('')), tokenLabel) !== undefined;
}

/**
 * The backend of a custom key store recorded as not connected (DISCONNECTED or FAILED) whose
 * token could not be opened: the store opens without it, as in AWS, where a disconnected custom
 * key store takes only its own keys out of service. Its ConnectCustomKeyStore opens the token.
 * Undefined when the store records no such custom key store for this token label.
 */
export function detachedTokenBackend(store: Store, options: Pkcs11Options, cacheCapacity: number, objectsLockPath?: string): Pkcs11Backend | undefined {
  const chosen = detachable(store, store.metaRows(labelName('')), options.tokenLabel);
  if (!chosen) return undefined;
  const { id, recorded, created } = chosen;
  return new Pkcs11Backend(
    {
      customKeyStoreId: id,
      label: options.tokenLabel,
      state: recorded.state,
      ...(recorded.state === 'FAILED' ? { errorCode: recorded.code } : {}),
      reopen: () => openNativeToken(options, cacheCapacity, objectsLockPath),
    },
    storeOwnership(store),
    created,
  );
}
