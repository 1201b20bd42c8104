import { useEffect, useState } from 'react';
import type { BackupResultBody } from '../../../agent/contract/api.js';
import { useClient } from '../../app/context.js';
import { href } from '../../app/router.js';
import { formatBytes, formatDuration, formatNumber, shortId } from '../../components/format.js';
import { useLoad } from '../../components/hooks.js';
import { ErrorState } from '../../components/states.js';

/**
 * Emergency backup of one wedding, now (POST /api/backup/emergency-backup). The call answers
 * when the snapshot exists; meanwhile the panel shows the elapsed time, so it never looks frozen.
 */
export function EmergencyBackup({ onDone }: { onDone: () => void }) {
  const client = useClient();
  const weddings = useLoad(() => client.call('listWeddings', { query: { limit: 200 } }).then((r) => r.weddings), []);
  const [wedding, setWedding] = useState('');
  const [started, setStarted] = useState<number | null>(null);
  const [elapsed, setElapsed] = useState(0);
  const [result, setResult] = useState<BackupResultBody | null>(null);
  const [error, setError] = useState<Error | null>(null);
  useEffect(() => {
    if (started === null) return;
    const t = setInterval(() => setElapsed(Date.now() - started), 250);
    return () => clearInterval(t);
  }, [started]);
  const run = async () => {
    setStarted(Date.now());
    setElapsed(0);
    setResult(null);
    setError(null);
    try {
      setResult(await client.call('emergencyBackup', { body: { weddingId: wedding } }));
      onDone();
    } catch (err) {
      setError(err as Error);
    } finally {
      setStarted(null);
    }
  };
  return (
    <div className="panel">
      <h2>Emergency backup</h2>
      <div className="filters">
        <div className="field">
          <label htmlFor="eb-wedding">Wedding</label>
          <select id="eb-wedding" value={wedding} onChange={(e) => setWedding(e.target.value)}>
            <option value="">choose…</option>
            {weddings.state === 'ok' &&
              weddings.data.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.coupleNames ?? shortId(w.id)} · {w.weddingDate}
                </option>
              ))}
          </select>
        </div>
        <button type="button" className="primary" disabled={!wedding || started !== null} onClick={() => void run()}>
          {started !== null ? 'Backing up…' : 'Back up now'}
        </button>
      </div>
      {started !== null && (
        <p role="status" aria-live="polite">
          <span className="spinner" aria-hidden="true" /> Backing up this wedding… {formatDuration(elapsed)}
        </p>
      )}
      {result && (
        <p role="status">
          Done: <a href={href('snapshots', result.snapshotId)}>snapshot {shortId(result.snapshotId)}</a> · {formatNumber(result.rowCount)} rows · {formatBytes(result.bytesNew)} new · {formatDuration(result.durationMs)}
        </p>
      )}
      {error && <ErrorState error={error} what="the emergency backup" />}
    </div>
  );
}
