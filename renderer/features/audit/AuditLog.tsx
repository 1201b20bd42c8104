import { useState } from 'react';
import type { AuditEntryBody } from '../../../agent/contract/access.js';
import { DataTable, type Column } from '../../components/DataTable.js';
import { useClient } from '../../app/context.js';
import { formatDateTime } from '../../components/format.js';
import { useLoad } from '../../components/hooks.js';
import { Badge, Empty, ErrorState, Loading } from '../../components/states.js';
import type { WeddingNames } from '../../components/wedding-names.js';

type Entry = AuditEntryBody;

function logColumns(names: WeddingNames): Column<Entry>[] {
  return [
    { key: 'seq', header: '#', numeric: true, cell: (e) => e.seq },
    { key: 'when', header: 'When', cell: (e) => formatDateTime(e.occurredAt) },
    {
      key: 'action',
      header: 'Action',
      cell: (e) => (
        <>
          <code>{e.action}</code>
          {e.flags.map((f) => (
            <Badge key={f} tone="warn">
              {f}
            </Badge>
          ))}
        </>
      ),
    },
    { key: 'outcome', header: 'Outcome', cell: (e) => <Badge tone={e.outcome === 'succeeded' ? 'ok' : e.outcome === 'requested' ? 'info' : 'bad'}>{e.outcome}</Badge> },
    { key: 'by', header: 'By', cell: (e) => e.actorLabel },
    { key: 'weddings', header: 'Weddings', cell: (e) => e.weddingIds.map((w) => names.label(w)).join(', ') || '—' },
    { key: 'target', header: 'Target', cell: (e) => <span className="mono">{e.target ?? '—'}</span> },
    { key: 'chain', header: 'Chain', cell: (e) => <span className="mono" title={`previous ${e.prevHash}`}>{e.rowHash.slice(0, 10)}</span> },
  ];
}

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
          <DataTable label="Audit log" columns={logColumns(names)} rows={log.data} rowKey={(e) => String(e.seq)} />
        ))}
    </div>
  );
}
