import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { SnapshotSummary } from '../../../agent/contract/api.js';
import type { BackupHistoryPoint } from '../../../agent/contract/console.js';
import type { StatusResponse } from '../../../agent/contract/scheduling.js';
import { useClient } from '../../app/context.js';
import { href, type Route } from '../../app/router.js';
import { formatBytes, formatDate, formatDateTime, formatMinutes, formatWhen, shortId } from '../../components/format.js';
import { useLoad } from '../../components/hooks.js';
import { Badge, Empty, ErrorState, Loading, PageHeader, validationTone } from '../../components/states.js';
import { EmergencyBackup } from './EmergencyBackup.js';

const LEVEL_LABEL: Record<string, string> = { 'wedding-day': 'Wedding day', 'this-week': 'This week', 'this-month': 'This month', later: 'Later', past: 'Past' };
const TIERS = [
  { tier: 1, name: 'real-time' },
  { tier: 2, name: 'incremental' },
  { tier: 3, name: 'full' },
  { tier: 4, name: 'off-site' },
];

/** Points for the chart, oldest first: repository size (cumulative bytes added) and each backup job's duration. */
export function chartPoints(history: BackupHistoryPoint[]): { at: string; sizeMiB: number; durationS: number | null; type: string }[] {
  let total = 0;
  return history.map((p) => {
    total += p.bytesNew ?? 0;
    return { at: formatDateTime(p.createdAt), sizeMiB: Math.round((total / (1024 * 1024)) * 100) / 100, durationS: p.durationMs === null ? null : Math.round(p.durationMs / 10) / 100, type: p.snapshotType };
  });
}

function lastPerTier(snapshots: SnapshotSummary[]): Map<number, SnapshotSummary> {
  const out = new Map<number, SnapshotSummary>();
  for (const s of snapshots) {
    const tier = s.tier ?? (s.snapshotType === 'full' ? 3 : s.snapshotType === 'incremental' ? 2 : null);
    if (tier === null) continue;
    const prev = out.get(tier);
    if (!prev || prev.createdAt < s.createdAt) out.set(tier, s);
  }
  return out;
}

function Weddings({ status }: { status: StatusResponse }) {
  const upcoming = status.weddings.filter((w) => w.level !== 'past').sort((a, b) => b.priority - a.priority || a.daysToWedding - b.daysToWedding);
  if (!upcoming.length) return <Empty>No weddings in the next {30} days.</Empty>;
  return (
    <div className="scroll">
      <table aria-label="Upcoming weddings by criticality">
        <thead>
          <tr>
            <th>Criticality</th>
            <th>Wedding</th>
            <th>Date</th>
            <th className="num">Achieved RPO</th>
            <th className="num">Target</th>
            <th>Last snapshot</th>
          </tr>
        </thead>
        <tbody>
          {upcoming.map((w) => (
            <tr key={w.weddingId}>
              <td>
                <Badge tone={w.level === 'wedding-day' ? 'bad' : w.level === 'this-week' ? 'warn' : 'info'}>{LEVEL_LABEL[w.level] ?? w.level}</Badge>
              </td>
              <td>{w.coupleNames ?? shortId(w.weddingId)}</td>
              <td>{formatDate(w.weddingDate)}</td>
              <td className="num">
                <Badge tone={w.rpoMet ? 'ok' : 'bad'}>{formatMinutes(w.achievedRpoMinutes)}</Badge>
              </td>
              <td className="num">{formatMinutes(w.targetRpoMinutes)}</td>
              <td>{w.lastSnapshot ? <a href={href('snapshots', w.lastSnapshot.id)}>{formatWhen(w.lastSnapshot.createdAt)}</a> : <span className="muted">none</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Dashboard: upcoming weddings by criticality with RPO against target, last snapshot per tier, failing jobs, size and durations over time. */
export function Dashboard(_props: { route: Route }) {
  const client = useClient();
  const snapshots = useLoad(() => client.call('listSnapshots', { query: { limit: 500 } }).then((r) => r.snapshots), []);
  const status = useLoad(() => client.call('status', { query: { days: 30 } }), []);
  const history = useLoad(() => client.call('backupHistory', { query: { limit: 500 } }).then((r) => r.points), []);

  const tiers = snapshots.state === 'ok' ? lastPerTier(snapshots.data) : new Map<number, SnapshotSummary>();
  return (
    <section aria-labelledby="dashboard-title">
      <PageHeader title="Dashboard">
        <button type="button" onClick={() => (snapshots.reload(), status.reload(), history.reload())}>
          Refresh
        </button>
      </PageHeader>
      {status.state === 'ok' && (
        <div className={`banner ${status.data.healthy ? 'banner-info' : 'banner-offline'}`} role="status">
          {status.data.healthy ? 'All upcoming weddings meet their recovery point objective.' : 'Attention: some weddings miss their RPO or jobs are failing.'}
          {status.data.warnings.map((w) => (
            <div key={w}>{w}</div>
          ))}
        </div>
      )}
      <div className="grid grid-4" style={{ marginBottom: 14 }}>
        {TIERS.map(({ tier, name }) => {
          const fromStatus = status.state === 'ok' ? status.data.tiers.find((t) => t.tier === tier)?.lastSnapshot : undefined;
          const s = fromStatus ?? tiers.get(tier) ?? null;
          return (
            <div className="panel" key={tier} aria-label={`Tier ${tier} ${name}`}>
              <div className="stat-label">
                Tier {tier} · {name}
              </div>
              {snapshots.state === 'loading' ? (
                <div className="muted">…</div>
              ) : s ? (
                <>
                  <div className="stat">{formatWhen(s.createdAt)}</div>
                  <a href={href('snapshots', s.id)}>{shortId(s.id)}</a> <Badge tone={validationTone(s.validationStatus)}>{s.validationStatus}</Badge>
                </>
              ) : (
                <div className="muted">no snapshot yet</div>
              )}
            </div>
          );
        })}
      </div>
      <div className="grid" style={{ gridTemplateColumns: 'minmax(0, 2fr) minmax(0, 1fr)' }}>
        <div className="panel">
          <h2>Upcoming weddings by criticality</h2>
          {status.state === 'loading' && <Loading what="wedding status" />}
          {status.state === 'error' && <ErrorState error={status.error} onRetry={status.reload} what="wedding status" />}
          {status.state === 'ok' && <Weddings status={status.data} />}
        </div>
        <div className="panel">
          <h2>Failing jobs</h2>
          {status.state === 'loading' && <Loading what="jobs" />}
          {status.state === 'error' && <ErrorState error={status.error} onRetry={status.reload} what="job status" />}
          {status.state === 'ok' &&
            (status.data.failingJobs.length === 0 ? (
              <Empty>No failing jobs. Queue: {status.data.queue.pending} pending, {status.data.queue.running} running.</Empty>
            ) : (
              <table aria-label="Failing jobs">
                <thead>
                  <tr>
                    <th>Job</th>
                    <th>Type</th>
                    <th>Attempts</th>
                    <th>Error</th>
                  </tr>
                </thead>
                <tbody>
                  {status.data.failingJobs.map((j) => (
                    <tr key={j.id}>
                      <td className="mono">{shortId(j.id)}</td>
                      <td>
                        {j.backupType} (tier {j.tier ?? '—'})
                      </td>
                      <td>
                        {j.attempts}/{j.maxAttempts}
                      </td>
                      <td>{j.error ? `${j.error.code}: ${j.error.message}` : j.status}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ))}
        </div>
      </div>
      <div className="panel" style={{ marginTop: 14 }}>
        <h2>Repository size and backup durations</h2>
        {history.state === 'loading' && <Loading what="backup history" />}
        {history.state === 'error' && <ErrorState error={history.error} onRetry={history.reload} what="backup history" />}
        {history.state === 'ok' &&
          (history.data.length === 0 ? (
            <Empty>No snapshots yet: run a backup to see the repository grow.</Empty>
          ) : (
            <div style={{ width: '100%', height: 220 }} aria-label="Chart of repository size and backup durations">
              <ResponsiveContainer>
                <LineChart data={chartPoints(history.data)} margin={{ top: 8, right: 24, bottom: 8, left: 8 }}>
                  <CartesianGrid strokeDasharray="3 3" stroke="#e2ddd6" />
                  <XAxis dataKey="at" tick={{ fontSize: 11 }} minTickGap={60} />
                  <YAxis yAxisId="size" tick={{ fontSize: 11 }} label={{ value: 'MiB', angle: -90, position: 'insideLeft', fontSize: 11 }} />
                  <YAxis yAxisId="dur" orientation="right" tick={{ fontSize: 11 }} label={{ value: 's', angle: 90, position: 'insideRight', fontSize: 11 }} />
                  <Tooltip />
                  <Legend />
                  <Line yAxisId="size" type="stepAfter" dataKey="sizeMiB" name="Repository size (MiB)" stroke="#7a3e6c" strokeWidth={2} dot={false} isAnimationActive={false} />
                  <Line yAxisId="dur" type="linear" dataKey="durationS" name="Backup duration (s)" stroke="#d9822b" strokeWidth={2} connectNulls isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </div>
          ))}
        {history.state === 'ok' && history.data.length > 0 && (
          <p className="muted">
            {history.data.length} snapshots · {formatBytes(history.data.reduce((a, p) => a + (p.bytesNew ?? 0), 0))} added to the repository
          </p>
        )}
      </div>
      <div style={{ marginTop: 14 }}>
        <EmergencyBackup onDone={snapshots.reload} />
      </div>
    </section>
  );
}
