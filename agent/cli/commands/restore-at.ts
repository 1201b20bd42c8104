import type { Config } from '../../contract/config.js';
import { WedsyncError, isWedsyncError } from '../../contract/errors.js';
import type { RestoreDeps } from '../../jobs/restore.js';
import type { Logger } from '../../logger.js';
import type { Repository } from '../../repository/repository.js';
import type { CommandContext } from '../context.js';
import type { RestoreRequest } from '../../jobs/restore.js';
import type { PointInTime } from '../../jobs/stream-point-in-time.js';
import type { CommandResult } from '../output.js';
import { requireDatabaseUrl } from '../config.js';

/**
 * `wedsync-backup restore --wedding ID --at ISO_TIME [--data-types …] [--target-url URL] [--dry-run]
 * [--yes]`: a wedding's data as it was at T (tier 1's window), through the usual preview →
 * confirm → recovery point → apply, recorded as operation type 'point-in-time'. The rows at T are
 * rebuilt from the local cache and repository (no network needed for that) and kept as a
 * snapshot of kind point-in-time; when the database cannot be reached the restore is queued in
 * the cache and runs once the database is back (with --yes: straight through; without: it waits
 * with its preview for `wedsync-backup queued confirm ID` or the console).
 */

/**
 * Restore dependencies on the LOCAL repository (where tier 1 keeps its snapshots), fresh connections.
 * `auditAs`: restores that no API route records (queued restores the agent or `stream` runs by
 * itself once the database is back) write their start and outcome to the audit log under this
 * actor label (the person who queued it, when known: catalog/audit-recovery.ts). The API's
 * confirm records its own rows, so it passes none.
 */
export async function openLocalRestoreDeps(config: Config, logger: Logger, localRepo: Repository, options: { auditAs?: string } = {}): Promise<{ deps: RestoreDeps; close(): Promise<void> }> {
  const url = requireDatabaseUrl(config);
  const [{ openCatalog }, { openRecoveryCatalog }, { openRestoreTarget }, { openBackupSource }, { ConfirmationTokens }, { schemaMap, openPhotoStore }] = await Promise.all([
    import('../../catalog/catalog.js'),
    import('../../catalog/recovery.js'),
    import('../../source/restore-target.js'),
    import('../../source/backup-source.js'),
    import('../../jobs/restore-token.js'),
    import('../services.js'),
  ]);
  const map = schemaMap(config);
  const catalog = await openCatalog(url);
  const recovery = await openRecoveryCatalog(url).catch(async (err: unknown) => {
    await catalog.close();
    throw err;
  });
  const auditLog = options.auditAs
    ? await import('../../catalog/audit.js')
        .then(({ openAuditLog }) => openAuditLog(url))
        .catch(async (err: unknown) => {
          await Promise.all([catalog.close(), recovery.close()]);
          throw err;
        })
    : null;
  const photoStore = await openPhotoStore(config, logger).catch(async (err: unknown) => {
    await Promise.all([catalog.close(), recovery.close(), auditLog?.close()]);
    throw err;
  });
  const { auditingRecoveryCatalog } = await import('../../catalog/audit-recovery.js');
  const deps: RestoreDeps = {
    repo: localRepo,
    map,
    liveUrl: url,
    openTarget: openRestoreTarget,
    logger,
    recovery: auditLog ? auditingRecoveryCatalog(recovery, auditLog, options.auditAs!, (err) => logger.warn({ err: (err as Error).message }, 'queued restore: audit row not written')) : recovery,
    tokens: new ConfirmationTokens(),
    photoStore,
    backup: { catalog, openSource: (u: string, _whole: boolean, o: { snapshot: string }) => openBackupSource(u, map, 1, { lockTimeoutMs: config.lockTimeoutMs, ...o }) },
  };
  return {
    deps,
    async close() {
      await Promise.all([catalog.close(), recovery.close(), auditLog?.close(), photoStore?.close()]);
    },
  };
}

function pointInTimeText(p: PointInTime): string {
  const lines = [`wedding ${p.weddingId} as of ${p.at}: base snapshot ${p.baseSnapshotId} + ${p.changesApplied} logged change(s) → ${p.rows} rows (point-in-time snapshot ${p.snapshotId})`];
  if (p.photos.withoutFile) {
    lines.push(`  photo files: ${p.photos.files} restorable from the base snapshot; ${p.photos.withoutFile} photo(s) at that time have no file in the local repository: their rows are restored, their files left as the photo store has them`);
  }
  return lines.join('\n');
}

export async function runPointInTime(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const weddingId = (opts.wedding as string[])[0]!;
  const at = opts.at as string;
  const dataTypes = opts.dataTypes as RestoreRequest['dataTypes'];
  const targetUrl = opts.targetUrl as string | undefined;
  const [{ checkTargetUrl, openRestoreSession, previewThenRestore }, { openLocalCache, openLocalRepository }, { checkPointInTime, materializePointInTime }, { queueRestore }, { schemaMap }, { userInfo }] = await Promise.all([
    import('./restore.js'),
    import('./stream.js'),
    import('../../jobs/stream-point-in-time.js'),
    import('../../jobs/offline-queue.js'),
    import('../services.js'),
    import('node:os'),
  ]);
  await checkTargetUrl(targetUrl);
  const { store } = await openLocalCache(ctx.config, ctx.logger);
  let localRepo: Repository | null = null;
  try {
    // T, the wedding and its window are checked before anything is opened or written.
    checkPointInTime(store, weddingId, at);
    localRepo = await openLocalRepository(ctx.config, ctx.logger);
    const who = `cli:${userInfo().username}`;
    const pit = { store, localRepo, map: schemaMap(ctx.config), logger: ctx.logger };
    const queueIt = async (why: string): Promise<CommandResult> => {
      if (opts.dryRun) throw new WedsyncError('DB_UNREACHABLE', `the database is unreachable (${why}): a dry run previews against it; without --dry-run the restore is prepared and queued`);
      if (targetUrl) throw new WedsyncError('DB_UNREACHABLE', `the database is unreachable (${why}): a restore into --target-url is not queued; try again when it answers`);
      const q = await queueRestore(store, { kind: 'point-in-time', weddingId, at, dataTypes, confirmed: Boolean(opts.yes), initiatedByLabel: who }, pit);
      return {
        json: { ok: true, queued: q, reason: why },
        text: `the database is unreachable (${why}): restore of wedding ${weddingId} as of ${at} prepared and queued as ${q.id}; it runs when the database is back${opts.yes ? '' : ` after a preview and your confirmation (\`wedsync-backup queued confirm ${q.id}\` or the console)`}`,
      };
    };
    let session: Awaited<ReturnType<typeof openRestoreSession>>;
    try {
      session = await openRestoreSession(ctx, { photos: !targetUrl && (!dataTypes || dataTypes.includes('photos')), repo: localRepo });
    } catch (err) {
      if (isWedsyncError(err, 'DB_UNREACHABLE')) return await queueIt(err.message);
      throw err;
    }
    try {
      const p = await materializePointInTime(pit, weddingId, at, { catalog: session.catalog });
      const request: RestoreRequest = dataTypes
        ? { snapshotId: p.snapshotId, recoveryScope: 'selective', weddingIds: [weddingId], dataTypes, targetUrl, operationType: 'point-in-time' }
        : { snapshotId: p.snapshotId, recoveryScope: 'wedding-only', weddingIds: [weddingId], targetUrl, operationType: 'point-in-time' };
      const again = ['wedsync-backup restore', `--wedding ${weddingId}`, `--at ${at}`, ...(dataTypes ? [`--data-types ${dataTypes.join(',')}`] : []), ...(targetUrl ? ['--target-url URL'] : [])].join(' ');
      const result = await previewThenRestore(ctx, session, request, opts, again);
      return { ...result, json: { ...result.json, pointInTime: p }, text: `${pointInTimeText(p)}\n${result.text}` };
    } catch (err) {
      if (isWedsyncError(err, 'DB_UNREACHABLE')) return await queueIt(err.message);
      throw err;
    } finally {
      await session.close();
    }
  } finally {
    await localRepo?.store.close();
    store.close();
  }
}
