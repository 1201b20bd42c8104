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
 * One copy of each wedding id string for a whole export. COPY hands out a wedding's id once per
 * table (and per range), as a fresh string each time; a backup of 10,000 weddings kept ~80,000
 * copies of them until its trees were written. Interned, each id is held once, and the tables'
 * segment lists refer to weddings by number.
 */
export class WeddingIds {
  private readonly numbers = new Map<string, number>();
  private readonly names: string[] = [];

  /** The number of `id` (assigned on first sight). */
  number(id: string): number {
    let n = this.numbers.get(id);
    if (n === undefined) {
      n = this.names.length;
      this.numbers.set(id, n);
      this.names.push(id);
    }
    return n;
  }

  /** The interned copy of `id`. */
  intern(id: string): string {
    return this.names[this.number(id)]!;
  }

  /** The number of `id`, or -1 if it was never seen. */
  find(id: string): number {
    return this.numbers.get(id) ?? -1;
  }

  name(n: number): string {
    return this.names[n]!;
  }

  get size(): number {
    return this.names.length;
  }
}

const SEGMENT_ID_BYTES = 32;
const HEX64 = /^[0-9a-f]{64}$/;

/** A Uint32Array twice as long holding the first `used` values of `old`. */
function grown(old: Uint32Array, used: number, atLeast: number): Uint32Array {
  const next = new Uint32Array(Math.max(64, atLeast, old.length * 2));
  next.set(old.subarray(0, used));
  return next;
}

/**
 * A table's segments per wedding, kept compactly: a full backup of 10,000 weddings holds one of
 * these per table until its trees are written. Segment ids are 32 binary bytes side by side, row
 * and byte counts typed arrays, weddings numbers of the export's WeddingIds, and a wedding's
 * segments a chain through them (in the order added) — about 50 bytes a segment outside the JS
 * heap, against ~190 for a Map of arrays of objects with their hex and uuid strings. Segment refs
 * are materialised only when read.
 */
export class WeddingSegments {
  private count = 0;
  private ids = Buffer.alloc(0);
  private rows: Uint32Array = new Uint32Array(0);
  private raw: Uint32Array = new Uint32Array(0);
  /** Per segment: the next segment of the same wedding + 1 (0: none). */
  private next: Uint32Array = new Uint32Array(0);
  /** Per wedding number: its first and last segment + 1 (0: none in this table). */
  private first: Uint32Array = new Uint32Array(0);
  private last: Uint32Array = new Uint32Array(0);
  private weddingCount = 0;

  constructor(private readonly weddings: WeddingIds = new WeddingIds()) {}

  add(weddingId: string, ref: SegmentRef): void {
    if (!HEX64.test(ref.id)) throw new Error(`not a segment id: ${JSON.stringify(ref.id)}`);
    const i = this.count++;
    if (i >= this.rows.length) {
      const ids = Buffer.alloc(Math.max(64, this.rows.length * 2) * SEGMENT_ID_BYTES);
      this.ids.copy(ids, 0, 0, i * SEGMENT_ID_BYTES);
      this.ids = ids;
      this.rows = grown(this.rows, i, 0);
      this.raw = grown(this.raw, i, 0);
      this.next = grown(this.next, i, 0);
    }
    this.ids.write(ref.id, i * SEGMENT_ID_BYTES, SEGMENT_ID_BYTES, 'hex');
    this.rows[i] = ref.rows;
    this.raw[i] = ref.rawBytes;
    this.next[i] = 0;
    const w = this.weddings.number(weddingId);
    if (w >= this.first.length) {
      this.first = grown(this.first, this.first.length, w + 1);
      this.last = grown(this.last, this.last.length, w + 1);
    }
    const tail = this.last[w]!;
    if (tail === 0) {
      this.first[w] = i + 1;
      this.weddingCount++;
    } else this.next[tail - 1] = i + 1;
    this.last[w] = i + 1;
  }

  get(weddingId: string): SegmentRef[] | undefined {
    const w = this.weddings.find(weddingId);
    if (w < 0 || w >= this.first.length || this.first[w] === 0) return undefined;
    const refs: SegmentRef[] = [];
    for (let s = this.first[w]!; s !== 0; s = this.next[s - 1]!) {
      const i = s - 1;
      refs.push({ id: this.ids.toString('hex', i * SEGMENT_ID_BYTES, (i + 1) * SEGMENT_ID_BYTES), rows: this.rows[i]!, rawBytes: this.raw[i]! });
    }
    return refs;
  }

  /** The export's one copy of `weddingId` (see WeddingIds). */
  intern(weddingId: string): string {
    return this.weddings.intern(weddingId);
  }

  has(weddingId: string): boolean {
    const w = this.weddings.find(weddingId);
    return w >= 0 && w < this.first.length && this.first[w] !== 0;
  }

  /** Weddings with segments in this table. */
  get size(): number {
    return this.weddingCount;
  }

  /** Weddings with segments in this table (in the order the export first saw them, in any table). */
  *keys(): IterableIterator<string> {
    for (let w = 0; w < this.first.length; w++) if (this.first[w] !== 0) yield this.weddings.name(w);
  }

  *[Symbol.iterator](): IterableIterator<[string, SegmentRef[]]> {
    for (const id of this.keys()) yield [id, this.get(id)!];
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

  // Rows are copied into one growing buffer as they are cut (the routing key stripped), not kept
  // as a view each: a full backup cuts ~640,000 rows at 2000 weddings, and a Buffer object per
  // row (plus a string per wedding-table row for its key) was most of the export's garbage.
  let segment = Buffer.allocUnsafeSlow(64 * 1024);
  let segmentBytes = 0;
  let rows = 0;
  let currentKey: string | null = null;
  /** The bytes of currentKey, to compare each row's key without making a string of it. */
  let keyBytes = Buffer.allocUnsafeSlow(64);
  let keyLength = -1;
  let carry: Buffer | null = null;

  const append = (buf: Buffer, start: number, end: number) => {
    const n = end - start;
    if (segmentBytes + n > segment.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(segment.length * 2, segmentBytes + n));
      segment.copy(grown, 0, 0, segmentBytes);
      segment = grown;
    }
    buf.copy(segment, segmentBytes, start, end);
    segmentBytes += n;
  };

  const sameKey = (buf: Buffer, start: number, end: number): boolean => {
    if (end - start !== keyLength) return false;
    for (let i = 0; i < keyLength; i++) if (buf[start + i] !== keyBytes[i]) return false;
    return true;
  };

  const flush = async () => {
    if (rows === 0) return;
    // A buffer of the segment's own: the sink may keep it (the scratch buffer is filled again).
    const data = Buffer.allocUnsafe(segmentBytes);
    segment.copy(data, 0, 0, segmentBytes);
    const weddingId = wedding && currentKey !== null && currentKey !== '\\N' ? result.byWedding.intern(currentKey) : null;
    const ref = await sink({ table: item.table.qualified, weddingId, data, rows });
    if (weddingId) {
      result.byWedding.add(weddingId, ref);
    } else {
      result.runs.push(ref);
    }
    result.rows += rows;
    onRows(rows, data.length);
    segmentBytes = 0;
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
      if (wedding) {
        if (!sameKey(buf, lineStart, keyEnd)) {
          await flush();
          currentKey = buf.toString('latin1', lineStart, keyEnd);
          keyLength = keyEnd - lineStart;
          if (keyLength > keyBytes.length) keyBytes = Buffer.allocUnsafeSlow(keyLength);
          buf.copy(keyBytes, 0, lineStart, keyEnd);
        }
        append(buf, keyEnd + 1, nl + 1);
        rows++;
      } else {
        append(buf, keyEnd + 1, nl + 1);
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
  const weddings = new WeddingIds();
  for (const item of items) {
    if (!tables.has(item.table.qualified)) tables.set(item.table.qualified, { table: item.table.qualified, byWedding: new WeddingSegments(weddings), runs: [], rows: 0 });
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
