import type { CommandContext } from '../context.js';
import { formatBytes, type CommandResult } from '../output.js';
import { requirePassphrase } from '../config.js';
import type { SchedulingCatalog } from '../../catalog/queue-catalog.js';
import type { CopyDeps } from '../../jobs/copy.js';

/**
 * `wedsync-backup copy SNAPSHOT --to REPO`: copy one snapshot into another repository (the
 * off-site one by default), sending only what it lacks, manifest last, then verify the copy
 * from the target (jobs/copy.ts). With a database the copy is recorded in the catalog
 * (backup_snapshots.offsite_copies), which the off-site prune keeps for a year.
 */
export async function run(ctx: CommandContext, opts: Record<string, unknown>, args: string[]): Promise<CommandResult> {
  const passphrase = requirePassphrase(ctx.config);
  const { WedsyncError } = await import('../../contract/errors.js');
  const to = (opts.to as string | undefined) ?? ctx.config.offsiteRepo;
  if (!to) throw new WedsyncError('BAD_INPUT', 'copy needs a target: --to s3://bucket/prefix (or set WEDSYNC_OFFSITE_REPO)');
  const [{ openRepo, openStore }, { copySnapshot }, { resolveSnapshotId }] = await Promise.all([import('../repo.js'), import('../../jobs/copy.js'), import('../snapshot-ref.js')]);
  const source = await openRepo(ctx.config.repo, passphrase, ctx.logger);
  let target: Awaited<ReturnType<typeof openStore>> | null = null;
  let catalog: SchedulingCatalog | null = null;
  try {
    target = await openStore(to, { create: true, logger: ctx.logger });
    if (target.location === source.location) throw new WedsyncError('BAD_INPUT', `--to ${to} is the repository itself`);
    const snapshotId = await resolveSnapshotId(args[0] ?? '', source, ctx.config.databaseUrl);
    if (ctx.config.databaseUrl) {
      const [{ openSchedulingCatalog }, { schemaMap }] = await Promise.all([import('../../catalog/queue-catalog.js'), import('../services.js')]);
      catalog = openSchedulingCatalog(ctx.config.databaseUrl, schemaMap(ctx.config), { max: 1 });
    }
    const deps: CopyDeps = {
      source,
      targetStore: target,
      passphrase,
      logger: ctx.logger,
      ...(catalog ? { recordCopy: async (id, copy) => void (await catalog!.recordOffsiteCopy(id, copy)) } : {}),
    };
    const report = await copySnapshot(deps, snapshotId, { verifyData: Boolean(opts.verifyData) });
    const v = report.verified;
    const text = [
      `copied snapshot ${report.snapshotId} to ${report.target}${report.initialised ? ' (new off-site replica)' : ''}`,
      `  ${report.blobs.copied} of ${report.blobs.total} blobs sent (${formatBytes(report.bytesCopied)}), ${report.blobs.present} already there${report.alreadyPresent ? '; the snapshot was already there' : ''}`,
      `  verified: manifest reads back, ${v.blobs} blobs indexed in ${v.packs} packs present${v.dataRead ? ', every blob read back and checked' : ''}`,
    ].join('\n');
    return { json: { ok: true, ...report }, text };
  } finally {
    await Promise.all([source.store.close(), target?.close(), catalog?.close()]);
  }
}
