import { CHECKPOINTS, type CacheStore, type CachedRow, type CachedTableMeta, type NewChange, type RowValues } from '../cache/store.js';
import type { SchemaMap } from '../contract/schema-map.js';
import type { PolledRows, StreamRowChange, StreamTransaction } from '../source/stream-source.js';

/**
 * Applying tier 1 changes to the local cache. Pure cache logic (no database): what a change
 * means for the tracked weddings' rows and change log.
 *
 * Rules:
 *  - Only weddings the cache tracks (pending or ready) are touched; everything else is ignored.
 *  - Every change of a tracked wedding is appended to the change log (with its transaction id and
 *    commit time). A ready wedding's rows are updated too — unless its base snapshot already saw
 *    the transaction (xid visible in the base's pg_snapshot), so nothing is applied twice. A pending
 *    wedding's changes are only logged; installing its base (stream-base.ts) replays them.
 *  - A delete carries only the key: its wedding is the cached row's. A delete of an unknown row
 *    while some wedding is pending is logged unassigned (weddingId null) for the base to claim.
 *  - The transaction, its rows, its log entries and the stream position are ONE cache
 *    transaction; a transaction whose end LSN is not beyond the stored position was applied
 *    before and is skipped: exactly once across crashes.
 */

export function xidVisible(xid: string, snapshot: string): boolean {
  const [xminText, xmaxText, xipText] = snapshot.split(':');
  const xmin = BigInt(xminText ?? '0');
  const xmax = BigInt(xmaxText ?? '0');
  let x = BigInt(xid);
  // A 32-bit xid from the stream: put it in the epoch nearest the snapshot's xmax.
  if (x < 1n << 32n && xmax >= 1n << 32n) {
    x = ((xmax >> 32n) << 32n) | x;
    if (x > xmax + (1n << 31n)) x -= 1n << 32n;
  }
  if (x < xmin) return true;
  if (x >= xmax) return false;
  const xip = xipText ? xipText.split(',').filter(Boolean).map((v) => BigInt(v)) : [];
  return !xip.includes(x);
}

export function lsnValue(lsn: string | null): bigint {
  if (!lsn) return 0n;
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi ?? '0'}`) << 32n) | BigInt(`0x${lo ?? '0'}`);
}

/** The tables tier 1 follows, from the schema map: the weddings table and every mapped table. */
export function streamedTables(map: SchemaMap): Array<{ table: string; weddingColumn: string; dataType: string | null }> {
  return [{ table: map.weddings.table, weddingColumn: map.weddings.idColumn, dataType: 'wedding' }, ...map.tables.map((t) => ({ table: t.table, weddingColumn: t.weddingColumn, dataType: t.dataType }))];
}

export function rowKey(values: RowValues, primaryKey: string[]): string[] {
  return primaryKey.map((k) => values[k] ?? '');
}

export interface ApplyStats {
  skipped: boolean;
  /** Log entries written. */
  logged: number;
  /** Row puts and deletes. */
  rowChanges: number;
  weddings: Set<string>;
}

/** Keeps table metadata and tracked weddings in memory between transactions (the hot path). */
export class StreamApplier {
  private meta = new Map<string, CachedTableMeta>();
  private weddingColumns: Map<string, string>;

  constructor(
    private readonly store: CacheStore,
    map: SchemaMap,
  ) {
    this.weddingColumns = new Map(streamedTables(map).map((t) => [t.table, t.weddingColumn]));
    this.reload();
  }

  /** Re-reads table metadata after a base was installed. */
  reload(): void {
    this.meta = new Map(this.store.listTableMeta().map((m) => [m.table, m]));
  }

  private tracked(): Map<string, { state: string; base: string | null }> {
    return new Map(this.store.listWeddings({ states: ['pending', 'ready'] }).map((w) => [w.weddingId, { state: w.state, base: w.baseJournalSnapshot }]));
  }

  private keyOf(table: string, values: RowValues, fallback: string[]): string[] {
    const pk = this.meta.get(table)?.primaryKey;
    return rowKey(values, pk?.length ? pk : fallback);
  }

  /** One streamed transaction, atomically with the stream position (see the rules above). */
  applyTransaction(tx: StreamTransaction): ApplyStats {
    const stats: ApplyStats = { skipped: false, logged: 0, rowChanges: 0, weddings: new Set() };
    this.store.transaction(() => {
      const at = this.store.getCheckpoint(CHECKPOINTS.streamLsn);
      if (at && lsnValue(tx.endLsn) <= lsnValue(at)) {
        stats.skipped = true;
        return;
      }
      const tracked = this.tracked();
      const anyPending = [...tracked.values()].some((t) => t.state === 'pending');
      const base = { xid: tx.xid, lsn: tx.commitLsn, commitTime: tx.commitTime };
      for (const c of tx.changes) {
        if (c.op === 'T') {
          for (const table of c.tables) {
            if (!this.weddingColumns.has(table)) continue;
            for (const [w, t] of tracked) {
              this.log(stats, { ...base, weddingId: w, table, op: 'T', key: null, values: null });
              if (t.state === 'ready' && !(t.base && xidVisible(tx.xid, t.base))) stats.rowChanges += this.store.deleteWeddingRows(w, table);
            }
          }
          continue;
        }
        this.applyRow(c, tracked, anyPending, base, stats);
      }
      this.store.setCheckpoint(CHECKPOINTS.streamLsn, tx.endLsn);
      this.touch(stats.weddings, tx.commitTime);
    });
    return stats;
  }

  private applyRow(c: StreamRowChange, tracked: Map<string, { state: string; base: string | null }>, anyPending: boolean, base: { xid: string; lsn: string; commitTime: string }, stats: ApplyStats): void {
    const weddingColumn = this.weddingColumns.get(c.table);
    if (!weddingColumn) return;
    const oldKey = c.old ? this.keyOf(c.table, c.old.values, c.keyColumns) : null;
    const newKey = c.new ? this.keyOf(c.table, c.new.values, c.keyColumns) : null;
    const cached = this.store.getRow(c.table, oldKey ?? newKey!);
    const apply = (w: string) => {
      const t = tracked.get(w);
      return t?.state === 'ready' && !(t.base && xidVisible(base.xid, t.base));
    };

    if (c.op === 'D') {
      const w = cached?.weddingId ?? (c.old?.values[weddingColumn] || null);
      if (w && tracked.has(w)) {
        this.log(stats, { ...base, weddingId: w, table: c.table, op: 'D', key: oldKey, values: null });
        if (apply(w) && this.store.deleteRow(c.table, oldKey!)) stats.rowChanges++;
      } else if (!w && anyPending) {
        this.log(stats, { ...base, weddingId: null, table: c.table, op: 'D', key: oldKey, values: null });
      }
      return;
    }

    // Insert or update: the new row's wedding decides; a row that left a tracked wedding is gone from it.
    const img = c.new!;
    const w = img.values[weddingColumn] ?? null;
    if (cached && cached.weddingId !== w && tracked.has(cached.weddingId)) {
      this.log(stats, { ...base, weddingId: cached.weddingId, table: c.table, op: 'D', key: cached.key, values: null });
      if (apply(cached.weddingId) && this.store.deleteRow(c.table, cached.key)) stats.rowChanges++;
    } else if (oldKey && newKey && oldKey.join('\t') !== newKey.join('\t') && w && tracked.has(w)) {
      // The key changed: the row under the old key is gone.
      this.log(stats, { ...base, weddingId: w, table: c.table, op: 'D', key: oldKey, values: null });
      if (apply(w) && this.store.deleteRow(c.table, oldKey)) stats.rowChanges++;
    }
    if (!w || !tracked.has(w)) return;
    // Unchanged TOAST columns are not sent: the previous value stands (from the cached row when we
    // have it; the log keeps the list so a replay takes it from its own previous row).
    const values: RowValues = { ...img.values };
    const missing: string[] = [];
    for (const col of img.unchanged) {
      if (cached && col in cached.values) values[col] = cached.values[col] ?? null;
      else missing.push(col);
    }
    this.log(stats, { ...base, weddingId: w, table: c.table, op: c.op, key: newKey, values, unchanged: img.unchanged.length ? img.unchanged : undefined });
    if (apply(w)) {
      if (missing.length && !cached) return; // cannot build the row; the next full read (rebase) fixes it
      this.store.putRow({ table: c.table, key: newKey!, weddingId: w, values });
      stats.rowChanges++;
    }
  }

  /**
   * A poll's rows for (table, wedding), diffed with the cache into I/U/D log entries and applied,
   * with the poll's snapshot as the new position, atomically.
   */
  applyPoll(polled: PolledRows[], snapshot: string): ApplyStats {
    const stats: ApplyStats = { skipped: false, logged: 0, rowChanges: 0, weddings: new Set() };
    this.store.transaction(() => {
      const tracked = this.tracked();
      for (const p of polled) {
        const t = tracked.get(p.weddingId);
        if (!t || t.state !== 'ready') continue;
        const pk = this.meta.get(p.table)?.primaryKey;
        if (!pk?.length) continue;
        const live = new Map(p.rows.map((r) => [JSON.stringify(rowKey(r, pk)), r]));
        const cached = new Map(this.store.weddingRows(p.weddingId, p.table).map((r) => [JSON.stringify(r.key), r]));
        const base = { xid: p.xid, lsn: null, commitTime: p.changedAt };
        for (const [k, r] of cached) {
          if (live.has(k)) continue;
          this.log(stats, { ...base, weddingId: p.weddingId, table: p.table, op: 'D', key: r.key, values: null });
          this.store.deleteRow(p.table, r.key);
          stats.rowChanges++;
        }
        for (const [k, values] of live) {
          const before: CachedRow | undefined = cached.get(k);
          if (before && sameValues(before.values, values)) continue;
          const key = rowKey(values, pk);
          this.log(stats, { ...base, weddingId: p.weddingId, table: p.table, op: before ? 'U' : 'I', key, values });
          this.store.putRow({ table: p.table, key, weddingId: p.weddingId, values });
          stats.rowChanges++;
        }
      }
      this.store.setCheckpoint(CHECKPOINTS.pollSnapshot, snapshot);
      this.touch(stats.weddings, polled.reduce((a, p) => (p.changedAt > a ? p.changedAt : a), ''));
    });
    return stats;
  }

  private log(stats: ApplyStats, change: NewChange): void {
    this.store.appendChange(change);
    stats.logged++;
    if (change.weddingId) stats.weddings.add(change.weddingId);
  }

  private touch(weddings: Set<string>, commitTime: string): void {
    if (!commitTime) return;
    for (const id of weddings) {
      const w = this.store.getWedding(id);
      if (w && (!w.lastChangeAt || w.lastChangeAt < commitTime)) this.store.putWedding({ ...w, lastChangeAt: commitTime });
    }
  }
}

export function sameValues(a: RowValues, b: RowValues): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}
