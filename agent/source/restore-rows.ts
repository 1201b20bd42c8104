import { createHash } from 'node:crypto';
import type pg from 'pg';
import { NO_WEDDING, type PlanTable } from '../core/restore-plan.js';
import { exportItem, type TableExport } from './export.js';
import type { TableInfo } from './introspect.js';

/**
 * Reads rows for a restore exactly the way a backup exports them (the same exportItem: same
 * columns, same order, same COPY text), so live rows and snapshot segments compare byte for
 * byte: for the preview's diff, the digest of what the preview saw, and the verification after
 * the merge.
 */

/** The export's view of a snapshot table: the snapshot's columns, ordered by its key. */
export function tableInfo(t: PlanTable): TableInfo {
  return {
    schema: t.schema,
    name: t.name,
    qualified: t.qualified,
    columns: t.columns,
    primaryKey: t.primaryKey,
    orderBy: t.primaryKey.length ? t.primaryKey : t.columns.map((c) => c.name),
    estimatedRows: 0,
  };
}

/**
 * The rows of `table` now, COPY text per wedding (NO_WEDDING: rows of no wedding, and every row
 * of a table that is not wedding-scoped). `weddings`: only those weddings; 'all': the whole table.
 * Weddings without rows are absent from the map.
 */
export async function readRows(client: pg.Client, table: PlanTable, weddings: string[] | 'all'): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (Array.isArray(weddings) && weddings.length === 0) return out;
  const parts = new Map<string, Buffer[]>();
  const result: TableExport = { table: table.qualified, byWedding: new Map(), runs: [], rows: 0 };
  await exportItem(
    client,
    { table: tableInfo(table), weddingColumn: table.weddingColumn, ...(weddings === 'all' || !table.weddingColumn ? {} : { weddings }) },
    async (segment) => {
      const key = segment.weddingId ?? NO_WEDDING;
      const list = parts.get(key);
      if (list) list.push(segment.data);
      else parts.set(key, [segment.data]);
      return { id: '', rows: segment.rows, rawBytes: segment.data.length };
    },
    result,
    () => undefined,
  );
  for (const [key, list] of parts) out.set(key, list.length === 1 ? list[0]! : Buffer.concat(list));
  return out;
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
  const h = createHash('sha256');
  for (const table of [...tables.keys()].sort()) {
    const byKey = tables.get(table)!;
    for (const key of [...byKey.keys()].sort()) h.update(`${table}\0${key}\0${hashRows(byKey.get(key)).sha256}\n`);
  }
  return h.digest('hex');
}
