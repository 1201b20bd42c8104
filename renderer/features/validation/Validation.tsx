import { useEffect, useState } from 'react';
import type { IntegrityFinding, SnapshotValidationResponse, ValidationRun, WeddingDataReport } from '../../../agent/contract/validation-report.js';
import { useClient } from '../../app/context.js';
import { href, navigate, type Route } from '../../app/router.js';
import { formatBytes, formatDateTime, formatDuration, formatNumber } from '../../components/format.js';
import { useLoad } from '../../components/hooks.js';
import { useLive } from '../../components/live.js';
import { WeddingPicker } from '../../components/WeddingPicker.js';
import { Badge, Empty, ErrorState, LiveNote, Loading, PageHeader, ProgressBar, validationTone } from '../../components/states.js';
import { useWeddingNames, type WeddingNames } from '../../components/wedding-names.js';

type Grouped = Map<string, Map<string, IntegrityFinding[]>>;

/** Findings grouped by wedding (or "whole snapshot"), then data type. */
export function groupFindings(findings: IntegrityFinding[]): Grouped {
  const out: Grouped = new Map();
  for (const f of findings) {
    const w = f.weddingId ?? '';
    const t = f.dataType ?? (f.table ? 'other tables' : 'snapshot');
    const byType = out.get(w) ?? new Map<string, IntegrityFinding[]>();
    out.set(w, byType);
    byType.set(t, [...(byType.get(t) ?? []), f]);
  }
  return out;
}

function Findings({ findings, names }: { findings: IntegrityFinding[]; names: WeddingNames }) {
  if (findings.length === 0) return <Empty>No findings: every check passed.</Empty>;
  const grouped = groupFindings(findings);
  return (
    <div className="scroll" aria-label="Findings">
      {[...grouped.entries()].map(([wedding, byType]) => (
        <div key={wedding || 'none'}>
          <h3>{wedding ? names.label(wedding) : 'Whole snapshot / repository'}</h3>
          {[...byType.entries()].map(([type, list]) => (
            <div key={type}>
              <strong>{type}</strong>
              <ul className="findings">
                {list.map((f, i) => (
                  <li key={i}>
                    <Badge tone={f.severity === 'error' ? 'bad' : 'warn'}>{f.severity}</Badge> <code>{f.kind}</code> {f.message}
                    {f.table ? <span className="muted"> ({f.table})</span> : null}
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </div>
      ))}
    </div>
  );
}

function RunView({ run, names }: { run: ValidationRun; names: WeddingNames }) {
  const p = run.progress;
  if (run.state === 'running') {
    return (
      <div aria-live="polite">
        <ProgressBar done={p.packsDone} total={Math.max(1, p.packsTotal)} label={`${run.level}: ${p.phase}, ${p.packsDone}/${p.packsTotal} packs, ${formatBytes(p.bytesRead)} read`} />
      </div>
    );
  }
  if (run.state === 'failed') {
    return (
      <div className="state state-error" role="alert">
        <strong>The validation could not run</strong>
        <p className="mono">{run.error ? `${run.error.code}: ${run.error.message}` : 'unknown error'}</p>
      </div>
    );
  }
  const r = run.report;
  if (!r) return <Empty>The run finished without a report.</Empty>;
  return (
    <div aria-label="Validation report">
      <p>
        Result: <Badge tone={validationTone(r.status)}>{r.status}</Badge> · {r.errors} errors · {r.warnings} warnings · {formatDuration(r.durationMs)}
      </p>
      <p className="muted">
        Checked {formatNumber(r.checked.weddings)} weddings, {formatNumber(r.checked.segments)} segments, {formatNumber(r.checked.photos)} photos, {formatNumber(r.checked.packs)} packs
        {run.level === 'read-data' ? `; read ${formatNumber(r.checked.packsRead)} packs (${formatBytes(r.checked.bytesRead)}), recounted ${formatNumber(r.checked.rowsCounted)} rows` : ''}.
      </p>
      <Findings findings={r.findings} names={names} />
    </div>
  );
}

function WeddingDataCheck({ names }: { names: WeddingNames }) {
  const client = useClient();
  const [wedding, setWedding] = useState('');
  const [state, setState] = useState<{ busy: boolean; report: WeddingDataReport | null; error: Error | null }>({ busy: false, report: null, error: null });
  const weddings = useLoad(() => client.call('listWeddings', { query: { limit: 200 } }).then((r) => r.weddings), []);
  const run = async () => {
    setState({ busy: true, report: null, error: null });
    try {
      setState({ busy: false, report: await client.call('validateWeddingData', { params: { id: wedding } }), error: null });
    } catch (err) {
      setState({ busy: false, report: null, error: err as Error });
    }
  };
  const byType = new Map<string, WeddingDataReport['findings']>();
  for (const f of state.report?.findings ?? []) byType.set(f.dataType, [...(byType.get(f.dataType) ?? []), f]);
  return (
    <div className="panel">
      <h2>Check a wedding's live data</h2>
      <div className="filters">
        <WeddingPicker id="v-wedding" weddings={weddings} value={wedding} onChange={setWedding} />
        <button type="button" disabled={!wedding || state.busy} onClick={() => void run()}>
          {state.busy ? 'Checking…' : 'Check data'}
        </button>
      </div>
      {state.busy && <Loading what="the data check" />}
      {state.error && <ErrorState error={state.error} what="the data check" />}
      {state.report && (
        <div aria-label="Data check report">
          <p>
            {names.label(state.report.weddingId)}: <Badge tone={state.report.status === 'valid' ? 'ok' : state.report.status === 'warnings' ? 'warn' : 'bad'}>{state.report.status}</Badge> · checked{' '}
            {state.report.checked.guests} guests, {state.report.checked.timelineEvents} events, {state.report.checked.vendors} vendors, {state.report.checked.photos} photos
          </p>
          {byType.size === 0 ? (
            <Empty>No findings.</Empty>
          ) : (
            [...byType.entries()].map(([t, list]) => (
              <div key={t}>
                <strong>{t}</strong>
                <ul className="findings">
                  {list.map((f, i) => (
                    <li key={i}>
                      <Badge tone={f.severity === 'error' ? 'bad' : 'warn'}>{f.severity}</Badge> {f.message}
                    </li>
                  ))}
                </ul>
              </div>
            ))
          )}
        </div>
      )}
    </div>
  );
}

/** Validation: run structure or read-data validation of a snapshot with live progress (pushed by the agent, polled as a fallback), findings grouped by wedding and data type; check a wedding's live data. */
export function Validation({ route }: { route: Route }) {
  const client = useClient();
  const names = useWeddingNames();
  const snapshots = useLoad(() => client.call('listSnapshots', { query: { limit: 200 } }).then((r) => r.snapshots), []);
  const chosen = route.rest[0] ?? (snapshots.state === 'ok' ? snapshots.data[0]?.id : undefined);
  const [level, setLevel] = useState<'structure' | 'read-data'>('structure');
  const [run, setRun] = useState<ValidationRun | null>(null);
  const [stored, setStored] = useState<{ status: string; at: string | null } | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [starting, setStarting] = useState(false);

  // The stored result and any run this agent already has for the chosen snapshot.
  useEffect(() => {
    setRun(null);
    setStored(null);
    setError(null);
    if (!chosen) return;
    let live = true;
    client.call('getValidation', { params: { id: chosen } }).then(
      (v) => {
        if (!live) return;
        setStored({ status: v.validationStatus, at: v.validationCompletedAt });
        if (v.run) setRun(v.run);
      },
      (err: Error) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [chosen, client]);

  // Live progress: pushed by the agent (SSE / IPC events), polled if the stream is unavailable or drops.
  const settle = (v: SnapshotValidationResponse): boolean => {
    setStored({ status: v.validationStatus, at: v.validationCompletedAt });
    if (v.run) setRun(v.run);
    if (v.run?.state !== 'running') snapshots.reload();
    return v.run?.state === 'running';
  };
  const channel = useLive({
    stream: 'validation',
    id: chosen ?? null,
    active: run?.state === 'running',
    onEvent: (e) => (e.type === 'validation' ? settle(e.validation) : undefined),
    poll: async () => (chosen ? settle(await client.call('getValidation', { params: { id: chosen } })) : false),
  });

  const start = async () => {
    if (!chosen) return;
    setStarting(true);
    setError(null);
    try {
      setRun(await client.call('validateSnapshot', { params: { id: chosen }, body: { level } }));
    } catch (err) {
      setError(err as Error);
    } finally {
      setStarting(false);
    }
  };

  return (
    <section data-updates={channel}>
      <PageHeader title="Validation" />
      <div className="grid grid-2">
        <div className="panel">
          <h2>Validate a snapshot</h2>
          {snapshots.state === 'loading' && <Loading what="snapshots" />}
          {snapshots.state === 'error' && <ErrorState error={snapshots.error} onRetry={snapshots.reload} what="snapshots" />}
          {snapshots.state === 'ok' && snapshots.data.length === 0 && <Empty>No snapshots to validate yet.</Empty>}
          {snapshots.state === 'ok' && snapshots.data.length > 0 && (
            <>
              <div className="filters">
                <div className="field">
                  <label htmlFor="v-snapshot">Snapshot</label>
                  <select id="v-snapshot" value={chosen ?? ''} onChange={(e) => navigate(href('validation', e.target.value))}>
                    {snapshots.data.map((s) => (
                      <option key={s.id} value={s.id}>
                        {formatDateTime(s.createdAt)} · {s.snapshotType} · {s.validationStatus}
                      </option>
                    ))}
                  </select>
                </div>
                <fieldset className="field" style={{ border: 'none', padding: 0 }}>
                  <legend className="muted">Level</legend>
                  <label className="checkbox">
                    <input type="radio" name="level" checked={level === 'structure'} onChange={() => setLevel('structure')} /> structure (fast: manifest, index, packs present)
                  </label>
                  <label className="checkbox">
                    <input type="radio" name="level" checked={level === 'read-data'} onChange={() => setLevel('read-data')} /> read-data (reads and re-hashes every segment)
                  </label>
                </fieldset>
              </div>
              <button type="button" className="primary" disabled={!chosen || starting || run?.state === 'running'} onClick={() => void start()}>
                {run?.state === 'running' ? 'Validating…' : 'Run validation'}
              </button>
              {stored && (
                <p className="muted">
                  Stored result: <Badge tone={validationTone(stored.status)}>{stored.status}</Badge>
                  {stored.at ? ` at ${formatDateTime(stored.at)}` : ''}
                </p>
              )}
              {error && <ErrorState error={error} what="validation" />}
              {run && <RunView run={run} names={names} />}
              {run?.state === 'running' && <LiveNote channel={channel} />}
            </>
          )}
        </div>
        <WeddingDataCheck names={names} />
      </div>
    </section>
  );
}
