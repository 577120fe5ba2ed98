// The store's schema, as numbered migrations. Each runs once, in order, inside the transaction
// that opens the store; a store written by a newer version (a higher user_version) is refused.
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
  `,
];

export const schemaVersion = migrations.length;
