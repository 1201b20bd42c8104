import { randomUUID } from 'node:crypto';
import type { BackupResultBody, EmergencyBackupRequest } from '../contract/api.js';
import type { BackupRun, BackupRunProgress } from '../contract/backup-run.js';
import { WedsyncError } from '../contract/errors.js';
import type { EventHub } from './event-hub.js';

/**
 * Runs one emergency backup, reporting its progress (SnapshotServices.emergencyBackup). When
 * `signal` aborts, it stops before its snapshot exists and fails with CANCELLED (the signal's reason).
 */
export type RunEmergencyBackup = (request: EmergencyBackupRequest, options: { onProgress: (p: BackupRunProgress) => void; signal: AbortSignal }) => Promise<BackupResultBody>;

export interface BackupRunsOptions {
  hub: EventHub;
  /** How long a finished run stays readable (default 15 min). */
  keepMs?: number;
  /** At most this many finished runs are kept (the oldest go first; default 100). */
  maxRuns?: number;
  /** At most this many runs running or waiting their turn at once; more are refused (RATE_LIMITED, default 20). */
  maxActive?: number;
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
 *
 * Cancelling (`cancel`) aborts a running run: its backup stops before its snapshot exists (no
 * manifest, no catalog snapshot; its catalog job, when it had started, is failed with the reason)
 * and the run ends `failed` with error CANCELLED naming who cancelled it and why. A backup that
 * got past that point completes: the run then says so.
 *
 * Memory is bounded: finished runs are forgotten `keepMs` after they finished, and beyond
 * `maxRuns` finished ones the oldest go first; at most `maxActive` runs may be running or
 * waiting for their turn (each waits in the agent's backup queue), more are refused.
 */
export class BackupRuns {
  private readonly runs = new Map<string, BackupRun>();
  private readonly aborts = new Map<string, AbortController>();
  private readonly keepMs: number;
  private readonly maxRuns: number;
  private readonly maxActive: number;
  private readonly now: () => number;

  constructor(private readonly opts: BackupRunsOptions) {
    this.keepMs = opts.keepMs ?? 15 * 60_000;
    this.maxRuns = opts.maxRuns ?? 100;
    this.maxActive = opts.maxActive ?? 20;
    this.now = opts.now ?? Date.now;
  }

  start(request: EmergencyBackupRequest, run: RunEmergencyBackup): BackupRun {
    this.sweep();
    if (this.aborts.size >= this.maxActive) {
      throw new WedsyncError('RATE_LIMITED', `${this.aborts.size} background backups are already running or waiting their turn (at most ${this.maxActive}): wait for one to finish, or cancel one`);
    }
    const id = randomUUID();
    const initial: BackupRun = { id, weddingId: request.weddingId.toLowerCase(), state: 'running', startedAt: new Date(this.now()).toISOString(), finishedAt: null, progress: null, result: null, error: null };
    this.runs.set(id, initial);
    const abort = new AbortController();
    this.aborts.set(id, abort);
    const update = (patch: Partial<BackupRun>) => {
      const current = this.runs.get(id);
      if (!current) return;
      this.runs.set(id, { ...current, ...patch });
      this.opts.hub.publish(`backup:${id}`);
    };
    // Started on the next tick: the caller has the id before the first progress is published.
    void Promise.resolve()
      .then(() => {
        // Cancelled while waiting to start: nothing was opened.
        abort.signal.throwIfAborted();
        return run(request, { onProgress: (p) => update({ progress: { ...p } }), signal: abort.signal });
      })
      .then(
        (result) => update({ state: 'completed', result, finishedAt: new Date(this.now()).toISOString() }),
        (err: unknown) => {
          // Stopped by a cancel, wherever it was (waiting for its turn, for a lock, exporting): the cancel's words.
          if (abort.signal.aborted && (err as { code?: unknown })?.code === 'CANCELLED') err = abort.signal.reason;
          const e = err as { code?: unknown; message?: unknown };
          const code = err instanceof WedsyncError ? err.code : typeof e?.code === 'string' ? e.code : 'INTERNAL';
          update({ state: 'failed', error: { code, message: String(e?.message ?? err).split('\n')[0]! }, finishedAt: new Date(this.now()).toISOString() });
        },
      )
      .finally(() => this.aborts.delete(id));
    return initial;
  }

  /**
   * Asks a running run to stop (see the class comment); answers the run as it is now (still
   * `running` until its backup noticed: watch it). NOT_FOUND when unknown, CONFLICT once finished.
   */
  cancel(id: string, by: { label: string; reason?: string | undefined }): BackupRun {
    const current = this.get(id);
    const abort = this.aborts.get(current.id);
    if (current.state !== 'running' || !abort) throw new WedsyncError('CONFLICT', `backup run ${current.id} has already ${current.state === 'completed' ? 'completed' : 'ended'}: only a running one can be cancelled`);
    if (!abort.signal.aborted) abort.abort(new WedsyncError('CANCELLED', `the backup was cancelled by ${by.label}${by.reason ? `: ${by.reason}` : ''}`));
    return current;
  }

  /** NOT_FOUND when unknown (or forgotten). */
  get(id: string): BackupRun {
    this.sweep();
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
    let finished = this.runs.size - this.aborts.size;
    for (const [k, r] of this.runs) {
      if (finished <= this.maxRuns) break;
      if (r.state !== 'running') {
        this.runs.delete(k);
        finished--;
      }
    }
  }
}
