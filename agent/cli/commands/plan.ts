import type { CommandContext } from '../context.js';
import { table, type CommandResult } from '../output.js';
import { requireDatabaseUrl } from '../config.js';

/**
 * `wedsync-backup plan [--now ISO] [--hours 24] [--json]`: what the scheduler will run in the
 * window, when and why, from the weddings and settings in the database. The planning is the pure
 * core/schedule.ts: the same --now and the same database give the same plan.
 */
export async function run(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const url = requireDatabaseUrl(ctx.config);
  const [{ openSchedulingCatalog }, { scheduleConfig }, { planFromCatalog }, { schemaMap }] = await Promise.all([
    import('../../catalog/queue-catalog.js'),
    import('../../jobs/scheduler-cron.js'),
    import('../../jobs/scheduler-service.js'),
    import('../services.js'),
  ]);
  const schedule = scheduleConfig({
    timeZone: opts.timeZone as string | undefined,
    fullCron: opts.fullCron as string | undefined,
    offsiteCron: opts.offsiteCron as string | undefined,
    offsiteConfigured: Boolean(ctx.config.offsiteRepo),
  });
  const now = (opts.now as Date | undefined) ?? new Date();
  const catalog = openSchedulingCatalog(url, schemaMap(ctx.config), { max: 1 });
  let plan;
  try {
    plan = await planFromCatalog(catalog, schedule, now, opts.hours as number);
  } finally {
    await catalog.close();
  }
  const label = (id: string) => id.slice(0, 8);
  const lines = [
    `plan from ${plan.now} to ${plan.until} (${plan.timeZone})`,
    '',
    `weddings (${plan.weddings.length}):`,
    plan.weddings.length
      ? table(
          ['wedding', 'date', 'days', 'level', 'priority', 'tier 2', 'target RPO', 'real-time', 'off-site'],
          plan.weddings.map((w) => [label(w.weddingId), w.weddingDate, w.daysToWedding, w.level, w.priority, w.frequencyMinutes ? `every ${w.frequencyMinutes} min` : 'daily full', `${w.targetRpoMinutes} min`, w.realtime ? 'on' : '', w.offsiteRequired ? 'required' : '']),
        )
      : '  (none near the window)',
    '',
    `jobs (${plan.entries.filter((e) => !e.skipped).length}${plan.entries.some((e) => e.skipped) ? `, ${plan.entries.filter((e) => e.skipped).length} skipped` : ''}):`,
    plan.entries.length
      ? table(
          ['at', 'tier', 'type', 'priority', 'lane', 'weddings', 'why'],
          plan.entries.map((e) => [e.at, e.tier, e.backupType, e.priority, e.lane, e.weddingIds.length ? e.weddingIds.map(label).join(',') : 'all', `${e.skipped ? `SKIPPED (${e.skipped}) ` : ''}${e.reason}`]),
        )
      : '  (nothing)',
  ];
  return { json: { ok: true, ...plan }, text: lines.join('\n') };
}
