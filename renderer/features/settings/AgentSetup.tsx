import { TIER_NAMES } from '../../../agent/contract/scheduling.js';
import { useClient } from '../../app/context.js';
import { formatDateTime, shortId } from '../../components/format.js';
import { useLoad } from '../../components/hooks.js';
import { Badge, Empty, ErrorState, Loading } from '../../components/states.js';
import type { WeddingNames } from '../../components/wedding-names.js';

/** The agent's repository (from /healthz) and the schedule it will run in the next 24 hours (GET /api/backup/plan). */
export function AgentSetup({ names }: { names: WeddingNames }) {
  const client = useClient();
  const health = useLoad(() => client.call('health', {}), []);
  const plan = useLoad(() => client.call('plan', { query: { hours: 24 } }), []);
  const repo = health.state === 'ok' ? (health.data as { repository?: unknown; repositoryId?: unknown }) : null;
  return (
    <div className="grid" style={{ gridTemplateColumns: 'minmax(0, 1fr) minmax(0, 2fr)', marginTop: 14 }}>
      <div className="panel">
        <h2>Repository</h2>
        {health.state === 'loading' && <Loading what="the repository" />}
        {health.state === 'error' && <ErrorState error={health.error} onRetry={health.reload} what="the agent's health" />}
        {repo && (
          <dl className="kv">
            <dt>Location</dt>
            <dd className="mono">{typeof repo.repository === 'string' ? repo.repository : '—'}</dd>
            <dt>Repository id</dt>
            <dd className="mono">{typeof repo.repositoryId === 'string' ? shortId(repo.repositoryId) : '—'}</dd>
          </dl>
        )}
        <p className="muted">Repositories, the off-site copy and the photo store are configured on the agent (environment or config file; see the README).</p>
      </div>
      <div className="panel">
        <h2>Schedule: the next 24 hours</h2>
        {plan.state === 'loading' && <Loading what="the schedule" />}
        {plan.state === 'error' && <ErrorState error={plan.error} onRetry={plan.reload} what="the schedule" />}
        {plan.state === 'ok' &&
          (plan.data.entries.length === 0 ? (
            <Empty>Nothing scheduled in the next 24 hours.</Empty>
          ) : (
            <div className="scroll">
              <table aria-label="Schedule">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Tier</th>
                    <th className="num">Priority</th>
                    <th>Weddings</th>
                    <th>Why</th>
                  </tr>
                </thead>
                <tbody>
                  {plan.data.entries.slice(0, 50).map((e) => (
                    <tr key={e.slotKey}>
                      <td>{formatDateTime(e.at)}</td>
                      <td>
                        {e.tier} · {TIER_NAMES[e.tier as 1 | 2 | 3 | 4]} {e.lane === 'urgent' && <Badge tone="warn">urgent</Badge>}
                      </td>
                      <td className="num">{e.priority}</td>
                      <td>{e.weddingIds.length === 0 ? 'all' : e.weddingIds.map((w) => names.label(w)).join(', ')}</td>
                      <td>
                        {e.reason}
                        {e.skipped && <div className="muted">skipped: {e.skipped}</div>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
      </div>
    </div>
  );
}
