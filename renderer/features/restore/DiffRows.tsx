import { useState } from 'react';
import type { RestoreDiffRow, RestorePlanRequest } from '../../../agent/contract/restore.js';
import { useClient } from '../../app/context.js';
import { useLoad } from '../../components/hooks.js';
import { Badge, Empty, ErrorState, Loading } from '../../components/states.js';

const PAGE = 20;
/** Columns worth showing first for the sample schema; any other schema shows its first columns. */
const PREFERRED = ['first_name', 'last_name', 'email', 'rsvp_status', 'dietary_requirements', 'table_number', 'title', 'starts_at', 'location', 'name', 'category', 'storage_key', 'couple_names'];

function columnsOf(rows: RestoreDiffRow[]): string[] {
  const all = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.after ?? r.before ?? {})) all.add(k);
  const preferred = PREFERRED.filter((c) => all.has(c));
  return (preferred.length ? preferred : [...all].filter((c) => c !== 'wedding_id')).slice(0, 6);
}

/** The changed rows of one (wedding, table) of a restore preview, paged: what exactly comes back, changes or goes. */
export function DiffRows({ plan, weddingId, table }: { plan: RestorePlanRequest; weddingId: string | undefined; table: string }) {
  const client = useClient();
  const [offset, setOffset] = useState(0);
  const rows = useLoad(() => client.call('restoreDiffRows', { body: { ...plan, ...(weddingId ? { weddingId } : {}), table, offset, limit: PAGE } }), [table, weddingId, offset]);
  if (rows.state === 'loading') return <Loading what="changed rows" />;
  if (rows.state === 'error') return <ErrorState error={rows.error} onRetry={rows.reload} what="changed rows" />;
  const r = rows.data;
  if (r.rows.length === 0) return <Empty>No changed rows.</Empty>;
  const cols = columnsOf(r.rows);
  return (
    <div className="panel" style={{ marginTop: 10 }} aria-label={`Changed rows of ${table}`}>
      <h3>
        {table}: rows {r.offset + 1}–{r.offset + r.rows.length} of {r.total}
      </h3>
      <div className="scroll">
        <table>
          <thead>
            <tr>
              <th>Change</th>
              {cols.map((c) => (
                <th key={c}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {r.rows.map((row, i) => (
              <tr key={`${JSON.stringify(row.key)}-${i}`}>
                <td>
                  <Badge tone={row.change === 'inserted' ? 'ok' : row.change === 'updated' ? 'warn' : 'bad'}>{row.change === 'inserted' ? 'comes back' : row.change === 'deleted' ? 'removed' : 'changed'}</Badge>
                </td>
                {cols.map((c) => {
                  const before = row.before?.[c];
                  const after = row.after?.[c];
                  return (
                    <td key={c}>
                      {row.change === 'updated' && before !== after ? (
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
      <div className="wizard-actions">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          Previous
        </button>
        <button type="button" disabled={offset + PAGE >= r.total} onClick={() => setOffset(offset + PAGE)}>
          Next
        </button>
      </div>
    </div>
  );
}
