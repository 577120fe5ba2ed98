// The store's side of imported key material (schema migration 3): the wrapping keys of
// GetParametersForImport, the import state of each material of an EXTERNAL key, and the
// expiration DescribeKey reports (keys.extra). Wrapped blobs only; the write methods expect to run
// inside Store.write.
import type { ExpirationModelType, ImportState } from '../model/types.js';
import type { MaterialRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

export interface ImportParametersRecord {
  wrappingKeyId: string;
  keyId: string;
  wrappingKeySpec: string;
  algorithm: string;
  createdAt: Date;
  validTo: Date;
  wrappedPrivateKey: Buffer;
  publicKey: Buffer;
}

/** How a material of an EXTERNAL key stands: imported now, or waiting to be imported again. */
export interface ImportedMaterialRecord {
  keyId: string;
  materialId: string;
  importState: ImportState;
  expirationModel?: ExpirationModelType;
  validTo?: Date;
  description?: string;
  /** Imported as NEW_KEY_MATERIAL into a key that has material: RotateKeyOnDemand makes it current. */
  pendingRotation: boolean;
}

interface ParametersRow {
  wrapping_key_id: string;
  key_id: string;
  wrapping_key_spec: string;
  wrapping_algorithm: string;
  created_at: number;
  valid_to: number;
  wrapped_private_key: Buffer;
  public_key: Buffer;
}

interface ImportedRow {
  key_id: string;
  material_id: string;
  import_state: string;
  expiration_model: string | null;
  valid_to: number | null;
  description: string | null;
  pending_rotation: number;
}

function importedFromRow(r: ImportedRow): ImportedMaterialRecord {
  const out: ImportedMaterialRecord = {
    keyId: r.key_id,
    materialId: r.material_id,
    importState: r.import_state as ImportState,
    pendingRotation: r.pending_rotation !== 0,
  };
  if (r.expiration_model !== null) out.expirationModel = r.expiration_model as ExpirationModelType;
  if (r.valid_to !== null) out.validTo = new Date(r.valid_to);
  if (r.description !== null) out.description = r.description;
  return out;
}

export class ImportStore {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  // ------------------------------------------------------------ wrapping keys

  saveParameters(p: ImportParametersRecord): void {
    this.db
      .prepare(
        `INSERT INTO import_parameters (wrapping_key_id, key_id, wrapping_key_spec, wrapping_algorithm, created_at, valid_to, wrapped_private_key, public_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(p.wrappingKeyId, p.keyId, p.wrappingKeySpec, p.algorithm, p.createdAt.getTime(), p.validTo.getTime(), p.wrappedPrivateKey, p.publicKey);
  }

  parameters(wrappingKeyId: string): ImportParametersRecord | undefined {
    const r = this.db.prepare('SELECT * FROM import_parameters WHERE wrapping_key_id = ?').get(wrappingKeyId) as ParametersRow | undefined;
    if (!r) return undefined;
    return {
      wrappingKeyId: r.wrapping_key_id,
      keyId: r.key_id,
      wrappingKeySpec: r.wrapping_key_spec,
      algorithm: r.wrapping_algorithm,
      createdAt: new Date(r.created_at),
      validTo: new Date(r.valid_to),
      wrappedPrivateKey: r.wrapped_private_key,
      publicKey: r.public_key,
    };
  }

  /** Forgets wrapping keys whose parameters expired before `before` (inside a write; their wrapped private keys shredded after it). */
  dropExpiredParameters(before: Date): void {
    if (this.db.prepare('DELETE FROM import_parameters WHERE valid_to < ?').run(before.getTime()).changes > 0) this.store.shredAfterWrite();
  }

  // ------------------------------------------------------------ materials

  /** The import state of every material of a key, in the order of its materials. */
  materials(keyId: string): ImportedMaterialRecord[] {
    const rows = this.db
      .prepare(
        `SELECT i.* FROM imported_materials i JOIN key_materials m ON m.key_id = i.key_id AND m.material_id = i.material_id
          WHERE i.key_id = ? ORDER BY m.created_at, m.rowid`,
      )
      .all(keyId) as ImportedRow[];
    return rows.map(importedFromRow);
  }

  material(keyId: string, materialId: string): ImportedMaterialRecord | undefined {
    const r = this.db.prepare('SELECT * FROM imported_materials WHERE key_id = ? AND material_id = ?').get(keyId, materialId) as
      | ImportedRow
      | undefined;
    return r && importedFromRow(r);
  }

  /**
   * Writes a material and its import state: a new one, or (same id) the material imported again,
   * which keeps its place among the key's materials (created_at, rotation type).
   */
  putMaterial(material: MaterialRecord, imported: ImportedMaterialRecord): void {
    const existing = this.store.getMaterial(material.keyId, material.materialId);
    if (existing) {
      this.db.prepare('DELETE FROM key_materials WHERE key_id = ? AND material_id = ?').run(material.keyId, material.materialId);
      material = { ...material, createdAt: existing.createdAt, rotationType: existing.rotationType };
    }
    // Store.insertMaterial refuses a blob wrapped under a root key the store no longer uses.
    this.store.insertMaterial(material);
    this.db
      .prepare(
        `INSERT INTO imported_materials (key_id, material_id, import_state, expiration_model, valid_to, description, pending_rotation)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        imported.keyId,
        imported.materialId,
        imported.importState,
        imported.expirationModel ?? null,
        imported.validTo?.getTime() ?? null,
        imported.description ?? null,
        imported.pendingRotation ? 1 : 0,
      );
  }

  /** DeleteImportedKeyMaterial and expiry: the blob goes, the id stays for a reimport. */
  forgetMaterial(keyId: string, materialId: string): void {
    // A token material's object is destroyed by the caller (the record no longer names it).
    this.db.prepare('UPDATE key_materials SET wrapped = NULL, token_ref = NULL WHERE key_id = ? AND material_id = ?').run(keyId, materialId);
    this.db
      .prepare(
        "UPDATE imported_materials SET import_state = 'PENDING_IMPORT', expiration_model = NULL, valid_to = NULL WHERE key_id = ? AND material_id = ?",
      )
      .run(keyId, materialId);
  }

  /** A material imported for a rotation that never happened: nothing was encrypted under it. */
  removeMaterial(keyId: string, materialId: string): void {
    this.db.prepare('DELETE FROM key_materials WHERE key_id = ? AND material_id = ?').run(keyId, materialId);
  }

  /** RotateKeyOnDemand of an EXTERNAL key: the pending material becomes an ordinary one. */
  completeRotation(keyId: string, materialId: string, at: Date): void {
    this.db.prepare('UPDATE imported_materials SET pending_rotation = 0 WHERE key_id = ? AND material_id = ?').run(keyId, materialId);
    this.db
      .prepare("UPDATE key_materials SET rotation_type = 'ON_DEMAND', created_at = ? WHERE key_id = ? AND material_id = ?")
      .run(at.getTime(), keyId, materialId);
  }

  /**
   * Recomputes what DescribeKey reports while the current material is imported: the earliest
   * ValidTo of the key's imported materials (pending rotations aside), when one of them expires
   * (the key goes to PendingImport then, whichever expires), with KEY_MATERIAL_EXPIRES, the only
   * ExpirationModel the model shows a ValidTo with; else the current material's ExpirationModel.
   */
  updateSummary(keyId: string, currentMaterialId: string | undefined): void {
    const materials = this.materials(keyId).filter((m) => !m.pendingRotation && m.importState === 'IMPORTED');
    const current = materials.find((m) => m.materialId === currentMaterialId);
    const expiries = materials.filter((m) => m.validTo !== undefined).map((m) => (m.validTo as Date).getTime());
    const row = this.db.prepare('SELECT extra FROM keys WHERE key_id = ?').pluck().get(keyId) as string | undefined;
    if (row === undefined) return;
    const extra = JSON.parse(row) as Record<string, unknown>;
    delete extra.expirationModel;
    delete extra.validTo;
    if (current?.expirationModel) {
      extra.expirationModel = expiries.length > 0 ? 'KEY_MATERIAL_EXPIRES' : current.expirationModel;
      if (expiries.length > 0) extra.validTo = Math.min(...expiries);
    }
    this.db.prepare('UPDATE keys SET extra = ? WHERE key_id = ?').run(JSON.stringify(extra), keyId);
  }

  // ------------------------------------------------------------ expiry

  /** Imported materials whose ValidTo has come. */
  dueExpiries(now: Date): { keyId: string; materialId: string }[] {
    return (
      this.db
        .prepare("SELECT key_id, material_id FROM imported_materials WHERE import_state = 'IMPORTED' AND valid_to <= ? ORDER BY valid_to")
        .all(now.getTime()) as { key_id: string; material_id: string }[]
    ).map((r) => ({ keyId: r.key_id, materialId: r.material_id }));
  }

  /** Whether the parameters of any import expired after `after` (milliseconds) and by `until`. */
  parametersExpiredBetween(after: number, until: Date): boolean {
    return this.db.prepare('SELECT 1 FROM import_parameters WHERE valid_to > ? AND valid_to <= ? LIMIT 1').pluck().get(after, until.getTime()) !== undefined;
  }

  earliestExpiry(): Date | undefined {
    const ms = this.db.prepare("SELECT MIN(valid_to) FROM imported_materials WHERE import_state = 'IMPORTED'").pluck().get() as number | null;
    return ms === null ? undefined : new Date(ms);
  }
}
