import type { CommandContext } from '../context.js';
import { formatBytes, type CommandResult } from '../output.js';
import { requireDatabaseUrl, requirePassphrase } from '../config.js';
import { eta, progressLine, rate } from '../progress.js';
import type { BackupProgress, BackupType } from '../../jobs/backup.js';
import type { DataType } from '../../contract/schema-map.js';

/** `wedsync-backup backup`: take a snapshot now. */
export async function run(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const url = requireDatabaseUrl(ctx.config);
  const passphrase = requirePassphrase(ctx.config);
  const type = opts.type as BackupType;
  const weddingIds = opts.wedding as string[] | undefined;
  const dataTypes = opts.dataTypes as DataType[] | undefined;
  const { WedsyncError } = await import('../../contract/errors.js');
  if (type === 'emergency' && !weddingIds?.length) throw new WedsyncError('BAD_INPUT', '--type emergency needs at least one --wedding ID');
  if (type !== 'emergency' && (weddingIds?.length || dataTypes)) throw new WedsyncError('BAD_INPUT', '--wedding and --data-types apply only to --type emergency');

  // The key first: scrypt runs on libuv's thread pool while the rest of the backup's code loads,
  // the catalog connects and the backup opens its database snapshot (runBackup does what needs
  // no key before it waits for it).
  const { unlockRepo } = await import('../repo.js');
  const unlocking = unlockRepo(ctx.config.repo, passphrase, ctx.logger);
  unlocking.catch(() => undefined); // awaited below by openTogether
  const [{ openCatalog }, { openBackupSource }, { runBackup }, { schemaMap, openPhotoStore }, { openTogether, opening }] = await Promise.all([
    import('../../catalog/catalog.js'),
    import('../../source/backup-source.js'),
    import('../../jobs/backup.js'),
    import('../services.js'),
    import('../open-together.js'),
  ]);
  const map = schemaMap(ctx.config);
  const { repo, catalog, photoStore } = await openTogether({
    repo: opening(unlocking, (r) => r.store.close()),
    catalog: opening(openCatalog(url), (c) => c.close()),
    photoStore: opening(type === 'emergency' && dataTypes && !dataTypes.includes('photos') ? Promise.resolve(null) : openPhotoStore(ctx.config, ctx.logger), (p) => p.close()),
  });
  ctx.logger.debug({ atMs: Math.round(performance.now()) }, 'backup: store, catalog and photo store open (key still unlocking)');
  const progress = progressLine(ctx.interactive);
  const started = Date.now();
  try {
    // runBackup holds the repository's shared lock (against prune) from the job's start to its root.
    const result = await runBackup(
      {
        openSource: () => openBackupSource(url, map, type === 'emergency' ? 1 : ctx.config.parallelism, { lockTimeoutMs: ctx.config.lockTimeoutMs }),
        catalog,
        repo,
        photoStore,
        map,
        logger: ctx.logger,
        lockWaitMs: 5 * 60_000,
        // Progress text is built only for a terminal (a backup reports progress per segment).
        ...(ctx.interactive
          ? {
              onProgress: (p: BackupProgress) =>
                progress.update(
                  p.phase === 'photos'
                    ? `photos ${p.photosDone}/${p.photosTotal}`
                    : `${p.phase}: ${p.rows.toLocaleString('en')} rows, ${formatBytes(p.bytes)}, ${p.weddingsDone} weddings, ${p.itemsDone}/${p.itemsTotal} parts, ${rate(p.rows, Date.now() - started)} rows${eta(p.rows, p.rowsEstimate, Date.now() - started)}`,
                ),
            }
          : {}),
      },
      { type, weddingIds, dataTypes, priority: type === 'emergency' ? 10 : 5 },
    );
    progress.done();
    const text = [
      `snapshot ${result.snapshotId} (${result.type}${result.note ? `; ${result.note}` : ''})`,
      `  ${result.weddingCount} weddings, ${result.rowCount.toLocaleString('en')} rows (${result.rowsExported.toLocaleString('en')} read), ${result.photoCount} photos${result.photoProblems ? `, ${result.photoProblems} photo problems` : ''}`,
      `  ${formatBytes(result.bytesNew)} new, ${formatBytes(result.bytesTotal)} total stored, compression ${result.compressionRatio ?? '-'}x, ${(result.durationMs / 1000).toFixed(2)} s`,
    ].join('\n');
    return { json: { ok: true, ...result }, text };
  } finally {
    progress.done();
    await Promise.all([catalog.close(), repo.store.close(), photoStore?.close()]);
  }
}
