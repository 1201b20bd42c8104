import { randomUUID } from 'node:crypto';
import type { BackupResultBody, EmergencyBackupRequest } from '../contract/api.js';
import type { BackupRun, BackupRunProgress } from '../contract/backup-run.js';
import { WedsyncError } from '../contract/errors.js';
import type { EventHub } from './event-hub.js';

/** Runs one emergency backup, reporting its progress (SnapshotServices.emergencyBackup). */
export type RunEmergencyBackup = (request: EmergencyBackupRequest, options: { onProgress: (p: BackupRunProgress) => void }) => Promise<BackupResultBody>;

export interface BackupRunsOptions {
  hub: EventHub;
  /** How long a finished run stays readable (default 1 h). */
  keepMs?: number;
  /** At most this many runs are kept (the oldest finished go first; default 200). */
  maxRuns?: number;
  now?: () => number;
}

/**
 * Emergency backups started in the background (routes/backup-runs.ts) and watched through the
 * event streams (routes/events.ts, topic `backup:<id>`).
 *
 * Guarantees: `start` answers at once with the run (state running); every progress report and
 * the outcome are published on the hub, so a stream sees them in order and its last event holds
 * the result or the error; a run's failure never escapes as an unhandled rejection; runs live in
 * memory only (the snapshot and job are in the catalog as for any backup).
 */
export class BackupRuns {
  private readonly runs = new Map<string, BackupRun>();
  private readonly keepMs: number;
  private readonly maxRuns: number;
  private readonly now: () => number;

  constructor(private readonly opts: BackupRunsOptions) {
    this.keepMs = opts.keepMs ?? 60 * 60_000;
    this.maxRuns = opts.maxRuns ?? 200;
    this.now = opts.now ?? Date.now;
  }

  start(request: EmergencyBackupRequest, run: RunEmergencyBackup): BackupRun {
    this.sweep();
    const id = randomUUID();
    const initial: BackupRun = { id, weddingId: request.weddingId.toLowerCase(), state: 'running', startedAt: new Date(this.now()).toISOString(), finishedAt: null, progress: null, result: null, error: null };
    this.runs.set(id, initial);
    const update = (patch: Partial<BackupRun>) => {
      const current = this.runs.get(id);
      if (!current) return;
      this.runs.set(id, { ...current, ...patch });
      this.opts.hub.publish(`backup:${id}`);
    };
    // Started on the next tick: the caller has the id before the first progress is published.
    void Promise.resolve()
      .then(() => run(request, { onProgress: (p) => update({ progress: { ...p } }) }))
      .then(
        (result) => update({ state: 'completed', result, finishedAt: new Date(this.now()).toISOString() }),
        (err: unknown) => {
          const e = err as { code?: unknown; message?: unknown };
          const code = err instanceof WedsyncError ? err.code : typeof e?.code === 'string' ? e.code : 'INTERNAL';
          update({ state: 'failed', error: { code, message: String(e?.message ?? err).split('\n')[0]! }, finishedAt: new Date(this.now()).toISOString() });
        },
      );
    return initial;
  }

  /** NOT_FOUND when unknown (or forgotten). */
  get(id: string): BackupRun {
    const run = this.runs.get(id.toLowerCase());
    if (!run) throw new WedsyncError('NOT_FOUND', `backup run ${id} not found`);
    return run;
  }

  /** The run's wedding, or null when unknown (authorisation). */
  weddingOf(id: string): string | null {
    return this.runs.get(id.toLowerCase())?.weddingId ?? null;
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, r] of this.runs) if (r.finishedAt && Date.parse(r.finishedAt) + this.keepMs <= t) this.runs.delete(k);
    for (const [k, r] of this.runs) {
      if (this.runs.size < this.maxRuns) break;
      if (r.state !== 'running') this.runs.delete(k);
    }
  }
}
