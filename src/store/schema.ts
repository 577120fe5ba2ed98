// The store's schema, as numbered migrations. Each runs once, in order, inside the transaction
// that opens the store; a store written by a newer version (a higher user_version) is refused.
// Once released, a migration never changes: a new column, table or meta row is a new migration.
export const migrations: readonly string[] = [
  // 1: the first release.
  `
  CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
  );
  CREATE TABLE keys (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id               TEXT NOT NULL UNIQUE,
    created_at           INTEGER NOT NULL,
    key_spec             TEXT NOT NULL,
    key_usage            TEXT NOT NULL,
    origin               TEXT NOT NULL,
    key_state            TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    policy               TEXT NOT NULL,
    custom_key_store_id  TEXT,
    deletion_date        INTEGER,
    pending_window_days  INTEGER,
    current_material_id  TEXT,
    rotation_enabled     INTEGER NOT NULL DEFAULT 0,
    rotation_period_days INTEGER,
    next_rotation_date   INTEGER,
    multi_region         INTEGER NOT NULL DEFAULT 0,
    extra                TEXT NOT NULL DEFAULT '{}'
  );
  CREATE TABLE key_materials (
    key_id        TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
    material_id   TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    rotation_type TEXT,
    wrapped       BLOB,
    public_key    BLOB,
    token_ref     TEXT,
    PRIMARY KEY (key_id, material_id)
  );
  CREATE TABLE aliases (
    alias_name  TEXT PRIMARY KEY,
    key_id      TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
  );
  CREATE INDEX aliases_by_key ON aliases(key_id);
  CREATE TABLE tags (
    key_id     TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (key_id, tag_key)
  );
  -- Keys pending deletion, for the sweep that destroys them when their date comes.
  CREATE INDEX keys_by_deletion_date ON keys(deletion_date) WHERE deletion_date IS NOT NULL;
  -- Token objects of deleted keys still to be destroyed (written in the transaction that
  -- deletes the key, removed once the token has destroyed the object).
  CREATE TABLE token_destructions (
    key_id      TEXT NOT NULL,
    material_id TEXT NOT NULL,
    key_record  TEXT NOT NULL,
    material    TEXT NOT NULL,
    PRIMARY KEY (key_id, material_id)
  );
  `,
  // 2: the store's own id (a random UUID), so that objects it makes outside this file (token
  // keys on a PKCS#11 token several stores may share) can say which store made them.
  `
  INSERT OR IGNORE INTO meta (name, value) VALUES ('store_id',
    lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' ||
    substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))));
  `,
  // 3: imported key material (Origin EXTERNAL). Per material: whether it is imported now or
  // waits for a reimport (deleted or expired: the wrapped blob is gone, the id stays), its
  // expiration, its description, and whether it waits for RotateKeyOnDemand. The wrapping keys of
  // GetParametersForImport, their private halves wrapped under the root key, until their
  // parameters expire. (What DescribeKey reports about a key's expiration is kept in keys.extra.)
  // New tables only, IF NOT EXISTS: running this again changes nothing.
  `
  CREATE TABLE IF NOT EXISTS imported_materials (
    key_id           TEXT NOT NULL,
    material_id      TEXT NOT NULL,
    import_state     TEXT NOT NULL,
    expiration_model TEXT,
    valid_to         INTEGER,
    description      TEXT,
    pending_rotation INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, material_id),
    FOREIGN KEY (key_id, material_id) REFERENCES key_materials(key_id, material_id) ON DELETE CASCADE
  );
  CREATE INDEX IF NOT EXISTS imported_materials_by_valid_to ON imported_materials(valid_to) WHERE valid_to IS NOT NULL;
  CREATE TABLE IF NOT EXISTS import_parameters (
    wrapping_key_id     TEXT PRIMARY KEY,
    key_id              TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
    wrapping_key_spec   TEXT NOT NULL,
    wrapping_algorithm  TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    valid_to            INTEGER NOT NULL,
    wrapped_private_key BLOB NOT NULL,
    public_key          BLOB NOT NULL
  );
  CREATE INDEX IF NOT EXISTS import_parameters_by_key ON import_parameters(key_id);
  `,
  // 4: token objects being made. A row is written before a key material is generated on a
  // PKCS#11 token and removed once its record is stored (or the object destroyed), so an object
  // left by a process that died in between can be found and destroyed later — and only such
  // objects: a token shared by several stores or processes holds others we must not touch.
  `
  CREATE TABLE IF NOT EXISTS token_creations (
    key_id      TEXT NOT NULL,
    material_id TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    PRIMARY KEY (key_id, material_id)
  );
  `,
  // 5: keys whose automatic rotation can fall due, by date. Without it the due-rotation query
  // (run when a store opens, and again after any change to the store) and the earliest-date
  // query each read the whole keys table: tens of milliseconds for 100,000 keys. The index's
  // condition is the one those queries carry (src/store/store.ts), so SQLite uses it for both
  // (a range search and a MIN from its first entry). IF NOT EXISTS: running it again changes nothing.
  `
  CREATE INDEX IF NOT EXISTS keys_by_next_rotation ON keys(next_rotation_date) WHERE rotation_enabled = 1 AND key_state = 'Enabled';
  `,
  // 6: grants (CreateGrant): stored, listed, retired and revoked, not evaluated (as key
  // policies). `seq` orders them as created and carries the listings' markers; the principals
  // are columns for the listings' filters, the rest of the grant is JSON. A key's grants go
  // with the key. IF NOT EXISTS: running it again changes nothing.
  `
  CREATE TABLE IF NOT EXISTS grants (
    seq                        INTEGER PRIMARY KEY AUTOINCREMENT,
    grant_id                   TEXT NOT NULL UNIQUE,
    key_id                     TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
    created_at                 INTEGER NOT NULL,
    name                       TEXT,
    grantee_principal          TEXT,
    grantee_service_principal  TEXT,
    retiring_principal         TEXT,
    retiring_service_principal TEXT,
    details                    TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS grants_by_key ON grants(key_id, seq);
  CREATE INDEX IF NOT EXISTS grants_by_retiring_principal ON grants(retiring_principal, seq) WHERE retiring_principal IS NOT NULL;
  CREATE INDEX IF NOT EXISTS grants_by_retiring_service_principal ON grants(retiring_service_principal, seq) WHERE retiring_service_principal IS NOT NULL;
  `,
];

export const schemaVersion = migrations.length;
