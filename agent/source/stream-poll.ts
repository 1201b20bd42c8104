import type pg from 'pg';
import { isoMicros } from '../contract/offline.js';
import { quoteIdent, quoteQualified } from './introspect.js';

/**
 * The polling fallback of tier 1, for servers whose wal_level is not `logical`: the change
 * journal (migration 003) says which (table, wedding) changed since the previous poll's
 * snapshot, and those weddings' rows are read again, all in ONE repeatable-read snapshot. The
 * caller diffs them with the cache. Coarser than the stream (one change per row per poll, with the
 * time of the newest journal entry), but nothing is missed: "changed since" is decided by
 * transaction visibility, not by clocks or sequence numbers (see migration 003).
 */
export interface PollTable {
  /** schema.table */
  table: string;
  weddingColumn: string;
  columns: string[];
}

export interface PolledRows {
  table: string;
  weddingId: string;
  rows: Array<Record<string, string | null>>;
  /** Newest journal time of the changes seen for this (table, wedding), ISO with µs. */
  changedAt: string;
  /** Newest writing transaction (xid8, decimal). */
  xid: string;
}

export interface PollResult {
  /** pg_current_snapshot() of this poll: pass it to the next one. */
  snapshot: string;
  changed: PolledRows[];
}

const RAW_TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/** Every row of these weddings in `table`, values as text output. */
export async function readWeddingRows(client: pg.ClientBase, t: PollTable, weddingIds: string[]): Promise<Map<string, Array<Record<string, string | null>>>> {
  const out = new Map<string, Array<Record<string, string | null>>>(weddingIds.map((w) => [w, []]));
  if (!weddingIds.length) return out;
  const cols = t.columns.map((c) => quoteIdent(c)).join(', ');
  // Values exactly as the type's output function prints them (what COPY and pgoutput carry):
  // no type parsers, and no ::text casts (bool::text is "true" where the output is "t").
  const { rows } = await client.query<Record<string, string | null>>({
    text: `SELECT ${quoteIdent(t.weddingColumn)} AS "__wedding", ${cols} FROM ${quoteQualified(t.table)} WHERE ${quoteIdent(t.weddingColumn)} = ANY($1::uuid[])`,
    values: [weddingIds],
    types: RAW_TEXT,
  });
  for (const r of rows) {
    const w = r.__wedding!;
    const values = Object.fromEntries(t.columns.map((c) => [c, r[c] ?? null]));
    out.get(w)?.push(values);
  }
  return out;
}

/**
 * One poll. `previous` null: only takes the snapshot (the first poll after a start; the rows come
 * from the weddings' base snapshots). `reread`: weddings to read whole whatever the journal says
 * (their base was just loaded).
 */
export async function pollJournal(client: pg.ClientBase, previous: string | null, tables: PollTable[], weddingIds: string[], reread: string[] = []): Promise<PollResult> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
  try {
    const { rows: snap } = await client.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s');
    const snapshot = snap[0]!.s;
    const wanted = new Map<string, Map<string, { at: bigint; xid: string }>>();
    const mark = (table: string, wedding: string, at: bigint, xid: string) => {
      const m = wanted.get(table) ?? new Map<string, { at: bigint; xid: string }>();
      const prev = m.get(wedding);
      if (!prev || prev.at < at) m.set(wedding, { at, xid });
      wanted.set(table, m);
    };
    const byName = new Map(tables.map((t) => [t.table.slice(t.table.indexOf('.') + 1), t]));
    if (previous && weddingIds.length) {
      const { rows } = await client.query<{ table_name: string; wedding_id: string | null; at: string; xid: string }>(
        `SELECT table_name, wedding_id::text AS wedding_id, (extract(epoch FROM max(changed_at)) * 1000000)::bigint::text AS at, max(xid::text::numeric)::text AS xid
           FROM wedsync_change_journal
          WHERE xid >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(xid, $1::pg_snapshot)
            AND (wedding_id IS NULL OR wedding_id = ANY($2::uuid[]))
          GROUP BY table_name, wedding_id`,
        [previous, weddingIds],
      );
      for (const r of rows) {
        const t = byName.get(r.table_name);
        if (!t) continue;
        // NULL wedding: any row of the table may have changed (truncate, bulk load).
        for (const w of r.wedding_id ? [r.wedding_id] : weddingIds) mark(t.table, w, BigInt(r.at), r.xid);
      }
    }
    const nowMicros = BigInt(Date.now()) * 1000n;
    for (const w of reread) for (const t of tables) if (!wanted.get(t.table)?.has(w)) mark(t.table, w, nowMicros, '0');
    const changed: PolledRows[] = [];
    for (const t of tables) {
      const m = wanted.get(t.table);
      if (!m?.size) continue;
      const read = await readWeddingRows(client, t, [...m.keys()]);
      for (const [w, info] of m) changed.push({ table: t.table, weddingId: w, rows: read.get(w) ?? [], changedAt: isoMicros(info.at), xid: info.xid });
    }
    await client.query('COMMIT');
    return { snapshot, changed };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
