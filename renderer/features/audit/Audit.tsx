import { useMemo, useState } from 'react';
import type { RecoveryOperation } from '../../../agent/contract/restore.js';
import { useClient } from '../../app/context.js';
import { href, navigate, type Route } from '../../app/router.js';
import { DataTable, type Column } from '../../components/DataTable.js';
import { formatDateTime, formatDuration, shortId } from '../../components/format.js';
import { useLoad } from '../../components/hooks.js';
import { Badge, Empty, ErrorState, Loading, PageHeader } from '../../components/states.js';
import { useWeddingNames, type WeddingNames } from '../../components/wedding-names.js';
import { VerificationResult } from '../restore/VerificationResult.js';
import { AuditLog } from './AuditLog.js';

const STATUSES = ['pending', 'awaiting-approval', 'running', 'completed', 'failed', 'cancelled'] as const;
const TYPES = ['full-restore', 'selective-restore', 'emergency-restore', 'point-in-time', 'undo'] as const;

function tone(status: string): 'ok' | 'bad' | 'info' | 'muted' {
  return status === 'completed' ? 'ok' : status === 'failed' ? 'bad' : status === 'running' ? 'info' : 'muted';
}

/** The recovery operations list: when, what, whose weddings, by whom, how long, how it ended. */
function operationColumns(names: WeddingNames): Column<RecoveryOperation>[] {
  return [
    { key: 'when', header: 'When', cell: (o) => <a href={href('audit', o.id)}>{formatDateTime(o.createdAt)}</a> },
    {
      key: 'operation',
      header: 'Operation',
      cell: (o) => (
        <>
          {o.operationType}
          <div className="muted">{o.recoveryScope}</div>
        </>
      ),
    },
    { key: 'weddings', header: 'Weddings', cell: (o) => o.affectedWeddings.map((w) => names.label(w)).join(', ') || 'all' },
    { key: 'types', header: 'Data types', cell: (o) => o.dataTypes?.join(', ') ?? 'all' },
    { key: 'by', header: 'By', cell: (o) => o.initiatedByLabel ?? o.initiatedBy ?? '—' },
    { key: 'took', header: 'Took', numeric: true, cell: (o) => formatDuration(o.actualDurationMs) },
    { key: 'status', header: 'Status', cell: (o) => <Badge tone={tone(o.status)}>{o.status}</Badge> },
  ];
}

/** Audit: every restore and undo (recovery_operations), filterable by wedding, status and type; one operation's details and verification. */
export function Audit({ route }: { route: Route }) {
  const client = useClient();
  const names = useWeddingNames();
  const [status, setStatus] = useState('');
  const [type, setType] = useState('');
  const [wedding, setWedding] = useState('');
  const ops = useLoad(
    () => client.call('listRecoveryOperations', { query: { limit: 200, ...(status ? { status: status as (typeof STATUSES)[number] } : {}) } }).then((r) => r.operations),
    [status],
  );
  const selected = route.rest[0];
  const filtered = useMemo(
    () => (ops.state === 'ok' ? ops.data.filter((o) => (!type || o.operationType === type) && (!wedding || o.affectedWeddings.some((w) => names.matches(w, wedding)))) : []),
    [ops, type, wedding, names],
  );
  const open: RecoveryOperation | undefined = filtered.find((o) => o.id === selected) ?? (ops.state === 'ok' ? ops.data.find((o) => o.id === selected) : undefined);
  return (
    <section>
      <PageHeader title="Audit">
        <button type="button" onClick={ops.reload}>
          Refresh
        </button>
      </PageHeader>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="a-wedding">Wedding</label>
          <input id="a-wedding" placeholder="couple names or id" value={wedding} onChange={(e) => setWedding(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="a-status">Status</label>
          <select id="a-status" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="a-type">Operation</label>
          <select id="a-type" value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">all</option>
            {TYPES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
      </form>
      {ops.state === 'loading' && <Loading what="recovery operations" />}
      {ops.state === 'error' && <ErrorState error={ops.error} onRetry={ops.reload} what="recovery operations" />}
      {ops.state === 'ok' &&
        (filtered.length === 0 ? (
          <Empty>{ops.data.length ? 'No operation matches these filters.' : 'No restore has been run yet.'}</Empty>
        ) : (
          <div className="grid" style={{ gridTemplateColumns: open ? 'minmax(0, 7fr) minmax(0, 5fr)' : '1fr' }}>
            <div className="panel">
              <DataTable
                label="Recovery operations"
                columns={operationColumns(names)}
                rows={filtered}
                rowKey={(o) => o.id}
                selected={selected}
                onSelect={(o) => navigate(href('audit', o.id))}
              />
            </div>
            {open && (
              <div className="panel" aria-label="Operation detail">
                <h2>
                  Operation <span className="mono">{shortId(open.id)}</span>
                </h2>
                <VerificationResult operation={open} />
                {open.status === 'completed' && open.preRecoverySnapshot && (
                  <div className="wizard-actions">
                    <a className="button" href={`#/restore?undo=${open.id}`}>
                      Undo this operation…
                    </a>
                  </div>
                )}
              </div>
            )}
          </div>
        ))}
      <AuditLog names={names} />
    </section>
  );
}
