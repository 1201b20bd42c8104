import type { Config } from '../contract/config.js';
import type { CacheStore } from '../cache/store.js';
import type { Logger } from '../logger.js';
import type { Repository } from '../repository/repository.js';
import type { RestoreDeps } from '../jobs/restore.js';
import type { OfflineServices } from '../jobs/offline.js';
import type { QueuedRestoreServices } from '../jobs/queued-restore-service.js';
import type { TierOneSetup } from '../cli/commands/stream.js';
import { SerialQueue } from './serial-queue.js';

export interface OfflineStartOptions {
  config: Config;
  logger: Logger;
  /** Run tier 1's stream (see AgentOptions.tier1). */
  tier1: boolean;
  /** Tier 1's first retry delay (the agent's reconnect delay). */
  retryMs: number;
  /** The agent's backup queue: restores from the queue run in turn with backups (one repository writer). */
  backups: SerialQueue;
  /** Whether the agent reaches its database now (the queue's `database` field, whether confirm may run). */
  databaseReachable(): boolean;
}

/** What the agent serves with no network at all. */
export interface OfflinePart {
  localRepo: Repository;
  cache: { store: CacheStore };
  /** Tier 1's stream, when asked for. */
  tierOne: TierOneSetup | null;
  /** Today's weddings and each wedding's data from the cache (routes/offline.ts). */
  offline: OfflineServices;
  /** The restores queued in the barn: list, preview, confirm, cancel (routes/queued-restores.ts). */
  queuedRestores: QueuedRestoreServices;
  /**
   * Runs every queued restore that does not wait for a confirmation, one pass at a time (a pass
   * asked for while one runs starts after it). Call it on each (re)connection.
   */
  runQueue(): Promise<void>;
  /** Settles once a pass that runs now has ended (nothing new starts from this call). */
  drainQueue(): Promise<void>;
  /** Stops tier 1, waits for confirmed queued restores, closes the cache and the local repository. */
  close(): Promise<void>;
}

/**
 * The part of the agent that needs neither the database nor the main repository: the local
 * repository, the local cache (full integrity check at start: the agent serves this file for
 * hours), tier 1's stream, the offline routes' services and the queue of restores asked for
 * while the database was unreachable. On a wedding day in a barn the agent starts with these
 * alone.
 *
 * Guarantees: on failure nothing is left open; tier 1 is started before this returns; queued
 * restores run through the agent's backup queue with fresh connections each attempt; those the
 * agent runs by itself (no API request) write their start and outcome to the audit log.
 */
export async function startOffline(o: OfflineStartOptions): Promise<OfflinePart> {
  const { config, logger } = o;
  const [{ openLocalCache, openLocalRepository, createTierOne, timeZoneOf }, { createOfflineServices }, { openLocalRestoreDeps }, { ConfirmationTokens }, { createQueuedRestoreServices }] = await Promise.all([
    import('../cli/commands/stream.js'),
    import('../jobs/offline.js'),
    import('../cli/commands/restore-at.js'),
    import('../jobs/restore-token.js'),
    import('../jobs/queued-restore-service.js'),
  ]);
  const localRepo = await openLocalRepository(config, logger);
  const cache = await openLocalCache(config, logger, { repo: localRepo, check: 'full' }).catch(async (err: unknown) => {
    await localRepo.store.close();
    throw err;
  });
  const tierOne = o.tier1
    ? await createTierOne(config, logger, cache.store, { timeZone: timeZoneOf(), localRepo, streamOptions: { retryMs: o.retryMs } }).catch(async (err: unknown) => {
        cache.store.close();
        await localRepo.store.close();
        throw err;
      })
    : null;
  tierOne?.stream.start();
  const offline = createOfflineServices({ store: cache.store, timeZone: timeZoneOf(), ...(tierOne ? { status: () => tierOne.stream.status() } : {}) });

  // Restores queued while the database was unreachable: run by themselves when it answers
  // (tier 1's onConnected, and each (re)connection of the agent), one pass at a time.
  // `auditAs`: the agent's own runs are audited here; the API's confirm records its own rows.
  const openQueueDeps = async (auditAs?: string): Promise<{ deps: RestoreDeps; close(): Promise<void> }> => {
    const opened = await openLocalRestoreDeps(config, logger, localRepo, auditAs ? { auditAs } : {});
    return { deps: { ...opened.deps, exclusive: <T>(task: () => Promise<T>) => o.backups.run(task) }, close: opened.close };
  };
  const queuedRestores = createQueuedRestoreServices({ store: cache.store, tokens: new ConfirmationTokens(), databaseReachable: o.databaseReachable, openDeps: () => openQueueDeps() });
  const queuePass = new SerialQueue();
  const runQueue = () =>
    queuePass.run(async () => {
      if (!cache.store.listQueuedRestores(['queued']).length) return;
      const { runQueuedRestores } = await import('../jobs/offline-queue.js');
      for (const q of await runQueuedRestores(cache.store, () => openQueueDeps('agent'))) logger.info({ id: q.id, status: q.status, operationId: q.operationId, error: q.lastError }, 'queued restore processed');
    });

  return {
    localRepo,
    cache,
    tierOne,
    offline,
    queuedRestores,
    runQueue,
    drainQueue: () => queuePass.run(async () => undefined),
    async close() {
      await tierOne?.close();
      await queuedRestores.idle();
      cache.store.close();
      await localRepo.store.close();
    },
  };
}
