import type { WeddingListItem, WeddingListQuery } from '../contract/console.js';
import type { SchemaMap } from '../contract/schema-map.js';
import { withClient } from './db.js';
import { quoteIdent, quoteQualified } from './introspect.js';

/**
 * The console's directory of weddings (pick one by couple names or date). Reads the weddings
 * table of the schema map; columns the sample schema has and a real one may lack (couple_names,
 * venue_name, status) are read through to_jsonb, so a missing column yields null, not an error.
 * The search text is a bound parameter, never spliced into SQL.
 */
export async function listWeddings(url: string, map: SchemaMap, query: WeddingListQuery): Promise<WeddingListItem[]> {
  const w = map.weddings;
  const id = quoteIdent(w.idColumn);
  const date = quoteIdent(w.dateColumn);
  const q = query.q?.trim() ?? '';
  return withClient(url, async (client) => {
    const { rows } = await client.query<WeddingListItem>(
      `SELECT t.${id}::text AS id, to_jsonb(t)->>'couple_names' AS "coupleNames", t.${date}::text AS "weddingDate",
              to_jsonb(t)->>'venue_name' AS "venueName", to_jsonb(t)->>'status' AS status
         FROM ${quoteQualified(w.table)} t
        WHERE $1 = ''
           OR (to_jsonb(t)->>'couple_names') ILIKE '%' || replace(replace(replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'
           OR t.${date}::text = $1
           OR t.${id}::text LIKE replace(replace(replace(lower($1), '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'
        ORDER BY abs(t.${date} - current_date), t.${date}, 1
        LIMIT $2`,
      [q, query.limit],
    );
    return rows;
  });
}
