// The store's side of backup, restore and root key rotation: queries over whole tables, kept
// apart from the per-key queries of store.ts. Each function expects to run inside a write
// transaction (Store.write) unless it says otherwise.
import type { Database as Db } from 'better-sqlite3';

export type Rewrap = (keySpec: string, keyId: string, materialId: string, wrapped: Buffer) => Buffer;

interface WrappedRow {
  rowid: number;
  key_id: string;
  material_id: string;
  key_spec: string;
  wrapped: Buffer;
}

/** Re-wraps every software key material in place; returns how many. Pages by rowid to bound memory. */
export function rewrapAllMaterials(db: Db, rewrap: Rewrap): number {
  const page = db.prepare(
    `SELECT m.rowid AS rowid, m.key_id, m.material_id, k.key_spec, m.wrapped
       FROM key_materials m JOIN keys k ON k.key_id = m.key_id
      WHERE m.wrapped IS NOT NULL AND m.rowid > ? ORDER BY m.rowid LIMIT 500`,
  );
  const update = db.prepare('UPDATE key_materials SET wrapped = ? WHERE rowid = ?');
  let after = 0;
  let count = 0;
  for (;;) {
    const rows = page.all(after) as WrappedRow[];
    if (rows.length === 0) return count;
    for (const r of rows) {
      update.run(rewrap(r.key_spec, r.key_id, r.material_id, r.wrapped), r.rowid);
      after = r.rowid;
      count++;
    }
  }
}

/**
 * Forgets GetParametersForImport's wrapping keys: their private halves (and the import tokens
 * handed out with them) are bound to the root key being replaced, and they expire within a day
 * anyway; a caller asks for new parameters. Returns how many.
 */
export function forgetImportParameters(db: Db): number {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'import_parameters'").get();
  return exists ? db.prepare('DELETE FROM import_parameters').run().changes : 0;
}

export function getMetaValue(db: Db, name: string): Buffer | string | undefined {
  return db.prepare('SELECT value FROM meta WHERE name = ?').pluck().get(name) as Buffer | string | undefined;
}

export function setMetaValue(db: Db, name: string, value: Uint8Array | string): void {
  db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)').run(name, value);
}

export function deleteMetaValue(db: Db, name: string): void {
  db.prepare('DELETE FROM meta WHERE name = ?').run(name);
}

export function countKeys(db: Db, schema = 'main'): number {
  return db.prepare(`SELECT COUNT(*) FROM ${schema}.keys`).pluck().get() as number;
}

/** SQLite's own check of the whole file; 'ok' when sound. Read-only. */
export function integrityCheck(db: Db): string {
  const rows = db.prepare('PRAGMA integrity_check').pluck().all() as string[];
  return rows.join('; ');
}

/**
 * Replaces every row of every table of `main` with the rows of the attached database `source`
 * (same schema version), keeping AUTOINCREMENT counters. Foreign keys are checked at commit.
 */
export function replaceAllRows(db: Db, source: string): void {
  db.pragma('defer_foreign_keys = ON');
  const tables = db
    .prepare("SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
  for (const t of tables) db.prepare(`DELETE FROM main."${t}"`).run();
  for (const t of tables) {
    const cols = (db.prepare(`PRAGMA main.table_info("${t}")`).all() as { name: string }[]).map((c) => `"${c.name}"`).join(', ');
    db.prepare(`INSERT INTO main."${t}" (${cols}) SELECT ${cols} FROM ${source}."${t}"`).run();
  }
  const hasSequence = (schema: string) =>
    db.prepare(`SELECT 1 FROM ${schema}.sqlite_master WHERE name = 'sqlite_sequence'`).get() !== undefined;
  if (hasSequence('main')) {
    db.prepare('DELETE FROM main.sqlite_sequence').run();
    if (hasSequence(source)) db.prepare(`INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM ${source}.sqlite_sequence`).run();
  }
}
