import type pg from 'pg';
import type { SchemaMap } from '../contract/schema-map.js';

/**
 * Reads the shape of the backed-up schemas from pg_catalog: tables, columns, keys, and the DDL
 * that recreates them in an empty database. Runs inside the backup's snapshot transaction so
 * the shape matches the rows.
 */
export interface ColumnInfo {
  name: string;
  type: string;
  nullable: boolean;
}

export interface TableInfo {
  schema: string;
  name: string;
  /** "schema.name", unquoted: the key used in manifests and the schema map. */
  qualified: string;
  columns: ColumnInfo[];
  /** Primary key columns, or every column when the table has none (for a stable order). */
  orderBy: string[];
  primaryKey: string[];
  /** Rough row count from pg_class, for scheduling work (biggest first). */
  estimatedRows: number;
}

export interface SequenceInfo {
  schema: string;
  name: string;
  value: string;
  isCalled: boolean;
}

export interface SchemaInfo {
  tables: TableInfo[];
  sequences: SequenceInfo[];
  /** DDL to run before loading rows: schemas, types, sequences, tables, PK/UNIQUE/CHECK. */
  preDataSql: string;
  /** DDL to run after loading rows: secondary indexes, foreign keys, sequence ownership. */
  postDataSql: string;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteQualified(qualified: string): string {
  const dot = qualified.indexOf('.');
  return `${quoteIdent(qualified.slice(0, dot))}.${quoteIdent(qualified.slice(dot + 1))}`;
}

export async function introspect(client: pg.Client, map: SchemaMap): Promise<SchemaInfo> {
  const schemas = map.schemas;
  const excluded = new Set(map.exclude);

  const { rows: tableRows } = await client.query<{ oid: number; schema: string; name: string; est: string }>(
    `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, greatest(c.reltuples, 0)::bigint::text AS est
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1) AND NOT c.relispartition
      ORDER BY n.nspname, c.relname`,
    [schemas],
  );
  const tables = tableRows.filter((t) => !excluded.has(`${t.schema}.${t.name}`));
  const oids = tables.map((t) => t.oid);

  const { rows: colRows } = await client.query<{ oid: number; name: string; type: string; notnull: boolean; def: string | null; identity: string; generated: string }>(
    `SELECT a.attrelid::int AS oid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
            pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity AS identity, a.attgenerated AS generated
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [oids],
  );
  const { rows: conRows } = await client.query<{ oid: number; name: string; type: string; def: string; cols: string[] | null }>(
    `SELECT c.conrelid::int AS oid, c.conname AS name, c.contype AS type, pg_get_constraintdef(c.oid) AS def,
            (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS cols
       FROM pg_constraint c WHERE c.conrelid = ANY($1) ORDER BY c.conrelid, c.contype, c.conname`,
    [oids],
  );
  const { rows: idxRows } = await client.query<{ oid: number; def: string }>(
    `SELECT i.indrelid::int AS oid, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i WHERE i.indrelid = ANY($1)
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p','u','x'))
      ORDER BY i.indrelid, i.indexrelid`,
    [oids],
  );
  const { rows: enumRows } = await client.query<{ schema: string; name: string; labels: string[] }>(
    `SELECT n.nspname AS schema, t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
      WHERE n.nspname = ANY($1) GROUP BY n.nspname, t.typname ORDER BY 1, 2`,
    [schemas],
  );
  const { rows: seqRows } = await client.query<{ schema: string; name: string; oid: number; start: string; inc: string; min: string; max: string; cache: string; cycle: boolean; type: string; owner_table: string | null; owner_col: string | null; owner_schema: string | null; identity: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.oid::int AS oid, s.seqstart::text AS start, s.seqincrement::text AS inc,
            s.seqmin::text AS min, s.seqmax::text AS max, s.seqcache::text AS cache, s.seqcycle AS cycle, format_type(s.seqtypid, NULL) AS type,
            tc.relname AS owner_table, a.attname AS owner_col, tn.nspname AS owner_schema, coalesce(d.deptype = 'i', false) AS identity
       FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_depend d ON d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
       LEFT JOIN pg_class tc ON tc.oid = d.refobjid LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
      WHERE n.nspname = ANY($1) ORDER BY 1, 2`,
    [schemas],
  );
  const sequences: SequenceInfo[] = [];
  for (const s of seqRows) {
    // Sequence values are read here, inside the snapshot; they are not transactional, so a
    // concurrent nextval may run ahead — restore sets them to max(value, max(column)).
    const { rows } = await client.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text, is_called FROM ${quoteIdent(s.schema)}.${quoteIdent(s.name)}`);
    sequences.push({ schema: s.schema, name: s.name, value: rows[0]?.last_value ?? s.start, isCalled: rows[0]?.is_called ?? false });
  }

  const pre: string[] = schemas.map((s) => `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s)};`);
  for (const e of enumRows) {
    pre.push(`CREATE TYPE ${quoteIdent(e.schema)}.${quoteIdent(e.name)} AS ENUM (${e.labels.map((l) => `'${l.replace(/'/g, "''")}'`).join(', ')});`);
  }
  for (const s of seqRows.filter((s) => !s.identity)) {
    pre.push(
      `CREATE SEQUENCE ${quoteIdent(s.schema)}.${quoteIdent(s.name)} AS ${s.type} INCREMENT BY ${s.inc} MINVALUE ${s.min} MAXVALUE ${s.max} START WITH ${s.start} CACHE ${s.cache}${s.cycle ? ' CYCLE' : ''};`,
    );
  }
  const post: string[] = [];
  const infos: TableInfo[] = [];
  for (const t of tables) {
    const qualified = `${t.schema}.${t.name}`;
    const target = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
    const cols = colRows.filter((c) => c.oid === t.oid);
    const cons = conRows.filter((c) => c.oid === t.oid);
    const pk = cons.find((c) => c.type === 'p')?.cols ?? [];
    const colDefs = cols.map((c) => {
      let def = `${quoteIdent(c.name)} ${c.type}`;
      if (c.identity === 'a') def += ' GENERATED ALWAYS AS IDENTITY';
      else if (c.identity === 'd') def += ' GENERATED BY DEFAULT AS IDENTITY';
      else if (c.generated === 's' && c.def) def += ` GENERATED ALWAYS AS (${c.def}) STORED`;
      else if (c.def) def += ` DEFAULT ${c.def}`;
      if (c.notnull) def += ' NOT NULL';
      return def;
    });
    const inline = cons.filter((c) => c.type === 'p' || c.type === 'u' || c.type === 'c' || c.type === 'x').map((c) => `CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
    pre.push(`CREATE TABLE ${target} (\n  ${[...colDefs, ...inline].join(',\n  ')}\n);`);
    for (const i of idxRows.filter((i) => i.oid === t.oid)) post.push(`${i.def};`);
    for (const c of cons.filter((c) => c.type === 'f')) post.push(`ALTER TABLE ${target} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def};`);
    infos.push({
      schema: t.schema,
      name: t.name,
      qualified,
      columns: cols.map((c) => ({ name: c.name, type: c.type, nullable: !c.notnull })),
      primaryKey: pk,
      orderBy: pk.length ? pk : cols.map((c) => c.name),
      estimatedRows: Number(t.est),
    });
  }
  for (const s of seqRows.filter((s) => !s.identity && s.owner_table && s.owner_col && s.owner_schema)) {
    if (excluded.has(`${s.owner_schema}.${s.owner_table}`)) continue;
    post.push(`ALTER SEQUENCE ${quoteIdent(s.schema)}.${quoteIdent(s.name)} OWNED BY ${quoteIdent(s.owner_schema!)}.${quoteIdent(s.owner_table!)}.${quoteIdent(s.owner_col!)};`);
  }
  return { tables: infos, sequences, preDataSql: pre.join('\n'), postDataSql: post.join('\n') };
}
