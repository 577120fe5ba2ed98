// Key resolution and the in-memory key cache: turns whatever a caller passed as KeyId (key id,
// key ARN, alias name, alias ARN) into a key record and, per key material, a native handle.
// Records are cached until another process writes to the store (PRAGMA data_version), so the
// hot path touches no disk and still sees a key disabled or deleted elsewhere on its next use.
import { KeyUnavailableException, InvalidArnException, type KmsError, NotFoundException, UnsupportedOperationException } from '../errors.js';
import type { KeyState } from '../model/types.js';
import type { NativeEngine, NativeKeyHandle } from '../native/addon.js';
import type { KeyRecord, MaterialRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { Arns, parseKeyRef } from './arn.js';
import { keySpecs, type SpecInfo } from './specs.js';
import { cellFor, refusal } from './state.js';

export interface LoadedKey {
  readonly record: KeyRecord;
  readonly arn: string;
  /**
   * The key state operations see: the record's, except Unavailable for a key in a custom key
   * store that is not connected (as in AWS; a key pending deletion stays PendingDeletion).
   */
  readonly state: KeyState;
  /** Every key material, oldest first. */
  readonly materials: readonly MaterialRecord[];
  /** The native handle of one material (the current one by default). */
  handle(materialId?: string): NativeKeyHandle;
  material(materialId?: string): MaterialRecord | undefined;
}

/** A token backend makes handles for materials with a tokenRef. */
export type TokenHandleFactory = (key: KeyRecord, material: MaterialRecord) => NativeKeyHandle;

export class KeyRegistry {
  private readonly cache = new Map<string, LoadedKey>();
  /** Alias name → key id, so that an alias on the hot path costs no query; dropped with the records. */
  private readonly aliases = new Map<string, string>();
  private readonly maxCachedRecords: number;
  tokenHandles?: TokenHandleFactory;
  /** Whether a custom key store of this Kms is connected; undefined for a store it does not have. */
  storeConnected?: (customKeyStoreId: string) => boolean | undefined;
  /** Told whenever cached records may be stale (the rotation and deletion schedules re-read due dates then). */
  onStale?: () => void;
  /**
   * Key id → ids of imported materials past their ValidTo whose expiry could not be written yet
   * (ImportExpiry): refused as if expired until it is.
   */
  readonly expiredUnrecorded = new Map<string, Set<string>>();
  /** Told when another connection wrote to the store (refresh saw it, whoever called refresh). */
  onChangedElsewhere?: () => void;

  constructor(
    private readonly store: Store,
    private readonly engine: NativeEngine,
    readonly arns: Arns,
    maxCachedRecords = 100_000,
  ) {
    this.maxCachedRecords = maxCachedRecords;
  }

  /** Drops cached records when another connection changed the store. Call once per operation. */
  refresh(): void {
    if (!this.store.changedElsewhere()) return;
    this.cache.clear();
    this.aliases.clear();
    this.onStale?.();
    this.onChangedElsewhere?.();
  }

  /** A change this process made: forget the key's record (and its unwrapped materials if asked). */
  invalidate(keyId: string, { wipe = false } = {}): void {
    this.cache.delete(keyId);
    this.aliases.clear();
    if (wipe) this.engine.evict(keyId);
    this.onStale?.();
  }

  /**
   * The key a KeyId parameter names, or NotFoundException with AWS's wording. Operations whose
   * KeyId AWS documents as "key ID or key ARN" pass `{ aliases: false }`: an alias name or alias
   * ARN is then an InvalidArnException.
   */
  resolve(keyIdParam: string, { aliases = true } = {}): LoadedKey {
    const ref = parseKeyRef(keyIdParam);
    if (!ref) throw new NotFoundException(`Invalid keyId '${keyIdParam}'`);
    // An alias name as well as an alias ARN: AWS answers both so (CreateGrant and GetKeyPolicy with
    // `alias/…`, as AWS's answers quoted in boto/boto#3202 and by users show).
    if (!aliases && (ref.kind === 'alias' || ref.kind === 'aliasArn')) throw new InvalidArnException('Key Aliases are not supported for this operation.');
    let keyId: string;
    switch (ref.kind) {
      case 'keyId':
        keyId = ref.keyId;
        break;
      case 'keyArn':
        if (ref.region !== this.arns.region) throw new NotFoundException(`Invalid arn ${ref.region}`);
        // AWS's wording for another region, for an ARN of another partition (no recorded answer).
        if (ref.partition !== this.arns.partition) throw new NotFoundException(`Invalid arn ${ref.partition}`);
        if (ref.account !== this.arns.accountId) throw new NotFoundException(`Key '${keyIdParam}' does not exist`);
        keyId = ref.keyId;
        break;
      case 'alias':
      case 'aliasArn': {
        if (ref.kind === 'aliasArn' && !this.arns.isLocal(ref))
          throw new NotFoundException(`Alias ${keyIdParam} is not found.`);
        const target = this.aliasTarget(ref.aliasName);
        if (target === undefined) throw new NotFoundException(`Alias ${this.arns.alias(ref.aliasName)} is not found.`);
        keyId = target;
        break;
      }
    }
    const key = this.get(keyId);
    if (!key) throw new NotFoundException(`Key '${this.arns.key(keyId)}' does not exist`);
    return key;
  }

  /** A change this process made to an alias. */
  forgetAlias(aliasName: string): void {
    this.aliases.delete(aliasName);
  }

  private aliasTarget(aliasName: string): string | undefined {
    let target = this.aliases.get(aliasName);
    if (target === undefined) {
      target = this.store.aliasTarget(aliasName);
      if (target !== undefined) this.aliases.set(aliasName, target);
    }
    return target;
  }

  /** The key with this exact key id, if it exists. */
  get(keyId: string): LoadedKey | undefined {
    const cached = this.cache.get(keyId);
    if (cached) return cached;
    const record = this.store.getKey(keyId);
    if (!record) {
      // Deleted, perhaps by another process: wipe whatever this process still had unwrapped.
      this.engine.evict(keyId);
      return undefined;
    }
    // Its imported material deleted, perhaps by another process: wipe what this one had unwrapped.
    if (record.state === 'PendingImport') this.engine.evict(keyId);
    const loaded = this.load(record);
    this.cacheRecord(keyId, loaded);
    return loaded;
  }

  /** Seeds the cache with a handle the engine returned for a new key (no unwrap on first use). */
  remember(record: KeyRecord, materials: MaterialRecord[], handles: Map<string, NativeKeyHandle>): LoadedKey {
    const loaded = this.load(record, materials, handles);
    this.cacheRecord(record.keyId, loaded);
    return loaded;
  }

  /** Caches a record, dropping the oldest beyond maxCachedRecords (keys made here count too). */
  private cacheRecord(keyId: string, loaded: LoadedKey): void {
    this.cache.delete(keyId); // a key cached again is the newest
    while (this.cache.size >= this.maxCachedRecords) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    this.cache.set(keyId, loaded);
  }

  /**
   * The error for a key whose material is missing when an operation that passed its key state
   * check comes to use it: what the key's state in the store now means for cryptographic use, as
   * DescribeKey and the key-state table (state.ts) would say. A key deleted meanwhile is
   * NotFoundException with DescribeKey's words; a key now pending import, disabled or pending
   * deletion gets that state's refusal; otherwise the material is unavailable.
   */
  private materialGone(record: KeyRecord, message: string): KmsError {
    this.cache.delete(record.keyId);
    const arn = this.arns.key(record.keyId);
    const now = this.store.getKey(record.keyId);
    if (!now) {
      this.engine.evict(record.keyId);
      return new NotFoundException(`Key '${arn}' does not exist`);
    }
    // Every operation that uses a key's material has the key-state table's row of cryptographic use.
    const cell = cellFor('Encrypt', now.state);
    if (cell !== 'ok') return refusal(cell, arn, now);
    return new KeyUnavailableException(message);
  }

  /**
   * A cached key. Its materials are read on first use, not with the record: DescribeKey and the
   * other metadata operations never need them, and in a large store the material lookup is half
   * of a first touch's SQLite time (its index is the largest in the file). Reading them later is
   * safe: the cached record and the store have not changed in between, or refresh() (a write by
   * another connection) or invalidate() (a write by this process) would have dropped the entry.
   */
  private load(record: KeyRecord, materials?: readonly MaterialRecord[], handles = new Map<string, NativeKeyHandle>()): LoadedKey {
    const store = this.store;
    let all = materials;
    let byId: Map<string, MaterialRecord> | undefined;
    const materialsOf = (): readonly MaterialRecord[] => (all ??= store.getMaterials(record.keyId));
    const find = (materialId: string): MaterialRecord | undefined => (byId ??= new Map(materialsOf().map((m) => [m.materialId, m]))).get(materialId);
    const engine = this.engine;
    const registry = this;
    return {
      record,
      arn: this.arns.key(record.keyId),
      get state() {
        const id = record.customKeyStoreId;
        if (id === undefined || record.state === 'PendingDeletion' || registry.storeConnected?.(id) !== false) return record.state;
        return 'Unavailable';
      },
      get materials() {
        return materialsOf();
      },
      material(materialId = record.currentMaterialId) {
        if (materialId === undefined) return undefined;
        const m = find(materialId);
        // No such material: a ciphertext naming another material, or the key deleted meanwhile.
        if (!m && !store.getKey(record.keyId)) throw registry.materialGone(record, '');
        return m;
      },
      handle(materialId = record.currentMaterialId) {
        if (materialId === undefined) throw registry.materialGone(record, `${registry.arns.key(record.keyId)} has no key material.`);
        if (registry.expiredUnrecorded.size > 0 && registry.expiredUnrecorded.get(record.keyId)?.has(materialId)) {
          // As the key will be once its expiry is written: pending import for its current
          // material, an old material's ciphertexts refused (as materialGone would).
          const arn = registry.arns.key(record.keyId);
          if (materialId === record.currentMaterialId) throw refusal('pendingImport', arn, record);
          throw new KeyUnavailableException(`The key material ${materialId} of ${arn} is not available.`);
        }
        let h = handles.get(materialId);
        if (h) return h;
        // A key made by a build whose OpenSSL had its spec (ML-DSA keys from a Debian 13 build,
        // in a store opened by a Debian 12 one): its material cannot be loaded here, and that is
        // no fault of the root key's.
        const spec = keySpecs[record.keySpec] as SpecInfo | undefined;
        if (!spec?.supported) throw new UnsupportedOperationException(spec?.unsupportedReason ?? `${record.keySpec} keys are not supported by embedded-kms.`);
        const m = find(materialId);
        // Gone since the record was read: another process deleted the key, or took the material
        // away (DeleteImportedKeyMaterial, expiry: the row stays, without its key).
        if (!m || (m.tokenRef === undefined && m.wrapped === undefined))
          throw registry.materialGone(record, `The key material ${materialId} of ${registry.arns.key(record.keyId)} is not available.`);
        if (m.tokenRef !== undefined) {
          if (!registry.tokenHandles)
            throw new KeyUnavailableException(`${registry.arns.key(record.keyId)} lives on a PKCS#11 token, and this key store was opened without one.`);
          // Another token is configured: this key's objects are not on it, nor lost.
          if (record.customKeyStoreId !== undefined && registry.storeConnected?.(record.customKeyStoreId) === undefined)
            throw new KeyUnavailableException(
              `${registry.arns.key(record.keyId)} lives in custom key store ${record.customKeyStoreId}, whose PKCS#11 token this key store was not opened with.`,
            );
          h = registry.tokenHandles(record, m);
        } else {
          h = engine.keyHandle(record.keySpec, record.keyId, materialId, m.wrapped as Uint8Array);
        }
        handles.set(materialId, h);
        return h;
      },
    };
  }
}
