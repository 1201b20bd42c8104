import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StatusResponse } from '../contract/scheduling.js';
import type { RunnerEvent } from '../jobs/runner.js';

/**
 * Prometheus metrics of the agent (GET /metrics, prom-client, one registry per agent so tests and
 * several agents in one process do not share counters):
 *
 *   wedsync_backup_last_success_timestamp_seconds{tier,type}   last job that succeeded
 *   wedsync_backup_job_duration_seconds{tier,type,outcome}     histogram of job run times
 *   wedsync_backup_bytes_total{tier,type}                      bytes added (repository) or copied (off-site)
 *   wedsync_backup_job_failures_total{tier,type,code,final}    failed attempts (final="true": given up)
 *   wedsync_backup_jobs{state}                                 queue: pending, running, retrying
 *   wedsync_backup_wedding_rpo_seconds{wedding_id,level}       achieved RPO per upcoming wedding
 *   wedsync_backup_wedding_rpo_target_seconds{wedding_id,level}
 *   wedsync_backup_status_healthy                              1 when every RPO is met and nothing failed today
 * plus the process metrics of prom-client (prefixed wedsync_agent_).
 *
 * The wedding and queue gauges are computed at scrape time from the status (cached briefly, so a
 * busy scraper does not hammer the catalog); tier label "none" marks jobs started by hand.
 * Cardinality stays bounded: only weddings within the status window (30 days) get series.
 */

export interface AgentMetrics {
  readonly registry: Registry;
  /** The runner's onEvent. */
  observe(event: RunnerEvent): void;
  text(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions {
  /** Status for the scrape-time gauges; errors leave them empty for that scrape. */
  status?: () => Promise<StatusResponse>;
  /** How long one status is reused (default 15 s). */
  statusCacheMs?: number;
  processMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): AgentMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'wedsync_agent_' });

  let cached: { at: number; value: Promise<StatusResponse | null> } | null = null;
  const status = (): Promise<StatusResponse | null> => {
    if (!options.status) return Promise.resolve(null);
    const now = Date.now();
    if (!cached || now - cached.at > (options.statusCacheMs ?? 15_000)) {
      cached = { at: now, value: options.status().catch(() => null) };
    }
    return cached.value;
  };

  const lastSuccess = new Gauge({ name: 'wedsync_backup_last_success_timestamp_seconds', help: 'Unix time of the last successful job, per tier and type', labelNames: ['tier', 'type'] as const, registers: [registry] });
  const duration = new Histogram({
    name: 'wedsync_backup_job_duration_seconds',
    help: 'How long jobs ran',
    labelNames: ['tier', 'type', 'outcome'] as const,
    buckets: [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600],
    registers: [registry],
  });
  const bytes = new Counter({ name: 'wedsync_backup_bytes_total', help: 'Bytes added to the repository (backups) or copied off-site', labelNames: ['tier', 'type'] as const, registers: [registry] });
  const failures = new Counter({ name: 'wedsync_backup_job_failures_total', help: 'Failed job attempts; final="true" when the job was given up', labelNames: ['tier', 'type', 'code', 'final'] as const, registers: [registry] });
  new Gauge({
    name: 'wedsync_backup_jobs',
    help: 'Jobs in the shared queue by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const s = await status();
      this.reset();
      if (!s) return;
      this.set({ state: 'pending' }, s.queue.pending);
      this.set({ state: 'running' }, s.queue.running);
      this.set({ state: 'retrying' }, s.queue.retrying);
      this.set({ state: 'failed_last_day' }, s.queue.failedLastDay);
    },
  });
  new Gauge({
    name: 'wedsync_backup_wedding_rpo_target_seconds',
    help: 'Recovery point objective per upcoming wedding',
    labelNames: ['wedding_id', 'level'] as const,
    registers: [registry],
    async collect() {
      const s = await status();
      this.reset();
      for (const w of s?.weddings ?? []) this.set({ wedding_id: w.weddingId, level: w.level }, w.targetRpoMinutes * 60);
    },
  });
  new Gauge({
    name: 'wedsync_backup_wedding_rpo_seconds',
    help: 'Achieved recovery point per upcoming wedding: age of its newest snapshot (absent when it has none)',
    labelNames: ['wedding_id', 'level'] as const,
    registers: [registry],
    async collect() {
      const s = await status();
      this.reset();
      for (const w of s?.weddings ?? []) {
        if (w.achievedRpoMinutes !== null) this.set({ wedding_id: w.weddingId, level: w.level }, w.achievedRpoMinutes * 60);
      }
    },
  });
  new Gauge({
    name: 'wedsync_backup_status_healthy',
    help: '1 when every upcoming wedding meets its RPO and no job failed in the last day',
    registers: [registry],
    async collect() {
      const s = await status();
      if (s) this.set(s.healthy ? 1 : 0);
    },
  });

  return {
    registry,
    contentType: registry.contentType,
    observe(event) {
      const labels = { tier: event.job.tier === null ? 'none' : String(event.job.tier), type: event.job.backupType };
      if (event.type === 'started') return;
      duration.observe({ ...labels, outcome: event.type }, event.durationMs / 1000);
      if (event.type === 'succeeded') {
        lastSuccess.set(labels, Date.now() / 1000);
        if (event.outcome?.bytes) bytes.inc(labels, event.outcome.bytes);
      }
      if (event.type === 'failed' || event.type === 'retrying') {
        failures.inc({ ...labels, code: event.error?.code ?? 'UNKNOWN', final: String(event.type === 'failed') });
      }
    },
    text: () => registry.metrics(),
  };
}
