import { join } from 'node:path';
import type { CacheStore } from '../../cache/store.js';
import type { Config } from '../../contract/config.js';
import type { StreamOptions, TierOneStream } from '../../jobs/stream.js';
import type { Logger } from '../../logger.js';
import type { Repository } from '../../repository/repository.js';
import type { CommandContext } from '../context.js';
import type { CommandResult } from '../output.js';
import { requireDatabaseUrl, requirePassphrase } from '../config.js';
import { timeZoneOf } from './cache.js';

/**
 * Tier 1 wiring shared by the agent (main.ts) and the CLI: the local cache under WEDSYNC_HOME
 * (checked at open; a damaged one is moved aside and refilled from the local repository), the
 * local repository (WEDSYNC_HOME/local-repository, whatever the main repository is: restoring a
 * wedding-day snapshot needs no S3), and the stream itself.
 *
 * `wedsync-backup stream [--wedding ID]…`: runs tier 1 in the foreground until Ctrl-C.
 */
export function localRepositoryPath(config: Config): string {
  return join(config.home, 'local-repository');
}

export { timeZoneOf };

/** The local repository, created with the repository passphrase when missing. */
export async function openLocalRepository(config: Config, logger: Logger): Promise<Repository> {
  const passphrase = requirePassphrase(config);
  const { ensureRepository, openRepo } = await import('../repo.js');
  const location = localRepositoryPath(config);
  await ensureRepository(location, passphrase, logger);
  return openRepo(location, passphrase, logger);
}

/**
 * The cache, opened and checked. When it was damaged and a passphrase is at hand, it is refilled
 * from the local repository before anyone reads it.
 */
export async function openLocalCache(config: Config, logger: Logger, options: { repo?: Repository | null; check?: 'full' | 'auto' } = {}): Promise<{ store: CacheStore; rebuilt: { reason: string; movedTo: string; weddings: number } | null }> {
  const { openCache, cachePath } = await import('../../cache/open.js');
  const opened = openCache(cachePath(config.home), { check: options.check ?? 'auto' });
  if (!opened.rebuilt) return { store: opened.store, rebuilt: null };
  logger.warn({ reason: opened.rebuilt.reason, movedTo: opened.rebuilt.movedTo }, 'the local cache was damaged: moved aside, rebuilding it from the local repository');
  let weddings = 0;
  const repo = options.repo ?? (config.passphrase ? await openLocalRepository(config, logger).catch(() => null) : null);
  if (repo) {
    const { rebuildCacheFromRepository } = await import('../../jobs/offline-rebuild.js');
    const { schemaMap } = await import('../services.js');
    weddings = (await rebuildCacheFromRepository(opened.store, repo, schemaMap(config))).weddings;
    if (!options.repo) await repo.store.close();
  }
  return { store: opened.store, rebuilt: { ...opened.rebuilt, weddings } };
}

export interface TierOneSetup {
  stream: TierOneStream;
  localRepo: Repository;
  close(): Promise<void>;
}

/** The tier 1 stream on the configured database, writing to `store`. */
export async function createTierOne(config: Config, logger: Logger, store: CacheStore, options: { weddings?: string[]; timeZone?: string; localRepo?: Repository; streamOptions?: Partial<StreamOptions> } = {}): Promise<TierOneSetup> {
  const url = requireDatabaseUrl(config);
  const [{ TierOneStream }, { openStreamSource, slotNameFor }, { openBackupSource }, { openCatalog }, { runBackup }, { schemaMap, openPhotoStore }] = await Promise.all([
    import('../../jobs/stream.js'),
    import('../../source/stream-source.js'),
    import('../../source/backup-source.js'),
    import('../../catalog/catalog.js'),
    import('../../jobs/backup.js'),
    import('../services.js'),
  ]);
  const map = schemaMap(config);
  const localRepo = options.localRepo ?? (await openLocalRepository(config, logger));
  const dbName = new URL(url).pathname.slice(1) || 'postgres';
  const stream = new TierOneStream({
    store,
    map,
    logger: logger.child({ component: 'tier1' }),
    openSource: () => openStreamSource(url, map),
    slot: slotNameFor(config.home, dbName),
    localRepo,
    timeZone: options.timeZone ?? timeZoneOf(),
    ...(options.weddings ? { weddings: options.weddings } : {}),
    ...(options.streamOptions ? { options: options.streamOptions } : {}),
    // The snapshot catalog mirrored into the cache (browsable offline), at most once a minute.
    async onPlan() {
      const last = store.getCheckpoint('snapshots.refreshedAt');
      if (last && Date.now() - Date.parse(last) < 60_000) return;
      const [{ refreshSnapshotMirror }] = await Promise.all([import('../../jobs/offline.js')]);
      const catalog = await openCatalog(url);
      try {
        refreshSnapshotMirror(store, (await catalog.listSnapshots({ limit: 5000 })) as unknown as Parameters<typeof refreshSnapshotMirror>[1]);
      } finally {
        await catalog.close();
      }
    },
    // Restores queued while the database was unreachable run as soon as it answers again.
    async onConnected() {
      if (!store.listQueuedRestores(['queued']).length) return;
      const [{ runQueuedRestores }, { openLocalRestoreDeps }] = await Promise.all([import('../../jobs/offline-queue.js'), import('./restore-at.js')]);
      const done = await runQueuedRestores(store, () => openLocalRestoreDeps(config, logger, localRepo, { auditAs: 'agent:tier1' }));
      for (const q of done) logger.info({ id: q.id, status: q.status, operationId: q.operationId, error: q.lastError }, 'queued restore processed');
    },
    // The base holds the wedding's photo files too (read once, while the network is there), so a
    // point-in-time restore writes them back with no S3: restoring a wedding day needs nothing remote.
    async takeBase(weddingId) {
      const catalog = await openCatalog(url);
      const photoStore = await openPhotoStore(config, logger);
      try {
        const r = await runBackup(
          { openSource: () => openBackupSource(url, map, 1, { lockTimeoutMs: config.lockTimeoutMs }), catalog, repo: localRepo, photoStore, map, logger },
          { type: 'emergency', weddingIds: [weddingId], tier: 1, priority: 8, retentionDays: 30 },
        );
        return r.snapshotId;
      } finally {
        await catalog.close();
        await photoStore?.close();
      }
    },
  });
  return {
    stream,
    localRepo,
    async close() {
      await stream.stop();
      if (!options.localRepo) await localRepo.store.close();
    },
  };
}

export async function run(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const { store } = await openLocalCache(ctx.config, ctx.logger);
  let setup: TierOneSetup | undefined;
  try {
    setup = await createTierOne(ctx.config, ctx.logger, store, { weddings: opts.wedding as string[] | undefined, timeZone: timeZoneOf(opts) });
    setup.stream.start();
    const info = { ok: true, cache: store.location, weddings: (opts.wedding as string[] | undefined) ?? 'high-priority period' };
    if (ctx.json) process.stdout.write(`${JSON.stringify(info)}\n`);
    else process.stderr.write(`WedSync Backup tier 1 stream writing to ${store.location}. Ctrl-C to stop.\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    const status = setup.stream.status();
    return { json: { ...info, status }, text: '', printed: true };
  } finally {
    await setup?.close();
    store.close();
  }
}
