import type { RecoveryOperation } from '../../../agent/contract/restore.js';
import { formatDateTime, formatDuration, formatNumber, shortId } from '../../components/format.js';
import { Badge } from '../../components/states.js';

interface Metrics {
  verified?: boolean;
  checked?: number;
  rows?: number;
  mismatches?: unknown[];
  recoveryPoint?: string | null;
}
interface Restored {
  byDataType?: Record<string, { inserted: number; updated: number; deleted: number }>;
  target?: string;
}

/** What a finished restore did and whether the restored rows matched the snapshot (recovery_operations.success_metrics). */
export function VerificationResult({ operation }: { operation: RecoveryOperation }) {
  const m = (operation.successMetrics ?? {}) as Metrics;
  const d = (operation.dataRestored ?? {}) as Restored;
  const err = operation.errorDetails as { code?: string; message?: string } | null;
  return (
    <div aria-label="Verification result">
      <p>
        <Badge tone={operation.status === 'completed' ? 'ok' : 'bad'}>{operation.status}</Badge>{' '}
        {m.verified === true && (
          <>
            <Badge tone="ok">verified</Badge> {formatNumber(m.rows)} rows in {formatNumber(m.checked)} row sets match the snapshot.
          </>
        )}
        {m.verified === false && <Badge tone="bad">verification failed: {m.mismatches?.length ?? 0} mismatches</Badge>}
      </p>
      {err && (
        <p role="alert" className="mono">
          {err.code}: {err.message}
        </p>
      )}
      <dl className="kv">
        <dt>Operation</dt>
        <dd className="mono">{operation.id}</dd>
        <dt>Type</dt>
        <dd>
          {operation.operationType} · {operation.recoveryScope}
        </dd>
        <dt>Took</dt>
        <dd>
          {formatDuration(operation.actualDurationMs)} (estimated {formatDuration(operation.estimatedDurationMs)})
        </dd>
        <dt>Recovery point</dt>
        <dd className="mono">{operation.preRecoverySnapshot ? shortId(operation.preRecoverySnapshot) : 'none'}</dd>
        <dt>Finished</dt>
        <dd>{formatDateTime(operation.completedAt)}</dd>
      </dl>
      {d.byDataType && (
        <table aria-label="Rows restored per data type" style={{ marginTop: 10, maxWidth: 560 }}>
          <thead>
            <tr>
              <th>Data type</th>
              <th className="num">Inserted</th>
              <th className="num">Updated</th>
              <th className="num">Deleted</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(d.byDataType).map(([t, c]) => (
              <tr key={t}>
                <td>{t}</td>
                <td className="num">{formatNumber(c.inserted)}</td>
                <td className="num">{formatNumber(c.updated)}</td>
                <td className="num">{formatNumber(c.deleted)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
