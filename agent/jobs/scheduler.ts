import type { NewQueuedJob, QueuedJob } from '../catalog/queue.js';
import { dueJobs, type DueJob, type ScheduleConfig, type SchedulingWedding } from '../core/schedule.js';
import type { Logger } from '../logger.js';

/**
 * The scheduler: every `tickMs` it asks the pure planner (core/schedule.ts dueJobs) what is due
 * now and inserts those jobs into the shared queue. Every agent runs one; slot keys make their
 * inserts idempotent, so N agents plan each slot once between them.
 *
 *  - Catch-up: the planner looks back from the newest slot already planned per tier, so after
 *    downtime (of the agent or of the database) each tier gets ONE job covering what was missed.
 *  - Database outage: a tick that fails is logged and skipped; the next one resumes by itself.
 *    Nothing is queued in memory meanwhile, so recovery brings no burst of duplicate jobs.
 *  - Also per tick: running jobs whose agents died too often are failed (queue.expireLeases) and
 *    this agent's heartbeat is written.
 *  - Tier 1 (real-time) entries become backup_jobs rows only with `planRealtime` (for a stream
 *    runner that claims them); otherwise they exist in the plan and status only.
 */

export interface SchedulerPort {
  loadWeddings(window: { from: Date; to: Date }): Promise<SchedulingWedding[]>;
  lastPlannedSlots(): Promise<Partial<Record<1 | 2 | 3 | 4, Date>>>;
  enqueue(job: NewQueuedJob): Promise<{ id: string; created: boolean; superseded: number }>;
  expireLeases(): Promise<QueuedJob[]>;
  heartbeat?(): Promise<void>;
}

export interface SchedulerOptions {
  port: SchedulerPort;
  config: ScheduleConfig;
  logger: Logger;
  clock?: () => Date;
  tickMs?: number;
  planRealtime?: boolean;
  lookbackMs?: number;
  /** Called after a tick created jobs (e.g. wake the runner). */
  onPlanned?: (created: DueJob[]) => void;
  /** Jobs failed because their agents kept dying (hooks, metrics). */
  onExpired?: (jobs: QueuedJob[]) => void;
}

export interface TickResult {
  ok: boolean;
  due: DueJob[];
  created: DueJob[];
  superseded: number;
  expired: number;
  error?: string;
}

export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<TickResult> | null = null;
  private failures = 0;

  constructor(private readonly options: SchedulerOptions) {}

  /** Consecutive ticks that failed (the database is away when > 0). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.tickMs ?? 30_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking?.catch(() => undefined);
  }

  /** One planning round (never throws; overlapping calls share one round). */
  tick(): Promise<TickResult> {
    if (!this.ticking) this.ticking = this.round().finally(() => (this.ticking = null));
    return this.ticking;
  }

  private async round(): Promise<TickResult> {
    const { port, config, logger } = this.options;
    const now = (this.options.clock ?? (() => new Date()))();
    const lookback = this.options.lookbackMs ?? 2 * 86_400_000;
    try {
      await port.heartbeat?.();
      const [weddings, since] = await Promise.all([port.loadWeddings({ from: new Date(now.getTime() - lookback), to: new Date(now.getTime() + 3_600_000) }), port.lastPlannedSlots()]);
      const due = dueJobs({ now, since, weddings, config, lookbackMs: lookback }).filter((d) => d.tier !== 1 || this.options.planRealtime);
      const created: DueJob[] = [];
      let superseded = 0;
      for (const d of due) {
        const r = await port.enqueue({
          backupType: d.backupType,
          tier: d.tier,
          priority: d.priority,
          weddingIds: d.weddingIds,
          scheduledAt: d.scheduledAt,
          slotKey: d.slotKey,
          retentionUntil: new Date(d.scheduledAt.getTime() + d.retentionDays * 86_400_000),
        });
        if (r.created) {
          created.push(d);
          superseded += r.superseded;
          logger.info({ tier: d.tier, slot: d.slotKey, priority: d.priority, weddings: d.weddingIds.length, collapsed: d.collapsedSlots, superseded: r.superseded, reason: d.reason }, 'job planned');
        }
      }
      const expired = await port.expireLeases();
      if (expired.length) {
        logger.warn({ jobs: expired.map((j) => j.id) }, 'jobs failed: their agents stopped renewing leases too often');
        this.options.onExpired?.(expired);
      }
      if (this.failures > 0) logger.info({ after: this.failures }, 'scheduling resumed');
      this.failures = 0;
      if (created.length) this.options.onPlanned?.(created);
      return { ok: true, due, created, superseded, expired: expired.length };
    } catch (err) {
      this.failures++;
      const message = (err as Error).message;
      if (this.failures === 1 || this.failures % 20 === 0) logger.warn({ err: message, failures: this.failures }, 'scheduling paused: cannot reach the catalog');
      return { ok: false, due: [], created: [], superseded: 0, expired: 0, error: message };
    }
  }
}
