import { useEffect, useRef, useState } from 'react';
import type { WeddingListItem } from '../../../agent/contract/console.js';
import type { PointInTimeBody } from '../../../agent/contract/point-in-time.js';
import type { RecoveryOperation, RestorePlanRequest, RestorePreview } from '../../../agent/contract/restore.js';
import type { SnapshotSummary } from '../../../agent/contract/api.js';
import { AgentError } from '../../api/client.js';
import { useClient } from '../../app/context.js';
import { href, type Route } from '../../app/router.js';
import { formatDate, formatDateTime, formatDuration, formatNumber, shortId } from '../../components/format.js';
import { useLoad } from '../../components/hooks.js';
import { useLive, type LiveChannel } from '../../components/live.js';
import { Badge, Empty, ErrorState, LiveNote, Loading, PageHeader, ProgressBar, validationTone } from '../../components/states.js';
import { DiffRows } from './DiffRows.js';
import { QueuedRestores } from './QueuedRestores.js';
import { useWeddingNames } from '../../components/wedding-names.js';
import { VerificationResult } from './VerificationResult.js';

const STEPS = ['Wedding', 'Snapshot or time', 'Scope', 'Preview', 'Confirm', 'Progress', 'Result'] as const;
const DATA_TYPES = ['guests', 'timeline', 'vendors', 'photos'] as const;
type DataType = (typeof DATA_TYPES)[number];

/** What the coordinator types to confirm: short, no accents to get wrong, impossible to hit by accident. */
export const CONFIRM_WORD = 'RESTORE';

function Steps({ step }: { step: number }) {
  return (
    <ol className="steps" aria-label="Restore steps">
      {STEPS.map((s, i) => (
        <li key={s} aria-current={i === step ? 'step' : undefined} className={i < step ? 'done' : undefined}>
          {i + 1}. {s}
        </li>
      ))}
    </ol>
  );
}

function PickWedding({ onPick }: { onPick: (w: WeddingListItem) => void }) {
  const client = useClient();
  const [q, setQ] = useState('');
  const [debounced, setDebounced] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setDebounced(q), 200);
    return () => clearTimeout(t);
  }, [q]);
  const list = useLoad(() => client.call('listWeddings', { query: { q: debounced || undefined, limit: 50 } }), [debounced]);
  return (
    <div className="panel">
      <h2>Which wedding?</h2>
      <div className="field">
        <label htmlFor="wedding-search">Search by couple names or date (YYYY-MM-DD)</label>
        <input id="wedding-search" autoFocus value={q} onChange={(e) => setQ(e.target.value)} placeholder="e.g. Williams or 2026-11-28" style={{ width: 360 }} />
      </div>
      {list.state === 'loading' && <Loading what="weddings" />}
      {list.state === 'error' && <ErrorState error={list.error} onRetry={list.reload} what="the wedding directory" />}
      {list.state === 'ok' &&
        (list.data.weddings.length === 0 ? (
          <Empty>No wedding matches “{debounced}”.</Empty>
        ) : (
          <div className="scroll">
            <table aria-label="Weddings">
              <thead>
                <tr>
                  <th>Couple</th>
                  <th>Date</th>
                  <th>Venue</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.data.weddings.map((w) => (
                  <tr key={w.id}>
                    <td>{w.coupleNames ?? shortId(w.id)}</td>
                    <td>{formatDate(w.weddingDate)}</td>
                    <td>{w.venueName ?? '—'}</td>
                    <td>
                      <button type="button" onClick={() => onPick(w)} aria-label={`Choose ${w.coupleNames ?? w.id}`}>
                        Choose
                      </button>
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

/** `datetime-local` value (this browser's zone) ↔ ISO instant. */
function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * "As of a time" instead of a snapshot: tier 1 keeps every change of a wedding in its
 * high-priority period, so any moment since its base snapshot can be rebuilt. The window comes
 * from the agent; a time outside it is refused here and, again, by the agent.
 */
function PickTime({ wedding, onPick }: { wedding: WeddingListItem; onPick: (at: string) => void }) {
  const client = useClient();
  const win = useLoad(() => client.call('pointInTimeWindow', { params: { weddingId: wedding.id } }), [wedding.id]);
  const [value, setValue] = useState('');
  if (win.state === 'loading') return <Loading what="the point-in-time window" />;
  if (win.state === 'error') return <ErrorState error={win.error} onRetry={win.reload} what="point-in-time restore" />;
  const w = win.data.window;
  if (!w) return <p className="muted">Point in time is not available for this wedding: {win.data.reason}.</p>;
  const at = value ? new Date(value) : null;
  const outside = at !== null && (Number.isNaN(at.getTime()) || at.getTime() < Date.parse(w.from) - 1000 || at.getTime() > Date.now());
  return (
    <form
      className="filters"
      aria-label="Point in time"
      onSubmit={(e) => {
        e.preventDefault();
        if (at && !outside) onPick(at.toISOString());
      }}
    >
      <div className="field">
        <label htmlFor="pit-at">Or restore as of a time (since {formatDateTime(w.from)})</label>
        <input id="pit-at" type="datetime-local" step={1} min={toLocalInput(w.from)} max={toLocalInput(new Date().toISOString())} value={value} onChange={(e) => setValue(e.target.value)} aria-invalid={outside || undefined} aria-describedby="pit-hint" />
        <div id="pit-hint" className={outside ? 'field-error' : 'field-hint'}>
          {outside ? `Pick a time between ${formatDateTime(w.from)} and now.` : "Tier 1 keeps every change since the wedding's base snapshot."}
        </div>
      </div>
      <button type="submit" disabled={!at || outside}>
        Use this time
      </button>
    </form>
  );
}

function PickSnapshot({ wedding, onPick, onPickTime, onBack }: { wedding: WeddingListItem; onPick: (s: SnapshotSummary) => void; onPickTime: (at: string) => void; onBack: () => void }) {
  const client = useClient();
  const list = useLoad(
    () => client.call('listSnapshots', { query: { weddingId: wedding.id, limit: 200 } }).then((r) => r.snapshots.filter((s) => s.snapshotType !== 'recovery-point')),
    [wedding.id],
  );
  return (
    <div className="panel">
      <h2>Restore {wedding.coupleNames} from which snapshot?</h2>
      {list.state === 'loading' && <Loading what="snapshots" />}
      {list.state === 'error' && <ErrorState error={list.error} onRetry={list.reload} what="snapshots" />}
      {list.state === 'ok' &&
        (list.data.length === 0 ? (
          <Empty>No snapshot holds this wedding yet.</Empty>
        ) : (
          <div className="scroll">
            <table aria-label="Snapshots of this wedding">
              <thead>
                <tr>
                  <th>Taken</th>
                  <th>Type</th>
                  <th>Data types</th>
                  <th>Validation</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.data.map((s) => (
                  <tr key={s.id} data-snapshot-id={s.id}>
                    <td>{formatDateTime(s.createdAt)}</td>
                    <td>{s.snapshotType}</td>
                    <td>{s.dataTypes?.join(', ') ?? 'all'}</td>
                    <td>
                      <Badge tone={validationTone(s.validationStatus)}>{s.validationStatus}</Badge>
                    </td>
                    <td>
                      <button type="button" onClick={() => onPick(s)} aria-label={`Use snapshot of ${formatDateTime(s.createdAt)}`}>
                        Use this
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      <PickTime wedding={wedding} onPick={onPickTime} />
      <div className="wizard-actions">
        <button type="button" onClick={onBack}>
          Back
        </button>
      </div>
    </div>
  );
}

function PickScope({ snapshot, initial, onNext, onBack }: { snapshot: SnapshotSummary | null; initial: { whole: boolean; types: DataType[] }; onNext: (v: { whole: boolean; types: DataType[] }) => void; onBack: () => void }) {
  const [whole, setWhole] = useState(initial.whole);
  const [types, setTypes] = useState<DataType[]>(initial.types);
  const available = DATA_TYPES.filter((t) => !snapshot?.dataTypes || snapshot.dataTypes.includes(t));
  const toggle = (t: DataType) => setTypes((cur) => (cur.includes(t) ? cur.filter((x) => x !== t) : [...cur, t]));
  const invalid = !whole && types.length === 0;
  return (
    <div className="panel">
      <h2>What to restore</h2>
      <fieldset style={{ border: 'none', padding: 0 }}>
        <legend className="muted">Scope</legend>
        <label className="checkbox">
          <input type="radio" name="scope" checked={!whole} onChange={() => setWhole(false)} /> Only some data types of this wedding (selective)
        </label>
        <label className="checkbox">
          <input type="radio" name="scope" checked={whole} onChange={() => setWhole(true)} /> Everything of this wedding, the wedding row included (wedding-only)
        </label>
      </fieldset>
      {!whole && (
        <fieldset style={{ border: 'none', padding: 0, marginTop: 10 }}>
          <legend className="muted">Data types</legend>
          {available.map((t) => (
            <label className="checkbox" key={t}>
              <input type="checkbox" checked={types.includes(t)} onChange={() => toggle(t)} /> {t}
            </label>
          ))}
          {invalid && <div className="field-error">Pick at least one data type.</div>}
        </fieldset>
      )}
      <div className="wizard-actions">
        <button type="button" onClick={onBack}>
          Back
        </button>
        <button type="button" className="primary" disabled={invalid} onClick={() => onNext({ whole, types })}>
          Preview changes
        </button>
      </div>
    </div>
  );
}

function Preview({ plan, preview, pointInTime, onNext, onBack }: { plan: RestorePlanRequest; preview: RestorePreview; pointInTime: PointInTimeBody | null; onNext: () => void; onBack: () => void }) {
  const [open, setOpen] = useState<string | null>(null);
  const t = preview.totals;
  const nothing = t.inserted + t.updated + t.deleted === 0;
  return (
    <div className="panel">
      <h2>Preview: what will change</h2>
      {pointInTime && (
        <p aria-label="Point in time">
          As of <strong>{formatDateTime(pointInTime.at)}</strong>: the base snapshot of {shortId(pointInTime.baseSnapshotId)} plus {formatNumber(pointInTime.changesApplied)} logged changes → {formatNumber(pointInTime.rows)} rows.
          {pointInTime.photos.withoutFile > 0 ? ` ${pointInTime.photos.withoutFile} photo(s) of that time have no file in the local repository: their rows come back, their files stay as they are.` : ''}
        </p>
      )}
      <p>
        Restoring from the {preview.plan.snapshotType} snapshot of {formatDateTime(preview.plan.snapshotCreatedAt)} into <strong>{preview.plan.target}</strong>:{' '}
        <Badge tone="ok">{formatNumber(t.inserted)} inserted</Badge> <Badge tone="warn">{formatNumber(t.updated)} updated</Badge> <Badge tone="bad">{formatNumber(t.deleted)} deleted</Badge>{' '}
        <Badge tone="muted">{formatNumber(t.unchanged)} unchanged</Badge> · about {formatDuration(preview.estimatedDurationMs)}
      </p>
      {preview.notes.map((n) => (
        <p key={n} className="muted">
          {n}
        </p>
      ))}
      <div className="scroll">
        <table aria-label="Changes per data type">
          <thead>
            <tr>
              <th>Data type</th>
              <th>Table</th>
              <th className="num">Live rows</th>
              <th className="num">Snapshot rows</th>
              <th className="num">Insert</th>
              <th className="num">Update</th>
              <th className="num">Delete</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {preview.items.map((i) => {
              const key = `${i.weddingId}:${i.table}`;
              const changes = i.inserted + i.updated + i.deleted;
              return (
                <tr key={key}>
                  <td>{i.dataType ?? 'other'}</td>
                  <td className="mono">{i.table}</td>
                  <td className="num">{formatNumber(i.liveRows)}</td>
                  <td className="num">{formatNumber(i.snapshotRows)}</td>
                  <td className="num">{formatNumber(i.inserted)}</td>
                  <td className="num">{formatNumber(i.updated)}</td>
                  <td className="num">{formatNumber(i.deleted)}</td>
                  <td>
                    {changes > 0 && (
                      <button type="button" aria-expanded={open === key} onClick={() => setOpen(open === key ? null : key)}>
                        {open === key ? 'Hide rows' : 'Show rows'}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {open && <DiffRows plan={plan} weddingId={open.split(':')[0] || undefined} table={open.split(':')[1]!} />}
      <div className="wizard-actions">
        <button type="button" onClick={onBack}>
          Back
        </button>
        <button type="button" className="primary" onClick={onNext} disabled={nothing} title={nothing ? 'The live data already equals the snapshot' : undefined}>
          Continue to confirmation
        </button>
      </div>
      {nothing && <p className="muted">Nothing to restore: the live data already equals the snapshot.</p>}
    </div>
  );
}

function Confirm({ preview, wedding, busy, error, onConfirm, onBack }: { preview: RestorePreview; wedding: WeddingListItem; busy: boolean; error: Error | null; onConfirm: () => void; onBack: () => void }) {
  const [typed, setTyped] = useState('');
  const ok = typed.trim() === CONFIRM_WORD;
  const t = preview.totals;
  return (
    <div className="panel">
      <h2>Confirm the restore</h2>
      <p>
        This changes the live database for <strong>{wedding.coupleNames}</strong> ({formatDate(wedding.weddingDate)}): {formatNumber(t.inserted)} rows inserted, {formatNumber(t.updated)} updated,{' '}
        {formatNumber(t.deleted)} deleted, in {preview.plan.dataTypes.join(', ')}. A recovery point is taken first, so it can be undone. Other weddings are not touched.
      </p>
      <p className="muted">The confirmation expires at {formatDateTime(preview.expiresAt)}.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (ok && !busy) onConfirm();
        }}
      >
        <div className="field">
          <label htmlFor="confirm-word">
            Type <code>{CONFIRM_WORD}</code> to confirm
          </label>
          <input id="confirm-word" autoComplete="off" autoFocus value={typed} onChange={(e) => setTyped(e.target.value)} aria-describedby="confirm-hint" />
          <div id="confirm-hint" className="field-hint">
            Capital letters, exactly as shown.
          </div>
        </div>
        {error && <ErrorState error={error} what="the restore" />}
        <div className="wizard-actions">
          <button type="button" onClick={onBack} disabled={busy}>
            Back
          </button>
          <button type="submit" className="danger" disabled={!ok || busy}>
            {busy ? 'Starting…' : 'Restore now'}
          </button>
        </div>
      </form>
    </div>
  );
}

function Progress({ operation, channel }: { operation: RecoveryOperation; channel: LiveChannel }) {
  const p = operation.progress;
  return (
    <div className="panel" aria-live="polite">
      <h2>Restoring…</h2>
      <p>
        Operation <span className="mono">{shortId(operation.id)}</span> is <Badge tone="info">{operation.status}</Badge>
      </p>
      {p ? <ProgressBar done={p.done} total={p.total} label={`Phase: ${p.phase}`} /> : <ProgressBar done={0} total={1} label="Waiting for the agent" />}
      <p className="muted">Taking a recovery point, applying in one transaction, then verifying against the snapshot.</p>
      <LiveNote channel={channel} />
    </div>
  );
}

/**
 * Guided restore: wedding → snapshot (or a point in time) → scope → preview (row-level diff) → type-to-confirm →
 * live progress (pushed, polled as a fallback) → verification result → undo. Undo restores the operation's recovery
 * point through the same preview → confirm path, so the coordinator sees what undo changes.
 */
export function RestoreWizard({ route }: { route: Route }) {
  const client = useClient();
  const names = useWeddingNames();
  const [step, setStep] = useState(0);
  const [wedding, setWedding] = useState<WeddingListItem | null>(null);
  const [snapshot, setSnapshot] = useState<SnapshotSummary | null>(null);
  /** Restore as of this time instead of a snapshot (point in time). */
  const [at, setAt] = useState<string | null>(null);
  const [pointInTime, setPointInTime] = useState<PointInTimeBody | null>(null);
  const [scope, setScope] = useState<{ whole: boolean; types: DataType[] }>({ whole: false, types: ['guests'] });
  const [plan, setPlan] = useState<RestorePlanRequest | null>(null);
  const [preview, setPreview] = useState<RestorePreview | null>(null);
  const [previewError, setPreviewError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirmError, setConfirmError] = useState<Error | null>(null);
  const [operation, setOperation] = useState<RecoveryOperation | null>(null);
  const [undoOf, setUndoOf] = useState<RecoveryOperation | null>(null);
  const heading = useRef<HTMLDivElement>(null);

  useEffect(() => {
    heading.current?.querySelector<HTMLElement>('h2')?.setAttribute('tabindex', '-1');
    heading.current?.querySelector<HTMLElement>('h2')?.focus();
  }, [step]);

  /** Preview a plan; for an undo, the agent's undo preview of that operation (same shape, its own token). */
  const runPreview = async (p: RestorePlanRequest, undoOperationId?: string) => {
    setPlan(p);
    setPreview(null);
    setPreviewError(null);
    setStep(3);
    try {
      setPreview(undoOperationId ? await client.call('undoPreview', { params: { id: undoOperationId } }) : await client.call('previewRestore', { body: p }));
    } catch (err) {
      setPreviewError(err as Error);
    }
  };

  /** Preview the wedding as of `when`: the agent rebuilds its rows at that time, then previews restoring them. */
  const runPointInTimePreview = async (weddingId: string, when: string, types: DataType[] | null) => {
    setPlan(null);
    setPreview(null);
    setPreviewError(null);
    setPointInTime(null);
    setStep(3);
    try {
      const r = await client.call('pointInTimePreview', { body: { weddingId, at: when, ...(types ? { dataTypes: types } : {}) } });
      setPointInTime(r.pointInTime);
      // The plan the row listing asks about: the rebuilt snapshot, same scope.
      setPlan(types ? { backupId: r.pointInTime.snapshotId, recoveryScope: 'selective', weddingIds: [weddingId], dataTypes: types } : { backupId: r.pointInTime.snapshotId, recoveryScope: 'wedding-only', weddingIds: [weddingId] });
      setPreview(r.preview);
    } catch (err) {
      setPreviewError(err as Error);
    }
  };

  const confirm = async () => {
    if (!plan || !preview) return;
    setBusy(true);
    setConfirmError(null);
    try {
      const r = undoOf
        ? await client.call('undo', { params: { id: undoOf.id }, body: { confirmationToken: preview.confirmationToken } })
        : pointInTime
          ? await client.call('pointInTimeRestore', {
              body: { weddingId: pointInTime.weddingId, snapshotId: pointInTime.snapshotId, ...(plan.dataTypes ? { dataTypes: plan.dataTypes } : {}), confirmationToken: preview.confirmationToken },
            })
          : await client.call('emergencyRestore', { body: { ...plan, confirmationToken: preview.confirmationToken } });
      setOperation(r.operation);
      setStep(5);
    } catch (err) {
      setConfirmError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  // Live progress: pushed by the agent (SSE / IPC events), polled if the stream is unavailable or drops.
  const settle = (op: RecoveryOperation): boolean => {
    setOperation(op);
    const over = op.status === 'completed' || op.status === 'failed' || op.status === 'cancelled';
    if (over) setStep(6);
    return !over;
  };
  const channel = useLive({
    stream: 'recovery-operation',
    id: operation?.id ?? null,
    active: step === 5 && !!operation,
    onEvent: (e) => (e.type === 'recovery-operation' ? settle(e.operation) : undefined),
    poll: async () => (operation ? settle((await client.call('getRecoveryOperation', { params: { id: operation.id } })).operation) : false),
  });

  const startUndo = (op: RecoveryOperation) => {
    if (!op.preRecoverySnapshot) return;
    setPointInTime(null);
    setUndoOf(op);
    setOperation(null);
    // The plan here only serves the row listing; what undo does is the agent's undo preview.
    void runPreview(
      {
        backupId: op.preRecoverySnapshot,
        recoveryScope: op.recoveryScope,
        ...(op.recoveryScope !== 'complete' ? { weddingIds: op.affectedWeddings } : {}),
        ...(op.recoveryScope === 'selective' && op.dataTypes ? { dataTypes: op.dataTypes as DataType[] } : {}),
      },
      op.id,
    );
  };

  const restart = () => {
    setStep(0);
    setWedding(null);
    setSnapshot(null);
    setAt(null);
    setPointInTime(null);
    setPlan(null);
    setPreview(null);
    setOperation(null);
    setUndoOf(null);
    setConfirmError(null);
  };

  // `#/restore?undo=ID` (from the audit trail): start straight at the undo preview of that operation.
  const undoId = route.query.get('undo');
  useEffect(() => {
    if (!undoId) return;
    let live = true;
    void (async () => {
      try {
        const { operation: op } = await client.call('getRecoveryOperation', { params: { id: undoId } });
        const list = op.affectedWeddings[0] ? await client.call('listWeddings', { query: { q: op.affectedWeddings[0], limit: 1 } }) : { weddings: [] };
        if (!live) return;
        setWedding(list.weddings[0] ?? { id: op.affectedWeddings[0] ?? '', coupleNames: null, weddingDate: null, venueName: null, status: null });
        startUndo(op);
      } catch (err) {
        if (live) {
          setPreviewError(err as Error);
          setStep(3);
        }
      }
    })();
    return () => {
      live = false;
    };
    // Runs once per undo link.
  }, [undoId]);

  return (
    <section data-updates={channel}>
      <PageHeader title="Guided restore">
        {step > 0 && (
          <button type="button" onClick={restart}>
            Start over
          </button>
        )}
      </PageHeader>
      <Steps step={step} />
      {wedding && step > 0 && (
        <p className="muted">
          {undoOf ? (
            <>
              Undoing operation <span className="mono">{shortId(undoOf.id)}</span> for {wedding.coupleNames}: restoring its recovery point.
            </>
          ) : (
            <>
              Wedding: <strong>{wedding.coupleNames}</strong> ({formatDate(wedding.weddingDate)}){snapshot && step > 1 ? ` · snapshot of ${formatDateTime(snapshot.createdAt)}` : ''}
              {at && step > 1 ? ` · as of ${formatDateTime(at)}` : ''}
            </>
          )}
        </p>
      )}
      <div ref={heading}>
        {step === 0 && (
          <QueuedRestores
            names={names}
            onStarted={(op) => {
              setUndoOf(null);
              setPointInTime(null);
              setWedding({ id: op.affectedWeddings[0] ?? '', coupleNames: names.label(op.affectedWeddings[0] ?? ''), weddingDate: null, venueName: null, status: null });
              setOperation(op);
              setStep(5);
            }}
          />
        )}
        {step === 0 && (
          <PickWedding
            onPick={(w) => {
              setWedding(w);
              setStep(1);
            }}
          />
        )}
        {step === 1 && wedding && (
          <PickSnapshot
            wedding={wedding}
            onBack={() => setStep(0)}
            onPick={(s) => {
              setSnapshot(s);
              setAt(null);
              setStep(2);
            }}
            onPickTime={(when) => {
              setSnapshot(null);
              setAt(when);
              setStep(2);
            }}
          />
        )}
        {step === 2 && wedding && (snapshot || at) && (
          <PickScope
            snapshot={snapshot}
            initial={scope}
            onBack={() => setStep(1)}
            onNext={(v) => {
              setScope(v);
              if (at) void runPointInTimePreview(wedding.id, at, v.whole ? null : v.types);
              else if (snapshot) void runPreview(v.whole ? { backupId: snapshot.id, recoveryScope: 'wedding-only', weddingIds: [wedding.id] } : { backupId: snapshot.id, recoveryScope: 'selective', weddingIds: [wedding.id], dataTypes: v.types });
            }}
          />
        )}
        {step === 3 && (
          <>
            {!preview && !previewError && (
              <div className="panel">
                <h2>Preview: what will change</h2>
                <Loading what="the row-level preview" />
              </div>
            )}
            {previewError && (
              <div className="panel">
                <h2>Preview: what will change</h2>
                <ErrorState error={previewError} onRetry={() => (at && wedding && !undoOf ? void runPointInTimePreview(wedding.id, at, scope.whole ? null : scope.types) : plan && void runPreview(plan, undoOf?.id))} what="the preview" />
                <div className="wizard-actions">
                  <button type="button" onClick={() => setStep(undoOf ? 6 : 2)}>
                    Back
                  </button>
                </div>
              </div>
            )}
            {preview && plan && <Preview plan={plan} preview={preview} pointInTime={undoOf ? null : pointInTime} onBack={() => setStep(undoOf ? 6 : 2)} onNext={() => setStep(4)} />}
          </>
        )}
        {step === 4 && preview && wedding && <Confirm preview={preview} wedding={wedding} busy={busy} error={confirmError} onConfirm={() => void confirm()} onBack={() => setStep(3)} />}
        {step === 5 && operation && <Progress operation={operation} channel={channel} />}
        {step === 6 && operation && (
          <div className="panel">
            <h2>{operation.status === 'completed' ? (undoOf ? 'Undone and verified' : 'Restored and verified') : `Restore ${operation.status}`}</h2>
            <VerificationResult operation={operation} />
            <div className="wizard-actions">
              {operation.status === 'completed' && operation.preRecoverySnapshot && !undoOf && (
                <button type="button" onClick={() => startUndo(operation)}>
                  Undo this restore…
                </button>
              )}
              <a className="button" href={href('audit')}>
                See it in the audit trail
              </a>
              <button type="button" onClick={restart}>
                Restore something else
              </button>
            </div>
          </div>
        )}
      </div>
      {confirmError instanceof AgentError && confirmError.code === 'CONFLICT' && step === 4 && <p className="muted">The confirmation was already used or the data changed: go back and preview again.</p>}
    </section>
  );
}
