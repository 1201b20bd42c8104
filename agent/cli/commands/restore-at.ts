import { userInfo } from 'node:os';
import type { Config } from '../../contract/config.js';
import { isWedsyncError } from '../../contract/errors.js';
import type { RestoreDeps } from '../../jobs/restore.js';
import type { Logger } from '../../logger.js';
import type { Repository } from '../../repository/repository.js';
import type { CommandContext } from '../context.js';
import { table, type CommandResult } from '../output.js';
import { requireDatabaseUrl } from '../config.js';

/**
 * `wedsync-backup restore-at --wedding ID --at ISO_TIME [--dry-run] [--yes]`: a wedding's data as
 * it was at T (tier 1's window), through the usual preview → confirm → recovery point → apply.
 * The rows at T are rebuilt from the local cache and repository (no network needed for that);
 * when the database cannot be reached the restore is queued in the cache and the agent runs it
 * once the database is back (with --yes: straight through; without: it waits with its preview
 * for `--confirm-queued ID`).
 */

/** Restore dependencies on the LOCAL repository (where tier 1 keeps its snapshots), fresh connections. */
export async function openLocalRestoreDeps(config: Config, logger: Logger, localRepo: Repository): Promise<{ deps: RestoreDeps; close(): Promise<void> }> {
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
  const photoStore = await openPhotoStore(config, logger);
  const deps: RestoreDeps = {
    repo: localRepo,
    map,
    liveUrl: url,
    openTarget: openRestoreTarget,
    logger,
    recovery,
    tokens: new ConfirmationTokens(),
    photoStore,
    backup: { catalog, openSource: (u: string) => openBackupSource(u, map, 1) },
  };
  return {
    deps,
    async close() {
      await Promise.all([catalog.close(), recovery.close(), photoStore?.close()]);
    },
  };
}

export async function run(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const [{ openLocalCache, openLocalRepository }, { materializePointInTime }, { queueRestore, runQueuedRestores, confirmQueuedRestore }, { schemaMap }] = await Promise.all([
    import('./stream.js'),
    import('../../jobs/stream-point-in-time.js'),
    import('../../jobs/offline-queue.js'),
    import('../services.js'),
  ]);
  const { store } = await openLocalCache(ctx.config, ctx.logger);
  let localRepo: Repository | null = null;
  try {
    localRepo = await openLocalRepository(ctx.config, ctx.logger);
    const who = `${userInfo().username} (cli)`;
    if (opts.confirmQueued) {
      const q = confirmQueuedRestore(store, opts.confirmQueued as string);
      return { json: { ok: true, queued: q }, text: `queued restore ${q.id} confirmed: it runs when the agent next reaches the database` };
    }
    const weddingId = opts.wedding as string;
    const at = opts.at as string;
    const pit = { store, localRepo, map: schemaMap(ctx.config) };
    const queueIt = async (why: string) => {
      const q = await queueRestore(store, { kind: 'point-in-time', weddingId, at, confirmed: Boolean(opts.yes), initiatedByLabel: who }, pit);
      return {
        json: { ok: true, queued: q, reason: why },
        text: `the database is unreachable (${why}): restore of wedding ${weddingId} as of ${at} prepared and queued as ${q.id}; it runs when the database is back${opts.yes ? '' : ' (preview first; confirm with --confirm-queued ID)'}`,
      };
    };
    let opened: Awaited<ReturnType<typeof openLocalRestoreDeps>>;
    try {
      opened = await openLocalRestoreDeps(ctx.config, ctx.logger, localRepo);
    } catch (err) {
      if (isWedsyncError(err, 'DB_UNREACHABLE') && !opts.dryRun) return await queueIt(err.message);
      throw err;
    }
    try {
      // Anything queued earlier goes first: it was asked for first.
      await runQueuedRestores(store, async () => ({ deps: opened.deps, close: async () => undefined }));
      const p = await materializePointInTime(pit, weddingId, at);
      const { previewRestore, startRestore } = await import('../../jobs/restore.js');
      const request = { snapshotId: p.snapshotId, recoveryScope: 'wedding-only' as const, weddingIds: [weddingId], operationType: 'point-in-time' as const };
      const { preview, prepared } = await previewRestore(opened.deps, request);
      const text = [
        `wedding ${weddingId} as of ${p.at}: base snapshot ${p.baseSnapshotId} + ${p.changesApplied} logged changes → ${p.rows} rows (snapshot ${p.snapshotId})`,
        table(['TABLE', 'INSERT', 'UPDATE', 'DELETE', 'SAME'], preview.items.map((i) => [i.table, i.inserted, i.updated, i.deleted, i.unchanged])),
      ];
      if (opts.dryRun || !opts.yes) {
        await prepared.release();
        text.push(opts.dryRun ? '(dry run: nothing changed)' : 'nothing changed: run again with --yes to restore (a recovery point is taken first)');
        return { json: { ok: true, pointInTime: p, preview, applied: false }, text: text.join('\n') };
      }
      const started = await startRestore(opened.deps, request, preview.confirmationToken, { initiatedByLabel: who }, prepared);
      const op = await started.done;
      text.push(`restored: operation ${op.id} (${op.operationType}), recovery point ${op.preRecoverySnapshot ?? 'none'}; undo with \`wedsync-backup undo ${op.id}\``);
      return { json: { ok: true, pointInTime: p, preview, operation: op, applied: true }, text: text.join('\n') };
    } catch (err) {
      if (isWedsyncError(err, 'DB_UNREACHABLE') && !opts.dryRun) return await queueIt(err.message);
      throw err;
    } finally {
      await opened.close();
    }
  } finally {
    await localRepo?.store.close();
    store.close();
  }
}
