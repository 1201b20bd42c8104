import type { CommandContext } from '../context.js';
import type { CommandResult } from '../output.js';
import { requireDatabaseUrl, requirePassphrase } from '../config.js';

/**
 * `wedsync-backup prune [--dry-run] [--offsite] [--json]`: forget the snapshots the retention
 * policy no longer keeps (catalog forgotten_at, then the manifest), then delete the packs no
 * remaining snapshot needs and repack mostly-garbage ones — under the repository's exclusive
 * lock, with a grace period for packs of backups still running (jobs/prune.ts).
 */
export async function run(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const url = requireDatabaseUrl(ctx.config);
  const passphrase = requirePassphrase(ctx.config);
  const { WedsyncError } = await import('../../contract/errors.js');
  const offsite = Boolean(opts.offsite);
  const location = offsite ? ctx.config.offsiteRepo : ctx.config.repo;
  if (!location) throw new WedsyncError('BAD_INPUT', '--offsite needs the off-site repository: set WEDSYNC_OFFSITE_REPO or pass --offsite-repo');
  const [{ openRepo }, { openSchedulingCatalog }, { runPrune, describePrune }, { systemTimeZone }, { schemaMap }] = await Promise.all([
    import('../repo.js'),
    import('../../catalog/queue-catalog.js'),
    import('../../jobs/prune.js'),
    import('../../jobs/scheduler-cron.js'),
    import('../services.js'),
  ]);
  const repo = await openRepo(location, passphrase, ctx.logger);
  const catalog = openSchedulingCatalog(url, schemaMap(ctx.config), { max: 2 });
  try {
    const target = offsite ? 'offsite' : 'primary';
    const report = await runPrune(
      { repo, passphrase, catalog: catalog.pruneCatalog(repo.location, target), logger: ctx.logger, timeZone: (opts.timeZone as string | undefined) ?? systemTimeZone() },
      {
        target,
        dryRun: Boolean(opts.dryRun),
        ...(opts.grace !== undefined ? { graceMs: (opts.grace as number) * 60_000 } : {}),
        ...(opts.repackThreshold !== undefined ? { repackThreshold: opts.repackThreshold as number } : {}),
        ...(opts.waitLock !== undefined ? { lockWaitMs: (opts.waitLock as number) * 1000 } : {}),
      },
    );
    if (!opts.dryRun) {
      // Prune deletes data: a sensitive action, recorded in the audit log.
      const { auditOnce } = await import('../../catalog/audit.js');
      await auditOnce(url, {
        action: 'prune',
        outcome: 'succeeded',
        actor: { label: 'cli' },
        target: repo.location,
        details: { target, forgotten: report.snapshots.forgotten.length, packsDeleted: report.gc?.packs.deleted ?? 0 },
      }).catch((err: unknown) => ctx.logger.warn({ err: (err as Error).message }, 'prune: audit row not written'));
    }
    return { json: { ok: true, ...report }, text: describePrune(report) };
  } finally {
    await Promise.all([catalog.close(), repo.store.close()]);
  }
}
