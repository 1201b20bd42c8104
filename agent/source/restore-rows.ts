import { createHash } from 'node:crypto';
import type pg from 'pg';
import { NO_WEDDING, type PlanTable } from '../core/restore-plan.js';
import { quoteIdent, quoteQualified } from './introspect.js';

/**
 * Reads rows for a restore in exactly the text a backup stores them: the snapshot's columns, in
 * the snapshot's column order, COPY text format, grouped per wedding and (ordered mode) in the
 * export's order — wedding, then primary key (export.ts). So live rows and snapshot segments
 * compare byte for byte: for the preview's diff, the digest of what the preview saw, and the
 * verification after a restore.
 */

function copySql(table: PlanTable, weddings: string[] | 'all', ordered: boolean): string {
  const wc = table.weddingColumn;
  let where = '';
  if (wc && weddings !== 'all') {
    // COPY takes no bind parameters: the ids are inlined, each checked to be a uuid first.
    // NO_WEDDING in the list: the rows of no wedding (a NULL wedding column) too.
    const ids = weddings.filter((id) => id !== NO_WEDDING);
    for (const id of ids) if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new Error(`not a wedding id: ${id}`);
    const conds = [...(ids.length ? [`${quoteIdent(wc)} = ANY('{${ids.join(',')}}')`] : []), ...(ids.length < weddings.length ? [`${quoteIdent(wc)} IS NULL`] : [])];
    where = ` WHERE ${conds.join(' OR ')}`;
  }
  const key = table.primaryKey.length ? table.primaryKey : table.columns.map((c) => c.name);
  const order = ordered ? ` ORDER BY ${[...(wc ? [wc] : []), ...key].map(quoteIdent).join(', ')}` : '';
  return `COPY (SELECT ${table.columns.map((c) => quoteIdent(c.name)).join(', ')} FROM ${quoteQualified(table.qualified)}${where}${order}) TO STDOUT`;
}

/**
 * The rows of `table` now, COPY text per wedding key (NO_WEDDING: rows of no wedding, and every
 * row of a table that is not wedding-scoped); weddings without rows are absent. `weddings`: only
 * those, or 'all'. `ordered: false` skips the sort — only where the physical order is the load
 * order (a table just loaded in the export's order), and callers must tolerate another order.
 */
export async function readRows(client: pg.Client, table: PlanTable, weddings: string[] | 'all', options: { ordered?: boolean } = {}): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (Array.isArray(weddings) && weddings.length === 0) return out;
  const { to } = await import('pg-copy-streams');
  const stream = client.query(to(copySql(table, weddings, options.ordered ?? true)));
  const parts = new Map<string, Buffer[]>();
  const add = (key: string, part: Buffer) => {
    if (!part.length) return;
    const list = parts.get(key);
    if (list) list.push(part);
    else parts.set(key, [part]);
  };
  const wcIndex = table.weddingColumn ? table.columns.findIndex((c) => c.name === table.weddingColumn) : -1;
  if (wcIndex < 0) {
    for await (const chunk of stream as AsyncIterable<Buffer>) add(NO_WEDDING, chunk);
  } else {
    // Rows of one wedding come together, so each chunk splits into a few runs of whole lines.
    let carry: Buffer | null = null;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
      carry = null;
      let runKey: string | null = null;
      let runStart = 0;
      // Where the current run's key bytes are, to compare the next line's without making a string.
      let keyStart = 0;
      let keyEnd = 0;
      let lineStart = 0;
      for (;;) {
        const nl = buf.indexOf(10, lineStart);
        if (nl < 0) break;
        let fieldStart = lineStart;
        for (let i = 0; i < wcIndex; i++) fieldStart = buf.indexOf(9, fieldStart) + 1;
        const tab = buf.indexOf(9, fieldStart);
        const fieldEnd = tab >= 0 && tab < nl ? tab : nl;
        if (runKey === null || buf.compare(buf, keyStart, keyEnd, fieldStart, fieldEnd) !== 0) {
          if (runKey !== null) add(runKey, buf.subarray(runStart, lineStart));
          const raw = buf.toString('latin1', fieldStart, fieldEnd);
          runKey = raw === '\\N' ? NO_WEDDING : raw;
          runStart = lineStart;
        }
        keyStart = fieldStart;
        keyEnd = fieldEnd;
        lineStart = nl + 1;
      }
      if (runKey !== null) add(runKey, buf.subarray(runStart, lineStart));
      if (lineStart < buf.length) carry = Buffer.from(buf.subarray(lineStart));
    }
  }
  for (const [key, list] of parts) out.set(key, list.length === 1 ? list[0]! : Buffer.concat(list));
  return out;
}

/**
 * Weddings read at once by forEachWeddingBatch: memory follows this many weddings' rows
 * (WEDSYNC_RESTORE_WEDDING_BATCH overrides it: tests use small batches to cross boundaries).
 */
function weddingBatch(): number {
  const n = Number(process.env.WEDSYNC_RESTORE_WEDDING_BATCH);
  return Number.isInteger(n) && n > 0 ? n : 250;
}

/**
 * A whole table's rows, a batch of weddings at a time (readRows of each batch; NO_WEDDING: the
 * rows of no wedding), for reading big tables without holding them: `onBatch` gets the batch's
 * keys (every live key, plus `extraKeys` — e.g. the snapshot's — sorted) and their rows (keys
 * without rows absent). A table without a wedding column comes in one piece.
 */
export async function forEachWeddingBatch(
  client: pg.Client,
  table: PlanTable,
  extraKeys: Iterable<string>,
  onBatch: (keys: string[], rows: Map<string, Buffer>) => Promise<void>,
): Promise<void> {
  const wc = table.weddingColumn;
  if (!wc) {
    await onBatch([...new Set([NO_WEDDING, ...extraKeys])].sort(), await readRows(client, table, 'all'));
    return;
  }
  const { rows } = await client.query<{ k: string | null }>(`SELECT DISTINCT ${quoteIdent(wc)}::text AS k FROM ${quoteQualified(table.qualified)}`);
  const keys = [...new Set([...rows.map((r) => r.k ?? NO_WEDDING), ...extraKeys])].sort();
  const size = weddingBatch();
  for (let i = 0; i < keys.length; i += size) {
    const batch = keys.slice(i, i + size);
    await onBatch(batch, await readRows(client, table, batch));
  }
}

/** tableDigestLines of a whole table read by forEachWeddingBatch: the same text, a batch at a time. */
export async function tableDigestLinesBatched(client: pg.Client, table: PlanTable): Promise<string> {
  const lines: string[] = [];
  await forEachWeddingBatch(client, table, [], async (_keys, rows) => {
    for (const key of [...rows.keys()].sort()) lines.push(`${table.qualified}\0${key}\0${hashRows(rows.get(key)).sha256}\n`);
  });
  // Batches come in key order, and keys sort the same way here as in tableDigestLines.
  return lines.join('');
}

/**
 * Rows per wedding key now, counted by the database (NO_WEDDING for rows of no wedding and for
 * tables that are not wedding-scoped). Reads no row text: cheap even for big tables.
 */
export async function countRows(client: pg.Client, table: PlanTable): Promise<Map<string, number>> {
  const wc = table.weddingColumn;
  const sql = wc
    ? `SELECT ${quoteIdent(wc)}::text AS k, count(*)::int AS n FROM ${quoteQualified(table.qualified)} GROUP BY 1`
    : `SELECT NULL AS k, count(*)::int AS n FROM ${quoteQualified(table.qualified)}`;
  const { rows } = await client.query<{ k: string | null; n: number }>(sql);
  return new Map(rows.filter((r) => r.n > 0).map((r) => [r.k ?? NO_WEDDING, r.n]));
}

/** Rows (lines) in COPY text parts. */
export function countLines(parts: Buffer[]): number {
  let rows = 0;
  for (const p of parts) for (let i = p.indexOf(10); i >= 0; i = p.indexOf(10, i + 1)) rows++;
  return rows;
}

export interface RowsHash {
  rows: number;
  sha256: string;
}

/** Row count and sha256 of COPY text (the concatenation of a wedding's segments, in order). */
export function hashRows(parts: Buffer[] | Buffer | undefined): RowsHash {
  const h = createHash('sha256');
  let rows = 0;
  for (const p of parts === undefined ? [] : Array.isArray(parts) ? parts : [parts]) {
    h.update(p);
    for (let i = p.indexOf(10); i >= 0; i = p.indexOf(10, i + 1)) rows++;
  }
  return { rows, sha256: h.digest('hex') };
}

/**
 * One digest of everything read (table → wedding key → rows): what a confirmation token binds,
 * so a restore refuses when the live rows changed after the preview the user confirmed.
 */
export function digestRows(tables: Map<string, Map<string, Buffer>>): string {
  return digestOfTables(new Map([...tables].map(([table, byKey]) => [table, tableDigestLines(table, byKey)])));
}

/**
 * digestRows one table at a time: the lines of one table (read, hashed, then dropped), and the
 * digest of every table's lines — equal to digestRows of them all, without holding them all.
 */
export function tableDigestLines(table: string, byKey: Map<string, Buffer>): string {
  let out = '';
  for (const key of [...byKey.keys()].sort()) out += `${table}\0${key}\0${hashRows(byKey.get(key)).sha256}\n`;
  return out;
}

export function digestOfTables(lines: Map<string, string>): string {
  const h = createHash('sha256');
  for (const table of [...lines.keys()].sort()) h.update(lines.get(table)!);
  return h.digest('hex');
}
