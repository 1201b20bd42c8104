import type { CommandContext } from '../context.js';
import { table, type CommandResult } from '../output.js';
import { requireDatabaseUrl } from '../config.js';

/**
 * `wedsync-backup status [--json]`: upcoming weddings with criticality and achieved RPO against
 * the target, the newest snapshot and job outcomes per tier, the queue, failing jobs, agents.
 * Exit 1 when something needs attention (an RPO missed, a job failed in the last day).
 * The same data as GET /api/backup/status.
 */
export async function run(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const url = requireDatabaseUrl(ctx.config);
  const [{ openSchedulingCatalog }, { scheduleConfig }, { schemaMap }] = await Promise.all([
    import('../../catalog/queue-catalog.js'),
    import('../../jobs/scheduler-cron.js'),
    import('../services.js'),
  ]);
  const schedule = scheduleConfig({
    timeZone: opts.timeZone as string | undefined,
    fullCron: opts.fullCron as string | undefined,
    offsiteCron: opts.offsiteCron as string | undefined,
    offsiteConfigured: Boolean(ctx.config.offsiteRepo),
  });
  const catalog = openSchedulingCatalog(url, schemaMap(ctx.config), { max: 1 });
  let status;
  try {
    status = await catalog.status({ now: new Date(), schedule, days: opts.days as number });
  } finally {
    await catalog.close();
  }
  const now = Date.parse(status.generatedAt);
  const ago = (iso: string | null | undefined) => {
    if (!iso) return 'never';
    const min = Math.round((now - Date.parse(iso)) / 60_000);
    return min < 60 ? `${min} min ago` : min < 2880 ? `${Math.round(min / 60)} h ago` : `${Math.round(min / 1440)} d ago`;
  };
  const q = status.queue;
  const lines = [
    `status at ${status.generatedAt} (${status.timeZone}): ${status.healthy ? 'healthy' : 'NEEDS ATTENTION'}`,
    `queue: ${q.pending} due, ${q.running} running, ${q.retrying} retrying, ${q.failedLastDay} failed in the last day`,
    `agents: ${status.agents.length ? status.agents.map((a) => `${a.agentId} (${a.hostname}, pid ${a.pid}, seen ${ago(a.lastSeenAt)}${a.stale ? ', STALE' : ''})`).join('; ') : 'none running'}`,
    '',
    table(
      ['tier', 'name', 'last snapshot', 'last success', 'last failure', 'next run'],
      status.tiers.map((t) => [t.tier, t.name, t.lastSnapshot ? `${t.lastSnapshot.id.slice(0, 8)} ${ago(t.lastSnapshot.createdAt)}` : 'none', ago(t.lastSuccessAt), t.lastFailureAt ? ago(t.lastFailureAt) : '', t.nextRunAt ?? '']),
    ),
    '',
    `weddings in the next ${opts.days as number} days (${status.weddings.length}):`,
    status.weddings.length
      ? table(
          ['wedding', 'couple', 'date', 'level', 'priority', 'target RPO', 'achieved', ''],
          status.weddings.map((w) => [w.weddingId.slice(0, 8), w.coupleNames ?? '', w.weddingDate, w.level, w.priority, `${w.targetRpoMinutes} min`, w.achievedRpoMinutes === null ? 'no snapshot' : `${w.achievedRpoMinutes} min`, w.rpoMet ? 'ok' : 'MISSED']),
        )
      : '  (none)',
  ];
  if (status.failingJobs.length) {
    lines.push('', 'failing jobs:');
    lines.push(
      table(
        ['job', 'type', 'tier', 'status', 'attempts', 'error'],
        status.failingJobs.map((j) => [j.id.slice(0, 8), j.backupType, j.tier ?? '', j.status, `${j.attempts}/${j.maxAttempts}`, j.error ? `${j.error.code}: ${j.error.message}` : '']),
      ),
    );
  }
  if (status.warnings.length) lines.push('', ...status.warnings.map((w) => `warning: ${w}`));
  return { json: { ok: true, ...status }, text: lines.join('\n'), exitCode: status.healthy ? 0 : 1 };
}
