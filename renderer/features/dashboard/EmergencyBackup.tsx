import { useEffect, useState } from 'react';
import type { BackupRun } from '../../../agent/contract/backup-run.js';
import { useClient } from '../../app/context.js';
import { href } from '../../app/router.js';
import { formatBytes, formatDuration, formatNumber, shortId } from '../../components/format.js';
import { useLoad } from '../../components/hooks.js';
import { useLive } from '../../components/live.js';
import { WeddingPicker } from '../../components/WeddingPicker.js';
import { ErrorState, LiveNote, ProgressBar } from '../../components/states.js';

/** One line of progress for a running backup (phase export/photos/finish). */
function BackupProgressView({ run }: { run: BackupRun }) {
  const p = run.progress;
  if (!p) return <ProgressBar done={0} total={1} label="starting: waiting for the database snapshot" />;
  if (p.phase === 'photos') return <ProgressBar done={p.photosDone} total={Math.max(1, p.photosTotal)} label={`photos: ${formatNumber(p.photosDone)}/${formatNumber(p.photosTotal)} files, ${formatNumber(p.rows)} rows, ${formatBytes(p.bytes)}`} />;
  if (p.phase === 'finish') return <ProgressBar done={1} total={1} label={`finishing: writing the snapshot (${formatNumber(p.rows)} rows, ${formatBytes(p.bytes)})`} />;
  return <ProgressBar done={p.itemsDone} total={Math.max(1, p.itemsTotal)} label={`export: ${formatNumber(p.rows)}${p.rowsEstimate > 0 ? ` of ~${formatNumber(p.rowsEstimate)}` : ''} rows, ${formatBytes(p.bytes)}`} />;
}

/**
 * Emergency backup of one wedding, now. Started in the background (POST
 * /api/backup/emergency-backups → 202), then watched: progress pushed by the agent
 * (GET /api/events/backups/:id, over IPC in Electron), or polled when no stream can be opened;
 * the elapsed time runs meanwhile, so the panel never looks frozen. Ends with the result or error.
 */
export function EmergencyBackup({ onDone }: { onDone: () => void }) {
  const client = useClient();
  const weddings = useLoad(() => client.call('listWeddings', { query: { limit: 200 } }).then((r) => r.weddings), []);
  const [wedding, setWedding] = useState('');
  const [started, setStarted] = useState<number | null>(null);
  const [elapsed, setElapsed] = useState(0);
  const [run, setRun] = useState<BackupRun | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const running = started !== null;
  useEffect(() => {
    if (started === null) return;
    const t = setInterval(() => setElapsed(Date.now() - started), 250);
    return () => clearInterval(t);
  }, [started]);

  /** Takes the run's latest state; false once it is over. */
  const settle = (b: BackupRun): boolean => {
    setRun(b);
    if (b.state === 'running') return true;
    setStarted(null);
    if (b.state === 'completed') onDone();
    return false;
  };
  const channel = useLive({
    stream: 'backup',
    id: run?.id ?? null,
    active: run?.state === 'running',
    onEvent: (e) => (e.type === 'backup' ? settle(e.backup) : undefined),
    poll: async () => (run ? settle((await client.call('getEmergencyBackup', { params: { id: run.id } })).backup) : false),
  });

  const start = async () => {
    setStarted(Date.now());
    setElapsed(0);
    setRun(null);
    setError(null);
    try {
      settle((await client.call('startEmergencyBackup', { body: { weddingId: wedding } })).backup);
    } catch (err) {
      setError(err as Error);
      setStarted(null);
    }
  };
  const result = run?.state === 'completed' ? run.result : null;
  return (
    <div className="panel" data-updates={channel}>
      <h2>Emergency backup</h2>
      <div className="filters">
        <WeddingPicker id="eb-wedding" weddings={weddings} value={wedding} onChange={setWedding} />
        <button type="button" className="primary" disabled={!wedding || running} onClick={() => void start()}>
          {running ? 'Backing up…' : 'Back up now'}
        </button>
      </div>
      {running && (
        <div role="status" aria-live="polite" aria-label="Emergency backup progress">
          <p>
            <span className="spinner" aria-hidden="true" /> Backing up this wedding… {formatDuration(elapsed)}
          </p>
          {run && <BackupProgressView run={run} />}
          <LiveNote channel={channel} />
        </div>
      )}
      {result && (
        <p role="status">
          Done: <a href={href('snapshots', result.snapshotId)}>snapshot {shortId(result.snapshotId)}</a> · {formatNumber(result.rowCount)} rows · {formatBytes(result.bytesNew)} new · {formatDuration(result.durationMs)}
        </p>
      )}
      {run?.state === 'failed' && run.error && <ErrorState error={Object.assign(new Error(run.error.message), { code: run.error.code })} what="the emergency backup" />}
      {error && <ErrorState error={error} what="the emergency backup" />}
    </div>
  );
}
