import type pg from 'pg';

/**
 * What a transaction created in a database, so that it can be dropped again: a restore into an
 * empty database commits the recorded schema (tables, but also whatever else the schema holds —
 * functions, types, sequences, schemas, views…) before loading rows on several connections, and
 * a failure after that must leave the database as it was.
 *
 * How: every catalog row a transaction writes carries its transaction id (xmin). Before the DDL,
 * `catalogObjects` lists the objects that exist; after it, still inside the same transaction,
 * `createdInTransaction` lists the catalog rows this transaction wrote minus those that existed
 * (a GRANT on an existing schema rewrites its row, but did not create it), and minus the objects
 * that go with another one (a table's row type and indexes, an array type, a trigger on a created
 * table, an extension's members): dropping the owner drops them. `dropObjects` drops the rest,
 * relations first and schemas last, each `IF EXISTS … CASCADE`, so the order cannot fail.
 */

/** The catalogs whose rows are objects a schema script creates (in the current database). */
const CATALOGS = [
  'pg_namespace',
  'pg_class',
  'pg_type',
  'pg_proc',
  'pg_collation',
  'pg_conversion',
  'pg_operator',
  'pg_opfamily',
  'pg_opclass',
  'pg_cast',
  'pg_language',
  'pg_extension',
  'pg_event_trigger',
  'pg_foreign_data_wrapper',
  'pg_foreign_server',
  'pg_publication',
  'pg_statistic_ext',
  'pg_ts_config',
  'pg_ts_dict',
  'pg_ts_parser',
  'pg_ts_template',
  'pg_trigger',
  'pg_policy',
  'pg_rewrite',
  'pg_constraint',
  'pg_attrdef',
  'pg_transform',
  'pg_am',
] as const;

/** Existing objects: catalog (its oid) → object oids. */
export type CatalogObjects = Map<number, Set<number>>;

export interface CreatedObject {
  /** pg_identify_object's type, e.g. "table", "function", "schema". */
  type: string;
  /** pg_identify_object's identity, quoted as DROP takes it: `public.f()`, `tr on public.t`. */
  identity: string;
  /** Drop order: relations 0, other objects 1, schemas 2. */
  rank: number;
}

/** Every object of CATALOGS in the current database: one row per catalog. */
export async function catalogObjects(client: pg.ClientBase): Promise<CatalogObjects> {
  // One string per catalog, split here: parsing a few thousand oids as a PostgreSQL array costs
  // tens of milliseconds on the client, and this runs before the first row is loaded.
  const sql = CATALOGS.map((c) => `SELECT '${c}'::regclass::oid::int AS c, (SELECT string_agg(oid::text, ',') FROM ${c}) AS o`).join(' UNION ALL ');
  const { rows } = await client.query<{ c: number; o: string | null }>(sql);
  return new Map(rows.map((r) => [r.c, new Set(r.o ? r.o.split(',').map(Number) : [])]));
}

/**
 * Objects the current transaction created (not merely changed), without those that go with
 * another object. Call inside the transaction, after the DDL; `before` from catalogObjects,
 * taken before the DDL.
 */
export async function createdInTransaction(client: pg.ClientBase, before: CatalogObjects): Promise<CreatedObject[]> {
  const candidates = CATALOGS.map((c) => `SELECT '${c}'::regclass::oid AS classid, oid AS objid FROM ${c} WHERE xmin = pg_current_xact_id()::xid`).join(' UNION ALL ');
  // Objects that depend internally (i), automatically (a: a trigger, index or constraint on its
  // table) or as extension members (e) on another object go with it — when that one is dropped
  // too. An 'a' dependency on an object that stays (a trigger on an existing table) does not.
  const { rows } = await client.query<{ classid: number; objid: number; type: string; identity: string; owners: Array<{ c: number; o: number; t: string }> | null }>(
    `SELECT k.classid::int, k.objid::int, i.type, i.identity,
            (SELECT json_agg(json_build_object('c', d.refclassid::int, 'o', d.refobjid::int, 't', d.deptype)) FROM pg_depend d
              WHERE d.classid = k.classid AND d.objid = k.objid AND d.deptype IN ('i', 'a', 'e')) AS owners
       FROM (${candidates}) k, LATERAL pg_identify_object(k.classid, k.objid, 0) i`,
  );
  const created = rows.filter((r) => !before.get(r.classid)?.has(r.objid));
  const ids = new Set(created.map((r) => `${r.classid}/${r.objid}`));
  return created
    .filter((r) => !(r.owners ?? []).some((d) => d.t !== 'a' || ids.has(`${d.c}/${d.o}`)))
    .map((r) => ({ type: r.type, identity: r.identity, rank: r.type === 'schema' ? 2 : RELATIONS.has(r.type) ? 0 : 1 }));
}

const RELATIONS = new Set(['table', 'view', 'materialized view', 'foreign table', 'sequence']);

/** Types pg_identify_object names differently from DROP. */
const DROP_KEYWORD: Record<string, string> = {
  'foreign-data wrapper': 'FOREIGN DATA WRAPPER',
  'table constraint': '',
  'domain constraint': '',
  'default value': '',
  'composite type': 'TYPE',
};

/** DROP … IF EXISTS … CASCADE of each object, relations first, schemas last. */
export function dropStatements(objects: CreatedObject[]): string[] {
  return [...objects]
    .sort((a, b) => a.rank - b.rank)
    .map((o) => {
      const keyword = o.type in DROP_KEYWORD ? DROP_KEYWORD[o.type]! : o.type.toUpperCase();
      return keyword ? `DROP ${keyword} IF EXISTS ${o.identity} CASCADE` : '';
    })
    .filter(Boolean);
}

/**
 * Drops the objects (dropStatements), each on its own: one that cannot be dropped does not keep
 * the others. Returns the errors (statement: message), empty when everything went.
 */
export async function dropObjects(client: pg.ClientBase, objects: CreatedObject[]): Promise<string[]> {
  const errors: string[] = [];
  for (const stmt of dropStatements(objects)) {
    await client.query(stmt).catch((err: unknown) => errors.push(`${stmt}: ${(err as Error).message}`));
  }
  return errors;
}
