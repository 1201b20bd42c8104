import { decodeCopyRow, copyLines } from '../core/restore-plan-diff.js';
import type { CacheStore, CachedTableMeta, RowValues } from '../cache/store.js';
import type { Manifest } from '../contract/manifest.js';
import type { SchemaMap } from '../contract/schema-map.js';
import type { Repository } from '../repository/repository.js';
import { rowKey, streamedTables, xidVisible } from './stream-apply.js';

/**
 * A wedding's base in the cache: its rows from a snapshot (taken after the replication slot
 * existed, so the stream holds every later change), then the changes logged since it was
 * tracked replayed on top — except those the snapshot already saw (xid visible in its
 * pg_snapshot). One cache transaction: readers see the old rows or the new, never half.
 */
export interface BaseRows {
  manifest: Manifest;
  weddingId: string;
  /** Table → rows (values by column), only the wedding's. */
  tables: Map<string, RowValues[]>;
  meta: CachedTableMeta[];
}

/** Reads one wedding's rows out of a snapshot (its segments, decoded from COPY text). */
export async function readBaseRows(repo: Repository, manifest: Manifest, weddingId: string, map: SchemaMap): Promise<BaseRows> {
  const w = manifest.weddings.find((x) => x.weddingId === weddingId);
  const wanted = new Map(streamedTables(map).map((t) => [t.table, t]));
  const meta: CachedTableMeta[] = [];
  const tables = new Map<string, RowValues[]>();
  const ids = new Set<string>();
  for (const t of manifest.schema.tables) {
    const q = `${t.schema}.${t.name}`;
    const s = wanted.get(q);
    if (!s || !t.weddingScoped) continue;
    meta.push({ table: q, columns: t.columns, primaryKey: t.primaryKey.length ? t.primaryKey : t.columns.map((c) => c.name), dataType: t.dataType, weddingColumn: s.weddingColumn });
    for (const seg of w?.tables[q] ?? []) ids.add(seg.id);
  }
  const plain = await repo.loadBlobs(ids);
  for (const m of meta) {
    const rows: RowValues[] = [];
    for (const seg of w?.tables[m.table] ?? []) {
      for (const line of copyLines(plain.get(seg.id)!.toString('utf8'))) rows.push(decodeCopyRow(line, m.columns));
    }
    tables.set(m.table, rows);
  }
  return { manifest, weddingId, tables, meta };
}

/** Installs a base (see above); returns how many logged changes were replayed on top of it. */
export function installBase(store: CacheStore, base: BaseRows, info: { location: string; realtimeUntil: string | null; weddingsTable: string }): number {
  const { manifest, weddingId } = base;
  const journal = manifest.database.journalSnapshot ?? null;
  let replayed = 0;
  store.transaction(() => {
    for (const m of base.meta) store.putTableMeta(m);
    store.deleteWeddingRows(weddingId);
    const pkOf = new Map(base.meta.map((m) => [m.table, m.primaryKey]));
    for (const [table, rows] of base.tables) {
      const pk = pkOf.get(table)!;
      for (const values of rows) store.putRow({ table, key: rowKey(values, pk), weddingId, values });
      // Deletes seen before the base, logged without a wedding: those of this wedding's rows are its own.
      const keys = rows.map((v) => rowKey(v, pk));
      if (keys.length) store.assignChanges(table, keys, weddingId);
    }
    for (const c of store.changes({ weddingId })) {
      if (journal && c.xid && xidVisible(c.xid, journal)) continue;
      replayed++;
      if (c.op === 'T') store.deleteWeddingRows(weddingId, c.table);
      else if (c.op === 'D') store.deleteRow(c.table, c.key!);
      else {
        const prev = store.getRow(c.table, c.key!);
        const values = { ...c.values! };
        for (const col of c.unchanged ?? []) if (prev && col in prev.values) values[col] = prev.values[col] ?? null;
        store.putRow({ table: c.table, key: c.key!, weddingId, values });
      }
    }
    const row = store.weddingRows(weddingId, info.weddingsTable)[0]?.values ?? {};
    const w = manifest.weddings.find((x) => x.weddingId === weddingId);
    const prev = store.getWedding(weddingId);
    store.putWedding({
      weddingId,
      state: 'ready',
      weddingDate: w?.weddingDate ?? prev?.weddingDate ?? null,
      organizationId: w?.organizationId ?? prev?.organizationId ?? null,
      coupleNames: row.couple_names ?? prev?.coupleNames ?? null,
      venueName: row.venue_name ?? prev?.venueName ?? null,
      baseSnapshotId: manifest.snapshotId,
      baseLocation: info.location,
      baseJournalSnapshot: journal,
      baseAt: manifest.createdAt,
      realtimeUntil: info.realtimeUntil,
      purgeAfter: prev?.purgeAfter ?? null,
      lastChangeAt: prev?.lastChangeAt ?? null,
    });
  });
  return replayed;
}
