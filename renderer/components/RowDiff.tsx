import { Badge } from './states.js';

type Values = Record<string, string | null>;

/** One row that differs between two sides: added (only after), removed (only before), changed (both). */
export interface RowChange {
  change: 'added' | 'removed' | 'changed';
  before: Values | null;
  after: Values | null;
}

/** Columns worth showing first for the sample schema; any other schema shows its own first columns. */
export const PREFERRED_COLUMNS = ['first_name', 'last_name', 'email', 'rsvp_status', 'dietary_requirements', 'table_number', 'title', 'starts_at', 'location', 'notes', 'name', 'category', 'phone', 'storage_key', 'couple_names', 'venue_name'];

/**
 * The columns to show for a set of changed rows: those that differ in changed rows first, then
 * the preferred ones present, else whatever the rows have — never the routing or bookkeeping columns.
 */
export function diffColumns(rows: RowChange[], max = 6): string[] {
  const all = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.after ?? r.before ?? {})) all.add(k);
  const differing = new Set<string>();
  for (const r of rows) if (r.before && r.after) for (const k of all) if (r.before[k] !== r.after[k]) differing.add(k);
  const picked = [...differing, ...PREFERRED_COLUMNS.filter((c) => all.has(c) && !differing.has(c))];
  return (picked.length ? picked : [...all]).filter((c) => c !== 'wedding_id' && c !== 'updated_at').slice(0, max);
}

const TONE = { added: 'ok', removed: 'bad', changed: 'warn' } as const;

/**
 * A table of changed rows, one per row: a badge saying what happens to it, then its values; a
 * changed value shows before (struck through) → after. Used by the restore preview ("comes
 * back", "removed", "changed") and the snapshot comparison ("added", "removed", "changed").
 */
export function RowDiff({ label, rows, columns, labels }: { label: string; rows: RowChange[]; columns?: string[]; labels?: Partial<Record<RowChange['change'], string>> }) {
  const cols = columns ?? diffColumns(rows);
  return (
    <div className="scroll">
      <table aria-label={label}>
        <thead>
          <tr>
            <th>Change</th>
            {cols.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td>
                <Badge tone={TONE[r.change]}>{labels?.[r.change] ?? r.change}</Badge>
              </td>
              {cols.map((c) => {
                const before = r.before?.[c];
                const after = r.after?.[c];
                return (
                  <td key={c}>
                    {r.change === 'changed' && before !== after ? (
                      <>
                        <s className="muted">{before ?? '∅'}</s> → {after ?? '∅'}
                      </>
                    ) : (
                      ((after ?? before) ?? '∅')
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
