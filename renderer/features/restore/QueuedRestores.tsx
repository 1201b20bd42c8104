import { useState } from 'react';
import type { QueuedRestorePreviewResponse, QueuedRestoreView } from '../../../agent/contract/queued-restore.js';
import type { RecoveryOperation } from '../../../agent/contract/restore.js';
import { useClient } from '../../app/context.js';
import { formatDateTime, formatNumber, shortId } from '../../components/format.js';
import { useLoad } from '../../components/hooks.js';
import { Badge, ErrorState } from '../../components/states.js';
import type { WeddingNames } from '../../components/wedding-names.js';

/** What the coordinator types to run a queued restore: the same word as in the wizard. */
const CONFIRM_WORD = 'RESTORE';

function QueuedItem({ q, names, onStarted, onChanged }: { q: QueuedRestoreView; names: WeddingNames; onStarted: (op: RecoveryOperation) => void; onChanged: () => void }) {
  const client = useClient();
  const [preview, setPreview] = useState<QueuedRestorePreviewResponse | null>(null);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const act = async (what: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await what();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const label = q.weddingIds.map((w) => names.label(w)).join(', ');
  return (
    <li className="queued-item" data-queued-id={q.id}>
      <div>
        <strong>{label || 'all weddings'}</strong> · {q.kind === 'point-in-time' && q.at ? `as of ${formatDateTime(q.at)}` : `snapshot ${shortId(q.snapshotId ?? '')}`} · {q.dataTypes?.join(', ') ?? 'everything'} · queued {formatDateTime(q.createdAt)}
        {q.initiatedByLabel ? ` by ${q.initiatedByLabel}` : ''} {q.confirmed ? <Badge tone="info">confirmed: runs by itself</Badge> : <Badge tone="warn">waits for confirmation</Badge>}
        {q.lastError && <div className="muted">Last attempt: {q.lastError}</div>}
      </div>
      {!preview ? (
        <div className="wizard-actions">
          <button type="button" disabled={busy} onClick={() => void act(async () => setPreview(await client.call('previewQueuedRestore', { params: { id: q.id } })))} aria-label={`Preview queued restore of ${label}`}>
            Preview…
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              void act(async () => {
                await client.call('cancelQueuedRestore', { params: { id: q.id } });
                onChanged();
              })
            }
            aria-label={`Cancel queued restore of ${label}`}
          >
            Cancel it
          </button>
        </div>
      ) : (
        <form
          aria-label="Queued restore preview"
          onSubmit={(e) => {
            e.preventDefault();
            if (typed.trim() !== CONFIRM_WORD || busy) return;
            void act(async () => {
              const r = await client.call('confirmQueuedRestore', { params: { id: q.id }, body: { confirmationToken: preview.preview.confirmationToken } });
              onStarted(r.operation);
            });
          }}
        >
          <p>
            Against the database now: <Badge tone="ok">{formatNumber(preview.preview.totals.inserted)} inserted</Badge> <Badge tone="warn">{formatNumber(preview.preview.totals.updated)} updated</Badge>{' '}
            <Badge tone="bad">{formatNumber(preview.preview.totals.deleted)} deleted</Badge> in {preview.preview.plan.dataTypes.join(', ')}. A recovery point is taken first.
          </p>
          <div className="field">
            <label htmlFor={`q-confirm-${q.id}`}>
              Type <code>{CONFIRM_WORD}</code> to run it
            </label>
            <input id={`q-confirm-${q.id}`} autoComplete="off" value={typed} onChange={(e) => setTyped(e.target.value)} />
          </div>
          <div className="wizard-actions">
            <button type="button" onClick={() => setPreview(null)} disabled={busy}>
              Back
            </button>
            <button type="submit" className="danger" disabled={typed.trim() !== CONFIRM_WORD || busy}>
              Run queued restore
            </button>
          </div>
        </form>
      )}
      {error && <ErrorState error={error} what="the queued restore" />}
    </li>
  );
}

/**
 * Restores prepared while the database was unreachable (offline wedding day), waiting in the
 * agent's local queue: each can be previewed against the database as it is now and confirmed —
 * then it runs like any restore, with live progress and undo — or cancelled. Hidden when there
 * is none, or when the agent does not offer the queue.
 */
export function QueuedRestores({ names, onStarted }: { names: WeddingNames; onStarted: (op: RecoveryOperation) => void }) {
  const client = useClient();
  const list = useLoad(() => client.call('listQueuedRestores', { query: { status: 'queued' } }), []);
  if (list.state !== 'ok' || list.data.queued.length === 0) return null;
  return (
    <div className="panel" aria-label="Queued restores" style={{ marginBottom: 12 }}>
      <h2>Queued restores</h2>
      <p className="muted">
        Prepared while the database could not be reached.{' '}
        {list.data.database === 'unreachable' ? 'The database is still unreachable: a preview needs it.' : 'The database answers again: preview each against it, then run it or cancel it.'}
      </p>
      <ul className="queued-list">
        {list.data.queued.map((q) => (
          <QueuedItem key={q.id} q={q} names={names} onStarted={onStarted} onChanged={list.reload} />
        ))}
      </ul>
    </div>
  );
}
