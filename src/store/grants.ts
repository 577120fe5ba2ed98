// The grants table (schema migration 6): one row per grant, in creation order (`seq`).
import type { Database as Db } from 'better-sqlite3';

import type { GrantConstraints, GrantOperation } from '../model/types.js';

/** A grant as stored: CreateGrant's request, less what is per call (GrantTokens, DryRun). */
export interface GrantRecord {
  seq: number;
  grantId: string;
  keyId: string;
  createdAt: Date;
  name?: string;
  granteePrincipal?: string;
  granteeServicePrincipal?: string;
  retiringPrincipal?: string;
  retiringServicePrincipal?: string;
  operations: GrantOperation[];
  constraints?: GrantConstraints;
}

interface GrantRow {
  seq: number;
  grant_id: string;
  key_id: string;
  created_at: number;
  name: string | null;
  grantee_principal: string | null;
  grantee_service_principal: string | null;
  retiring_principal: string | null;
  retiring_service_principal: string | null;
  details: string;
}

const optional = (v: string | null): string | undefined => v ?? undefined;

function fromRow(row: GrantRow): GrantRecord {
  const details = JSON.parse(row.details) as { operations: GrantOperation[]; constraints?: GrantConstraints };
  const g: GrantRecord = { seq: row.seq, grantId: row.grant_id, keyId: row.key_id, createdAt: new Date(row.created_at), operations: details.operations };
  const set = <K extends keyof GrantRecord>(k: K, v: GrantRecord[K] | undefined) => {
    if (v !== undefined) g[k] = v;
  };
  set('name', optional(row.name));
  set('granteePrincipal', optional(row.grantee_principal));
  set('granteeServicePrincipal', optional(row.grantee_service_principal));
  set('retiringPrincipal', optional(row.retiring_principal));
  set('retiringServicePrincipal', optional(row.retiring_service_principal));
  set('constraints', details.constraints);
  return g;
}

export function insertGrant(db: Db, g: Omit<GrantRecord, 'seq'>): void {
  db.prepare(
    `INSERT INTO grants (grant_id, key_id, created_at, name, grantee_principal, grantee_service_principal,
                         retiring_principal, retiring_service_principal, details)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    g.grantId,
    g.keyId,
    g.createdAt.getTime(),
    g.name ?? null,
    g.granteePrincipal ?? null,
    g.granteeServicePrincipal ?? null,
    g.retiringPrincipal ?? null,
    g.retiringServicePrincipal ?? null,
    JSON.stringify({ operations: g.operations, ...(g.constraints ? { constraints: g.constraints } : {}) }),
  );
}

export function getGrant(db: Db, keyId: string, grantId: string): GrantRecord | undefined {
  const row = db.prepare('SELECT * FROM grants WHERE key_id = ? AND grant_id = ?').get(keyId, grantId) as GrantRow | undefined;
  return row && fromRow(row);
}

/** The key's grants with this name, oldest first (CreateGrant's retries by name). */
export function grantsNamed(db: Db, keyId: string, name: string): GrantRecord[] {
  return (db.prepare('SELECT * FROM grants WHERE key_id = ? AND name = ? ORDER BY seq').all(keyId, name) as GrantRow[]).map(fromRow);
}

export function countGrants(db: Db, keyId: string): number {
  return db.prepare('SELECT COUNT(*) FROM grants WHERE key_id = ?').pluck().get(keyId) as number;
}

/** Removes a grant; false when the key has no such grant. */
export function deleteGrant(db: Db, keyId: string, grantId: string): boolean {
  return db.prepare('DELETE FROM grants WHERE key_id = ? AND grant_id = ?').run(keyId, grantId).changes > 0;
}

export interface GrantFilter {
  keyId?: string;
  grantId?: string;
  granteePrincipal?: string;
  granteeServicePrincipal?: string;
  retiringPrincipal?: string;
  retiringServicePrincipal?: string;
}

const filterColumns: Record<keyof GrantFilter, string> = {
  keyId: 'key_id',
  grantId: 'grant_id',
  granteePrincipal: 'grantee_principal',
  granteeServicePrincipal: 'grantee_service_principal',
  retiringPrincipal: 'retiring_principal',
  retiringServicePrincipal: 'retiring_service_principal',
};

/** Up to `limit` grants matching every member of `filter`, in creation order, after `afterSeq`. */
export function grantsPage(db: Db, filter: GrantFilter, afterSeq: number, limit: number): GrantRecord[] {
  const where = ['seq > ?'];
  const args: unknown[] = [afterSeq];
  for (const [member, value] of Object.entries(filter) as [keyof GrantFilter, string | undefined][]) {
    if (value === undefined) continue;
    where.push(`${filterColumns[member]} = ?`);
    args.push(value);
  }
  const sql = `SELECT * FROM grants WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`;
  return (db.prepare(sql).all(...args, limit) as GrantRow[]).map(fromRow);
}
