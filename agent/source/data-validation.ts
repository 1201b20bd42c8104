import type pg from 'pg';
import { WedsyncError } from '../contract/errors.js';
import type { SchemaMap } from '../contract/schema-map.js';
import type { GuestRecord, TimelineRecord, WeddingData } from '../core/validation-rules.js';
import { connect, databaseError } from './db.js';
import { quoteIdent as q, quoteQualified as qq } from './introspect.js';
import { photoRows, type PhotoRow } from './weddings.js';

/**
 * The live wedding data as performDataValidation reads it: per wedding its row, guests,
 * timeline (with the wedding of each referenced vendor) and counts, plus the photo rows that
 * should have a file. Tables come from the schema map (by data type); the columns the rules
 * read are the sample schema's (COLUMNS below) — a database without one is refused with
 * BAD_INPUT naming it, rather than half-checked.
 *
 * Guarantee: everything one source returns comes from one consistent snapshot (a read-only
 * REPEATABLE READ transaction held until close()), so a report never mixes two moments.
 */

export const COLUMNS = {
  weddings: { coupleNames: 'couple_names', type: 'type' },
  guests: { id: 'id', firstName: 'first_name', lastName: 'last_name', email: 'email', tableNumber: 'table_number' },
  timeline: { id: 'id', title: 'title', location: 'location', startsAt: 'starts_at', endsAt: 'ends_at', vendorId: 'vendor_id' },
  vendors: { id: 'id' },
  photos: { id: 'id' },
} as const;

export interface ValidationTables {
  weddings: string;
  guests: string;
  timeline: string;
  vendors: string;
  photos: string;
}

export interface WeddingDataSource {
  readonly tables: ValidationTables;
  /** Every wedding id (sorted), or those of `only` that exist. */
  weddingIds(only?: string[]): Promise<string[]>;
  /** The records of these weddings, in the order given (unknown ids are skipped). */
  load(weddingIds: string[]): Promise<WeddingData[]>;
  /** Photo rows with a sha256 (their file should be in the photo store). */
  photos(weddingIds: string[]): Promise<PhotoRow[]>;
  close(): Promise<void>;
}

function tableFor(map: SchemaMap, dataType: 'guests' | 'timeline' | 'vendors' | 'photos'): string {
  const t = map.tables.find((x) => x.dataType === dataType);
  if (!t) throw new WedsyncError('BAD_INPUT', `data validation needs a ${dataType} table in the schema map`);
  return t.table;
}

export async function openWeddingDataSource(url: string, map: SchemaMap): Promise<WeddingDataSource> {
  const tables: ValidationTables = {
    weddings: map.weddings.table,
    guests: tableFor(map, 'guests'),
    timeline: tableFor(map, 'timeline'),
    vendors: tableFor(map, 'vendors'),
    photos: tableFor(map, 'photos'),
  };
  const wcol = (table: string) => map.tables.find((t) => t.table === table)!.weddingColumn;
  const client: pg.Client = await connect(url, { applicationName: 'wedsync-backup validate-data' });
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw databaseError(err, url);
    }
  };
  try {
    await run(() => client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'));
    await requireColumns(client, tables, map);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err instanceof WedsyncError ? err : databaseError(err, url);
  }

  const w = map.weddings;
  const g = COLUMNS.guests;
  const t = COLUMNS.timeline;
  return {
    tables,
    weddingIds: (only) =>
      run(async () => {
        const { rows } = await client.query<{ id: string }>(
          `SELECT ${q(w.idColumn)}::text AS id FROM ${qq(tables.weddings)}${only ? ` WHERE ${q(w.idColumn)} = ANY($1::uuid[])` : ''} ORDER BY 1`,
          only ? [only] : [],
        );
        return rows.map((r) => r.id);
      }),
    load: (ids) =>
      run(async () => {
        const byId = new Map<string, WeddingData>();
        const weddings = await client.query<{ id: string; couple: string | null; date: string | null; type: string | null }>(
          `SELECT ${q(w.idColumn)}::text AS id, ${q(COLUMNS.weddings.coupleNames)} AS couple, ${q(w.dateColumn)}::text AS date, ${q(COLUMNS.weddings.type)}::text AS type
             FROM ${qq(tables.weddings)} WHERE ${q(w.idColumn)} = ANY($1::uuid[])`,
          [ids],
        );
        for (const r of weddings.rows) {
          byId.set(r.id, { wedding: { id: r.id, coupleNames: r.couple, weddingDate: r.date, type: r.type }, guests: [], timeline: [], vendorCount: 0, photoCount: 0 });
        }
        const guests = await client.query<GuestRecord & { weddingId: string }>(
          `SELECT ${q(g.id)}::text AS id, ${q(wcol(tables.guests))}::text AS "weddingId", ${q(g.firstName)} AS "firstName", ${q(g.lastName)} AS "lastName",
                  ${q(g.email)} AS email, ${q(g.tableNumber)}::float8 AS "tableNumber"
             FROM ${qq(tables.guests)} WHERE ${q(wcol(tables.guests))} = ANY($1::uuid[]) ORDER BY 2, 1`,
          [ids],
        );
        for (const { weddingId, ...guest } of guests.rows) byId.get(weddingId)?.guests.push(guest);
        const vendorId = q(COLUMNS.vendors.id);
        const events = await client.query<TimelineRecord & { weddingId: string }>(
          `SELECT e.${q(t.id)}::text AS id, e.${q(wcol(tables.timeline))}::text AS "weddingId", e.${q(t.title)}::text AS title, e.${q(t.location)}::text AS location,
                  (extract(epoch FROM e.${q(t.startsAt)}) * 1000)::float8 AS "startsAt", (extract(epoch FROM e.${q(t.endsAt)}) * 1000)::float8 AS "endsAt",
                  e.${q(t.vendorId)}::text AS "vendorId", v.${q(wcol(tables.vendors))}::text AS "vendorWeddingId"
             FROM ${qq(tables.timeline)} e LEFT JOIN ${qq(tables.vendors)} v ON v.${vendorId} = e.${q(t.vendorId)}
            WHERE e.${q(wcol(tables.timeline))} = ANY($1::uuid[]) ORDER BY 2, 1`,
          [ids],
        );
        for (const { weddingId, ...event } of events.rows) byId.get(weddingId)?.timeline.push(event);
        for (const [table, field] of [
          [tables.vendors, 'vendorCount'],
          [tables.photos, 'photoCount'],
        ] as const) {
          const counts = await client.query<{ id: string; n: number }>(
            `SELECT ${q(wcol(table))}::text AS id, count(*)::int AS n FROM ${qq(table)} WHERE ${q(wcol(table))} = ANY($1::uuid[]) GROUP BY 1`,
            [ids],
          );
          for (const r of counts.rows) {
            const d = byId.get(r.id);
            if (d) d[field] = r.n;
          }
        }
        return ids.map((id) => byId.get(id)).filter((d): d is WeddingData => d !== undefined);
      }),
    photos: (ids) => run(() => photoRows(client, map, ids)),
    close: async () => {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** BAD_INPUT naming the first column the rules read that the database lacks. */
async function requireColumns(client: pg.Client, tables: ValidationTables, map: SchemaMap): Promise<void> {
  const needed: Array<[string, string]> = [
    [tables.weddings, map.weddings.idColumn],
    [tables.weddings, map.weddings.dateColumn],
    ...Object.values(COLUMNS.weddings).map((c): [string, string] => [tables.weddings, c]),
    ...Object.values(COLUMNS.guests).map((c): [string, string] => [tables.guests, c]),
    ...Object.values(COLUMNS.timeline).map((c): [string, string] => [tables.timeline, c]),
    ...Object.values(COLUMNS.vendors).map((c): [string, string] => [tables.vendors, c]),
  ];
  const { rows } = await client.query<{ t: string; c: string }>(
    `SELECT table_schema || '.' || table_name AS t, column_name AS c FROM information_schema.columns
      WHERE table_schema || '.' || table_name = ANY($1::text[])`,
    [[...new Set(needed.map(([table]) => table))]],
  );
  const have = new Set(rows.map((r) => `${r.t}.${r.c}`));
  for (const [table, column] of needed) {
    if (!have.has(`${table}.${column}`)) {
      throw new WedsyncError('BAD_INPUT', `data validation reads column ${column} of ${table}, which this database does not have`, { details: { table, column } });
    }
  }
}
