import type { CommandContext } from '../context.js';
import type { CommandResult } from '../output.js';
import { checkTargetUrl, openRestoreSession, previewThenRestore } from './restore.js';

/**
 * `wedsync-backup undo OPERATION_ID [--yes] [--dry-run] [--target-url URL [--target-photo-store LOCATION]]`: restores the recovery
 * point a restore took before it changed anything — the same weddings and exactly the tables it
 * replaced. An undo is itself a recovery operation (type undo) with its own recovery point, and
 * is previewed and confirmed like a restore.
 */
export async function run(ctx: CommandContext, opts: Record<string, unknown>, args: string[]): Promise<CommandResult> {
  const operationId = args[0] ?? '';
  const targetUrl = opts.targetUrl as string | undefined;
  const targetPhotoStore = opts.targetPhotoStore as string | undefined;
  await checkTargetUrl(targetUrl, targetPhotoStore);
  // A point-in-time restore ran on the local repository (tier 1's), so did its recovery point:
  // undo it from there (the main repository may be S3, out of reach on a wedding day).
  const localRepo = (await recoveryPointIsLocal(ctx, operationId)) ? await (await import('./stream.js')).openLocalRepository(ctx.config, ctx.logger) : null;
  const session = await openRestoreSession(ctx, { photos: !targetUrl || Boolean(targetPhotoStore), photoStore: targetPhotoStore, ...(localRepo ? { repo: localRepo } : {}) }).catch(async (err: unknown) => {
    await localRepo?.store.close();
    throw err;
  });
  try {
    const { undoRequest } = await import('../../jobs/restore.js');
    const request = { ...(await undoRequest(session.deps, operationId, targetUrl)), ...(targetPhotoStore ? { targetPhotoStore } : {}) };
    const again = `wedsync-backup undo ${operationId}${targetUrl ? ' --target-url URL' : ''}${targetPhotoStore ? ` --target-photo-store ${targetPhotoStore}` : ''}`;
    return await previewThenRestore(ctx, session, request, opts, again);
  } finally {
    await session.close();
    await localRepo?.store.close();
  }
}

/** True when the operation's recovery point is in the local repository (catalog storage_location). */
async function recoveryPointIsLocal(ctx: CommandContext, operationId: string): Promise<boolean> {
  const [{ requireDatabaseUrl }, { openRecoveryCatalog }, { openCatalog }, { localRepositoryPath }] = await Promise.all([
    import('../config.js'),
    import('../../catalog/recovery.js'),
    import('../../catalog/catalog.js'),
    import('./stream.js'),
  ]);
  const url = requireDatabaseUrl(ctx.config);
  const recovery = await openRecoveryCatalog(url);
  const catalog = await openCatalog(url).catch(async (err: unknown) => {
    await recovery.close();
    throw err;
  });
  try {
    const op = await recovery.get(operationId);
    const rp = op?.preRecoverySnapshot ? await catalog.getSnapshot(op.preRecoverySnapshot) : null;
    return Boolean(rp && rp.storageLocation === localRepositoryPath(ctx.config) && rp.storageLocation !== ctx.config.repo);
  } finally {
    await Promise.all([recovery.close(), catalog.close()]);
  }
}
