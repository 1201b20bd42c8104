/**
 * The local cache (agent/cache): what the agent keeps on the coordinator's machine so the wedding
 * day works with no network. One interface, two SQLite backings (a WAL-mode file under
 * WEDSYNC_HOME, or `:memory:` for tests), one contract suite (contract.ts) run against both.
 *
 * It holds:
 *  - the catalog of snapshots (a mirror of backup_snapshots: the console browses it offline);
 *  - per-wedding rows of the weddings in their high-priority period (from a snapshot, then kept
 *    current by the tier 1 stream), with the shape of their tables;
 *  - the change log of those rows, with commit times (what point-in-time restore replays);
 *  - stream checkpoints (the last applied position, written in the same transaction as the rows);
 *  - validation results, and restores queued while the database was unreachable.
 *
 * Guarantees (checked by the contract suite):
 *  - Every method is synchronous and atomic: it happens whole or not at all.
 *  - `transaction(fn)` groups calls: if `fn` throws, nothing it wrote is kept. Nested calls join
 *    the outer transaction. Readers see committed state only.
 *  - Row values are PostgreSQL's text output of each column (or null), exactly as received:
 *    the cache never reinterprets a value, so rows can be written back byte for byte.
 *  - Change log entries keep their insertion order (`seq` increases); `changes()` returns them in
 *    that order.
 *  - A committed write survives a process crash (file backing; SQLite WAL, synchronous=FULL).
 */

/** Column values by name: PostgreSQL text output, null for SQL NULL. */
export type RowValues = Record<string, string | null>;

/** The shape of a cached table, from the snapshot manifest it was first filled from. */
export interface CachedTableMeta {
  /** schema.table */
  table: string;
  columns: Array<{ name: string; type: string; nullable: boolean }>;
  primaryKey: string[];
  /** 'wedding' for the weddings table, a data type, or null. */
  dataType: string | null;
  /** Column holding the wedding id (the id column for the weddings table). */
  weddingColumn: string;
}

export type WeddingCacheState =
  /** Tracked; rows not loaded yet (changes are logged and replayed when the base lands). */
  | 'pending'
  /** Rows loaded from a base snapshot and kept current by the stream. */
  | 'ready'
  /** Out of its high-priority period: rows kept (not updated) until `purgeAfter`. */
  | 'kept';

export interface CachedWedding {
  weddingId: string;
  state: WeddingCacheState;
  weddingDate: string | null;
  organizationId: string | null;
  coupleNames: string | null;
  venueName: string | null;
  /** The snapshot the rows were loaded from. */
  baseSnapshotId: string | null;
  /** Where that snapshot lives (repository location). */
  baseLocation: string | null;
  /** pg_current_snapshot() text of the base: changes its transactions saw are already in the rows. */
  baseJournalSnapshot: string | null;
  /** ISO time the base snapshot was taken. */
  baseAt: string | null;
  /** ISO end of the high-priority period (when real-time stops). */
  realtimeUntil: string | null;
  /** ISO time after which rows and changes are deleted. */
  purgeAfter: string | null;
  /** Commit time of the last change applied (ISO). */
  lastChangeAt: string | null;
  updatedAt: string;
}

export interface CachedRow {
  table: string;
  /** Primary key values in key order (text output). */
  key: string[];
  weddingId: string;
  values: RowValues;
}

export type ChangeOp = 'I' | 'U' | 'D' | 'T';

export interface NewChange {
  /** null: not known to belong to a wedding (a delete seen before its wedding was loaded, a truncate). */
  weddingId: string | null;
  table: string;
  op: ChangeOp;
  /** Primary key values; null for a truncate. */
  key: string[] | null;
  /** Row after the change (I, U); null for D and T. */
  values: RowValues | null;
  /** Columns whose value the change did not carry (unchanged TOAST): take the previous value. */
  unchanged?: string[] | undefined;
  /** Writing transaction id (32-bit xid from the stream, 64-bit from the journal), decimal text. */
  xid: string | null;
  /** Commit LSN ("X/Y") of the transaction, when streamed. */
  lsn: string | null;
  /** Commit time of the transaction (ISO). */
  commitTime: string;
}

export interface ChangeEntry extends NewChange {
  seq: number;
  receivedAt: string;
}

export interface ChangeQuery {
  weddingId?: string;
  table?: string;
  /** Only entries with seq > afterSeq. */
  afterSeq?: number;
  /** Only entries committed at or before this ISO time. */
  until?: string;
  /** Also entries with no wedding (weddingId null), e.g. early deletes and truncates. */
  includeUnassigned?: boolean;
  limit?: number;
}

/** A snapshot as the console lists it (SnapshotSummary of contract/api.ts, stored as given). */
export interface CachedSnapshot {
  id: string;
  createdAt: string;
  snapshotType: string;
  storageLocation: string | null;
  weddingIds: string[];
  /** The whole catalog row as JSON (SnapshotSummary). */
  summary: Record<string, unknown>;
}

export interface CachedValidation {
  snapshotId: string;
  status: string;
  completedAt: string | null;
  details: unknown;
}

export type QueuedRestoreStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface QueuedRestore {
  id: string;
  createdAt: string;
  updatedAt: string;
  status: QueuedRestoreStatus;
  /** What to restore (jobs/offline-queue.ts defines the shape). */
  request: Record<string, unknown>;
  attempts: number;
  lastError: string | null;
  /** The recovery operation that ran it. */
  operationId: string | null;
  /** What it found or did, for the person who queued it (preview totals, outcome). */
  result: unknown;
}

export interface CacheStats {
  weddings: number;
  rows: number;
  changes: number;
  snapshots: number;
  queuedRestores: number;
}

export interface CacheStore {
  /** File path, or ':memory:'. */
  readonly location: string;

  /** Runs `fn` atomically (see the guarantees above). `fn` must be synchronous. */
  transaction<T>(fn: () => T): T;

  // ------------------------------------------------------------------ tables
  putTableMeta(meta: CachedTableMeta): void;
  getTableMeta(table: string): CachedTableMeta | null;
  listTableMeta(): CachedTableMeta[];

  // ------------------------------------------------------------------ weddings
  /** Inserts or replaces the wedding's record (not its rows). */
  putWedding(wedding: Omit<CachedWedding, 'updatedAt'>): void;
  getWedding(weddingId: string): CachedWedding | null;
  /** Ordered by wedding date, then id. `date`: only weddings on that YYYY-MM-DD. */
  listWeddings(filter?: { date?: string; states?: WeddingCacheState[] }): CachedWedding[];
  /** Deletes the wedding, its rows and its change log entries. */
  deleteWedding(weddingId: string): void;

  // ------------------------------------------------------------------ rows
  putRow(row: CachedRow): void;
  getRow(table: string, key: string[]): CachedRow | null;
  /** True when a row was deleted. */
  deleteRow(table: string, key: string[]): boolean;
  /** The wedding's rows, by table then key (key compared as text). `table`: only that one. */
  weddingRows(weddingId: string, table?: string): CachedRow[];
  /** Deletes the wedding's rows (of `table` only, when given); returns how many. */
  deleteWeddingRows(weddingId: string, table?: string): number;
  /** Deletes every row of `table`, all weddings; returns how many. */
  deleteTableRows(table: string): number;

  // ------------------------------------------------------------------ change log
  /** Appends and returns the entry's seq. */
  appendChange(change: NewChange): number;
  changes(query?: ChangeQuery): ChangeEntry[];
  /** Assigns unassigned entries of `table` with these keys to `weddingId`; returns how many. */
  assignChanges(table: string, keys: string[][], weddingId: string): number;
  /** Deletes entries committed before `before` (ISO), of one wedding or all; returns how many. */
  pruneChanges(before: string, weddingId?: string): number;

  // ------------------------------------------------------------------ checkpoints
  setCheckpoint(name: string, value: string): void;
  getCheckpoint(name: string): string | null;
  deleteCheckpoint(name: string): void;

  // ------------------------------------------------------------------ snapshots (catalog mirror)
  /** Inserts or replaces these snapshots. */
  putSnapshots(snapshots: CachedSnapshot[]): void;
  /** Newest first. */
  listSnapshots(filter?: { weddingId?: string; type?: string; limit?: number }): CachedSnapshot[];
  getSnapshot(id: string): CachedSnapshot | null;
  /** Deletes snapshots not in `keep` (a full refresh of the mirror); returns how many. */
  retainSnapshots(keep: string[]): number;

  // ------------------------------------------------------------------ validation results
  putValidation(result: CachedValidation): void;
  getValidation(snapshotId: string): CachedValidation | null;
  listValidations(): CachedValidation[];

  // ------------------------------------------------------------------ queued restores
  putQueuedRestore(restore: Omit<QueuedRestore, 'updatedAt'>): void;
  getQueuedRestore(id: string): QueuedRestore | null;
  /** Oldest first. */
  listQueuedRestores(status?: QueuedRestoreStatus[]): QueuedRestore[];

  stats(): CacheStats;
  /** Closes the database; further calls throw. Idempotent. */
  close(): void;
}

/** Checkpoint names used across the agent (one place, so two writers never collide). */
export const CHECKPOINTS = {
  /** Last stream position applied (commit end LSN, "X/Y"). */
  streamLsn: 'stream.lsn',
  /** The replication slot the stream position belongs to. */
  streamSlot: 'stream.slot',
  /** Polling fallback: pg_snapshot text of the last poll. */
  pollSnapshot: 'poll.snapshot',
  /** ISO time the snapshot mirror was last refreshed from the catalog. */
  snapshotsRefreshedAt: 'snapshots.refreshedAt',
} as const;

/** The text form of a key, as stored (and compared). */
export function keyText(key: string[]): string {
  return JSON.stringify(key);
}
