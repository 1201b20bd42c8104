import type pg from 'pg';
import type { SchemaMap } from '../contract/schema-map.js';
import { lockTimeoutError } from './db.js';
import { quoteIdent, quoteQualified, type TableInfo } from './introspect.js';
import type { SnapshotSession } from './snapshot-session.js';

/**
 * Streams tables out of one consistent snapshot with COPY and cuts them into segments:
 * the rows of one table for one wedding, or — for tables without a wedding — runs of rows in
 * key order cut where a row key's hash hits a boundary (content-defined, so one inserted row
 * changes one segment, not every one after it). Segment bytes are COPY text format rows, the
 * format `COPY … FROM STDIN` reads back, in a deterministic order (wedding, then primary key).
 */
export interface Segment {
  table: string;
  /** null for tables that do not belong to a wedding. */
  weddingId: string | null;
  /** COPY text rows, each ending in '\n'. */
  data: Buffer;
  rows: number;
}

export interface SegmentRef {
  id: string;
  rows: number;
  rawBytes: number;
}

/** Stores a segment and returns its reference; awaited, so a slow store slows the COPY (backpressure). */
export type SegmentSink = (segment: Segment) => Promise<SegmentRef>;

/** What to export from one table. */
export interface WorkItem {
  table: TableInfo;
  /** Column routing rows to weddings (the id column for the weddings table), or null. */
  weddingColumn: string | null;
  /** Only these weddings (uuids); undefined = every row. */
  weddings?: string[];
  /** Only weddings whose id falls in [from, to) — splits big tables across workers. */
  range?: { from: string | null; to: string | null };
}

/**
 * A table's segments per wedding, kept compactly: a full backup of 10,000 weddings holds one of
 * these per table until its trees are written, and a Map of arrays of objects per wedding cost
 * ~190 bytes a segment against ~40 here. Segment refs are materialised only when read.
 */
export class WeddingSegments {
  private readonly ids: string[] = [];
  private readonly rows: number[] = [];
  private readonly raw: number[] = [];
  /** Wedding → index of its only segment, or the indexes of its segments in order. */
  private readonly at = new Map<string, number | number[]>();

  add(weddingId: string, ref: SegmentRef): void {
    const i = this.ids.length;
    this.ids.push(ref.id);
    this.rows.push(ref.rows);
    this.raw.push(ref.rawBytes);
    const prev = this.at.get(weddingId);
    if (prev === undefined) this.at.set(weddingId, i);
    else if (typeof prev === 'number') this.at.set(weddingId, [prev, i]);
    else prev.push(i);
  }

  get(weddingId: string): SegmentRef[] | undefined {
    const at = this.at.get(weddingId);
    if (at === undefined) return undefined;
    return (typeof at === 'number' ? [at] : at).map((i) => ({ id: this.ids[i]!, rows: this.rows[i]!, rawBytes: this.raw[i]! }));
  }

  has(weddingId: string): boolean {
    return this.at.has(weddingId);
  }

  get size(): number {
    return this.at.size;
  }

  keys(): IterableIterator<string> {
    return this.at.keys();
  }

  *[Symbol.iterator](): IterableIterator<[string, SegmentRef[]]> {
    for (const id of this.at.keys()) yield [id, this.get(id)!];
  }
}

export interface TableExport {
  table: string;
  /** Wedding-scoped: segments per wedding (one per wedding). */
  byWedding: WeddingSegments;
  /** Non-wedding tables: segments in key order. */
  runs: SegmentRef[];
  rows: number;
}

export interface ExportProgress {
  rows: number;
  bytes: number;
  tablesDone: number;
  tablesTotal: number;
}

const SPLIT_ROWS = 50_000;
const RANGES = 8;
/** Average run length for non-wedding tables: a boundary where hash % BOUNDARY === 0. */
const BOUNDARY = 256;
const MAX_RUN_ROWS = 8192;

/** Which column ties each table to its wedding, per the schema map. */
export function weddingColumnOf(map: SchemaMap, table: string): string | null {
  if (table === map.weddings.table) return map.weddings.idColumn;
  return map.tables.find((t) => t.table === table)?.weddingColumn ?? null;
}

/** Work items for a whole-table export; big wedding-scoped tables are split into uuid ranges. */
export function planFullExport(tables: TableInfo[], map: SchemaMap, parallelism: number): WorkItem[] {
  const items: WorkItem[] = [];
  for (const table of [...tables].sort((a, b) => b.estimatedRows - a.estimatedRows)) {
    const weddingColumn = weddingColumnOf(map, table.qualified);
    if (weddingColumn && parallelism > 1 && table.estimatedRows > SPLIT_ROWS) {
      const bounds = Array.from({ length: RANGES - 1 }, (_, i) => `${Math.floor(((i + 1) * 16) / RANGES).toString(16)}0000000-0000-0000-0000-000000000000`);
      for (let i = 0; i < RANGES; i++) items.push({ table, weddingColumn, range: { from: bounds[i - 1] ?? null, to: bounds[i] ?? null } });
    } else {
      items.push({ table, weddingColumn });
    }
  }
  return items;
}

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The COPY statement of one work item. Its first column is the routing key (the wedding id, or
 * the row key of non-wedding tables), stripped again before rows are stored. COPY takes no bind
 * parameters, so wedding ids are inlined — each checked to be a UUID first.
 */
export function copyStatement(item: WorkItem): string {
  const cols = item.table.columns.map((c) => quoteIdent(c.name)).join(', ');
  const order = item.table.orderBy.map(quoteIdent);
  const where: string[] = [];
  let key: string;
  if (item.weddingColumn) {
    const wc = quoteIdent(item.weddingColumn);
    key = `${wc}::text`;
    order.unshift(wc);
    if (item.weddings) {
      for (const id of item.weddings) if (!UUID_TEXT.test(id)) throw new Error(`not a wedding id: ${JSON.stringify(id)}`);
      where.push(`${wc} = ANY('{${item.weddings.join(',')}}'::uuid[])`);
    }
    if (item.range?.from) where.push(`${wc} >= '${item.range.from}'::uuid`);
    if (item.range?.to) where.push(`${wc} < '${item.range.to}'::uuid`);
    // Rows with a NULL wedding reference belong to no wedding: in a whole-table export they
    // come last (key "\N") and are kept as the table's runs rather than dropped.
  } else {
    key = item.table.orderBy.map((c) => `${quoteIdent(c)}::text`).join(` || '|' || `) || `''`;
  }
  const filter = where.length ? ` WHERE ${where.join(' AND ')}` : '';
  return `COPY (SELECT ${key} AS wedsync_key, ${cols} FROM ${quoteQualified(item.table.qualified)}${filter} ORDER BY ${order.join(', ')}) TO STDOUT`;
}

/** FNV-1a over the key bytes: cheap, stable across versions, good enough to place boundaries. */
function keyHash(buf: Buffer, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= buf[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Runs one work item: one COPY, cut into segments handed to `sink` as they complete. */
export async function exportItem(client: pg.Client, item: WorkItem, sink: SegmentSink, result: TableExport, onRows: (rows: number, bytes: number) => void): Promise<void> {
  const { to } = await import('pg-copy-streams');
  const stream = client.query(to(copyStatement(item)));
  // pg-copy-streams emits a connection error on the stream itself; if it arrives after the loop
  // below has stopped listening (between CopyDone and ReadyForQuery) it would crash the process.
  // The loop still sees errors while it runs, and the client's next query reports a lost connection.
  stream.on('error', () => undefined);
  const wedding = item.weddingColumn !== null;

  let parts: Buffer[] = [];
  let partBytes = 0;
  let rows = 0;
  let currentKey: string | null = null;
  let carry: Buffer | null = null;

  const flush = async () => {
    if (rows === 0) return;
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts, partBytes);
    const weddingId = wedding && currentKey !== '\\N' ? currentKey : null;
    const ref = await sink({ table: item.table.qualified, weddingId, data, rows });
    if (weddingId) {
      result.byWedding.add(weddingId, ref);
    } else {
      result.runs.push(ref);
    }
    result.rows += rows;
    onRows(rows, partBytes);
    parts = [];
    partBytes = 0;
    rows = 0;
  };

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let buf = chunk;
    if (carry) {
      buf = Buffer.concat([carry, chunk]);
      carry = null;
    }
    let lineStart = 0;
    for (;;) {
      const nl = buf.indexOf(10, lineStart);
      if (nl < 0) break;
      const tab = buf.indexOf(9, lineStart);
      const keyEnd = tab >= 0 && tab < nl ? tab : nl;
      const row = buf.subarray(keyEnd + 1, nl + 1);
      if (wedding) {
        const key = buf.toString('latin1', lineStart, keyEnd);
        if (key !== currentKey) {
          await flush();
          currentKey = key;
        }
        parts.push(row);
        partBytes += row.length;
        rows++;
      } else {
        parts.push(row);
        partBytes += row.length;
        rows++;
        // Cut after a boundary row: the run's end depends only on keys, not on position.
        if (keyHash(buf, lineStart, keyEnd) % BOUNDARY === 0 || rows >= MAX_RUN_ROWS) await flush();
      }
      lineStart = nl + 1;
    }
    if (lineStart < buf.length) carry = Buffer.from(buf.subarray(lineStart));
  }
  await flush();
}

export interface ExportRun {
  tables: Map<string, TableExport>;
  rows: number;
  bytes: number;
}

/**
 * Runs work items over the session's workers (one COPY per connection at a time), biggest
 * first. Fails fast: the first error stops handing out work and is rethrown.
 */
export async function runExport(session: SnapshotSession, items: WorkItem[], sink: SegmentSink, onProgress?: (p: ExportProgress) => void): Promise<ExportRun> {
  const tables = new Map<string, TableExport>();
  for (const item of items) {
    if (!tables.has(item.table.qualified)) tables.set(item.table.qualified, { table: item.table.qualified, byWedding: new WeddingSegments(), runs: [], rows: 0 });
  }
  const progress: ExportProgress = { rows: 0, bytes: 0, tablesDone: 0, tablesTotal: items.length };
  const queue = [...items];
  let failed: unknown;
  let failedItem: WorkItem | undefined;
  const worker = async (client: pg.Client) => {
    while (queue.length && failed === undefined) {
      const item = queue.shift()!;
      try {
        await exportItem(client, item, sink, tables.get(item.table.qualified)!, (rows, bytes) => {
          progress.rows += rows;
          progress.bytes += bytes;
          onProgress?.(progress);
        });
        progress.tablesDone++;
        onProgress?.(progress);
      } catch (err) {
        if (failed === undefined) failedItem = item;
        failed ??= err;
      }
    }
  };
  await Promise.all(session.workers.map(worker));
  // A lock wait that ran out names the table it waited for and who holds it (the server's message does not).
  if (failed !== undefined) {
    throw (failed as { code?: string }).code === '55P03' ? await lockTimeoutError(failed, session.url, { table: failedItem!.table.qualified, step: `exporting table ${failedItem!.table.qualified}` }, session.lockTimeoutMs) : failed;
  }
  // Ranges of one table may finish in any order; runs of a non-wedding table come from one item.
  return { tables, rows: progress.rows, bytes: progress.bytes };
}
