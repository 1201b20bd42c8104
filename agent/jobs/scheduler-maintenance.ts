import type { CronSchedule } from '../core/schedule.js';
import type { Logger } from '../logger.js';

/**
 * Once-per-slot maintenance (prune of the primary and of the off-site repository) on a cron
 * pattern, exactly once across all agents: the agent whose insert of (task, slot) wins runs it
 * (queue.claimMaintenance). A missed slot (agent down) runs once when an agent is next up.
 * Tasks run in the background; a tick never waits for them, and a task never runs twice at once
 * in one agent.
 */

export type MaintenanceTask = 'prune' | 'prune-offsite';

export interface MaintenancePort {
  claimMaintenance(task: MaintenanceTask, slotKey: string, agentId: string): Promise<boolean>;
  finishMaintenance(task: MaintenanceTask, slotKey: string, outcome: Record<string, unknown>): Promise<void>;
}

export interface MaintenanceOptions {
  port: MaintenancePort;
  agentId: string;
  cron: CronSchedule;
  tasks: Partial<Record<MaintenanceTask, (signal: AbortSignal) => Promise<Record<string, unknown>>>>;
  logger: Logger;
  clock?: () => Date;
  tickMs?: number;
}

export class Maintenance {
  private timer: NodeJS.Timeout | null = null;
  private readonly running = new Map<MaintenanceTask, Promise<void>>();
  private readonly controller = new AbortController();

  constructor(private readonly options: MaintenanceOptions) {}

  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.tickMs ?? 60_000);
    this.timer.unref();
  }

  /** Stops ticking; running tasks are asked to stop at their next safe point and awaited. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.controller.abort();
    await Promise.all(this.running.values());
  }

  /** Claims and starts the tasks whose latest slot is due. Resolves when they have STARTED. */
  async tick(): Promise<MaintenanceTask[]> {
    const now = (this.options.clock ?? (() => new Date()))();
    const slot = this.options.cron.latestAtOrBefore(now);
    if (!slot) return [];
    const slotKey = `m:${slot.toISOString()}`;
    const started: MaintenanceTask[] = [];
    for (const [task, fn] of Object.entries(this.options.tasks) as Array<[MaintenanceTask, NonNullable<MaintenanceOptions['tasks'][MaintenanceTask]>]>) {
      if (this.running.has(task)) continue;
      let won: boolean;
      try {
        won = await this.options.port.claimMaintenance(task, slotKey, this.options.agentId);
      } catch (err) {
        this.options.logger.warn({ task, err: (err as Error).message }, 'maintenance: cannot reach the catalog');
        continue;
      }
      if (!won) continue;
      started.push(task);
      this.options.logger.info({ task, slot: slotKey }, 'maintenance started');
      const run = fn(this.controller.signal)
        .then(
          (outcome) => this.options.port.finishMaintenance(task, slotKey, { ok: true, ...outcome }),
          (err: unknown) => {
            this.options.logger.error({ task, err: (err as Error).message }, 'maintenance failed');
            return this.options.port.finishMaintenance(task, slotKey, { ok: false, error: (err as Error).message });
          },
        )
        .catch(() => undefined)
        .finally(() => this.running.delete(task));
      this.running.set(task, run);
    }
    return started;
  }

  /** Waits for running tasks (tests). */
  async idle(): Promise<void> {
    await Promise.all(this.running.values());
  }
}
