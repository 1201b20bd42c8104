/**
 * Splits a snapshot's DDL for loading an empty database the fast way (as pg_restore does): tables
 * are created without their primary key / unique / exclusion constraints, rows are loaded, then
 * each table's keys and secondary indexes are built once over the loaded rows (in parallel across
 * tables), and only then foreign keys and the rest of the post-data DDL.
 *
 * Reads the DDL as agent/source/introspect.ts writes it: one statement per line group ending in
 * ";\n", CREATE TABLE items joined by ",\n  ", inline constraints as `CONSTRAINT "name" <def>`,
 * indexes as pg_get_indexdef prints them. Anything it does not recognise stays where it was
 * (pre-data or the serial post-data), so an unusual statement costs speed, never correctness.
 */
export interface RestoreDdl {
  /** Schemas, types, sequences, tables without key constraints. */
  preData: string;
  /** Qualified table → statements to run once its rows are in: key constraints, then indexes. */
  perTable: Map<string, string[]>;
  /** Foreign keys, sequence ownership and anything unrecognised, after every table is loaded. */
  postData: string[];
}

/** `"public"."guests"` or `public.guests` → `public.guests` (simple identifiers only; null otherwise). */
export function unquoteQualified(ref: string): string | null {
  const m = /^(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))\.(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))$/.exec(ref);
  if (!m) return null;
  const schema = m[1]?.replace(/""/g, '"') ?? m[2]!;
  const name = m[3]?.replace(/""/g, '"') ?? m[4]!;
  return `${schema}.${name}`;
}

/** Statements of a DDL script written one per line group, each ending in ";" at a line end. */
export function statements(sql: string): string[] {
  return sql
    .split(/;\n/)
    .map((s) => s.trim().replace(/;$/, ''))
    .filter(Boolean)
    .map((s) => `${s};`);
}

const KEY_CONSTRAINT = /^ {2}CONSTRAINT ("(?:[^"]|"")+") ((?:PRIMARY KEY|UNIQUE|EXCLUDE)\b.*?),?$/;

export function splitRestoreDdl(preDataSql: string, postDataSql: string, tables: string[]): RestoreDdl {
  const known = new Set(tables);
  const perTable = new Map<string, string[]>(tables.map((t) => [t, []]));
  const pre: string[] = [];
  for (const stmt of statements(preDataSql)) {
    const head = /^CREATE TABLE (\S+) \(\n/.exec(stmt);
    const table = head ? unquoteQualified(head[1]!) : null;
    if (!head || !table || !known.has(table)) {
      pre.push(stmt);
      continue;
    }
    const lines = stmt.split('\n');
    const kept: string[] = [];
    for (const line of lines) {
      const m = KEY_CONSTRAINT.exec(line);
      if (m) perTable.get(table)!.push(`ALTER TABLE ${head[1]} ADD CONSTRAINT ${m[1]} ${m[2]};`);
      else kept.push(line);
    }
    // The item before ");" must not keep a trailing comma once the constraints after it are gone.
    const close = kept.length - 1;
    if (close >= 1) kept[close - 1] = kept[close - 1]!.replace(/,$/, '');
    pre.push(kept.join('\n'));
  }
  const post: string[] = [];
  for (const stmt of statements(postDataSql)) {
    const m = /^CREATE (?:UNIQUE )?INDEX (?:"(?:[^"]|"")+"|\S+) ON (?:ONLY )?(\S+) USING /.exec(stmt);
    const table = m ? unquoteQualified(m[1]!) : null;
    if (table && known.has(table)) perTable.get(table)!.push(stmt);
    else post.push(stmt);
  }
  return { preData: pre.join('\n'), perTable, postData: post };
}
