import { WedsyncError } from '../contract/errors.js';
import type {
  PlanQuery,
  PlanResponse,
  StatusQuery,
  StatusResponse,
  WeddingBackupSettingsPatch,
  WeddingSettingsResponse,
} from '../contract/scheduling.js';
import { planSchedule, type ScheduleConfig, type SchedulingWedding } from '../core/schedule.js';

/**
 * The scheduling features behind the HTTP API (routes/status.ts) and the CLI: status, the plan,
 * a wedding's backup settings, cancelling a job, and the metrics text. Built from ports so it can
 * be served by the agent (main.ts) with the catalog it already holds.
 */
export interface BackupStatusServices {
  status(query: StatusQuery): Promise<StatusResponse>;
  plan(query: PlanQuery): Promise<PlanResponse>;
  getSettings(weddingId: string): Promise<WeddingSettingsResponse>;
  updateSettings(weddingId: string, patch: WeddingBackupSettingsPatch): Promise<WeddingSettingsResponse>;
  cancelJob(jobId: string): Promise<{ jobId: string; outcome: 'cancelled' | 'already-finished' }>;
  /** null when metrics are off. */
  metrics(): Promise<{ contentType: string; body: string } | null>;
}

export interface SchedulingPort {
  loadSchedulingWeddings(window: { from: Date; to: Date }): Promise<SchedulingWedding[]>;
  status(opts: { now: Date; schedule: ScheduleConfig; days: number }): Promise<StatusResponse>;
  getSettings(weddingId: string): Promise<{ stored: boolean; settings: WeddingSettingsResponse['settings'] }>;
  updateSettings(weddingId: string, patch: WeddingBackupSettingsPatch): Promise<WeddingSettingsResponse['settings']>;
  queue: { cancel(jobId: string, by?: string): Promise<'cancelled' | 'already-finished'> };
}

/**
 * The plan for [now, now + hours): weddings near the window are read from the catalog, the rest
 * is the pure planner. Deterministic for a given `now` and catalog content.
 */
export async function planFromCatalog(port: Pick<SchedulingPort, 'loadSchedulingWeddings'>, schedule: ScheduleConfig, now: Date, hours: number): Promise<PlanResponse> {
  if (!(hours > 0)) throw new WedsyncError('BAD_INPUT', `--hours must be a positive number (got ${hours})`);
  const until = new Date(now.getTime() + hours * 3_600_000);
  const weddings = await port.loadSchedulingWeddings({ from: now, to: until });
  return planSchedule({ now, hours, weddings, config: schedule });
}

export function createBackupStatusServices(deps: {
  port: SchedulingPort;
  schedule: ScheduleConfig;
  clock?: () => Date;
  metrics?: { text(): Promise<string>; contentType: string } | null;
}): BackupStatusServices {
  const clock = deps.clock ?? (() => new Date());
  return {
    status: (q) => deps.port.status({ now: clock(), schedule: deps.schedule, days: q.days }),
    plan: (q) => planFromCatalog(deps.port, deps.schedule, q.now ? new Date(q.now) : clock(), q.hours),
    async getSettings(weddingId) {
      const r = await deps.port.getSettings(weddingId);
      return { weddingId, ...r };
    },
    async updateSettings(weddingId, patch) {
      const settings = await deps.port.updateSettings(weddingId, patch);
      return { weddingId, stored: true, settings };
    },
    async cancelJob(jobId) {
      return { jobId, outcome: await deps.port.queue.cancel(jobId, 'the API') };
    },
    async metrics() {
      if (!deps.metrics) return null;
      return { contentType: deps.metrics.contentType, body: await deps.metrics.text() };
    },
  };
}
