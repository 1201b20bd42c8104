import { useState } from 'react';
import type { SnapshotDetail, SnapshotSummary } from '../../../agent/contract/api.js';
import { useClient } from '../../app/context.js';
import { formatDateTime, formatNumber } from '../../components/format.js';
import { useLoad } from '../../components/hooks.js';
import { Empty, ErrorState, Loading } from '../../components/states.js';
import type { WeddingNames } from '../../components/wedding-names.js';

const DATA_TYPES = ['guests', 'timeline', 'vendors', 'photos'] as const;

/**
 * One wedding in two snapshots, per data type: rows in each and the difference. The agent's API
 * offers row counts per snapshot (not a row-level snapshot-to-snapshot diff), so this compares
 * counts; the guided restore's preview shows the row-level diff against the live database.
 */
export function WeddingDiff({ snapshot, weddingId, names, others }: { snapshot: SnapshotDetail; weddingId: string; names: WeddingNames; others: SnapshotSummary[] }) {
  const client = useClient();
  const candidates = others.filter((o) => o.weddingIds.length === 0 || o.weddingIds.includes(weddingId));
  const [otherId, setOtherId] = useState(candidates[0]?.id ?? '');
  const other = useLoad(() => (otherId ? client.call('getSnapshot', { params: { id: otherId } }) : Promise.resolve(null)), [otherId]);
  const mine = snapshot.weddings.find((w) => w.weddingId === weddingId);
  const theirs = other.state === 'ok' ? other.data?.weddings.find((w) => w.weddingId === weddingId) : undefined;
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
          {other.state === 'loading' && <Loading what="the other snapshot" />}
          {other.state === 'error' && <ErrorState error={other.error} onRetry={other.reload} what="the other snapshot" />}
          {other.state === 'ok' && (
            <table aria-label="Row counts compared">
              <thead>
                <tr>
                  <th>Data type</th>
                  <th className="num">Other snapshot</th>
                  <th className="num">This snapshot</th>
                  <th className="num">Change</th>
                </tr>
              </thead>
              <tbody>
                {DATA_TYPES.map((t) => {
                  const a = theirs?.rowCounts[t];
                  const b = mine?.rowCounts[t];
                  const d = a === undefined || b === undefined ? null : b - a;
                  return (
                    <tr key={t}>
                      <td>{t}</td>
                      <td className="num">{a === undefined ? 'not in snapshot' : formatNumber(a)}</td>
                      <td className="num">{b === undefined ? 'not in snapshot' : formatNumber(b)}</td>
                      <td className="num">{d === null ? '—' : d === 0 ? 'same count' : d > 0 ? `+${formatNumber(d)}` : formatNumber(d)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </>
      )}
    </div>
  );
}
