import { useState } from 'react';
import type { SnapshotDetail, SnapshotSummary } from '../../../agent/contract/api.js';
import type { WeddingDiffTable } from '../../../agent/contract/console.js';
import { useClient } from '../../app/context.js';
import { formatDateTime, formatNumber } from '../../components/format.js';
import { useLoad } from '../../components/hooks.js';
import { Badge, Empty, ErrorState, Loading } from '../../components/states.js';
import type { WeddingNames } from '../../components/wedding-names.js';

const PREFERRED = ['first_name', 'last_name', 'email', 'rsvp_status', 'dietary_requirements', 'table_number', 'title', 'starts_at', 'location', 'notes', 'name', 'category', 'phone', 'storage_key', 'couple_names', 'venue_name'];

function columns(t: WeddingDiffTable): string[] {
  const all = new Set<string>();
  for (const r of t.rows) for (const k of Object.keys(r.after ?? r.before ?? {})) all.add(k);
  // Changed rows: show the columns that differ first.
  const differing = new Set<string>();
  for (const r of t.rows) if (r.before && r.after) for (const k of all) if (r.before[k] !== r.after[k]) differing.add(k);
  const preferred = [...differing, ...PREFERRED.filter((c) => all.has(c) && !differing.has(c))];
  return (preferred.length ? preferred : [...all]).filter((c) => c !== 'wedding_id' && c !== 'updated_at').slice(0, 5);
}

function TableDiff({ t }: { t: WeddingDiffTable }) {
  const cols = columns(t);
  return (
    <div>
      <h3>
        {t.dataType ?? 'other'} <span className="mono muted">{t.table}</span>: <Badge tone="ok">{formatNumber(t.added)} added</Badge> <Badge tone="bad">{formatNumber(t.removed)} removed</Badge>{' '}
        <Badge tone="warn">{formatNumber(t.changed)} changed</Badge>
      </h3>
      <table aria-label={`Changes in ${t.table}`}>
        <thead>
          <tr>
            <th>Change</th>
            {cols.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {t.rows.map((r, i) => (
            <tr key={i}>
              <td>
                <Badge tone={r.change === 'added' ? 'ok' : r.change === 'removed' ? 'bad' : 'warn'}>{r.change}</Badge>
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
