import { useState } from 'react';
import { useClient } from '../../app/context.js';
import { formatDateTime } from '../../components/format.js';
import { useLoad } from '../../components/hooks.js';
import { Badge, Empty, ErrorState, Loading } from '../../components/states.js';
import type { WeddingNames } from '../../components/wedding-names.js';

/** The append-only, hash-chained audit log of sensitive actions (GET /api/audit), filterable by action. */
export function AuditLog({ names }: { names: WeddingNames }) {
  const client = useClient();
  const [action, setAction] = useState('');
  const [applied, setApplied] = useState('');
  const log = useLoad(() => client.call('auditLog', { query: { limit: 200, ...(applied ? { action: applied } : {}) } }).then((r) => r.entries), [applied]);
  const invalid = action !== '' && !/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/.test(action);
  return (
    <div className="panel" style={{ marginTop: 14 }}>
      <h2>Audit log</h2>
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          if (!invalid) setApplied(action);
        }}
      >
        <div className="field">
          <label htmlFor="log-action">Action</label>
          <input id="log-action" placeholder="e.g. restore.start" value={action} onChange={(e) => setAction(e.target.value)} aria-invalid={invalid || undefined} />
          {invalid && <div className="field-error">Action: must be an action name like restore.start</div>}
        </div>
        <button type="submit" disabled={invalid}>
          Filter
        </button>
      </form>
      {log.state === 'loading' && <Loading what="the audit log" />}
      {log.state === 'error' && <ErrorState error={log.error} onRetry={log.reload} what="the audit log" />}
      {log.state === 'ok' &&
        (log.data.length === 0 ? (
          <Empty>No audit entries{applied ? ` for ${applied}` : ''}.</Empty>
        ) : (
          <div className="scroll">
            <table aria-label="Audit log">
              <thead>
                <tr>
                  <th className="num">#</th>
                  <th>When</th>
                  <th>Action</th>
                  <th>Outcome</th>
                  <th>By</th>
                  <th>Weddings</th>
                  <th>Target</th>
                  <th>Chain</th>
                </tr>
              </thead>
              <tbody>
                {log.data.map((e) => (
                  <tr key={e.seq}>
                    <td className="num">{e.seq}</td>
                    <td>{formatDateTime(e.occurredAt)}</td>
                    <td>
                      <code>{e.action}</code>
                      {e.flags.map((f) => (
                        <Badge key={f} tone="warn">
                          {f}
                        </Badge>
                      ))}
                    </td>
                    <td>
                      <Badge tone={e.outcome === 'succeeded' ? 'ok' : e.outcome === 'requested' ? 'info' : 'bad'}>{e.outcome}</Badge>
                    </td>
                    <td>{e.actorLabel}</td>
                    <td>{e.weddingIds.map((w) => names.label(w)).join(', ') || '—'}</td>
                    <td className="mono">{e.target ?? '—'}</td>
                    <td className="mono" title={`previous ${e.prevHash}`}>
                      {e.rowHash.slice(0, 10)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </div>
  );
}
