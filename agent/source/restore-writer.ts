import type pg from 'pg';
import { WedsyncError } from '../contract/errors.js';
import { NO_WEDDING, type PlanTable } from '../core/restore-plan.js';
import { copyIn, inTransaction } from './restore-copy.js';
import { countLines, digestOfTables, hashRows, readRows, tableDigestLines, tableDigestLinesBatched } from './restore-rows.js';
import { quoteIdent, quoteQualified } from './introspect.js';

/**
 * The transactional restore writer: brings the rows in scope back to the snapshot's, in ONE
 * transaction, touching nothing else.
 *
 *   lock the rows in scope (and the wedding rows, which blocks new child rows) — or, for whole
 *   tables, the tables — then check they are still what the preview saw; COPY the snapshot's
 *   rows into temp staging tables; refuse if a snapshot row now belongs to another wedding; then
 *   merge by primary key: DELETE rows in scope the snapshot lacks (children first), UPDATE rows
 *   that differ and INSERT missing ones (parents first); move owned sequences past the restored
 *   keys; re-read the rows in scope and compare count and sha256 with the snapshot's segments.
 *   Any failure (constraint, lost connection, verification) rolls everything back.
 *
 * Rows outside scope are never written by these statements; foreign key actions of the
 * database itself may still fire (deleting a restored vendor the snapshot lacks sets
 * timeline_events.vendor_id to NULL, as ON DELETE SET NULL says).
 */

export interface TargetColumns {
  names: Set<string>;
  /** GENERATED ALWAYS AS (…) STORED: computed by the database, never written. */
  generated: Set<string>;
  /** GENERATED ALWAYS AS IDENTITY: inserted with OVERRIDING SYSTEM VALUE, never updated. */
  identityAlways: Set<string>;
}

export interface ApplyTable {
  table: PlanTable;
  /** Weddings whose rows are replaced; 'all' = the whole table. */
  weddings: string[] | 'all';
  /** The snapshot's rows per wedding key (NO_WEDDING for rows of no wedding): segment plaintexts in order. */
  rows: Map<string, Buffer[]>;
  /**
   * Instead of `rows` (left empty), for a whole table (weddings 'all'): its segments streamed in
   * any order, staged as they come — nothing of the table is held in memory — and verified in
   * the database against the stage (which holds exactly the snapshot's rows).
   */
  stream?: () => AsyncIterable<Buffer>;
  columns: TargetColumns;
}

export type ApplyPhase = 'apply' | 'verify' | 'commit';

export interface ApplyOptions {
  /** Parents first (orderByForeignKeys). */
  tables: ApplyTable[];
  weddingsTable: { table: string; idColumn: string };
  /** Digest (digestRows) of the rows in scope the preview saw: CONFLICT when they changed since. */
  expectLiveDigest?: string;
  /**
   * Runs once the rows in scope are locked and found as the preview saw them, before anything
   * changes, with an exported snapshot (pg_export_snapshot) of this transaction's view: a
   * recovery point read through it holds exactly the rows this apply will overwrite — no
   * concurrent write can slip in between (the locks hold writers off until COMMIT). Throwing
   * rolls back.
   */
  underLock?: (snapshot: string) => Promise<void>;
  /** Runs after verification, before COMMIT (photo files); throwing rolls back. */
  beforeCommit?: () => Promise<void>;
  onPhase?: (phase: ApplyPhase, done: number, total: number) => void;
  /** Test hook: runs inside the transaction after the merge, before verification. */
  afterMerge?: () => Promise<void>;
  /**
   * A statement run last inside the transaction, after beforeCommit: the restore's outcome in
   * the catalog (when it lives in this database), so it commits — or rolls back — with the rows.
   */
  commitStatement?: (result: ApplyResult) => { text: string; values: unknown[] };
}

export interface TableChanges {
  table: string;
  dataType: string | null;
  inserted: number;
  updated: number;
  deleted: number;
}

export interface VerifyMismatch {
  table: string;
  weddingId: string | null;
  expectedRows: number;
  actualRows: number;
  /** Absent when only the counts were compared. */
  expectedSha256?: string;
  actualSha256?: string;
}

export interface Verification {
  ok: boolean;
  /** (table, wedding) row sets compared. */
  checked: number;
  /** Of those, how many had their content (not only their count) compared; absent = all. */
  contentChecked?: number;
  rows: number;
  mismatches: VerifyMismatch[];
}

export interface ApplyResult {
  changes: TableChanges[];
  verification: Verification;
  sequencesAdvanced: number;
}

const cols = (names: string[], alias?: string) => names.map((c) => (alias ? `${alias}.${quoteIdent(c)}` : quoteIdent(c))).join(', ');
const asText = (names: string[], alias: string) => `ROW(${names.map((c) => `${alias}.${quoteIdent(c)}::text`).join(', ')})`;
const keyJoin = (pk: string[], a: string, b: string) => pk.map((k) => `${a}.${quoteIdent(k)} = ${b}.${quoteIdent(k)}`).join(' AND ');

/** True when `parts`, concatenated, are exactly `whole` (no copy). */
function sameBytes(parts: Buffer[], whole: Buffer): boolean {
  let at = 0;
  for (const p of parts) {
    if (at + p.length > whole.length || whole.compare(p, 0, p.length, at, at + p.length) !== 0) return false;
    at += p.length;
  }
  return at === whole.length;
}

/**
 * Compares the rows in scope with the snapshot's, per (table, wedding): the COPY text read back
 * must equal the segments byte for byte (stronger than, and cheaper than, comparing their hashes;
 * a mismatch reports both counts and sha256). Rows in another order (another collation, or an
 * unordered read) still match when they are the same lines.
 */
export async function verifyRows(
  client: pg.Client,
  tables: Array<Pick<ApplyTable, 'table' | 'weddings' | 'rows'>>,
  options: { ordered?: boolean; onTable?: (done: number) => void } = {},
): Promise<Verification> {
  const v: Verification = { ok: true, checked: 0, rows: 0, mismatches: [] };
  let done = 0;
  for (const t of tables) {
    const actual = await readRows(client, t.table, t.weddings, { ordered: options.ordered ?? true });
    const keys = new Set([...t.rows.keys(), ...actual.keys()]);
    for (const key of keys) {
      const want = t.rows.get(key) ?? [];
      const got = actual.get(key) ?? Buffer.alloc(0);
      v.checked++;
      if (sameBytes(want, got) || sortedEqual(want, got)) {
        v.rows += countLines(want);
        continue;
      }
      const w = hashRows(want);
      const g = hashRows(got);
      v.ok = false;
      v.rows += g.rows;
      v.mismatches.push({ table: t.table.qualified, weddingId: key === NO_WEDDING ? null : key, expectedRows: w.rows, actualRows: g.rows, expectedSha256: w.sha256, actualSha256: g.sha256 });
    }
    options.onTable?.(++done);
  }
  return v;
}

function sortedEqual(a: Buffer[], b: Buffer): boolean {
  const total = a.reduce((n, p) => n + p.length, 0);
  if (total !== b.length) return false;
  const lines = (text: string) => text.split('\n').filter(Boolean).sort();
  const x = lines(Buffer.concat(a).toString('utf8'));
  const y = lines(b.toString('utf8'));
  return x.length === y.length && x.every((l, i) => l === y[i]);
}

/**
 * A whole table streamed into its stage: the table must now hold exactly the stage's rows (the
 * snapshot's, each segment checked against its id as it was read). Compared in the database,
 * nothing read into memory, in one pass over each side (no sort): the row count and an
 * order-independent sum of every row's 64-bit digest (md5 of the row as text).
 */
async function verifyAgainstStage(client: pg.Client, t: ApplyTable, stage: string): Promise<Verification> {
  const names = t.table.columns.map((c) => c.name);
  const digest = (alias: string) => `coalesce(sum(('x' || left(md5(${asText(names, alias)}::text), 16))::bit(64)::bigint::numeric), 0)::text`;
  const { rows } = await client.query<{ expected: number; actual: number; want: string; got: string }>(
    `SELECT e.n AS expected, a.n AS actual, e.h AS want, a.h AS got
       FROM (SELECT count(*)::int AS n, ${digest('s')} AS h FROM ${stage} s) e,
            (SELECT count(*)::int AS n, ${digest('t')} AS h FROM ${quoteQualified(t.table.qualified)} t) a`,
  );
  const r = rows[0]!;
  const ok = r.expected === r.actual && r.want === r.got;
  return { ok, checked: 1, rows: r.actual, mismatches: ok ? [] : [{ table: t.table.qualified, weddingId: null, expectedRows: r.expected, actualRows: r.actual }] };
}

function mergeVerification(into: Verification, v: Verification): void {
  into.ok &&= v.ok;
  into.checked += v.checked;
  into.rows += v.rows;
  into.mismatches.push(...v.mismatches);
}

export function verificationError(v: Verification): WedsyncError {
  const first = v.mismatches[0]!;
  const where = `${first.table}${first.weddingId ? ` of wedding ${first.weddingId}` : ''}`;
  return new WedsyncError('INTEGRITY', `verification failed: ${where} has ${first.actualRows} rows after the restore, the snapshot ${first.expectedRows} (or their content differs)${v.mismatches.length > 1 ? `, and ${v.mismatches.length - 1} more` : ''} — rolled back`, {
    details: { mismatches: v.mismatches },
  });
}

async function lockScope(client: pg.Client, options: ApplyOptions): Promise<void> {
  const whole = options.tables.filter((t) => t.weddings === 'all');
  if (whole.length) await client.query(`LOCK TABLE ${whole.map((t) => quoteQualified(t.table.qualified)).join(', ')} IN EXCLUSIVE MODE`);
  const ids = [...new Set(options.tables.flatMap((t) => (t.weddings === 'all' ? [] : t.weddings)))];
  if (!ids.length) return;
  // Locking the wedding rows blocks other sessions' inserts of child rows (their FK check takes KEY SHARE).
  const w = options.weddingsTable;
  await client.query(`SELECT count(*) FROM (SELECT 1 FROM ${quoteQualified(w.table)} WHERE ${quoteIdent(w.idColumn)} = ANY($1) FOR UPDATE) x`, [ids]);
  for (const t of options.tables) {
    if (t.weddings === 'all' || !t.table.weddingColumn) continue;
    await client.query(`SELECT count(*) FROM (SELECT 1 FROM ${quoteQualified(t.table.qualified)} WHERE ${quoteIdent(t.table.weddingColumn)} = ANY($1) FOR UPDATE) x`, [t.weddings]);
  }
}

/** Moves sequences owned by restored columns past the largest restored value (never backwards). */
async function advanceSequences(client: pg.Client, tables: string[]): Promise<number> {
  const { rows } = await client.query<{ seq: string; tbl: string; col: string }>(
    `SELECT quote_ident(sn.nspname) || '.' || quote_ident(s.relname) AS seq, quote_ident(tn.nspname) || '.' || quote_ident(t.relname) AS tbl, quote_ident(a.attname) AS col
       FROM pg_depend d
       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace
       JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
      WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        AND tn.nspname || '.' || t.relname = ANY($1)`,
    [tables],
  );
  let advanced = 0;
  for (const r of rows) {
    const res = await client.query(
      `SELECT setval('${r.seq.replace(/'/g, "''")}', m) FROM (SELECT max(${r.col})::bigint AS m FROM ${r.tbl}) x, ${r.seq} s
        WHERE m IS NOT NULL AND m > CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END`,
    );
    advanced += res.rowCount ?? 0;
  }
  return advanced;
}

export async function applyRestore(client: pg.Client, url: string, options: ApplyOptions): Promise<ApplyResult> {
  const total = options.tables.length;
  return inTransaction(client, url, async () => {
    await client.query(`SET LOCAL lock_timeout = '30s'`);
    await lockScope(client, options);

    if (options.expectLiveDigest !== undefined) {
      // A table at a time: its rows are hashed and dropped before the next is read.
      const seen = new Map<string, string>();
      for (const t of options.tables) {
        // Whole tables a batch of weddings at a time: the biggest table is never held whole.
        seen.set(t.table.qualified, t.weddings === 'all' ? await tableDigestLinesBatched(client, t.table) : tableDigestLines(t.table.qualified, await readRows(client, t.table, t.weddings)));
      }
      if (digestOfTables(seen) !== options.expectLiveDigest) {
        throw new WedsyncError('CONFLICT', 'the rows to restore changed after the preview was made: preview again and confirm the new preview — nothing was changed');
      }
    }

    if (options.underLock) {
      const { rows } = await client.query<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot');
      await options.underLock(rows[0]!.snapshot);
    }

    // Stage the snapshot's rows.
    const stages = new Map<string, string>();
    let i = 0;
    for (const t of options.tables) {
      const stage = `wedsync_restore_${i++}`;
      stages.set(t.table.qualified, stage);
      const names = t.table.columns.map((c) => c.name);
      await client.query(`CREATE TEMP TABLE ${stage} ON COMMIT DROP AS SELECT ${cols(names)} FROM ${quoteQualified(t.table.qualified)} WITH NO DATA`);
      const n = await copyIn(client, stage, names, t.stream ? t.stream() : [...t.rows.values()].flat());
      // Big stages need statistics, or the planner nests loops over them.
      if (n > 5000) await client.query(`ANALYZE ${stage}`);
    }

    // A snapshot row whose key now belongs to another wedding would be moved out of it: refuse.
    for (const t of options.tables) {
      const wc = t.table.weddingColumn;
      if (t.weddings === 'all' || !wc || !t.table.primaryKey.length || t.table.primaryKey.includes(wc)) continue;
      const { rows } = await client.query<{ k: string }>(
        `SELECT ROW(${cols(t.table.primaryKey, 't')})::text AS k FROM ${quoteQualified(t.table.qualified)} t JOIN ${stages.get(t.table.qualified)} s ON ${keyJoin(t.table.primaryKey, 't', 's')}
          WHERE t.${quoteIdent(wc)} IS DISTINCT FROM s.${quoteIdent(wc)} LIMIT 1`,
      );
      if (rows.length) {
        throw new WedsyncError('CONFLICT', `a row of ${t.table.qualified} in the snapshot (key ${rows[0]!.k}) now belongs to another wedding; restoring it would change that wedding — nothing was changed`);
      }
    }

    const changes = new Map<string, TableChanges>(options.tables.map((t) => [t.table.qualified, { table: t.table.qualified, dataType: t.table.dataType, inserted: 0, updated: 0, deleted: 0 }]));
    const scopeWhere = (t: ApplyTable, alias: string): { sql: string; params: unknown[] } =>
      t.weddings === 'all' || !t.table.weddingColumn ? { sql: 'true', params: [] } : { sql: `${alias}.${quoteIdent(t.table.weddingColumn)} = ANY($1)`, params: [t.weddings] };

    // Deletes, children first.
    for (const t of [...options.tables].reverse()) {
      const stage = stages.get(t.table.qualified)!;
      const where = scopeWhere(t, 't');
      const pk = t.table.primaryKey;
      const sql = pk.length
        ? `DELETE FROM ${quoteQualified(t.table.qualified)} t WHERE ${where.sql} AND NOT EXISTS (SELECT 1 FROM ${stage} s WHERE ${keyJoin(pk, 's', 't')})`
        : `DELETE FROM ${quoteQualified(t.table.qualified)} t WHERE ${where.sql}`; // no key: replaced whole
      changes.get(t.table.qualified)!.deleted = (await client.query(sql, where.params)).rowCount ?? 0;
    }

    // Updates and inserts, parents first.
    let done = 0;
    for (const t of options.tables) {
      const stage = stages.get(t.table.qualified)!;
      const where = scopeWhere(t, 't');
      const pk = t.table.primaryKey;
      const writable = t.table.columns.map((c) => c.name).filter((c) => !t.columns.generated.has(c));
      const settable = writable.filter((c) => !pk.includes(c) && !t.columns.identityAlways.has(c));
      const target = quoteQualified(t.table.qualified);
      const c = changes.get(t.table.qualified)!;
      if (pk.length && settable.length) {
        c.updated =
          (
            await client.query(
              `UPDATE ${target} t SET ${settable.map((n) => `${quoteIdent(n)} = s.${quoteIdent(n)}`).join(', ')} FROM ${stage} s
                WHERE ${keyJoin(pk, 't', 's')} AND ${where.sql} AND ${asText(settable, 't')} IS DISTINCT FROM ${asText(settable, 's')}`,
              where.params,
            )
          ).rowCount ?? 0;
      }
      const overriding = t.columns.identityAlways.size ? ' OVERRIDING SYSTEM VALUE' : '';
      c.inserted =
        (
          await client.query(
            `INSERT INTO ${target} (${cols(writable)})${overriding} SELECT ${cols(writable, 's')} FROM ${stage} s${pk.length ? ` WHERE NOT EXISTS (SELECT 1 FROM ${target} t WHERE ${keyJoin(pk, 't', 's')})` : ''}`,
          )
        ).rowCount ?? 0;
      options.onPhase?.('apply', ++done, total);
    }
    const sequencesAdvanced = await advanceSequences(client, options.tables.map((t) => t.table.qualified));
    await options.afterMerge?.();

    options.onPhase?.('verify', 0, total);
    const held = options.tables.filter((t) => !t.stream);
    const verification = await verifyRows(client, held, { onTable: (n) => options.onPhase?.('verify', n, total) });
    for (const t of options.tables.filter((x) => x.stream)) {
      mergeVerification(verification, await verifyAgainstStage(client, t, stages.get(t.table.qualified)!));
      options.onPhase?.('verify', verification.checked, total);
    }
    if (!verification.ok) throw verificationError(verification);

    await options.beforeCommit?.();
    const result = { changes: [...changes.values()], verification, sequencesAdvanced };
    if (options.commitStatement) await client.query(options.commitStatement(result));
    options.onPhase?.('commit', total, total);
    return result;
  });
}
