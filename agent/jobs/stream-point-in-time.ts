import type { CacheStore, RowValues } from '../cache/store.js';
import { WedsyncError } from '../contract/errors.js';
import type { Manifest, PhotoRef, SegmentRef } from '../contract/manifest.js';
import type { NewSnapshot } from '../catalog/backups.js';
import { toIsoMicros } from '../contract/offline.js';
import type { SchemaMap } from '../contract/schema-map.js';
import type { Repository } from '../repository/repository.js';
import { rowKey, xidVisible } from './stream-apply.js';
import { readBaseRows } from './stream-base.js';

/**
 * Point in time for one wedding, within tier 1's window: its rows as they were at T, rebuilt
 * from the wedding's base snapshot (local repository) plus the cache's change log up to T (each
 * change the base did not already see, in log order), and stored as a partial snapshot of that
 * wedding in the local repository. Restoring THAT snapshot (scope wedding-only, operation type
 * 'point-in-time') goes through the usual plan → preview → confirm → recovery point → apply path
 * (jobs/restore.ts); nothing here touches the database.
 *
 * The window: from the base snapshot's creation (its export began before, so nothing after T is
 * in it) to now. Earlier T: BAD_INPUT naming the window; a wedding not in the cache: NOT_FOUND.
 */
export interface PointInTime {
  weddingId: string;
  /** T, in the change log's format (µs). */
  at: string;
  /** The snapshot holding the rows as of T (partial: this wedding's tables). */
  snapshotId: string;
  baseSnapshotId: string;
  /** Logged changes replayed on top of the base. */
  changesApplied: number;
  rows: number;
  window: { from: string; to: string };
  /** Photo files of the wedding at T: restored from the base's blobs, or without a file (their rows are restored, the files left as the photo store has them). */
  photos: { files: number; withoutFile: number };
}

/** One value as COPY text prints it (CopyAttributeOutText): so restore's verify sees identical lines. */
export function copyField(v: string | null): string {
  if (v === null) return '\\N';
  return v.replace(/[\\\b\f\n\r\t\v]/g, (c) => ({ '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' })[c]!);
}

export function copyLine(values: RowValues, columns: Array<{ name: string }>): string {
  return `${columns.map((c) => copyField(values[c.name] ?? null)).join('\t')}\n`;
}

export interface PointInTimeDeps {
  store: CacheStore;
  localRepo: Repository;
  map: SchemaMap;
  now?: () => Date;
}

/** The tier 1 window of a cached wedding: [from, to] (ISO µs), or null when it has none. */
export function pointInTimeWindow(store: CacheStore, weddingId: string, now: Date = new Date()): { from: string; to: string } | null {
  const w = store.getWedding(weddingId);
  if (!w?.baseAt || !w.baseSnapshotId) return null;
  return { from: toIsoMicros(w.baseAt)!, to: toIsoMicros(now.toISOString())! };
}

/**
 * Checks a point in time before anything is read or written: T must parse, must not be in the
 * future, the wedding must be cached with a base, and T must fall in its window. Returns T in
 * the change log's format, the window and the base snapshot. BAD_INPUT / NOT_FOUND naming the
 * problem otherwise.
 */
export function checkPointInTime(store: CacheStore, weddingId: string, atText: string, now: Date = new Date()): { at: string; window: { from: string; to: string }; baseSnapshotId: string } {
  const at = toIsoMicros(atText);
  if (!at) throw new WedsyncError('BAD_INPUT', `--at must be an ISO date-time with a zone, like 2026-06-01T14:00:00Z (got ${JSON.stringify(atText)})`);
  if (Date.parse(at) > now.getTime() + 1000) throw new WedsyncError('BAD_INPUT', `--at ${atText} is in the future (now is ${now.toISOString()})`);
  const w = store.getWedding(weddingId);
  if (!w) throw new WedsyncError('NOT_FOUND', `wedding ${weddingId} is not in the local cache: point-in-time restore covers weddings streamed by tier 1`);
  const window = pointInTimeWindow(store, weddingId, now);
  if (!window || !w.baseSnapshotId) throw new WedsyncError('NOT_FOUND', `wedding ${weddingId} has no base snapshot in the local cache yet: try again once it is loaded`);
  if (at < window.from || at > window.to) {
    throw new WedsyncError('BAD_INPUT', `--at ${atText} is outside tier 1's window for wedding ${weddingId}: from ${window.from} to ${window.to}`, { details: { window } });
  }
  return { at, window, baseSnapshotId: w.baseSnapshotId };
}

export async function materializePointInTime(deps: PointInTimeDeps, weddingId: string, atText: string, options: { catalog?: SnapshotCatalog | null } = {}): Promise<PointInTime> {
  const { store, localRepo, map } = deps;
  const checked = checkPointInTime(store, weddingId, atText, deps.now?.() ?? new Date());
  const { at, window } = checked;
  const w = { baseSnapshotId: checked.baseSnapshotId };
  const base: Manifest = await localRepo.loadManifest(w.baseSnapshotId);
  const baseRows = await readBaseRows(localRepo, base, weddingId, map);
  const journal = base.database.journalSnapshot ?? null;

  // Replay: per table, key → values, starting from the base.
  const state = new Map<string, Map<string, RowValues>>();
  const pkOf = new Map(baseRows.meta.map((m) => [m.table, m.primaryKey]));
  for (const m of baseRows.meta) state.set(m.table, new Map((baseRows.tables.get(m.table) ?? []).map((v) => [JSON.stringify(rowKey(v, m.primaryKey)), v])));
  let applied = 0;
  for (const c of store.changes({ weddingId, until: at })) {
    if (journal && c.xid && xidVisible(c.xid, journal)) continue;
    const rows = state.get(c.table);
    if (!rows) continue;
    applied++;
    if (c.op === 'T') rows.clear();
    else if (c.op === 'D') rows.delete(JSON.stringify(c.key));
    else {
      const k = JSON.stringify(c.key);
      const prev = rows.get(k);
      const values = { ...c.values! };
      for (const col of c.unchanged ?? []) if (prev && col in prev) values[col] = prev[col] ?? null;
      rows.set(k, values);
    }
  }

  // Photo files as of T: a photo row at T whose file the base holds (same sha256) is restored
  // from the base's blob; any other (added after the base, or a base taken without files) keeps
  // its row but not its file — reported, never silently skipped.
  const bw = base.weddings.find((x) => x.weddingId === weddingId);
  const photoFiles = map.photoFiles;
  const photos: PhotoRef[] = [];
  const photoProblems: Manifest['photoProblems'] = [];
  const baseRefs = new Map((bw?.photos ?? []).map((p) => [p.photoId, p]));
  for (const v of photoFiles ? (state.get(photoFiles.table)?.values() ?? []) : []) {
    const sha = v[photoFiles!.sha256Column] ?? null;
    const id = v[photoFiles!.idColumn] ?? '';
    if (!sha || !id) continue; // no file behind this row
    const ref = baseRefs.get(id);
    if (ref && ref.sha256 === sha) photos.push(ref);
    else photoProblems.push({ weddingId, photoId: id, storageKey: v[photoFiles!.storageKeyColumn] ?? '', problem: 'missing', detail: ref ? 'the base snapshot holds another version of this file' : 'no file for this photo in the local repository (added after the base, or the base was taken without photo files)' });
  }
  photos.sort((a, b) => (a.photoId < b.photoId ? -1 : a.photoId > b.photoId ? 1 : 0));

  // Store it as a partial snapshot of this wedding (same tables and schema as the base).
  const weddingTables: Record<string, SegmentRef[]> = {};
  const tableRowCounts = new Map<string, number>();
  const rowCounts: Record<string, number> = {};
  let total = 0;
  for (const m of baseRows.meta) {
    const rows = [...state.get(m.table)!.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    tableRowCounts.set(m.table, rows.length);
    total += rows.length;
    const type = m.dataType;
    if (type) rowCounts[type] = (rowCounts[type] ?? 0) + rows.length;
    if (!rows.length) {
      weddingTables[m.table] = [];
      continue;
    }
    const data = Buffer.from(rows.map(([, v]) => copyLine(v, m.columns)).join(''), 'utf8');
    const saved = await localRepo.saveBlob('segment', data);
    weddingTables[m.table] = [{ id: saved.id, rows: rows.length, rawBytes: data.length }];
  }
  const flushed = await localRepo.flush();
  const tables = base.schema.tables
    .filter((t) => pkOf.has(`${t.schema}.${t.name}`))
    .map((t) => ({ ...t, rowCount: tableRowCounts.get(`${t.schema}.${t.name}`) ?? 0, segments: [] }));
  const segmentCount = Object.values(weddingTables).reduce((a, s) => a + s.length, 0);
  const bytesRaw = Object.values(weddingTables).reduce((a, s) => a + s.reduce((b, r) => b + r.rawBytes, 0), 0) + photos.reduce((a, p) => a + p.sizeBytes, 0);
  const { randomUUID } = await import('node:crypto');
  const snapshotId = randomUUID();
  const manifest = await localRepo.saveManifest({
    snapshotId,
    createdAt: new Date().toISOString(),
    type: 'point-in-time',
    parentSnapshotId: base.snapshotId,
    jobId: null,
    segmentFormat: base.segmentFormat ?? 'pg-copy-text',
    scope: { kind: 'partial', weddingIds: [weddingId], tables: tables.map((t) => `${t.schema}.${t.name}`) },
    database: { name: base.database.name, serverVersion: base.database.serverVersion },
    schema: { sql: base.schema.sql, postDataSql: base.schema.postDataSql, tables, sequences: base.schema.sequences },
    weddings: [{ weddingId, organizationId: bw?.organizationId ?? null, weddingDate: bw?.weddingDate ?? null, tables: weddingTables, rowCounts, photos }],
    photoProblems,
    totals: { rowCount: total, weddingCount: 1, bytesRaw, bytesStored: bytesRaw, bytesNew: flushed.stats.bytesNew, segmentCount, photoCount: photos.length },
  });
  // Browsable like every snapshot: in the catalog when the database answers (else when the
  // queued restore runs), and in the cache's mirror at once (the console lists it offline).
  const row = pointInTimeCatalogRow(manifest, localRepo);
  store.putSnapshots([{ id: row.id, createdAt: row.createdAt, snapshotType: row.snapshotType, storageLocation: row.storageLocation, weddingIds: row.weddingIds, summary: mirrorSummary(row) }]);
  if (options.catalog) await options.catalog.insertSnapshot(row);
  return {
    weddingId,
    at,
    snapshotId,
    baseSnapshotId: base.snapshotId,
    changesApplied: applied,
    rows: total,
    window,
    photos: { files: photos.length, withoutFile: photoProblems.length },
  };
}

/** What the catalog needs of a point-in-time snapshot (catalog/backups.ts NewSnapshot). */
export interface SnapshotCatalog {
  insertSnapshot(row: NewSnapshot): Promise<void>;
}

/** The backup_snapshots row of a point-in-time snapshot: kind point-in-time, tier 1, parent = its base. */
export function pointInTimeCatalogRow(m: Manifest, repo: Repository): NewSnapshot {
  const w = m.weddings[0];
  const dataTypes = [...new Set(m.schema.tables.map((t) => t.dataType).filter((d): d is NonNullable<typeof d> => Boolean(d) && d !== 'wedding'))].sort();
  return {
    id: m.snapshotId,
    backupJobId: null,
    snapshotType: 'point-in-time',
    tier: 1,
    parentSnapshotId: m.parentSnapshotId ?? null,
    weddingIds: m.weddings.map((x) => x.weddingId),
    organizationIds: w?.organizationId ? [w.organizationId] : [],
    dataTypes,
    tableCount: m.schema.tables.length,
    weddingCount: m.weddings.length,
    rowCount: m.totals.rowCount,
    photoCount: m.totals.photoCount,
    photoProblems: m.photoProblems.length,
    backupSizeBytes: m.totals.bytesStored,
    bytesNew: m.totals.bytesNew,
    compressionRatio: null,
    dataIntegrityHash: m.integrityHash,
    encryptionKeyId: m.encryptionKeyId,
    storageLocation: repo.location,
    storageProvider: repo.store.provider,
    createdAt: m.createdAt,
    retentionUntil: new Date(Date.parse(m.createdAt) + 30 * 86_400_000),
  };
}

/** The row as the console's snapshot list shows it (SnapshotSummary), for the cache's mirror. */
function mirrorSummary(row: NewSnapshot): Record<string, unknown> {
  const { organizationIds: _o, retentionUntil, ...rest } = row;
  return { ...rest, validationStatus: 'pending', validationCompletedAt: null, completedAt: row.createdAt, retentionUntil: retentionUntil ? retentionUntil.toISOString() : null };
}
