import { useState } from 'react';
import type { RestoreDiffRow, RestorePlanRequest } from '../../../agent/contract/restore.js';
import { useClient } from '../../app/context.js';
import { useLoad } from '../../components/hooks.js';
import { RowDiff, type RowChange } from '../../components/RowDiff.js';
import { Empty, ErrorState, Loading } from '../../components/states.js';

const PAGE = 20;

/** A restore's row changes in the shared diff's terms: inserted rows come back, deleted ones go, updated ones change. */
function toChanges(rows: RestoreDiffRow[]): RowChange[] {
  return rows.map((r) => ({ change: r.change === 'inserted' ? 'added' : r.change === 'deleted' ? 'removed' : 'changed', before: r.before, after: r.after }));
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
  return (
    <div className="panel" style={{ marginTop: 10 }} aria-label={`Changed rows of ${table}`}>
      <h3>
        {table}: rows {r.offset + 1}–{r.offset + r.rows.length} of {r.total}
      </h3>
      <RowDiff label={`Rows of ${table} that change`} rows={toChanges(r.rows)} labels={{ added: 'comes back', removed: 'removed', changed: 'changed' }} />
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
