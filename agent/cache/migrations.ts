/**
 * The cache's own schema, versioned with SQLite's `PRAGMA user_version`: migration N runs when
 * user_version < N, inside one transaction with the version bump, so a crash leaves either the
 * old or the new schema. Append only: never edit a migration that has shipped.
 *
 * Why TEXT everywhere: row values are PostgreSQL's text output kept verbatim (store.ts), times are
 * ISO strings (sortable as text), keys are JSON arrays of key values.
 */
export interface CacheMigration {
  version: number;
  name: string;
  sql: string;
}

export const CACHE_MIGRATIONS: readonly CacheMigration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
CREATE TABLE table_meta (
  table_name     TEXT PRIMARY KEY,
  columns        TEXT NOT NULL,
  primary_key    TEXT NOT NULL,
  data_type      TEXT,
  wedding_column TEXT NOT NULL
);

CREATE TABLE weddings (
  wedding_id            TEXT PRIMARY KEY,
  state                 TEXT NOT NULL CHECK (state IN ('pending', 'ready', 'kept')),
  wedding_date          TEXT,
  organization_id       TEXT,
  couple_names          TEXT,
  venue_name            TEXT,
  base_snapshot_id      TEXT,
  base_location         TEXT,
  base_journal_snapshot TEXT,
  base_at               TEXT,
  realtime_until        TEXT,
  purge_after           TEXT,
  last_change_at        TEXT,
  updated_at            TEXT NOT NULL
);
CREATE INDEX weddings_date_idx ON weddings (wedding_date);

-- One row of a cached wedding: values as JSON {column: text|null}.
CREATE TABLE rows (
  table_name TEXT NOT NULL,
  row_key    TEXT NOT NULL,
  wedding_id TEXT NOT NULL,
  data       TEXT NOT NULL,
  PRIMARY KEY (table_name, row_key)
) WITHOUT ROWID;
CREATE INDEX rows_wedding_idx ON rows (wedding_id, table_name, row_key);

CREATE TABLE changes (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  wedding_id  TEXT,
  table_name  TEXT NOT NULL,
  op          TEXT NOT NULL CHECK (op IN ('I', 'U', 'D', 'T')),
  row_key     TEXT,
  data        TEXT,
  unchanged   TEXT,
  xid         TEXT,
  lsn         TEXT,
  commit_time TEXT NOT NULL,
  received_at TEXT NOT NULL
);
CREATE INDEX changes_wedding_idx ON changes (wedding_id, seq);
CREATE INDEX changes_table_key_idx ON changes (table_name, row_key) WHERE wedding_id IS NULL;
CREATE INDEX changes_commit_time_idx ON changes (commit_time);

CREATE TABLE checkpoints (
  name       TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE snapshots (
  id               TEXT PRIMARY KEY,
  created_at       TEXT NOT NULL,
  snapshot_type    TEXT NOT NULL,
  storage_location TEXT,
  wedding_ids      TEXT NOT NULL,
  summary          TEXT NOT NULL
);
CREATE INDEX snapshots_created_at_idx ON snapshots (created_at);
CREATE TABLE snapshot_weddings (
  wedding_id  TEXT NOT NULL,
  snapshot_id TEXT NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
  PRIMARY KEY (wedding_id, snapshot_id)
) WITHOUT ROWID;
CREATE INDEX snapshot_weddings_snapshot_idx ON snapshot_weddings (snapshot_id);

CREATE TABLE validation_results (
  snapshot_id  TEXT PRIMARY KEY,
  status       TEXT NOT NULL,
  completed_at TEXT,
  details      TEXT
);

CREATE TABLE queued_restores (
  id           TEXT PRIMARY KEY,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  request      TEXT NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT,
  operation_id TEXT,
  result       TEXT
);
CREATE INDEX queued_restores_status_idx ON queued_restores (status, created_at);
`,
  },
];

export const CACHE_SCHEMA_VERSION = CACHE_MIGRATIONS[CACHE_MIGRATIONS.length - 1]!.version;
