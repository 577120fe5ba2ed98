// The metadata store: SQLite in $EKMS_HOME (key records, materials, aliases, tags). Several
// processes may open one home: WAL mode, a busy timeout, and every write in an IMMEDIATE
// transaction. `changedElsewhere()` tells when another connection wrote, so callers can drop
// what they cached (PRAGMA data_version, shared by the calls of one run of JavaScript).
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';

import { shapes } from '../model/service-model.js';
import { migrations, schemaVersion } from './schema.js';
import type { AliasRecord, KeyImportSummary, KeyRecord, MaterialRecord, TagRecord } from './records.js';
import { deleteMetaValue, setMetaValue } from './durable-ops.js';
import { adoptedStoreIdsName, parseStoreIds } from './store-ids.js';
import { useWal } from './wal.js';

interface KeyRow {
  seq: number;
  key_id: string;
  created_at: number;
  key_spec: string;
  key_usage: string;
  origin: string;
  key_state: string;
  description: string;
  policy: string;
  custom_key_store_id: string | null;
  deletion_date: number | null;
  pending_window_days: number | null;
  current_material_id: string | null;
  rotation_enabled: number;
  rotation_period_days: number | null;
  next_rotation_date: number | null;
  multi_region: number;
  extra?: string;
}

interface MaterialRow {
  key_id: string;
  material_id: string;
  created_at: number;
  rotation_type: string | null;
  wrapped: Buffer | null;
  public_key: Buffer | null;
  token_ref: string | null;
}

/** How much of the store file is read through a memory map (Store.open). */
export const mmapBytes = 256 * 1024 * 1024;

export class StoreError extends Error {
  override readonly name = 'StoreError';
}

/**
 * A software key material was wrapped under a root key the store no longer uses: another process
 * rotated (or restored) the root key between the wrap and the write. The transaction is rolled
 * back; the caller reloads the root key and tries again (nothing was acknowledged).
 */
export class RootKeyChangedError extends StoreError {}

const optional = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
/** The meta rows whose names start with a prefix (its length, then the prefix). */
const META_ROWS = 'SELECT name, value FROM meta WHERE substr(name, 1, ?) = ?';
const dateOf = (ms: number | null): Date | undefined => (ms === null ? undefined : new Date(ms));

const periodLimits = shapes.RotationPeriodInDaysType!;
/**
 * A stored rotation period as the rotation arithmetic may use it: a whole number of days within
 * AWS's limits. EnableKeyRotation stores nothing else, but a store written by an earlier version
 * (which a caller's getter could trick into storing 0) or edited by hand may hold another value,
 * and a period of 0 days would make every pass over the schedule (rotateOne, rotationCatchUpFrom)
 * step a date forward by nothing, forever. Such a period is read as the nearest valid one.
 */
function storedPeriod(days: unknown): number | undefined {
  // None stored, or not a number at all: the default period applies where one is needed.
  if (typeof days !== 'number' || Number.isNaN(days)) return undefined;
  return Math.min(Math.max(Math.round(days), periodLimits.min!), periodLimits.max!);
}

function keyFromRow(r: KeyRow): KeyRecord {
  return {
    seq: r.seq,
    keyId: r.key_id,
    createdAt: new Date(r.created_at),
    keySpec: r.key_spec as KeyRecord['keySpec'],
    keyUsage: r.key_usage as KeyRecord['keyUsage'],
    origin: r.origin as KeyRecord['origin'],
    state: r.key_state as KeyRecord['state'],
    description: r.description,
    policy: r.policy,
    customKeyStoreId: optional(r.custom_key_store_id),
    deletionDate: dateOf(r.deletion_date),
    pendingWindowDays: optional(r.pending_window_days),
    currentMaterialId: optional(r.current_material_id),
    rotationEnabled: r.rotation_enabled !== 0,
    rotationPeriodDays: storedPeriod(r.rotation_period_days),
    nextRotationDate: dateOf(r.next_rotation_date),
    multiRegion: r.multi_region !== 0,
    ...importSummaryOf(r.extra),
  };
}

/** keys.extra's expiration of imported material (Origin EXTERNAL), if it has one. */
function importSummaryOf(extra: string | undefined): Pick<KeyRecord, 'imported'> {
  if (extra === undefined || extra === '{}') return {};
  const e = JSON.parse(extra) as { expirationModel?: KeyImportSummary['expirationModel']; validTo?: number };
  if (e.expirationModel === undefined) return {};
  return { imported: { expirationModel: e.expirationModel, ...(e.validTo === undefined ? {} : { validTo: new Date(e.validTo) }) } };
}

function materialFromRow(r: MaterialRow): MaterialRecord {
  return {
    keyId: r.key_id,
    materialId: r.material_id,
    createdAt: new Date(r.created_at),
    rotationType: optional(r.rotation_type) as MaterialRecord['rotationType'],
    wrapped: optional(r.wrapped),
    publicKey: optional(r.public_key),
    tokenRef: optional(r.token_ref),
  };
}

/**
 * The queries of the paths that must not grow with the store: opening it (due deletions,
 * rotations and their earliest dates) and a key's first touch (record, materials, alias). Each
 * is an index search; test/durability/lookup-path.test.ts checks their query plans.
 */
export const lookupSql = {
  dataVersion: 'PRAGMA data_version',
  getKey: 'SELECT * FROM keys WHERE key_id = ?',
  getMaterials: 'SELECT * FROM key_materials WHERE key_id = ? ORDER BY created_at, rowid',
  getMaterial: 'SELECT * FROM key_materials WHERE key_id = ? AND material_id = ?',
  listKeys: 'SELECT seq, key_id FROM keys WHERE seq > ? ORDER BY seq LIMIT ?',
  getAlias: 'SELECT key_id FROM aliases WHERE alias_name = ?',
  getTags: 'SELECT tag_key AS TagKey, tag_value AS TagValue FROM tags WHERE key_id = ? ORDER BY tag_key',
  getMeta: 'SELECT value FROM meta WHERE name = ?',
  // The conditions of these two are keys_by_next_rotation's (schema migration 5): keep them equal.
  dueRotations: "SELECT key_id FROM keys WHERE rotation_enabled = 1 AND key_state = 'Enabled' AND next_rotation_date <= ?",
  earliestRotation: "SELECT MIN(next_rotation_date) FROM keys WHERE rotation_enabled = 1 AND key_state = 'Enabled'",
  dueDeletions: "SELECT key_id FROM keys WHERE deletion_date <= ? AND key_state = 'PendingDeletion' ORDER BY deletion_date",
  earliestDeletion: 'SELECT MIN(deletion_date) FROM keys WHERE deletion_date IS NOT NULL',
} as const;

const keyColumns: Record<keyof Omit<KeyRecord, 'seq' | 'keyId' | 'imported'>, string> = {
  createdAt: 'created_at',
  keySpec: 'key_spec',
  keyUsage: 'key_usage',
  origin: 'origin',
  state: 'key_state',
  description: 'description',
  policy: 'policy',
  customKeyStoreId: 'custom_key_store_id',
  deletionDate: 'deletion_date',
  pendingWindowDays: 'pending_window_days',
  currentMaterialId: 'current_material_id',
  rotationEnabled: 'rotation_enabled',
  rotationPeriodDays: 'rotation_period_days',
  nextRotationDate: 'next_rotation_date',
  multiRegion: 'multi_region',
};

function toColumnValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

// Writes made by any Store of this process (another Kms on the same folder, a restore): they
// must be seen by the next operation even within the same burst of calls (changedElsewhere).
// On globalThis, so that two copies of this package in one process share it.
const localWritesKey = Symbol.for('embedded-kms.store.localWrites');
const shared = globalThis as typeof globalThis & { [localWritesKey]?: { count: number } };
const localWrites = (shared[localWritesKey] ??= { count: 0 });
const RECHECK_MS = 1;
/** How long a statement waits for another connection's lock. */
const BUSY_TIMEOUT_MS = 10_000;

/**
 * The store file and its WAL and shared-memory files are the owner's alone (0600), whatever the
 * umask or the folder's mode (a home that existed before is not changed): SQLite makes the other
 * two with the database file's mode, so the file is made 0600 before SQLite opens it, and files
 * made by an earlier version are brought to 0600 after.
 */
function keepPrivate(path: string): void {
  if (path === ':memory:') return;
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`])
    try {
      chmodSync(file, 0o600);
    } catch {
      // not there (no WAL yet)
    }
}

export class Store {
  readonly db: Db;
  private lastDataVersion: number;
  private seenLocalWrites = localWrites.count;
  private checkedThisTurn = false;
  /** A shred() that could not finish, tried again after later writes and at close(). */
  private shredDue = false;
  private checkedAt = 0;
  private readonly endTurn = (): void => {
    this.checkedThisTurn = false;
  };
  /**
   * The check value of the root key this connection's process wraps new key material under. When
   * set, a wrapped material is written only while the store's root key is still that one.
   */
  wrappingRootCheck: Buffer | undefined;
  /** Set when a write was refused with RootKeyChangedError; cleared by takeRootKeyChange(). */
  private rootKeyChanged = false;
  private readonly statements: Record<keyof typeof lookupSql, Statement>;

  /** The database file this connection opened (device and inode), to notice it deleted or replaced. */
  private readonly file: { path: string; dev: number; ino: number } | undefined;

  private constructor(db: Db, path?: string) {
    this.db = db;
    if (path !== undefined && path !== ':memory:') {
      const st = statSync(path);
      this.file = { path, dev: st.dev, ino: st.ino };
    }
    const p = (sql: string) => db.prepare(sql);
    this.statements = {
      dataVersion: p(lookupSql.dataVersion).pluck(),
      getKey: p(lookupSql.getKey),
      getMaterials: p(lookupSql.getMaterials),
      getMaterial: p(lookupSql.getMaterial),
      listKeys: p(lookupSql.listKeys),
      getAlias: p(lookupSql.getAlias).pluck(),
      getTags: p(lookupSql.getTags),
      getMeta: p(lookupSql.getMeta).pluck(),
      dueRotations: p(lookupSql.dueRotations).pluck(),
      earliestRotation: p(lookupSql.earliestRotation).pluck(),
      dueDeletions: p(lookupSql.dueDeletions).pluck(),
      earliestDeletion: p(lookupSql.earliestDeletion).pluck(),
    };
    this.lastDataVersion = this.statements.dataVersion.get() as number;
  }

  /** Opens the database file and brings its schema up to date (one transaction). */
  static open(path: string): Store {
    keepPrivate(path);
    const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    try {
      useWal(db);
      // FULL: a change is on disk before the call that made it returns (nothing acknowledged is lost).
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      // Deleted rows and freed pages are overwritten with zeros, not left in the file's free
      // space: a key's wrapped material must not outlive its deletion (the root key beside it
      // would still unwrap it). See shred() for the WAL's copies.
      db.pragma('secure_delete = ON');
      // Reads through a memory map instead of read() into SQLite's own page cache (16 MB, a
      // fifth of a 100,000-key store). Measured on a 100,000-key store, with every page already
      // read once: a key record's lookup by id 8.3 µs mapped vs 11–12 µs with the default cache
      // and 10.5 µs with a 64 MiB one (1,000 keys: 6 µs either way). The mapped pages are the
      // kernel's page cache, shared by every process on the store, not memory of ours. Writes
      // still go through write() (SQLite's default), so the WAL and fsync rules are unchanged; the
      // cost is that a read error of the disk under the file would be a SIGBUS rather than an
      // SQLITE_IOERR. Stores beyond the map's size read the rest the ordinary way.
      db.pragma(`mmap_size = ${mmapBytes}`);
      migrate(db);
      localWrites.count += 1; // a migration is a write the other Stores of this process must see
      keepPrivate(path); // the WAL and shared-memory files, made with the file's mode, or older ones
      return new Store(db, path);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Reads a meta value without migrating, for checks that must alter nothing. */
  static peekMeta(path: string, name: string): Buffer | undefined {
    return Store.peek(path, (db) => db.prepare('SELECT value FROM meta WHERE name = ?').pluck().get(name) as Buffer | undefined);
  }

  /** The meta rows whose names start with `prefix`, read as peekMeta reads (none without a store). */
  static peekMetaRows(path: string, prefix: string): { name: string; value: Buffer }[] {
    const rows = Store.peek(path, (db) => db.prepare(META_ROWS).all(prefix.length, prefix) as { name: string; value: Buffer }[]);
    return rows ?? [];
  }

  /**
   * Whether the file is another program's SQLite database: it has tables, and no meta table (a
   * store's schema is made in one transaction, meta with it). Opening it would add the store's
   * tables to it. False for a missing, empty or unreadable file (Store.open reports those).
   */
  static isForeignDatabase(path: string): boolean {
    let db: Db;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true, timeout: 10_000 });
    } catch {
      return false;
    }
    try {
      const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
      return names.length > 0 && !names.includes('meta');
    } catch {
      return false;
    } finally {
      db.close();
    }
  }

  /**
   * Runs `read` on the store's file, when it exists and has a meta table; nothing is written. Not
   * a read-only connection: the store is in WAL mode, and a read-only connection makes the -wal
   * and -shm files and cannot remove them, where a connection that may write removes them when
   * it closes last (so an open refused after a peek leaves the folder as it found it).
   */
  private static peek<T>(path: string, read: (db: Db) => T): T | undefined {
    let db: Db;
    try {
      db = new Database(path, { fileMustExist: true, timeout: 10_000 });
    } catch {
      return undefined;
    }
    try {
      const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
      if (!exists) return undefined;
      return read(db);
    } finally {
      db.close();
    }
  }

  /** The meta rows whose names start with `prefix`. */
  metaRows(prefix: string): { name: string; value: Buffer }[] {
    return this.db.prepare(META_ROWS).all(prefix.length, prefix) as { name: string; value: Buffer }[];
  }

  close(): void {
    if (this.shredDue) this.shred();
    this.db.close();
  }

  /**
   * True when another connection has written since the last call. Asked once per operation; the
   * SQLite query (`PRAGMA data_version`, a few µs) is skipped while the last one was made in the
   * same run of JavaScript (the callback or chain of awaited inline calls in progress: the flag
   * is cleared by process.nextTick, which runs before any further I/O is delivered) less than
   * RECHECK_MS ago, and no other Store of this process wrote since. Learning of another
   * process's write takes new I/O (its message) or a blocking call longer than that (a child
   * process run synchronously), so whatever a caller can know has happened is seen; a loop of
   * awaited calls shares one query.
   */
  changedElsewhere(): boolean {
    const now = performance.now();
    if (this.checkedThisTurn && now - this.checkedAt < RECHECK_MS && this.seenLocalWrites === localWrites.count) return false;
    this.seenLocalWrites = localWrites.count;
    this.checkedAt = now;
    if (!this.checkedThisTurn) {
      this.checkedThisTurn = true;
      process.nextTick(this.endTurn);
    }
    const v = this.statements.dataVersion.get() as number;
    if (v === this.lastDataVersion) return false;
    this.lastDataVersion = v;
    return true;
  }

  /**
   * Refuses to write when the database file was deleted or replaced under this connection (its
   * folder removed, a file restored over it): SQLite would go on committing into the unlinked
   * file, acknowledging changes that no later open sees. One stat, about a microsecond a write.
   */
  private checkFileInPlace(): void {
    if (this.file === undefined) return;
    const st = statSync(this.file.path, { throwIfNoEntry: false });
    if (st !== undefined && st.dev === this.file.dev && st.ino === this.file.ino) return;
    throw new StoreError(
      `the key store's database ${this.file.path} was ${st === undefined ? 'deleted' : 'replaced by another file'} while open: nothing more is written to it (open the store again)`,
    );
  }

  /** Runs fn in an IMMEDIATE transaction (the write lock is taken up front, so no deadlock upgrade). */
  write<T>(fn: () => T): T {
    for (let attempt = 1; ; attempt++) {
      let began = false;
      try {
        const result = this.db
          .transaction(() => {
            began = true;
            // Checked holding the write lock, so a replacement made while this waited for it is seen.
            this.checkFileInPlace();
            return fn();
          })
          .immediate();
        localWrites.count += 1;
        if (this.shredDue) this.shred();
        return result;
      } catch (err) {
        // The busy timeout already waited 10 s for the write lock. A writer holding it longer (a
        // root key rotation or restore of a very large store) gets a few more chances before a
        // caller sees SQLITE_BUSY. Only a BEGIN that failed is retried: fn has not run then.
        if (began || attempt >= 4 || !String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY')) throw err;
      }
    }
  }

  /** This store's id (a random UUID made when it was created): token objects carry it. */
  get storeId(): string {
    const id = this.db.prepare("SELECT value FROM meta WHERE name = 'store_id'").pluck().get();
    if (typeof id !== 'string') throw new StoreError('the key store has no store id');
    return id;
  }

  /**
   * The stores whose token objects this one took over: a restore in place takes over those of the
   * store it replaces, and `adoptTokenObjects` those of the backup's lineage (src/durability/restore.ts).
   * The token backend destroys their objects as this store's own; another store's, never.
   */
  get adoptedStoreIds(): string[] {
    return parseStoreIds(this.db.prepare('SELECT value FROM meta WHERE name = ?').pluck().get(adoptedStoreIdsName));
  }

  /** True once after a write was refused because the root key changed under it. */
  takeRootKeyChange(): boolean {
    const changed = this.rootKeyChanged;
    this.rootKeyChanged = false;
    return changed;
  }

  getMeta(name: string): Buffer | undefined {
    return this.statements.getMeta.get(name) as Buffer | undefined;
  }

  setMetaIfAbsent(name: string, value: Uint8Array): Buffer {
    return this.write(() => {
      this.db.prepare('INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)').run(name, value);
      return this.getMeta(name) as Buffer;
    });
  }

  setMeta(name: string, value: Uint8Array): void {
    this.write(() => setMetaValue(this.db, name, value));
  }

  deleteMeta(name: string): void {
    this.write(() => deleteMetaValue(this.db, name));
  }

  getKey(keyId: string): KeyRecord | undefined {
    const row = this.statements.getKey.get(keyId) as KeyRow | undefined;
    return row && keyFromRow(row);
  }

  getMaterials(keyId: string): MaterialRecord[] {
    return (this.statements.getMaterials.all(keyId) as MaterialRow[]).map(materialFromRow);
  }

  getMaterial(keyId: string, materialId: string): MaterialRecord | undefined {
    const row = this.statements.getMaterial.get(keyId, materialId) as MaterialRow | undefined;
    return row && materialFromRow(row);
  }

  insertKey(key: Omit<KeyRecord, 'seq'>, material: MaterialRecord | undefined, tags: readonly TagRecord[]): void {
    this.write(() => {
      const cols = ['key_id', ...Object.values(keyColumns)];
      const values = [key.keyId, ...Object.keys(keyColumns).map((k) => toColumnValue(key[k as keyof typeof keyColumns]))];
      this.db.prepare(`INSERT INTO keys (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(values);
      if (material) this.insertMaterial(material);
      const tag = this.db.prepare('INSERT OR REPLACE INTO tags (key_id, tag_key, tag_value) VALUES (?, ?, ?)');
      for (const t of tags) tag.run(key.keyId, t.TagKey, t.TagValue);
    });
  }

  /**
   * Call inside the write transaction that stores anything wrapped under the root key: throws
   * RootKeyChangedError when the store's root key is no longer the one the blob was wrapped under
   * (inside the transaction, no rotation can commit between this check and the write).
   *
   * `wrappedUnder` is the root key the blob's maker knew when it started: not the one this
   * process knows now. With several calls making blobs when another process rotates the root key,
   * the first to reach its write is refused and follows the new key; the others' blobs are still
   * wrapped under the old one, and must be refused too.
   */
  assertWrappingRoot(wrappedUnder: Uint8Array | undefined = this.wrappingRootCheck): void {
    if (wrappedUnder === undefined) return;
    const current = this.getMeta('root_key_check');
    if (current !== undefined && !current.equals(wrappedUnder)) {
      this.rootKeyChanged = true;
      throw new RootKeyChangedError('the root key of the key store was replaced by another process');
    }
  }

  insertMaterial(m: MaterialRecord): void {
    if (m.wrapped !== undefined) this.assertWrappingRoot(m.wrappedUnder ?? this.wrappingRootCheck);
    this.db
      .prepare(
        'INSERT INTO key_materials (key_id, material_id, created_at, rotation_type, wrapped, public_key, token_ref) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(m.keyId, m.materialId, m.createdAt.getTime(), m.rotationType ?? null, m.wrapped ?? null, m.publicKey ?? null, m.tokenRef ?? null);
  }

  updateKey(keyId: string, changes: Partial<Omit<KeyRecord, 'seq' | 'keyId'>>): void {
    const entries = Object.entries(changes) as [keyof typeof keyColumns, unknown][];
    if (entries.length === 0) return;
    const sets = entries.map(([k]) => `${keyColumns[k]} = ?`).join(', ');
    this.db.prepare(`UPDATE keys SET ${sets} WHERE key_id = ?`).run(...entries.map(([, v]) => toColumnValue(v)), keyId);
  }

  /**
   * Adds a rotated key material and makes it current, in one transaction, provided the key's
   * current material is still `expectedCurrent`: another connection may have rotated the key
   * meanwhile, and a key must not rotate twice for one due date. False when it had.
   */
  commitRotation(
    keyId: string,
    expectedCurrent: string | undefined,
    material: MaterialRecord,
    changes: Partial<Omit<KeyRecord, 'seq' | 'keyId'>>,
  ): boolean {
    return this.write(() => {
      const row = this.statements.getKey.get(keyId) as KeyRow | undefined;
      if (!row || row.current_material_id !== (expectedCurrent ?? null)) return false;
      this.insertMaterial(material);
      this.updateKey(keyId, changes);
      return true;
    });
  }

  /** Keys whose automatic rotation is due at `now` (disabled keys do not rotate). */
  dueRotations(now: Date): string[] {
    return this.statements.dueRotations.all(now.getTime()) as string[];
  }

  /** The earliest automatic rotation date of any enabled key, if any key has one. */
  earliestRotation(): Date | undefined {
    return dateOf(this.statements.earliestRotation.get() as number | null);
  }

  deleteKey(keyId: string): void {
    this.db.prepare('DELETE FROM keys WHERE key_id = ?').run(keyId);
  }

  listKeys(afterSeq: number, limit: number): { seq: number; keyId: string }[] {
    return (this.statements.listKeys.all(afterSeq, limit) as { seq: number; key_id: string }[]).map((r) => ({
      seq: r.seq,
      keyId: r.key_id,
    }));
  }

  aliasTarget(aliasName: string): string | undefined {
    return this.statements.getAlias.get(aliasName) as string | undefined;
  }

  tags(keyId: string): TagRecord[] {
    return this.statements.getTags.all(keyId) as TagRecord[];
  }

  // ---------------------------------------------------------------- aliases

  getAlias(aliasName: string): AliasRecord | undefined {
    const row = this.db.prepare('SELECT * FROM aliases WHERE alias_name = ?').get(aliasName) as AliasRow | undefined;
    return row && aliasFromRow(row);
  }

  /** Creates an alias; false when one of that name exists already. */
  insertAlias(a: AliasRecord): boolean {
    return (
      this.db
        .prepare('INSERT OR IGNORE INTO aliases (alias_name, key_id, created_at, updated_at) VALUES (?, ?, ?, ?)')
        .run(a.aliasName, a.keyId, a.createdAt.getTime(), a.updatedAt.getTime()).changes === 1
    );
  }

  /** Points an existing alias at another key; false when there is no such alias. */
  retargetAlias(aliasName: string, keyId: string, at: Date): boolean {
    return (
      this.db.prepare('UPDATE aliases SET key_id = ?, updated_at = ? WHERE alias_name = ?').run(keyId, at.getTime(), aliasName).changes === 1
    );
  }

  /** How many aliases name the key. */
  countAliases(keyId: string): number {
    return this.db.prepare('SELECT COUNT(*) FROM aliases WHERE key_id = ?').pluck().get(keyId) as number;
  }

  /** False when there was no such alias. */
  deleteAlias(aliasName: string): boolean {
    return this.db.prepare('DELETE FROM aliases WHERE alias_name = ?').run(aliasName).changes === 1;
  }

  /** Aliases in name order, after `afterName` when given, of one key when `keyId` is given. */
  listAliases(afterName: string | undefined, limit: number, keyId?: string): AliasRecord[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM aliases WHERE alias_name > ? ${keyId === undefined ? '' : 'AND key_id = ?'} ORDER BY alias_name LIMIT ?`,
      )
      .all(...(keyId === undefined ? [afterName ?? '', limit] : [afterName ?? '', keyId, limit])) as AliasRow[];
    return rows.map(aliasFromRow);
  }

  // ---------------------------------------------------------------- tags

  /** Adds tags or replaces the values of existing ones. */
  putTags(keyId: string, tags: readonly TagRecord[]): void {
    const put = this.db.prepare('INSERT OR REPLACE INTO tags (key_id, tag_key, tag_value) VALUES (?, ?, ?)');
    for (const t of tags) put.run(keyId, t.TagKey, t.TagValue);
  }

  /** Removes tags by key; keys the key does not have are ignored. */
  deleteTags(keyId: string, tagKeys: readonly string[]): void {
    const del = this.db.prepare('DELETE FROM tags WHERE key_id = ? AND tag_key = ?');
    for (const k of tagKeys) del.run(keyId, k);
  }

  /** One page of a key's tags in tag key order, after `afterKey` when given. */
  tagsPage(keyId: string, afterKey: string | undefined, limit: number): TagRecord[] {
    return this.db
      .prepare('SELECT tag_key AS TagKey, tag_value AS TagValue FROM tags WHERE key_id = ? AND tag_key > ? ORDER BY tag_key LIMIT ?')
      .all(keyId, afterKey ?? '', limit) as TagRecord[];
  }

  // ---------------------------------------------------------------- key deletion

  /** The earliest deletion date of any key pending deletion. */
  earliestDeletion(): Date | undefined {
    return dateOf(this.statements.earliestDeletion.get() as number | null);
  }

  /** Keys pending deletion whose deletion date has come. */
  dueDeletions(now: Date): string[] {
    return this.statements.dueDeletions.all(now.getTime()) as string[];
  }

  /**
   * Deletes a key whose deletion date has come, with its materials, aliases and tags, in one
   * transaction that first checks it is still due (another connection may have cancelled the
   * deletion or deleted the key). Materials that live on a token are recorded in
   * token_destructions in the same transaction, so their token objects are destroyed even if
   * this process stops before it gets to them. Undefined when the key was not deleted.
   */
  deleteDueKey(keyId: string, now: Date): { record: KeyRecord; materials: MaterialRecord[] } | undefined {
    const deleted = this.write(() => {
      const record = this.getKey(keyId);
      if (!record || record.state !== 'PendingDeletion' || !record.deletionDate || record.deletionDate.getTime() > now.getTime()) return undefined;
      const materials = this.getMaterials(keyId);
      const tombstone = this.db.prepare('INSERT OR REPLACE INTO token_destructions (key_id, material_id, key_record, material) VALUES (?, ?, ?, ?)');
      for (const m of materials)
        if (m.tokenRef !== undefined) tombstone.run(keyId, m.materialId, JSON.stringify(record), JSON.stringify(tokenMaterialJson(m)));
      this.deleteKey(keyId);
      return { record, materials };
    });
    return deleted;
  }

  /**
   * After key material was deleted: the WAL still holds earlier page images with the material in
   * them (the pages written when it was stored), until SQLite happens to write over them. A
   * checkpoint that truncates the WAL copies the zeroed pages (secure_delete) into the database
   * and empties the log. Without waiting: while another connection reads an older snapshot (the
   * other workers of `ekms serve --workers`) the checkpoint cannot finish, and it is tried again
   * at this Store's later writes and at close(), until it does. True when it finished. (What
   * the file system keeps of freed blocks is beyond a file's reach.)
   */
  shred(): boolean {
    this.db.pragma('busy_timeout = 0');
    let done = false;
    try {
      const [r] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      done = r?.busy === 0;
    } catch {
      // SQLITE_BUSY: another connection is writing
    } finally {
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
    this.shredDue = !done;
    return done;
  }

  /** Asks for shred() once the write under way has committed (a checkpoint cannot run inside it). */
  shredAfterWrite(): void {
    this.shredDue = true;
  }

  /** Token objects of deleted keys that are still to be destroyed. */
  pendingTokenDestructions(): { record: KeyRecord; material: MaterialRecord }[] {
    const rows = this.db.prepare('SELECT key_record, material FROM token_destructions ORDER BY rowid').all() as { key_record: string; material: string }[];
    return rows.map((r) => ({ record: reviveKeyRecord(r.key_record), material: reviveTokenMaterial(r.material) }));
  }

  tokenObjectDestroyed(keyId: string, materialId: string): void {
    this.db.prepare('DELETE FROM token_destructions WHERE key_id = ? AND material_id = ?').run(keyId, materialId);
  }
}

interface AliasRow {
  alias_name: string;
  key_id: string;
  created_at: number;
  updated_at: number;
}

function aliasFromRow(r: AliasRow): AliasRecord {
  return { aliasName: r.alias_name, keyId: r.key_id, createdAt: new Date(r.created_at), updatedAt: new Date(r.updated_at) };
}

// A token material as token_destructions keeps it: what finds the object on the token, never a blob.
interface TokenMaterialJson {
  keyId: string;
  materialId: string;
  createdAt: number;
  rotationType?: MaterialRecord['rotationType'];
  tokenRef?: string;
}

function tokenMaterialJson(m: MaterialRecord): TokenMaterialJson {
  return { keyId: m.keyId, materialId: m.materialId, createdAt: m.createdAt.getTime(), rotationType: m.rotationType, tokenRef: m.tokenRef };
}

function reviveTokenMaterial(json: string): MaterialRecord {
  const m = JSON.parse(json) as TokenMaterialJson;
  return { keyId: m.keyId, materialId: m.materialId, createdAt: new Date(m.createdAt), rotationType: m.rotationType, tokenRef: m.tokenRef };
}

function reviveKeyRecord(json: string): KeyRecord {
  const r = JSON.parse(json) as Omit<KeyRecord, 'createdAt' | 'deletionDate' | 'nextRotationDate'> & {
    createdAt: string;
    deletionDate?: string;
    nextRotationDate?: string;
  };
  return {
    ...r,
    createdAt: new Date(r.createdAt),
    deletionDate: r.deletionDate === undefined ? undefined : new Date(r.deletionDate),
    nextRotationDate: r.nextRotationDate === undefined ? undefined : new Date(r.nextRotationDate),
  };
}

function migrate(db: Db): void {
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > schemaVersion) {
      throw new StoreError(
        `this key store was written by a newer embedded-kms (schema ${current}; this version knows up to ${schemaVersion}); upgrade embedded-kms to open it`,
      );
    }
    for (let v = current; v < schemaVersion; v++) db.exec(migrations[v] as string);
    if (current !== schemaVersion) db.pragma(`user_version = ${schemaVersion}`);
  }).immediate();
}
