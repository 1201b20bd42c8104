import type pg from 'pg';
import type { SchemaMap } from '../contract/schema-map.js';
import { quoteIdent, quoteQualified } from './introspect.js';

/** Facts about weddings from the live database (or a snapshot transaction), by the schema map. */
export interface WeddingFacts {
  weddingId: string;
  organizationId: string | null;
  weddingDate: string | null;
}

export async function weddingFacts(client: pg.ClientBase, map: SchemaMap, ids?: string[]): Promise<Map<string, WeddingFacts>> {
  const w = map.weddings;
  const org = w.organizationColumn ? `${quoteIdent(w.organizationColumn)}::text` : 'NULL';
  const { rows } = await client.query<{ id: string; org: string | null; date: string | null }>(
    `SELECT ${quoteIdent(w.idColumn)}::text AS id, ${org} AS org, ${quoteIdent(w.dateColumn)}::text AS date FROM ${quoteQualified(w.table)}${ids ? ` WHERE ${quoteIdent(w.idColumn)} = ANY($1::uuid[])` : ''}`,
    ids ? [ids] : [],
  );
  return new Map(rows.map((r) => [r.id, { weddingId: r.id, organizationId: r.org, weddingDate: r.date }]));
}

/** Photo rows whose file should be in the photo store (sha256 set), per the schema map. */
export interface PhotoRow {
  photoId: string;
  weddingId: string;
  storageKey: string;
  sha256: string;
  sizeBytes: number;
}

export async function photoRows(client: pg.ClientBase, map: SchemaMap, weddingIds?: string[]): Promise<PhotoRow[]> {
  const p = map.photoFiles;
  if (!p) return [];
  const { rows } = await client.query<PhotoRow>(
    `SELECT ${quoteIdent(p.idColumn)}::text AS "photoId", ${quoteIdent(p.weddingColumn)}::text AS "weddingId", ${quoteIdent(p.storageKeyColumn)} AS "storageKey",
            lower(trim(${quoteIdent(p.sha256Column)})) AS sha256, coalesce(${quoteIdent(p.sizeColumn)}, 0)::float8 AS "sizeBytes"
       FROM ${quoteQualified(p.table)}
      WHERE ${quoteIdent(p.sha256Column)} IS NOT NULL AND ${quoteIdent(p.weddingColumn)} IS NOT NULL${weddingIds ? ` AND ${quoteIdent(p.weddingColumn)} = ANY($1::uuid[])` : ''}
      ORDER BY 2, 1`,
    weddingIds ? [weddingIds] : [],
  );
  return rows;
}
