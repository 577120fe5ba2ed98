// What GetKeyLastUsage reports: each key's last successful cryptographic operation (its name,
// time, CloudTrail event id and request id), and since when that is tracked.
//
// Kept in a database file of its own beside the key store ($EKMS_HOME/key-usage.sqlite3), not in
// the store: every change to the store's file makes every Kms on it (in every process) check its
// caches, and usage changes with every Sign and Encrypt. It is not key material either: a backup
// leaves it out, and a store restored elsewhere starts tracking afresh (TrackingStartDate says so).
//
// The hot path only notes the call in memory (a Map entry per key). The notes (and the removal of
// deleted keys' rows) are written once a second, in one transaction, by an unref'd timer, and at
// close() or process exit; AWS documents the operation as eventually consistent. Several
// processes on one store each write their own notes, and the latest use of a key wins.
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { chmodSync } from 'node:fs';

import type { KeyLastUsageTrackingOperation } from '../model/types.js';
import { useWal } from '../store/wal.js';

const FLUSH_MS = 1000;
const BUSY_MS = 100;
const SETUP_BUSY_MS = 10_000;

/** The operations AWS tracks (the KeyLastUsageTrackingOperation enum). */
const tracked: ReadonlySet<string> = new Set<KeyLastUsageTrackingOperation>([
  'Decrypt',
  'DeriveSharedSecret',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'ReEncrypt',
  'Sign',
  'Verify',
  'VerifyMac',
]);

export interface KeyUsage {
  operation: KeyLastUsageTrackingOperation;
  /** Milliseconds since the epoch. */
  time: number;
  eventId: string;
  requestId: string;
}

/**
 * A use as noted, with when it was noted on the machine's monotonic clock (nanoseconds, the same
 * for every process): two uses in one millisecond, by two processes, are ordered by it.
 */
interface NotedUsage extends KeyUsage {
  noted: bigint;
}

const laterThan = (a: NotedUsage, b: NotedUsage): boolean => a.time > b.time || (a.time === b.time && a.noted >= b.noted);

const schema = `
  CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS key_last_usage (
    key_id     TEXT PRIMARY KEY,
    operation  TEXT NOT NULL,
    used_at    INTEGER NOT NULL,
    event_id   TEXT NOT NULL,
    request_id TEXT NOT NULL,
    noted_at   INTEGER NOT NULL DEFAULT 0
  );
`;

// Another process may have written a later use meanwhile: the later one stays. Uses in the same
// millisecond are ordered by when they were noted (NotedUsage): before, the process that wrote
// last won, and GetKeyLastUsage could keep an Encrypt over the Decrypt that followed it.
const upsertSql = `
  INSERT INTO key_last_usage (key_id, operation, used_at, event_id, request_id, noted_at) VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (key_id) DO UPDATE SET operation = excluded.operation, used_at = excluded.used_at,
    event_id = excluded.event_id, request_id = excluded.request_id, noted_at = excluded.noted_at
  WHERE excluded.used_at > key_last_usage.used_at
    OR (excluded.used_at = key_last_usage.used_at AND excluded.noted_at >= key_last_usage.noted_at)`;

const trackers = new Set<KeyUsageTracker>();
let exitHook = false;

/** The key id in a key ARN (every tracked operation's output names its keys by ARN). */
const keyIdOf = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1);

export class KeyUsageTracker {
  private readonly db: Db;
  private readonly upsert;
  private readonly select;
  private readonly remove;
  /** Uses not yet written, by key ARN. */
  private pending = new Map<string, NotedUsage>();
  /** Deleted keys whose rows are not yet removed (forget()). */
  private forgotten = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private warned = false;
  /** When tracking began for this store (milliseconds since the epoch). */
  readonly trackingStart: number;

  static tracks(operation: string): boolean {
    return tracked.has(operation);
  }

  private static openFile(path: string, now: Date, storeId: string): Db {
    // Setting the file up waits for the other processes of the home as the store does: workers
    // started together all create it at once, and with the flushes' short timeout some of them
    // found it locked and fell back to memory. Flushes then wait briefly only (BUSY_MS).
    const db = new Database(path, { timeout: SETUP_BUSY_MS });
    try {
      if (path !== ':memory:') chmodSync(path, 0o600);
      useWal(db);
      // NORMAL: a crash of the machine may lose the last writes; usage is eventually consistent.
      db.pragma('synchronous = NORMAL');
      db.exec(schema);
      // The file belongs to one store: a store made anew in the same home (its id differs) starts
      // tracking afresh rather than inherit another store's usage.
      db.transaction(() => {
        // A file made before uses were ordered within a millisecond gets the column (its rows 0).
        const columns = db.prepare('PRAGMA table_info(key_last_usage)').all() as { name: string }[];
        if (!columns.some((c) => c.name === 'noted_at')) db.exec('ALTER TABLE key_last_usage ADD COLUMN noted_at INTEGER NOT NULL DEFAULT 0');
        const owner = db.prepare("SELECT value FROM meta WHERE name = 'store_id'").pluck().get();
        if (owner !== undefined && owner !== storeId) db.exec("DELETE FROM key_last_usage; DELETE FROM meta WHERE name = 'tracking_started'");
        db.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES ('store_id', ?)").run(storeId);
        db.prepare("INSERT OR IGNORE INTO meta (name, value) VALUES ('tracking_started', ?)").run(String(now.getTime()));
      }).immediate(); // the write lock up front: a read upgraded to a write is refused at once when another process wrote meanwhile
      db.pragma(`busy_timeout = ${BUSY_MS}`);
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /**
   * Opens (or creates, with `now` as the start of tracking) the usage file at `path`. A file that
   * cannot be used (unreadable, corrupt) never stops the key store from opening: usage is then
   * tracked in memory from now on, and a warning says why.
   */
  constructor(path: string, now: Date, storeId: string) {
    let db: Db;
    try {
      db = KeyUsageTracker.openFile(path, now, storeId);
    } catch (err) {
      process.emitWarning(`embedded-kms: cannot use ${path} (${(err as Error).message}); key usage (GetKeyLastUsage) is tracked in memory only`, 'EmbeddedKmsWarning');
      db = KeyUsageTracker.openFile(':memory:', now, storeId);
    }
    this.db = db;
    this.trackingStart = Number(db.prepare("SELECT value FROM meta WHERE name = 'tracking_started'").pluck().get());
    this.upsert = db.prepare(upsertSql);
    this.select = db.prepare('SELECT operation, used_at AS time, event_id AS eventId, request_id AS requestId FROM key_last_usage WHERE key_id = ?');
    this.remove = db.prepare('DELETE FROM key_last_usage WHERE key_id = ?');
    trackers.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const tracker of trackers) tracker.flush();
      });
    }
  }

  /**
   * Notes a successful call of a tracked operation: the keys it used are its output's KeyId and,
   * for ReEncrypt, SourceKeyId (AWS records ReEncrypt for both).
   */
  note(operation: string, output: unknown, time: Date, eventId: string, requestId: string): void {
    const o = output as { KeyId?: unknown; SourceKeyId?: unknown } | undefined;
    if (o === undefined || o === null) return;
    const usage: NotedUsage = { operation: operation as KeyLastUsageTrackingOperation, time: time.getTime(), eventId, requestId, noted: process.hrtime.bigint() };
    if (typeof o.KeyId === 'string') this.keep(o.KeyId, usage);
    if (typeof o.SourceKeyId === 'string') this.keep(o.SourceKeyId, usage);
    this.schedule();
  }

  /** Keeps the later of two uses of a key (calls may finish in another order than they began). */
  private keep(arn: string, usage: NotedUsage): void {
    const known = this.pending.get(arn);
    if (known === undefined || laterThan(usage, known)) this.pending.set(arn, usage);
  }

  private schedule(): void {
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /**
   * Forgets a deleted key's use: nothing can ask for it again, and its row would otherwise stay
   * in the file for ever. The row goes with the next flush (off the deletion's path, which may
   * run before a caller's operation), and is kept to remove until a flush succeeds.
   */
  forget(keyId: string): void {
    for (const arn of this.pending.keys()) if (keyIdOf(arn) === keyId) this.pending.delete(arn);
    this.forgotten.add(keyId);
    this.schedule();
  }

  /** The last use of a key known to this process or written by any, if any. */
  lastUsage(keyId: string): KeyUsage | undefined {
    this.flush();
    let stored: KeyUsage | undefined;
    try {
      stored = this.select.get(keyId) as KeyUsage | undefined;
    } catch {
      // the file cannot be read now: what this process has not written yet still answers
    }
    // (Notes are pending here only when the flush failed; the file's row has no order to compare.)
    for (const [arn, u] of this.pending)
      if (keyIdOf(arn) === keyId && (stored === undefined || stored.time <= u.time))
        stored = { operation: u.operation, time: u.time, eventId: u.eventId, requestId: u.requestId };
    return stored;
  }

  /**
   * Writes the pending notes and removes the forgotten keys' rows (one transaction). Never
   * throws: what could not be written (the file busy in another process, a disk error) is kept
   * for the next flush, and the first failure of a run of them is reported as a warning.
   */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if ((this.pending.size === 0 && this.forgotten.size === 0) || !this.db.open) return;
    const notes = this.pending;
    const forgotten = this.forgotten;
    this.pending = new Map();
    this.forgotten = new Set();
    try {
      this.db.transaction(() => {
        for (const [arn, u] of notes) this.upsert.run(keyIdOf(arn), u.operation, u.time, u.eventId, u.requestId, u.noted);
        // After the notes: a call that finished after its key's deletion leaves no row either.
        for (const keyId of forgotten) this.remove.run(keyId);
      })();
      this.warned = false;
    } catch (err) {
      for (const [arn, u] of notes) this.keep(arn, u);
      for (const keyId of forgotten) this.forgotten.add(keyId);
      if (this.db.open) this.schedule(); // (close() clears the timer after its own flush)
      if (!this.warned) {
        this.warned = true;
        process.emitWarning(`embedded-kms: cannot record key usage (GetKeyLastUsage) yet: ${(err as Error).message}`, 'EmbeddedKmsWarning');
      }
    }
  }

  close(): void {
    this.flush();
    if (this.timer !== undefined) clearTimeout(this.timer);
    trackers.delete(this);
    this.db.close();
  }
}
