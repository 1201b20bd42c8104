import type pg from 'pg';
import type { TableInfo } from './introspect.js';

/**
 * What changed since a previous snapshot, read from the change journal (migration 003) inside
 * the current backup's snapshot: journal rows whose transaction the previous snapshot could not
 * see. Tables without journal triggers cannot be tracked and are reported as wholly changed.
 */
export interface ChangeSet {
  /** Qualified table → wedding ids changed, or 'all' when any row may have changed. */
  tables: Map<string, Set<string> | 'all'>;
}

export async function hasChangeJournal(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(`SELECT to_regclass('wedsync_change_journal') IS NOT NULL AS ok`);
  return rows[0]?.ok ?? false;
}

export async function changesSince(client: pg.ClientBase, previousSnapshot: string, tables: TableInfo[]): Promise<ChangeSet> {
  const result: ChangeSet = { tables: new Map() };
  const { rows: tracked } = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE t.tgname = 'wedsync_journal' AND NOT t.tgisinternal AND t.tgenabled <> 'D'`,
  );
  const trackedSet = new Set(tracked.map((t) => `${t.schema}.${t.name}`));
  for (const t of tables) if (!trackedSet.has(t.qualified)) result.tables.set(t.qualified, 'all');

  const { rows } = await client.query<{ table_name: string; ids: string[] | null; whole: boolean }>(
    `SELECT table_name, array_agg(DISTINCT wedding_id::text) FILTER (WHERE wedding_id IS NOT NULL) AS ids, bool_or(wedding_id IS NULL) AS whole
       FROM wedsync_change_journal
      WHERE xid >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(xid, $1::pg_snapshot)
      GROUP BY table_name`,
    [previousSnapshot],
  );
  for (const r of rows) {
    // The journal stores TG_TABLE_NAME (unqualified): it applies to every backed-up table of that name.
    for (const t of tables.filter((t) => t.name === r.table_name)) {
      if (result.tables.get(t.qualified) === 'all') continue;
      if (r.whole) {
        result.tables.set(t.qualified, 'all');
        continue;
      }
      const set = (result.tables.get(t.qualified) as Set<string> | undefined) ?? new Set<string>();
      for (const id of r.ids ?? []) set.add(id);
      result.tables.set(t.qualified, set);
    }
  }
  return result;
}
