import Database from 'better-sqlite3';
import { WedsyncError } from '../contract/errors.js';
import { CACHE_MIGRATIONS } from './migrations.js';
import {
  keyText,
  type CacheStats,
  type CacheStore,
  type CachedRow,
  type CachedSnapshot,
  type CachedTableMeta,
  type CachedValidation,
  type CachedWedding,
  type ChangeEntry,
  type ChangeQuery,
  type NewChange,
  type QueuedRestore,
  type QueuedRestoreStatus,
  type WeddingCacheState,
} from './store.js';

/**
 * The CacheStore on SQLite (better-sqlite3). A file gets WAL mode and synchronous=FULL (a
 * committed stream position must survive a power cut: it is what the replication slot is
 * advanced to); `:memory:` is the same code without a file, for tests.
 *
 * Opening runs the cache's migrations. It does NOT check integrity: open.ts does that first, and
 * moves a damaged file aside before this ever reads it.
 */
export interface SqliteCacheOptions {
  /** Open without running migrations (integrity checks). */
  readonly?: boolean;
}

type Row = Record<string, unknown>;

const now = () => new Date().toISOString();
const json = (v: unknown) => JSON.stringify(v);
const str = (v: unknown) => (v === null || v === undefined ? null : String(v));

function parseJson<T>(v: unknown, fallback: T): T {
  if (typeof v !== 'string') return fallback;
  return JSON.parse(v) as T;
}

export function runCacheMigrations(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = CACHE_MIGRATIONS[CACHE_MIGRATIONS.length - 1]?.version ?? 0;
  if (current > latest) {
    throw new WedsyncError('REPO_VERSION_UNSUPPORTED', `the local cache ${db.name} was written by a newer version (schema ${current}, this one knows ${latest})`);
  }
  for (const m of CACHE_MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return latest;
}

export function openSqliteCache(location: string, options: SqliteCacheOptions = {}): CacheStore {
  const db = new Database(location, { readonly: options.readonly ?? false });
  try {
    if (location !== ':memory:' && !options.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    }
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    if (!options.readonly) runCacheMigrations(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteCacheStore(db, location);
}

class SqliteCacheStore implements CacheStore {
  private readonly stmts = new Map<string, Database.Statement>();
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    readonly location: string,
  ) {}

  /** Prepared once, reused: the stream applies thousands of rows a second. */
  private s(sql: string): Database.Statement {
    if (this.closed) throw new WedsyncError('INTERNAL', `the local cache ${this.location} is closed`);
    let st = this.stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  transaction<T>(fn: () => T): T {
    if (this.closed) throw new WedsyncError('INTERNAL', `the local cache ${this.location} is closed`);
    return this.db.transaction(fn)();
  }

  // ------------------------------------------------------------------ tables

  putTableMeta(meta: CachedTableMeta): void {
    this.s(
      `INSERT INTO table_meta (table_name, columns, primary_key, data_type, wedding_column) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (table_name) DO UPDATE SET columns = excluded.columns, primary_key = excluded.primary_key, data_type = excluded.data_type, wedding_column = excluded.wedding_column`,
    ).run(meta.table, json(meta.columns), json(meta.primaryKey), meta.dataType, meta.weddingColumn);
  }

  getTableMeta(table: string): CachedTableMeta | null {
    const r = this.s('SELECT * FROM table_meta WHERE table_name = ?').get(table) as Row | undefined;
    return r ? tableMeta(r) : null;
  }

  listTableMeta(): CachedTableMeta[] {
    return (this.s('SELECT * FROM table_meta ORDER BY table_name').all() as Row[]).map(tableMeta);
  }

  // ------------------------------------------------------------------ weddings

  putWedding(w: Omit<CachedWedding, 'updatedAt'>): void {
    this.s(
      `INSERT OR REPLACE INTO weddings (wedding_id, state, wedding_date, organization_id, couple_names, venue_name, base_snapshot_id, base_location,
         base_journal_snapshot, base_at, realtime_until, purge_after, last_change_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      w.weddingId,
      w.state,
      w.weddingDate,
      w.organizationId,
      w.coupleNames,
      w.venueName,
      w.baseSnapshotId,
      w.baseLocation,
      w.baseJournalSnapshot,
      w.baseAt,
      w.realtimeUntil,
      w.purgeAfter,
      w.lastChangeAt,
      now(),
    );
  }

  getWedding(weddingId: string): CachedWedding | null {
    const r = this.s('SELECT * FROM weddings WHERE wedding_id = ?').get(weddingId) as Row | undefined;
    return r ? wedding(r) : null;
  }

  listWeddings(filter: { date?: string; states?: WeddingCacheState[] } = {}): CachedWedding[] {
    const rows = (filter.date
      ? this.s('SELECT * FROM weddings WHERE wedding_date = ? ORDER BY wedding_date, wedding_id').all(filter.date)
      : this.s('SELECT * FROM weddings ORDER BY wedding_date, wedding_id').all()) as Row[];
    const list = rows.map(wedding);
    return filter.states ? list.filter((w) => filter.states!.includes(w.state)) : list;
  }

  deleteWedding(weddingId: string): void {
    this.transaction(() => {
      this.s('DELETE FROM rows WHERE wedding_id = ?').run(weddingId);
      this.s('DELETE FROM changes WHERE wedding_id = ?').run(weddingId);
      this.s('DELETE FROM weddings WHERE wedding_id = ?').run(weddingId);
    });
  }

  // ------------------------------------------------------------------ rows

  putRow(row: CachedRow): void {
    this.s('INSERT OR REPLACE INTO rows (table_name, row_key, wedding_id, data) VALUES (?, ?, ?, ?)').run(row.table, keyText(row.key), row.weddingId, json(row.values));
  }

  getRow(table: string, key: string[]): CachedRow | null {
    const r = this.s('SELECT * FROM rows WHERE table_name = ? AND row_key = ?').get(table, keyText(key)) as Row | undefined;
    return r ? cachedRow(r) : null;
  }

  deleteRow(table: string, key: string[]): boolean {
    return this.s('DELETE FROM rows WHERE table_name = ? AND row_key = ?').run(table, keyText(key)).changes > 0;
  }

  weddingRows(weddingId: string, table?: string): CachedRow[] {
    const rows = (table
      ? this.s('SELECT * FROM rows WHERE wedding_id = ? AND table_name = ? ORDER BY table_name, row_key').all(weddingId, table)
      : this.s('SELECT * FROM rows WHERE wedding_id = ? ORDER BY table_name, row_key').all(weddingId)) as Row[];
    return rows.map(cachedRow);
  }

  deleteWeddingRows(weddingId: string, table?: string): number {
    return (table ? this.s('DELETE FROM rows WHERE wedding_id = ? AND table_name = ?').run(weddingId, table) : this.s('DELETE FROM rows WHERE wedding_id = ?').run(weddingId)).changes;
  }

  deleteTableRows(table: string): number {
    return this.s('DELETE FROM rows WHERE table_name = ?').run(table).changes;
  }

  // ------------------------------------------------------------------ change log

  appendChange(c: NewChange): number {
    const info = this.s(
      `INSERT INTO changes (wedding_id, table_name, op, row_key, data, unchanged, xid, lsn, commit_time, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      c.weddingId,
      c.table,
      c.op,
      c.key ? keyText(c.key) : null,
      c.values ? json(c.values) : null,
      c.unchanged?.length ? json(c.unchanged) : null,
      c.xid,
      c.lsn,
      c.commitTime,
      now(),
    );
    return Number(info.lastInsertRowid);
  }

  changes(q: ChangeQuery = {}): ChangeEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.weddingId !== undefined) {
      where.push(q.includeUnassigned ? '(wedding_id = ? OR wedding_id IS NULL)' : 'wedding_id = ?');
      args.push(q.weddingId);
    }
    if (q.table !== undefined) {
      where.push('table_name = ?');
      args.push(q.table);
    }
    if (q.afterSeq !== undefined) {
      where.push('seq > ?');
      args.push(q.afterSeq);
    }
    if (q.until !== undefined) {
      where.push('commit_time <= ?');
      args.push(q.until);
    }
    const sql = `SELECT * FROM changes${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq${q.limit ? ` LIMIT ${Math.floor(q.limit)}` : ''}`;
    return (this.s(sql).all(...args) as Row[]).map(change);
  }

  assignChanges(table: string, keys: string[][], weddingId: string): number {
    let n = 0;
    const st = this.s('UPDATE changes SET wedding_id = ? WHERE wedding_id IS NULL AND table_name = ? AND row_key = ?');
    this.transaction(() => {
      for (const k of keys) n += st.run(weddingId, table, keyText(k)).changes;
    });
    return n;
  }

  pruneChanges(before: string, weddingId?: string): number {
    return (weddingId
      ? this.s('DELETE FROM changes WHERE commit_time < ? AND wedding_id = ?').run(before, weddingId)
      : this.s('DELETE FROM changes WHERE commit_time < ?').run(before)
    ).changes;
  }

  // ------------------------------------------------------------------ checkpoints

  setCheckpoint(name: string, value: string): void {
    this.s('INSERT OR REPLACE INTO checkpoints (name, value, updated_at) VALUES (?, ?, ?)').run(name, value, now());
  }

  getCheckpoint(name: string): string | null {
    const r = this.s('SELECT value FROM checkpoints WHERE name = ?').get(name) as Row | undefined;
    return r ? String(r.value) : null;
  }

  deleteCheckpoint(name: string): void {
    this.s('DELETE FROM checkpoints WHERE name = ?').run(name);
  }

  // ------------------------------------------------------------------ snapshots

  putSnapshots(list: CachedSnapshot[]): void {
    const put = this.s('INSERT OR REPLACE INTO snapshots (id, created_at, snapshot_type, storage_location, wedding_ids, summary) VALUES (?, ?, ?, ?, ?, ?)');
    const clear = this.s('DELETE FROM snapshot_weddings WHERE snapshot_id = ?');
    const link = this.s('INSERT OR IGNORE INTO snapshot_weddings (wedding_id, snapshot_id) VALUES (?, ?)');
    this.transaction(() => {
      for (const s of list) {
        clear.run(s.id);
        put.run(s.id, s.createdAt, s.snapshotType, s.storageLocation, json(s.weddingIds), json(s.summary));
        for (const w of s.weddingIds) link.run(w, s.id);
      }
    });
  }

  listSnapshots(filter: { weddingId?: string; type?: string; limit?: number } = {}): CachedSnapshot[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.weddingId) {
      where.push('id IN (SELECT snapshot_id FROM snapshot_weddings WHERE wedding_id = ?)');
      args.push(filter.weddingId);
    }
    if (filter.type) {
      where.push('snapshot_type = ?');
      args.push(filter.type);
    }
    const sql = `SELECT * FROM snapshots${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id${filter.limit ? ` LIMIT ${Math.floor(filter.limit)}` : ''}`;
    return (this.s(sql).all(...args) as Row[]).map(snapshot);
  }

  getSnapshot(id: string): CachedSnapshot | null {
    const r = this.s('SELECT * FROM snapshots WHERE id = ?').get(id) as Row | undefined;
    return r ? snapshot(r) : null;
  }

  retainSnapshots(keep: string[]): number {
    const wanted = new Set(keep);
    let n = 0;
    const del = this.s('DELETE FROM snapshots WHERE id = ?');
    this.transaction(() => {
      for (const r of this.s('SELECT id FROM snapshots').all() as Row[]) {
        if (!wanted.has(String(r.id))) n += del.run(r.id).changes;
      }
    });
    return n;
  }

  // ------------------------------------------------------------------ validation results

  putValidation(v: CachedValidation): void {
    this.s('INSERT OR REPLACE INTO validation_results (snapshot_id, status, completed_at, details) VALUES (?, ?, ?, ?)').run(
      v.snapshotId,
      v.status,
      v.completedAt,
      v.details === undefined ? null : json(v.details),
    );
  }

  getValidation(snapshotId: string): CachedValidation | null {
    const r = this.s('SELECT * FROM validation_results WHERE snapshot_id = ?').get(snapshotId) as Row | undefined;
    return r ? validation(r) : null;
  }

  listValidations(): CachedValidation[] {
    return (this.s('SELECT * FROM validation_results ORDER BY snapshot_id').all() as Row[]).map(validation);
  }

  // ------------------------------------------------------------------ queued restores

  putQueuedRestore(q: Omit<QueuedRestore, 'updatedAt'>): void {
    this.s(
      `INSERT OR REPLACE INTO queued_restores (id, created_at, updated_at, status, request, attempts, last_error, operation_id, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(q.id, q.createdAt, now(), q.status, json(q.request), q.attempts, q.lastError, q.operationId, q.result === undefined || q.result === null ? null : json(q.result));
  }

  getQueuedRestore(id: string): QueuedRestore | null {
    const r = this.s('SELECT * FROM queued_restores WHERE id = ?').get(id) as Row | undefined;
    return r ? queued(r) : null;
  }

  listQueuedRestores(status?: QueuedRestoreStatus[]): QueuedRestore[] {
    const list = (this.s('SELECT * FROM queued_restores ORDER BY created_at, id').all() as Row[]).map(queued);
    return status ? list.filter((q) => status.includes(q.status)) : list;
  }

  stats(): CacheStats {
    const count = (t: string) => Number((this.s(`SELECT count(*) AS n FROM ${t}`).get() as Row).n);
    return { weddings: count('weddings'), rows: count('rows'), changes: count('changes'), snapshots: count('snapshots'), queuedRestores: count('queued_restores') };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stmts.clear();
    this.db.close();
  }
}

function tableMeta(r: Row): CachedTableMeta {
  return {
    table: String(r.table_name),
    columns: parseJson(r.columns, []),
    primaryKey: parseJson(r.primary_key, []),
    dataType: str(r.data_type),
    weddingColumn: String(r.wedding_column),
  };
}

function wedding(r: Row): CachedWedding {
  return {
    weddingId: String(r.wedding_id),
    state: r.state as WeddingCacheState,
    weddingDate: str(r.wedding_date),
    organizationId: str(r.organization_id),
    coupleNames: str(r.couple_names),
    venueName: str(r.venue_name),
    baseSnapshotId: str(r.base_snapshot_id),
    baseLocation: str(r.base_location),
    baseJournalSnapshot: str(r.base_journal_snapshot),
    baseAt: str(r.base_at),
    realtimeUntil: str(r.realtime_until),
    purgeAfter: str(r.purge_after),
    lastChangeAt: str(r.last_change_at),
    updatedAt: String(r.updated_at),
  };
}

function cachedRow(r: Row): CachedRow {
  return { table: String(r.table_name), key: parseJson(r.row_key, []), weddingId: String(r.wedding_id), values: parseJson(r.data, {}) };
}

function change(r: Row): ChangeEntry {
  const unchanged = parseJson<string[] | null>(r.unchanged, null);
  return {
    seq: Number(r.seq),
    weddingId: str(r.wedding_id),
    table: String(r.table_name),
    op: r.op as ChangeEntry['op'],
    key: parseJson<string[] | null>(r.row_key, null),
    values: parseJson(r.data, null),
    ...(unchanged ? { unchanged } : {}),
    xid: str(r.xid),
    lsn: str(r.lsn),
    commitTime: String(r.commit_time),
    receivedAt: String(r.received_at),
  };
}

function snapshot(r: Row): CachedSnapshot {
  return {
    id: String(r.id),
    createdAt: String(r.created_at),
    snapshotType: String(r.snapshot_type),
    storageLocation: str(r.storage_location),
    weddingIds: parseJson(r.wedding_ids, []),
    summary: parseJson(r.summary, {}),
  };
}

function validation(r: Row): CachedValidation {
  return { snapshotId: String(r.snapshot_id), status: String(r.status), completedAt: str(r.completed_at), details: parseJson(r.details, null) };
}

function queued(r: Row): QueuedRestore {
  return {
    id: String(r.id),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
    status: r.status as QueuedRestoreStatus,
    request: parseJson(r.request, {}),
    attempts: Number(r.attempts),
    lastError: str(r.last_error),
    operationId: str(r.operation_id),
    result: parseJson(r.result, null),
  };
}
