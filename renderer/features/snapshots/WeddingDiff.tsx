import { useState } from 'react';
import type { SnapshotDetail, SnapshotSummary } from '../../../agent/contract/api.js';
import type { WeddingDiffTable } from '../../../agent/contract/console.js';
import { useClient } from '../../app/context.js';
import { formatDateTime, formatNumber } from '../../components/format.js';
import { useLoad } from '../../components/hooks.js';
import { diffColumns, RowDiff } from '../../components/RowDiff.js';
import { Badge, Empty, ErrorState, Loading } from '../../components/states.js';
import type { WeddingNames } from '../../components/wedding-names.js';

function TableDiff({ t }: { t: WeddingDiffTable }) {
  return (
    <div>
      <h3>
        {t.dataType ?? 'other'} <span className="mono muted">{t.table}</span>: <Badge tone="ok">{formatNumber(t.added)} added</Badge> <Badge tone="bad">{formatNumber(t.removed)} removed</Badge>{' '}
        <Badge tone="warn">{formatNumber(t.changed)} changed</Badge>
      </h3>
      <RowDiff label={`Changes in ${t.table}`} rows={t.rows} columns={diffColumns(t.rows, 5)} />
      {t.added + t.removed + t.changed > t.rows.length && <p className="muted">First {t.rows.length} of {formatNumber(t.added + t.removed + t.changed)} changed rows.</p>}
    </div>
  );
}

/**
 * One wedding in two snapshots: per data type, the rows added, removed and changed (matched by
 * primary key, read from the repository by the agent), with the first changed rows shown.
 */
export function WeddingDiff({ snapshot, weddingId, names, others }: { snapshot: SnapshotDetail; weddingId: string; names: WeddingNames; others: SnapshotSummary[] }) {
  const client = useClient();
  const candidates = others.filter((o) => o.weddingIds.length === 0 || o.weddingIds.includes(weddingId));
  const [otherId, setOtherId] = useState(candidates[0]?.id ?? '');
  const diff = useLoad(
    () => (otherId ? client.call('diffWedding', { params: { id: snapshot.snapshot.id, weddingId }, query: { against: otherId, rows: 20 } }) : Promise.resolve(null)),
    [otherId, snapshot.snapshot.id, weddingId],
  );
  const changed = diff.state === 'ok' && diff.data ? diff.data.tables.filter((t) => t.added + t.removed + t.changed > 0) : [];
  const unchanged = diff.state === 'ok' && diff.data ? diff.data.tables.filter((t) => t.presence === 'both' && t.added + t.removed + t.changed === 0) : [];
  return (
    <div className="panel" style={{ marginTop: 12 }} aria-label="Wedding comparison">
      <h3>Compare {names.label(weddingId)} with another snapshot</h3>
      {candidates.length === 0 ? (
        <Empty>No other snapshot holds this wedding.</Empty>
      ) : (
        <>
          <div className="field">
            <label htmlFor="diff-other">Other snapshot</label>
            <select id="diff-other" value={otherId} onChange={(e) => setOtherId(e.target.value)}>
              {candidates.map((c) => (
                <option key={c.id} value={c.id}>
                  {formatDateTime(c.createdAt)} · {c.snapshotType}
                </option>
              ))}
            </select>
          </div>
          {diff.state === 'loading' && <Loading what="the comparison" />}
          {diff.state === 'error' && <ErrorState error={diff.error} onRetry={diff.reload} what="the comparison" />}
          {diff.state === 'ok' && diff.data && (
            <div aria-label="Differences">
              <p className="muted">
                From {formatDateTime(diff.data.from.createdAt)} to {formatDateTime(diff.data.to.createdAt)}
                {unchanged.length ? ` · unchanged: ${unchanged.map((t) => t.dataType ?? t.table).join(', ')}` : ''}
              </p>
              {changed.length === 0 ? <Empty>No differences: this wedding's rows are the same in both snapshots.</Empty> : changed.map((t) => <TableDiff key={t.table} t={t} />)}
            </div>
          )}
        </>
      )}
    </div>
  );
}
