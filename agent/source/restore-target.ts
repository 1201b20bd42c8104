import type pg from 'pg';
import { WedsyncError } from '../contract/errors.js';
import type { PlanTable } from '../core/restore-plan.js';
import { connect, databaseError, describeDatabase, withClient } from './db.js';
import { quoteIdent, quoteQualified } from './introspect.js';
import { applySettings, type SessionSettings } from './restore-copy.js';
import { restoreIntoEmpty, type EmptyRestoreOptions } from './restore-empty.js';
import { forEachWeddingBatch, readRows } from './restore-rows.js';
import { applyRestore, type ApplyOptions, type ApplyResult, type TargetColumns } from './restore-writer.js';

/**
 * The database a restore writes into (the live wedding database, or another one named by
 * --target-url), as the restore job sees it: what exists there, its rows in scope, and the two
 * writers. One connection; every method maps driver errors to typed ones.
 */
export interface RestoreTarget {
  readonly url: string;
  /** host:port/db, never the password. */
  readonly description: string;
  /** Which of these qualified tables exist. */
  existingTables(tables: string[]): Promise<Set<string>>;
  /** Which of these weddings have their row. */
  existingWeddings(weddingsTable: { table: string; idColumn: string }, ids: string[]): Promise<Set<string>>;
  /** Foreign keys between tables (qualified names): child → parent. */
  foreignKeys(): Promise<Array<{ child: string; parent: string }>>;
  /**
   * The target's columns of each table; BAD_INPUT when a table or a snapshot column is missing
   * (the schema changed since the snapshot).
   */
  columns(tables: PlanTable[]): Promise<Map<string, TargetColumns>>;
  /** Rows in scope now, per wedding key (see restore-rows.ts). */
  readRows(table: PlanTable, weddings: string[] | 'all'): Promise<Map<string, Buffer>>;
  /** A whole table's rows a batch of weddings at a time (restore-rows.ts forEachWeddingBatch). */
  forEachWeddingBatch(table: PlanTable, extraKeys: Iterable<string>, onBatch: (keys: string[], rows: Map<string, Buffer>) => Promise<void>): Promise<void>;
  /** Merge into existing tables, one transaction (restore-writer.ts). */
  apply(options: ApplyOptions): Promise<ApplyResult>;
  /** Schema and rows into an empty database, tables in parallel, dropped again on failure (restore-empty.ts). */
  restoreIntoEmpty(options: EmptyRestoreOptions): Promise<ApplyResult>;
  close(): Promise<void>;
}

/**
 * Session settings that decide how values print as text (timestamps, intervals, floats, bytea):
 * restore compares rows as text, so a target database configured otherwise (another TimeZone,
 * say) must print them as the database the snapshot came from does.
 */
const FORMAT_SETTINGS = ['DateStyle', 'IntervalStyle', 'TimeZone', 'extra_float_digits', 'bytea_output'];

/**
 * Opens the target. `settingsFrom`: another database (the live one, where snapshots come from)
 * whose text-format settings this session copies — for restores into another database.
 */
export async function openRestoreTarget(url: string, settingsFrom?: string): Promise<RestoreTarget> {
  // The live database's settings and the target's connection at once: two handshakes, one wait.
  const reading: Promise<SessionSettings> =
    settingsFrom && settingsFrom !== url
      ? withClient(settingsFrom, async (c) => {
          const { rows } = await c.query<{ name: string; value: string }>(`SELECT name, current_setting(name) AS value FROM unnest($1::text[]) AS name`, [FORMAT_SETTINGS]);
          return rows.map((r): [string, string] => [r.name, r.value]);
        })
      : Promise.resolve([]);
  const [read, connected] = await Promise.allSettled([reading, connect(url, { applicationName: 'wedsync-backup restore' })]);
  if (read.status === 'rejected' || connected.status === 'rejected') {
    if (connected.status === 'fulfilled') await connected.value.end().catch(() => undefined);
    throw read.status === 'rejected' ? read.reason : (connected as PromiseRejectedResult).reason;
  }
  const settings = read.value;
  const client: pg.Client = connected.value;
  try {
    await applySettings(client, settings);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw databaseError(err, url);
  }
  const wrap = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw databaseError(err, url);
    }
  };
  const description = describeDatabase(url);
  return {
    url,
    description,
    existingTables: (tables) =>
      wrap(async () => {
        const { rows } = await client.query<{ t: string }>(
          `SELECT n.nspname || '.' || c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname = ANY($1)`,
          [tables],
        );
        return new Set(rows.map((r) => r.t));
      }),
    existingWeddings: (w, ids) =>
      wrap(async () => {
        if (!ids.length) return new Set<string>();
        const { rows } = await client.query<{ id: string }>(`SELECT ${quoteIdent(w.idColumn)}::text AS id FROM ${quoteQualified(w.table)} WHERE ${quoteIdent(w.idColumn)} = ANY($1)`, [ids]);
        return new Set(rows.map((r) => r.id));
      }),
    foreignKeys: () =>
      wrap(async () => {
        const { rows } = await client.query<{ child: string; parent: string }>(
          `SELECT cn.nspname || '.' || c.relname AS child, pn.nspname || '.' || p.relname AS parent
             FROM pg_constraint k
             JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
             JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
            WHERE k.contype = 'f'`,
        );
        return rows;
      }),
    columns: (tables) =>
      wrap(async () => {
        const { rows } = await client.query<{ t: string; name: string; generated: string; identity: string }>(
          `SELECT n.nspname || '.' || c.relname AS t, a.attname AS name, a.attgenerated AS generated, a.attidentity AS identity
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname || '.' || c.relname = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped`,
          [tables.map((t) => t.qualified)],
        );
        const out = new Map<string, TargetColumns>();
        for (const r of rows) {
          let c = out.get(r.t);
          if (!c) out.set(r.t, (c = { names: new Set(), generated: new Set(), identityAlways: new Set() }));
          c.names.add(r.name);
          if (r.generated === 's') c.generated.add(r.name);
          if (r.identity === 'a') c.identityAlways.add(r.name);
        }
        for (const t of tables) {
          const have = out.get(t.qualified);
          if (!have) throw new WedsyncError('BAD_INPUT', `table ${t.qualified} of the snapshot does not exist in the database at ${description}: restore into an empty database with --target-url`);
          const missing = t.columns.filter((c) => !have.names.has(c.name)).map((c) => c.name);
          if (missing.length) {
            throw new WedsyncError('BAD_INPUT', `table ${t.qualified} at ${description} has no column ${missing.join(', ')}, which the snapshot has: the schema changed since; restore into an empty database with --target-url`);
          }
        }
        return out;
      }),
    readRows: (table, weddings) => wrap(() => readRows(client, table, weddings)),
    forEachWeddingBatch: (table, extraKeys, onBatch) => wrap(() => forEachWeddingBatch(client, table, extraKeys, onBatch)),
    apply: (options) => applyRestore(client, url, options),
    restoreIntoEmpty: (options) => restoreIntoEmpty(client, url, options, settings),
    close: () => client.end().catch(() => undefined),
  };
}
