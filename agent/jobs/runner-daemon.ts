import { hostname } from 'node:os';
import type { Catalog } from '../catalog/catalog.js';
import type { NewQueuedJob, QueuedJob } from '../catalog/queue.js';
import type { RetentionRow } from '../catalog/retention.js';
import type { Config } from '../contract/config.js';
import { WedsyncError } from '../contract/errors.js';
import type { NotificationPreferences, StatusResponse } from '../contract/scheduling.js';
import type { SchemaMap } from '../contract/schema-map.js';
import { URGENT_PRIORITY } from '../core/criticality.js';
import type { RetentionWedding } from '../core/retention.js';
import type { CronSchedule, ScheduleConfig, SchedulingWedding } from '../core/schedule.js';
import type { Logger } from '../logger.js';
import { isRepository, openRepository, type Repository } from '../repository/repository.js';
import type { BackupSource } from '../source/backup-source.js';
import type { BlobStore } from '../storage/blob-store.js';
import { openBlobStore } from '../storage/open.js';
import type { BackupType } from './backup.js';
import { runPrune } from './prune.js';
import { createHookNotifier, type HookConfig } from './runner-hooks.js';
import { backupHandlers, offsiteHandler } from './runner-handlers.js';
import { JobRunner, type Lane, type QueuePort, type RunnerEvent } from './runner.js';
import { DEFAULT_PRUNE_CRON, cronSchedule, scheduleConfig } from './scheduler-cron.js';
import { Maintenance } from './scheduler-maintenance.js';
import { createBackupStatusServices, type BackupStatusServices, type SchedulingPort } from './scheduler-service.js';
import { Scheduler } from './scheduler.js';

/**
 * The agent's background work in one place (started by main.ts when jobs are on): the
 * scheduler (plans slots into the shared queue), the runner (claims and runs them in urgent and
 * routine lanes), nightly maintenance (prune of the primary and off-site repositories, once per
 * slot across agents), a heartbeat row for status, and the hooks and metrics on every job event.
 * stop(): scheduler and maintenance stop first, then the runner finishes or releases its jobs.
 */

export interface DaemonCatalog {
  readonly queue: QueuePort & {
    enqueue(job: NewQueuedJob): Promise<{ id: string; created: boolean; superseded: number }>;
    lastPlannedSlots(): Promise<Partial<Record<1 | 2 | 3 | 4, Date>>>;
    expireLeases(): Promise<QueuedJob[]>;
    heartbeat(agent: { agentId: string; hostname: string; pid: number; version?: string; info?: Record<string, unknown> }): Promise<void>;
    agentStopped(agentId: string): Promise<void>;
    claimMaintenance(task: 'prune' | 'prune-offsite', slotKey: string, agentId: string): Promise<boolean>;
    finishMaintenance(task: 'prune' | 'prune-offsite', slotKey: string, outcome: Record<string, unknown>): Promise<void>;
  };
  loadSchedulingWeddings(window: { from: Date; to: Date }): Promise<SchedulingWedding[]>;
  loadNotificationPreferences(weddingIds: readonly string[]): Promise<Map<string, NotificationPreferences>>;
  pruneCatalog(location: string, target: 'primary' | 'offsite'): { listSnapshots(): Promise<RetentionRow[]>; markForgotten(ids: string[], at: Date): Promise<void>; loadWeddings(): Promise<RetentionWedding[]> };
  recordOffsiteCopy(snapshotId: string, copy: { location: string; repositoryId: string; copiedAt: string; verified: boolean; blobsCopied: number; bytesCopied: number }): Promise<boolean>;
  newestCompleteSnapshot(storageLocation: string): Promise<{ id: string } | null>;
}

/** A sensitive action for the audit log (catalog/audit.ts). */
export interface DaemonAuditEntry {
  action: string;
  outcome: 'succeeded' | 'failed';
  actor: { label: string };
  target?: string | null;
  details?: Record<string, unknown>;
}

export interface DaemonOptions {
  agentId?: string;
  logger: Logger;
  /** Records prunes in the audit log; omitted: not audited (tests, embedders without a catalog). */
  audit?: (entry: DaemonAuditEntry) => Promise<unknown>;
  /** The backup task's catalog (runBackup records snapshots through it). */
  catalog: Catalog;
  scheduling: DaemonCatalog;
  repoStore: BlobStore;
  passphrase: string;
  openSource: (type: BackupType) => Promise<BackupSource>;
  photoStore: BlobStore | null;
  map: SchemaMap;
  schedule: ScheduleConfig;
  /** Nightly prune; null: no automatic prune. */
  pruneCron: CronSchedule | null;
  /** The off-site repository's store (a new one per use), or null. */
  openOffsite: (() => Promise<BlobStore>) | null;
  hooks?: HookConfig;
  onEvent?: (event: RunnerEvent) => void;
  scheduler?: boolean;
  runner?: boolean;
  maintenance?: boolean;
  lanes?: Lane[];
  leaseMs?: number;
  tickMs?: number;
  pollMs?: number;
  stopGraceMs?: number;
  version?: string;
}

export interface Daemon {
  agentId: string;
  scheduler: Scheduler | null;
  runner: JobRunner | null;
  maintenance: Maintenance | null;
  stop(): Promise<void>;
}

const HEARTBEAT_MS = 30_000;

export function startDaemon(opts: DaemonOptions): Daemon {
  const agentId = opts.agentId ?? `${hostname()}-${process.pid}`;
  const logger = opts.logger.child({ agent: agentId });
  const { scheduling } = opts;
  // The passphrase's key derivation (scrypt) runs once; each job then gets a fresh Repository
  // (its index read anew) over the same unwrapped master key.
  let unlocked: Promise<Repository> | null = null;
  const openRepo = async (): Promise<Repository> => {
    const base = (unlocked ??= openRepository(opts.repoStore, opts.passphrase));
    let repo: Repository | null;
    try {
      repo = await (await base).reopen();
    } catch (err) {
      if (unlocked === base) unlocked = null; // a later job tries again (the repository may be back)
      throw err;
    }
    if (repo) return repo;
    // The key file it was opened with is gone: open with the passphrase again (another key, or WRONG_PASSPHRASE).
    if (unlocked === base) unlocked = null;
    const again = await openRepository(opts.repoStore, opts.passphrase);
    unlocked = Promise.resolve(again);
    return (await again.reopen()) ?? again;
  };
  const hooks = createHookNotifier({ config: opts.hooks ?? {}, loadPreferences: (ids) => scheduling.loadNotificationPreferences(ids), logger });

  let runner: JobRunner | null = null;
  if (opts.runner ?? true) {
    const deps = { openRepository: openRepo, catalog: opts.catalog, openSource: opts.openSource, photoStore: opts.photoStore, map: opts.map, logger, agentName: agentId };
    runner = new JobRunner({
      agentId,
      queue: scheduling.queue,
      logger,
      handlers: {
        ...backupHandlers(deps),
        offsite: offsiteHandler({
          ...deps,
          passphrase: opts.passphrase,
          openTarget: opts.openOffsite,
          newestCompleteSnapshot: (loc) => scheduling.newestCompleteSnapshot(loc),
          recordCopy: async (id, copy) => void (await scheduling.recordOffsiteCopy(id, copy)),
        }),
      },
      ...(opts.lanes ? { lanes: opts.lanes } : {}),
      ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}),
      ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
      ...(opts.stopGraceMs !== undefined ? { stopGraceMs: opts.stopGraceMs } : {}),
      onEvent: async (e) => {
        opts.onEvent?.(e);
        await hooks(e);
      },
    });
  }

  const heartbeat = () =>
    scheduling.queue
      .heartbeat({ agentId, hostname: hostname(), pid: process.pid, ...(opts.version ? { version: opts.version } : {}), info: { scheduler: opts.scheduler ?? true, runner: runner?.types ?? [], lanes: opts.lanes ?? 'default' } })
      .catch((err: unknown) => logger.debug({ err: (err as Error).message }, 'heartbeat failed'));
  void heartbeat();
  const beat = setInterval(() => void heartbeat(), HEARTBEAT_MS);
  beat.unref();

  let scheduler: Scheduler | null = null;
  if (opts.scheduler ?? true) {
    scheduler = new Scheduler({
      port: {
        loadWeddings: (w) => scheduling.loadSchedulingWeddings(w),
        lastPlannedSlots: () => scheduling.queue.lastPlannedSlots(),
        enqueue: (j) => scheduling.queue.enqueue(j),
        expireLeases: () => scheduling.queue.expireLeases(),
      },
      config: opts.schedule,
      logger,
      ...(opts.tickMs ? { tickMs: opts.tickMs } : {}),
      onPlanned: () => runner?.wake(),
    });
  }

  let maintenance: Maintenance | null = null;
  if ((opts.maintenance ?? true) && opts.pruneCron) {
    const prune = (target: 'primary' | 'offsite') => async (signal: AbortSignal) => {
      const store = target === 'primary' ? opts.repoStore : await opts.openOffsite!();
      try {
        // No copy was ever made: nothing to prune off-site yet (the first tier 4 job creates it).
        if (target === 'offsite' && !(await isRepository(store))) return { skipped: 'no off-site repository yet' };
        const repo = await openRepository(store, opts.passphrase);
        const report = await runPrune(
          { repo, passphrase: opts.passphrase, catalog: scheduling.pruneCatalog(repo.location, target), logger, timeZone: opts.schedule.timeZone, agentName: agentId },
          { target, signal },
        );
        const outcome = { forgotten: report.snapshots.forgotten.length, packsDeleted: report.gc?.packs.deleted ?? 0, bytesFreed: report.gc?.bytes.freed ?? 0, ...(report.gcSkipped ? { gcSkipped: report.gcSkipped } : {}) };
        // Prune deletes data: it is a sensitive action and goes into the audit log.
        await opts.audit?.({ action: 'prune', outcome: 'succeeded', actor: { label: `agent:${agentId}` }, target: repo.location, details: { target, ...outcome } }).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'prune: audit row not written'));
        return outcome;
      } finally {
        if (target === 'offsite') await store.close().catch(() => undefined);
      }
    };
    maintenance = new Maintenance({
      port: scheduling.queue,
      agentId,
      cron: opts.pruneCron,
      logger,
      tasks: { prune: prune('primary'), ...(opts.openOffsite ? { 'prune-offsite': prune('offsite') } : {}) },
    });
  }

  scheduler?.start();
  runner?.start();
  maintenance?.start();
  logger.info({ scheduler: Boolean(scheduler), runner: runner?.types ?? null, maintenance: Boolean(maintenance) }, 'agent daemon started');

  return {
    agentId,
    scheduler,
    runner,
    maintenance,
    async stop() {
      await scheduler?.stop();
      await maintenance?.stop();
      await runner?.stop();
      clearInterval(beat);
      await scheduling.queue.agentStopped(agentId).catch(() => undefined);
      logger.info('agent daemon stopped');
    },
  };
}

/** The agent's job settings (AgentOptions.jobs; flags of the `agent` command). */
export interface AgentJobOptions {
  /** Plan slots into the queue (default true). */
  scheduler?: boolean;
  /** Claim and run jobs (default true). */
  runner?: boolean;
  /** Nightly prune (default true; needs pruneCron not null). */
  maintenance?: boolean;
  timeZone?: string;
  fullCron?: string;
  offsiteCron?: string;
  /** null: never prune automatically. */
  pruneCron?: string | null;
  hooks?: HookConfig;
  urgentConcurrency?: number;
  routineConcurrency?: number;
  tickMs?: number;
  pollMs?: number;
  leaseMs?: number;
  stopGraceMs?: number;
}

export interface AgentJobsDeps {
  config: Config;
  logger: Logger;
  scheduling: DaemonCatalog & SchedulingPort;
  catalog: Catalog;
  repoStore: BlobStore;
  photoStore: BlobStore | null;
  map: SchemaMap;
  openSource: (type: BackupType) => Promise<BackupSource>;
  /** Builds the metrics (api/metrics.ts createMetrics) over the status; omitted: no /metrics. */
  createMetrics?: (status: () => Promise<StatusResponse>) => JobMetrics;
  /** false/undefined: status, plan, settings and metrics only (tests, embedders); true or options: the daemon too. */
  options: AgentJobOptions | boolean | undefined;
}

/** What the daemon needs of the metrics (api/metrics.ts AgentMetrics). */
export interface JobMetrics {
  observe(event: RunnerEvent): void;
  text(): Promise<string>;
  readonly contentType: string;
}

export interface AgentJobs {
  services: BackupStatusServices;
  metrics: JobMetrics | null;
  daemon: Daemon | null;
  /** Stops the daemon (graceful: running jobs finish or go back to the queue). */
  close(): Promise<void>;
}

/** What main.ts starts: the status services and metrics always, the daemon when asked. */
export async function startAgentJobs(deps: AgentJobsDeps): Promise<AgentJobs> {
  const opts: AgentJobOptions = typeof deps.options === 'object' ? deps.options : {};
  const { config, scheduling } = deps;
  const schedule = scheduleConfig({
    ...(opts.timeZone ? { timeZone: opts.timeZone } : {}),
    ...(opts.fullCron ? { fullCron: opts.fullCron } : {}),
    ...(opts.offsiteCron ? { offsiteCron: opts.offsiteCron } : {}),
    offsiteConfigured: Boolean(config.offsiteRepo),
  });
  const hookUrl = opts.hooks?.webhookUrl;
  if (hookUrl && !/^https?:\/\/[^\s]+$/i.test(hookUrl)) throw new WedsyncError('BAD_INPUT', `--hook-url must be an http:// or https:// URL (got ${JSON.stringify(hookUrl)})`);
  const pruneCron = opts.pruneCron === null ? null : cronSchedule(opts.pruneCron ?? DEFAULT_PRUNE_CRON, schedule.timeZone, 'prune cron');
  const metrics = deps.createMetrics?.(() => scheduling.status({ now: new Date(), schedule, days: 30 })) ?? null;
  const services = createBackupStatusServices({ port: scheduling, schedule, metrics });
  let daemon: Daemon | null = null;
  if (deps.options) {
    const offsite = config.offsiteRepo;
    const url = config.databaseUrl;
    daemon = startDaemon({
      logger: deps.logger,
      ...(url ? { audit: async (entry: DaemonAuditEntry) => (await import('../catalog/audit.js')).auditOnce(url, entry) } : {}),
      catalog: deps.catalog,
      scheduling,
      repoStore: deps.repoStore,
      passphrase: config.passphrase ?? '',
      openSource: deps.openSource,
      photoStore: deps.photoStore,
      map: deps.map,
      schedule,
      pruneCron,
      openOffsite: offsite ? () => openBlobStore(offsite, { create: true }) : null,
      onEvent: (e) => metrics?.observe(e),
      lanes: [
        { name: 'urgent', minPriority: URGENT_PRIORITY, concurrency: opts.urgentConcurrency ?? 1 },
        { name: 'routine', minPriority: 1, concurrency: opts.routineConcurrency ?? 1 },
      ],
      ...(opts.hooks ? { hooks: opts.hooks } : {}),
      ...(opts.scheduler !== undefined ? { scheduler: opts.scheduler } : {}),
      ...(opts.runner !== undefined ? { runner: opts.runner } : {}),
      ...(opts.maintenance !== undefined ? { maintenance: opts.maintenance } : {}),
      ...(opts.tickMs ? { tickMs: opts.tickMs } : {}),
      ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
      ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}),
      ...(opts.stopGraceMs !== undefined ? { stopGraceMs: opts.stopGraceMs } : {}),
    });
  }
  return {
    services,
    metrics,
    daemon,
    close: async () => daemon?.stop(),
  };
}
