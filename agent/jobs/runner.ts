import { WedsyncError, isWedsyncError, type ErrorCode } from '../contract/errors.js';
import type { BackupType } from '../catalog/backups.js';
import type { Backoff, ClaimedJob, ClaimOptions, FailOutcome, RenewOutcome } from '../catalog/queue.js';
import type { Logger } from '../logger.js';

/**
 * The job runner: claims jobs from the shared queue (catalog/queue.ts) and runs them with the
 * handler for their type, in LANES:
 *   urgent   only jobs of priority >= 7 (wedding day, high-priority period, this week)
 *   routine  anything, most urgent first
 * Each lane has its own concurrency, so a wedding-day job never waits for a routine full to
 * finish on this agent: the urgent lane is idle whenever no urgent job exists.
 *
 * Per job: the lease is renewed every `renewEveryMs`; a renewal that says "cancelled" (someone
 * set status = cancelled) or "lost" (another agent took the job over) aborts the handler through
 * its AbortSignal, and so does the per-type timeout. If renewals fail (database gone) until the
 * lease is nearly over, the job is aborted too: another agent may already own it. A handler that
 * throws is reported to the queue, which retries with backoff or fails the job for good; errors
 * that retrying cannot fix (bad input, wrong passphrase…) fail at once.
 *
 * stop(): no new claims; running jobs get `stopGraceMs` to finish, then are aborted and released
 * back to the queue (pending, attempt not counted) — resumable by any agent.
 */

export interface QueuePort {
  claim(agentId: string, opts: ClaimOptions): Promise<ClaimedJob | null>;
  renew(job: ClaimedJob, leaseMs: number): Promise<RenewOutcome>;
  complete(job: ClaimedJob, result?: { progress?: Record<string, unknown>; retentionUntil?: Date | null }): Promise<boolean>;
  fail(job: ClaimedJob, error: { code: string; message: string }, opts: { retryable: boolean; backoff?: Backoff }): Promise<FailOutcome>;
  release(job: ClaimedJob): Promise<boolean>;
}

export interface JobContext {
  job: ClaimedJob;
  /** Aborted on cancel, timeout, lost lease or stop; `reason` is a WedsyncError saying which. */
  signal: AbortSignal;
  logger: Logger;
  agentId: string;
}

export interface JobOutcome {
  snapshotId?: string;
  /** Bytes the job added (new repository bytes, or bytes copied off-site). */
  bytes?: number;
  /** Stored in backup_jobs.progress. */
  summary?: Record<string, unknown>;
  retentionUntil?: Date | null;
}

export type JobHandler = (ctx: JobContext) => Promise<JobOutcome>;

export interface Lane {
  name: 'urgent' | 'routine';
  /** Only jobs at or above this priority. */
  minPriority: number;
  concurrency: number;
}

export const DEFAULT_LANES: Lane[] = [
  { name: 'urgent', minPriority: 7, concurrency: 1 },
  { name: 'routine', minPriority: 1, concurrency: 1 },
];

/** Per job type, the longest a job may run before it is aborted (and retried). */
export const DEFAULT_TIMEOUTS_MS: Partial<Record<BackupType, number>> = {
  incremental: 60 * 60_000,
  emergency: 60 * 60_000,
  full: 6 * 3_600_000,
  offsite: 6 * 3_600_000,
};

/** Retrying does not help these: fail the job at once. */
export const NON_RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BAD_INPUT',
  'NOT_FOUND',
  'WRONG_PASSPHRASE',
  'PASSPHRASE_REQUIRED',
  'REPO_NOT_INITIALISED',
  'REPO_VERSION_UNSUPPORTED',
  'FORBIDDEN',
  'UNAUTHENTICATED',
]);

export type RunnerEventType = 'started' | 'succeeded' | 'retrying' | 'failed' | 'cancelled' | 'released' | 'lost';

export interface RunnerEvent {
  type: RunnerEventType;
  job: ClaimedJob;
  agentId: string;
  lane: Lane['name'];
  durationMs: number;
  outcome?: JobOutcome;
  error?: { code: string; message: string };
  /** retrying: when the next attempt may start. */
  notBefore?: Date;
}

export interface RunnerOptions {
  agentId: string;
  queue: QueuePort;
  handlers: Partial<Record<BackupType, JobHandler>>;
  logger: Logger;
  lanes?: Lane[];
  leaseMs?: number;
  renewEveryMs?: number;
  /** Idle lanes look for work this often (and whenever wake() is called). */
  pollMs?: number;
  timeoutsMs?: Partial<Record<BackupType, number>>;
  backoff?: Backoff;
  stopGraceMs?: number;
  /** Metrics and hooks; awaited, errors logged and ignored. */
  onEvent?: (event: RunnerEvent) => void | Promise<void>;
}

interface Running {
  job: ClaimedJob;
  lane: Lane['name'];
  controller: AbortController;
  done: Promise<void>;
}

type AbortKind = 'cancelled' | 'lost' | 'timeout' | 'stop';

class AbortReason extends WedsyncError {
  constructor(
    readonly kind: AbortKind,
    message: string,
  ) {
    super('CANCELLED', message);
  }
}

export class JobRunner {
  private readonly lanes: Lane[];
  private readonly leaseMs: number;
  private readonly renewEveryMs: number;
  private readonly pollMs: number;
  private readonly running = new Set<Running>();
  private stopping = false;
  private loops: Promise<void>[] = [];
  private wakers = new Set<() => void>();

  constructor(private readonly options: RunnerOptions) {
    this.lanes = options.lanes ?? DEFAULT_LANES;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.renewEveryMs = options.renewEveryMs ?? Math.max(10, Math.floor(this.leaseMs / 3));
    this.pollMs = options.pollMs ?? 5_000;
  }

  /** Job types this runner can run (what it claims). */
  get types(): BackupType[] {
    return Object.keys(this.options.handlers) as BackupType[];
  }

  get activeJobs(): number {
    return this.running.size;
  }

  start(): void {
    if (this.loops.length) return;
    this.stopping = false;
    this.loops = this.lanes.map((lane) => this.laneLoop(lane));
  }

  /** Look for work now (a job was just enqueued). */
  wake(): void {
    for (const w of [...this.wakers]) w();
  }

  /**
   * Claims and runs jobs until none is due, then resolves (tests and one-shot use; not with start()).
   * Returns how many jobs ran.
   */
  async drain(): Promise<number> {
    let ran = 0;
    for (;;) {
      let claimed = false;
      for (const lane of this.lanes) {
        const active = [...this.running].filter((r) => r.lane === lane.name).length;
        if (active >= lane.concurrency) continue;
        const job = await this.options.queue.claim(this.options.agentId, { types: this.types, minPriority: lane.minPriority, leaseMs: this.leaseMs });
        if (job) {
          claimed = true;
          ran++;
          this.execute(lane, job);
        }
      }
      if (!claimed) {
        if (this.running.size === 0) return ran;
        await Promise.race([...this.running].map((r) => r.done));
      }
    }
  }

  /** See the top of this file. Resolves once every job has finished or been released. */
  async stop(graceMs = this.options.stopGraceMs ?? 30_000): Promise<void> {
    this.stopping = true;
    this.wake();
    await Promise.all(this.loops);
    this.loops = [];
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.all([...this.running].map((r) => r.done)), grace]);
      clearTimeout(timer);
      for (const r of this.running) r.controller.abort(new AbortReason('stop', 'the agent is stopping; the job goes back to the queue'));
      await Promise.all([...this.running].map((r) => r.done));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private async laneLoop(lane: Lane): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const active = [...this.running].filter((r) => r.lane === lane.name).length;
      if (active >= lane.concurrency) {
        await this.sleep(this.pollMs);
        continue;
      }
      let job: ClaimedJob | null;
      try {
        job = await this.options.queue.claim(this.options.agentId, { types: this.types, minPriority: lane.minPriority, leaseMs: this.leaseMs });
        failures = 0;
      } catch (err) {
        // Database away: keep trying, slower, without piling up work.
        failures++;
        if (failures === 1 || failures % 20 === 0) this.options.logger.warn({ lane: lane.name, err: (err as Error).message }, 'cannot claim jobs; retrying');
        await this.sleep(Math.min(this.pollMs * 2 ** Math.min(failures, 4), 60_000));
        continue;
      }
      if (!job) {
        await this.sleep(this.pollMs);
        continue;
      }
      if (this.stopping) {
        await this.options.queue.release(job).catch(() => undefined);
        break;
      }
      this.execute(lane, job);
    }
  }

  private execute(lane: Lane, job: ClaimedJob): void {
    const controller = new AbortController();
    const entry = { job, lane: lane.name, controller } as Running;
    entry.done = this.run(lane, job, controller).finally(() => {
      this.running.delete(entry);
      this.wake();
    });
    this.running.add(entry);
  }

  private async emit(event: RunnerEvent): Promise<void> {
    try {
      await this.options.onEvent?.(event);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message, event: event.type }, 'job event listener failed');
    }
  }

  private async run(lane: Lane, job: ClaimedJob, controller: AbortController): Promise<void> {
    const { queue, agentId } = this.options;
    const logger = this.options.logger.child({ jobId: job.id, type: job.backupType, tier: job.tier, attempt: job.attempts, lane: lane.name });
    const started = Date.now();
    const handler = this.options.handlers[job.backupType];
    const abort = (kind: AbortKind, message: string) => {
      if (!controller.signal.aborted) controller.abort(new AbortReason(kind, message));
    };
    const timeoutMs = this.options.timeoutsMs?.[job.backupType] ?? DEFAULT_TIMEOUTS_MS[job.backupType] ?? 6 * 3_600_000;
    const timeout = setTimeout(() => abort('timeout', `the ${job.backupType} job timed out after ${timeoutMs / 1000} s`), timeoutMs);
    let lastRenewal = Date.now();
    const renewer = setInterval(() => {
      queue.renew(job, this.leaseMs).then(
        (r) => {
          lastRenewal = Date.now();
          if (r === 'cancelled') abort('cancelled', 'the job was cancelled');
          if (r === 'lost') abort('lost', 'another agent took the job over');
        },
        () => {
          // Cannot renew: before the lease runs out, assume another agent will take over.
          if (Date.now() - lastRenewal > this.leaseMs * 0.8) abort('lost', 'could not renew the lease (database unreachable)');
        },
      );
    }, this.renewEveryMs);
    const kind = () => (controller.signal.reason instanceof AbortReason ? controller.signal.reason.kind : null);
    const base = { job, agentId, lane: lane.name } as const;

    logger.info({ weddings: job.weddingIds.length, priority: job.priority }, 'job started');
    await this.emit({ ...base, type: 'started', durationMs: 0 });
    try {
      if (!handler) throw new WedsyncError('INTERNAL', `no handler for ${job.backupType} jobs`);
      const outcome = await handler({ job, signal: controller.signal, logger, agentId });
      const durationMs = Date.now() - started;
      const why = kind();
      if (why === 'cancelled' || why === 'lost') {
        await this.emit({ ...base, type: why, durationMs, outcome });
        return;
      }
      const ok = await queue.complete(job, {
        progress: { ...outcome.summary, ...(outcome.snapshotId ? { snapshotId: outcome.snapshotId } : {}), durationMs },
        retentionUntil: outcome.retentionUntil ?? null,
      });
      logger.info({ durationMs, snapshotId: outcome.snapshotId, recorded: ok }, ok ? 'job completed' : 'job finished but its claim was lost');
      await this.emit({ ...base, type: ok ? 'succeeded' : 'lost', durationMs, outcome });
    } catch (err) {
      const durationMs = Date.now() - started;
      const why = kind();
      if (why === 'stop') {
        await queue.release(job).catch(() => undefined);
        logger.info('job released: agent stopping');
        await this.emit({ ...base, type: 'released', durationMs });
        return;
      }
      if (why === 'cancelled' || why === 'lost') {
        logger.info({ why }, why === 'cancelled' ? 'job cancelled' : 'job lost to another agent');
        await this.emit({ ...base, type: why, durationMs });
        return;
      }
      const error =
        why === 'timeout'
          ? { code: 'CANCELLED', message: (controller.signal.reason as Error).message }
          : isWedsyncError(err)
            ? { code: err.code, message: err.message }
            : { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
      const retryable = !NON_RETRYABLE.has(error.code as ErrorCode);
      let result: FailOutcome;
      try {
        result = await queue.fail(job, error, { retryable, ...(this.options.backoff ? { backoff: this.options.backoff } : {}) });
      } catch (dbErr) {
        // The lease will expire and another agent retries: that is the retry.
        logger.error({ err: (dbErr as Error).message }, 'could not record the failure');
        result = { outcome: 'lost' };
      }
      logger.warn({ code: error.code, err: error.message, outcome: result.outcome }, result.outcome === 'retry' ? 'job failed; will retry' : 'job failed');
      await this.emit({
        ...base,
        type: result.outcome === 'retry' ? 'retrying' : result.outcome === 'failed' ? 'failed' : 'lost',
        durationMs,
        error,
        ...(result.outcome === 'retry' ? { notBefore: result.notBefore } : {}),
      });
    } finally {
      clearTimeout(timeout);
      clearInterval(renewer);
    }
  }
}
