import type pg from 'pg';
import type { ManifestSequence } from '../contract/manifest.js';
import { splitRestoreDdl } from '../core/restore-plan-ddl.js';
import { catalogObjects, createdInTransaction, dropObjects, type CreatedObject } from './created-objects.js';
import { connect } from './db.js';
import { quoteIdent, quoteQualified } from './introspect.js';
import { applySettings, copyIn, inTransaction, restoreError, type SessionSettings } from './restore-copy.js';
import { NO_WEDDING } from '../core/restore-plan.js';
import { countLines, countRows } from './restore-rows.js';
import { verificationError, verifyRows, type ApplyPhase, type ApplyResult, type ApplyTable, type TableChanges, type Verification } from './restore-writer.js';

/**
 * A complete restore into an EMPTY database, the way pg_restore does it, with tables in parallel:
 *
 *   1. the snapshot's pre-data DDL, tables created without their key constraints (one
 *      transaction, noting what it created; it commits once `ready` resolved);
 *   2. per table, on `parallelism` connections, biggest first, each in its own transaction:
 *      TRUNCATE (so COPY may FREEZE: no hint-bit rewrite later), COPY the segments in, build its
 *      keys and secondary indexes over the loaded rows, then verify (verifyLoaded: the rows COPY
 *      took against the rows sent, a fixed sample's content) before COMMIT;
 *   3. foreign keys and the rest of the post-data DDL, the sequences as the snapshot recorded
 *      them, and the caller's last step (photo files) before COMMIT (one transaction).
 *
 * An empty database has nothing to lose, so instead of one transaction the guarantee is: on any
 * failure every object the restore created is dropped again (created-objects.ts: tables, and
 * whatever else the recorded schema made — functions, types, sequences, schemas), leaving the
 * database as it was.
 */
export interface EmptyRestoreOptions {
  preDataSql: string;
  postDataSql: string;
  /** Every table of the snapshot: its segments are read (`load`) when a connection is free to COPY them. */
  tables: EmptyTable[];
  sequences: ManifestSequence[];
  /** Connections loading tables at once (default 2). */
  parallelism?: number;
  onPhase?: (phase: ApplyPhase, done: number, total: number) => void;
  /** Runs in the last transaction, after verification, before its COMMIT (photo files); throwing undoes everything. */
  beforeCommit?: () => Promise<void>;
  /** Where a table's time went (ms): reading its segments into COPY, keys and indexes, verification. */
  onTableTimes?: (table: string, ms: { copy: number; keys: number; verify: number }) => void;
  /**
   * Awaited in the schema transaction before its COMMIT, the first change anyone can see: the
   * caller's bookkeeping (the operation's row) runs meanwhile. A rejection rolls the schema back
   * and fails the restore with that reason; nothing changed.
   */
  ready?: Promise<unknown>;
  /** Test hook: in the schema transaction, after its DDL, before its COMMIT. */
  beforeSchemaCommit?: () => Promise<void>;
  /** Objects of the schema that could not be dropped again after a failure (statement: error). */
  onCleanupErrors?: (errors: string[]) => void;
  /** Where the whole load's time went (ms): schema, tables (in parallel), foreign keys + the rest of post-data + sequences + beforeCommit. */
  onStepTimes?: (ms: { preData: number; tables: number; postData: number }) => void;
}

export interface EmptyTable {
  table: ApplyTable['table'];
  /** Plaintext bytes of its segments: biggest tables start first. */
  bytes: number;
  /** Segment ids per wedding key (NO_WEDDING: rows of no wedding), in order. */
  segments: Map<string, string[]>;
  /** The segments' plaintexts, each checked, in any order, as they are read: they stream into COPY. */
  read(): AsyncIterable<{ id: string; data: Buffer }>;
}

/** Milliseconds since the last call (or since it was made). */
function stopwatch(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const ms = Math.round(now - last);
    last = now;
    return ms;
  };
}

/** One wedding in CONTENT_SAMPLE has its rows read back and compared whole (see verifyLoaded). */
const CONTENT_SAMPLE = 16;

/** FNV-1a of a wedding key: which weddings the content check samples, the same ones every time. */
function sampled(key: string): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % CONTENT_SAMPLE === 0;
}

/**
 * What verification needs of a table's segments, gathered while they stream into COPY (so a
 * table's rows are not all held until it is verified): the rows per wedding key, counted from the
 * segments, and the segments of the keys whose content is compared — a fixed sample of weddings
 * (one in CONTENT_SAMPLE, at least one) or, for tables without weddings, all of them.
 */
class Expected {
  /** Rows per wedding key (every key of the snapshot, 0 for one without segments). */
  readonly rows = new Map<string, number>();
  private readonly sample: Set<string>;
  private readonly keysOf = new Map<string, string[]>();
  private readonly kept = new Map<string, Buffer>();

  constructor(
    private readonly table: ApplyTable['table'],
    private readonly segments: Map<string, string[]>,
  ) {
    const weddings = [...segments.keys()].filter((k) => k !== NO_WEDDING);
    const sample = table.weddingColumn ? weddings.filter(sampled) : [...segments.keys()];
    if (table.weddingColumn && !sample.length && weddings.length) sample.push(weddings[0]!);
    this.sample = new Set(sample);
    for (const [key, ids] of segments) {
      this.rows.set(key, 0);
      for (const id of ids) {
        const keys = this.keysOf.get(id);
        if (keys) keys.push(key);
        else this.keysOf.set(id, [key]);
      }
    }
  }

  /** Rows sent to COPY. */
  total = 0;

  /** A segment as it goes into COPY. */
  add(id: string, data: Buffer): void {
    const keys = this.keysOf.get(id) ?? [];
    const lines = countLines([data]);
    this.total += lines;
    for (const key of keys) this.rows.set(key, this.rows.get(key)! + lines);
    // A copy: `data` may be a view into a whole range's plaintext (codec pool), which would stay
    // alive with it.
    if (keys.some((k) => this.sample.has(k))) this.kept.set(id, Buffer.from(data));
  }

  /** The sampled keys' rows, segments in the snapshot's order. */
  sampleRows(): Map<string, Buffer[]> {
    return new Map([...this.sample].map((key) => [key, (this.segments.get(key) ?? []).map((id) => this.kept.get(id)!)]));
  }

  get weddingsSampled(): string[] | 'all' {
    return this.table.weddingColumn ? [...this.sample] : 'all';
  }
}

/**
 * Verification of a table just loaded into an empty database. Every segment's content was
 * checked against its id (an HMAC of it) as it was read, and the rows of every wedding were
 * counted from the segments on their way into COPY; here
 *
 *  - the number of rows COPY reports the database took must be the number of rows sent (a row a
 *    trigger or rule swallowed, or one too many, fails here). Only then does the database count
 *    every wedding's rows (a GROUP BY, about as costly as a tenth of the load), to name the
 *    weddings that differ;
 *  - the text of a fixed sample of weddings (one in CONTENT_SAMPLE, at least one, and all rows of
 *    tables without weddings) is read back and compared byte for byte with the segments, which
 *    catches what a count cannot: values that do not come back as they were (types, settings),
 *    and rows moved into or out of a sampled wedding.
 *
 * Reading every row back would add about half a load again, for the same class of faults.
 */
async function verifyLoaded(client: pg.Client, table: ApplyTable['table'], expected: Expected, inserted: number): Promise<Verification> {
  const v: Verification = { ok: true, checked: expected.rows.size, rows: inserted, mismatches: [], contentChecked: 0 };
  if (inserted !== expected.total) {
    const counted = await countRows(client, table);
    v.ok = false;
    v.checked = 0;
    v.rows = 0;
    for (const key of new Set([...expected.rows.keys(), ...counted.keys()])) {
      const want = expected.rows.get(key) ?? 0;
      const actual = counted.get(key) ?? 0;
      v.checked++;
      v.rows += actual;
      if (actual !== want) v.mismatches.push({ table: table.qualified, weddingId: key === NO_WEDDING ? null : key, expectedRows: want, actualRows: actual });
    }
    // The database took another number of rows than were sent, but every wedding's count
    // matches (a row of one wedding swallowed, one of the same wedding added): say so on the table.
    if (!v.mismatches.length) v.mismatches.push({ table: table.qualified, weddingId: null, expectedRows: expected.total, actualRows: inserted });
    return v;
  }
  // The table was just loaded and has no statistics yet: the planner would scan it whole (in
  // parallel, too) to find a sixteenth of its rows, where the wedding column's index (built just
  // before) finds them. And in the order they were loaded (no sort): what verifyRows compares
  // byte for byte first, then line by line if a wedding's segments came in another order.
  await client.query('SET LOCAL enable_seqscan = off');
  await client.query('SET LOCAL max_parallel_workers_per_gather = 0');
  const content = await verifyRows(client, [{ table, weddings: expected.weddingsSampled, rows: expected.sampleRows() }], { ordered: false });
  v.contentChecked = content.checked;
  v.ok = content.ok;
  v.mismatches.push(...content.mismatches);
  return v;
}

/**
 * The schema and each table commit without waiting for the WAL flush: nothing is done until the
 * last transaction, whose COMMIT waits (synchronous_commit on) — and the WAL is flushed in order,
 * so that COMMIT makes every earlier one durable too. A crash before it leaves a half-restored
 * database, as a crash between those commits always could; the restore is not reported done.
 */
const ASYNC_COMMIT = 'SET LOCAL synchronous_commit = off';

/**
 * This table's keys and indexes are built by this connection alone, without parallel workers:
 * the other connections already keep every core busy loading, so the workers only add their
 * start-up and the merge of their sorts (measured: PostgreSQL's CPU for a 2000-wedding complete
 * restore ~0.09 s lower on 2 cores, median of 6 interleaved runs). Scoped to the transaction.
 */
const NO_PARALLEL_INDEX_BUILD = 'SET LOCAL max_parallel_maintenance_workers = 0';

/** `settings`: the session settings of `client`, given to every extra connection too (restore-target.ts). */
export async function restoreIntoEmpty(client: pg.Client, url: string, options: EmptyRestoreOptions, settings: SessionSettings = []): Promise<ApplyResult> {
  const total = options.tables.length;
  const ddl = splitRestoreDdl(options.preDataSql, options.postDataSql, options.tables.map((t) => t.table.qualified));
  const workers: pg.Client[] = [client];
  // The extra connections open while the schema is created (nothing to wait for in between).
  const extra = Math.max(0, Math.min(options.parallelism ?? 2, 8, total) - 1);
  const opening = Promise.allSettled(
    Array.from({ length: extra }, async () => {
      const c = await connect(url, { applicationName: 'wedsync-backup restore' });
      workers.push(c);
      await applySettings(c, settings);
    }),
  );
  /** What the schema transaction created, dropped again on failure; null until it committed. */
  let created: CreatedObject[] | null = null;
  const step = stopwatch();
  try {
    // The recorded schema in one transaction, which also notes everything it created: a failure
    // later (the tables load on other connections, so the schema must be committed first) drops
    // exactly that again — tables, but also the functions, types, sequences and schemas.
    await inTransaction(client, url, async () => {
      await client.query(ASYNC_COMMIT);
      const before = await catalogObjects(client);
      await client.query(ddl.preData);
      // Known before COMMIT: a connection lost during it leaves the outcome unknown, and dropping
      // objects that were rolled back anyway (IF EXISTS) costs nothing.
      created = await createdInTransaction(client, before);
      await options.beforeSchemaCommit?.();
      await options.ready;
    });
    const preData = step();
    const refused = (await opening).find((r) => r.status === 'rejected');
    if (refused) throw (refused as PromiseRejectedResult).reason;

    // Biggest tables first, so the last one to finish is a small one.
    const queue = [...options.tables].sort((a, b) => b.bytes - a.bytes);
    const changes: TableChanges[] = [];
    const verification: Verification = { ok: true, checked: 0, rows: 0, mismatches: [], contentChecked: 0 };
    let done = 0;
    let failed: unknown;
    await Promise.all(
      workers.map(async (worker) => {
        while (queue.length && failed === undefined) {
          const t = queue.shift()!;
          try {
            const lap = stopwatch();
            await inTransaction(worker, url, async () => {
              const target = quoteQualified(t.table.qualified);
              await worker.query(ASYNC_COMMIT);
              await worker.query(NO_PARALLEL_INDEX_BUILD);
              await worker.query(`TRUNCATE ${target}`);
              // Segments go into COPY as they are decoded (the database parses while we decrypt);
              // counted, and the sampled ones kept, to compare with the rows afterwards.
              const expected = new Expected(t.table, t.segments);
              const parts = (async function* () {
                for await (const { id, data } of t.read()) {
                  expected.add(id, data);
                  yield data;
                }
              })();
              const inserted = await copyIn(worker, target, t.table.columns.map((c) => c.name), parts, 'FREEZE');
              const copy = lap();
              for (const stmt of ddl.perTable.get(t.table.qualified) ?? []) await worker.query(stmt);
              const keys = lap();
              const v = await verifyLoaded(worker, t.table, expected, inserted);
              options.onTableTimes?.(t.table.qualified, { copy, keys, verify: lap() });
              if (!v.ok) throw verificationError(v);
              verification.checked += v.checked;
              verification.rows += v.rows;
              verification.contentChecked! += v.contentChecked ?? v.checked;
              changes.push({ table: t.table.qualified, dataType: t.table.dataType, inserted, updated: 0, deleted: 0 });
            });
            options.onPhase?.('apply', ++done, total);
          } catch (err) {
            failed ??= err;
          }
        }
      }),
    );
    if (failed !== undefined) throw failed;
    const tables = step();

    options.onPhase?.('verify', total, total);
    const sequencesAdvanced = await inTransaction(client, url, async () => {
      // This COMMIT waits for the WAL to reach the disk, and with it every commit before it.
      await client.query('SET LOCAL synchronous_commit = on');
      for (const stmt of ddl.postData) await client.query(stmt);
      let n = 0;
      for (const s of options.sequences) {
        const name = `${quoteIdent(s.schema)}.${quoteIdent(s.name)}`;
        n += (await client.query(`SELECT setval(to_regclass($1), $2::bigint, $3) WHERE to_regclass($1) IS NOT NULL`, [name, s.value, s.isCalled ?? true])).rowCount ?? 0;
      }
      await options.beforeCommit?.();
      return n;
    });
    options.onPhase?.('commit', total, total);
    options.onStepTimes?.({ preData, tables, postData: step() });
    const order = new Map(options.tables.map((t, i) => [t.table.qualified, i]));
    changes.sort((a, b) => order.get(a.table)! - order.get(b.table)!);
    return { changes, verification, sequencesAdvanced };
  } catch (err) {
    // Back to how it was: nothing half-restored stays behind (on a new connection: the old one
    // may be the problem). The schema transaction either rolled back (nothing to drop) or said
    // what it created.
    await opening;
    const dropping: CreatedObject[] = created ?? [];
    if (dropping.length) {
      await connect(url, { applicationName: 'wedsync-backup restore cleanup' })
        .then(async (c) => {
          try {
            const left = await dropObjects(c, dropping);
            if (left.length) options.onCleanupErrors?.(left);
          } finally {
            await c.end().catch(() => undefined);
          }
        })
        .catch((e: unknown) => options.onCleanupErrors?.([`cleanup connection: ${(e as Error).message}`]));
    }
    throw restoreError(err, url);
  } finally {
    await Promise.all(workers.slice(1).map((w) => w.end().catch(() => undefined)));
  }
}
