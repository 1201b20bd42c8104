import type { Config } from '../contract/config.js';
import type { SchemaMap } from '../contract/schema-map.js';
import type { ApiServices } from '../api/services.js';
import type { EventHub } from '../api/event-hub.js';
import type { CacheStore } from '../cache/store.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Logger } from '../logger.js';
import type { Repository } from '../repository/repository.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { SerialQueue } from './serial-queue.js';

export interface RestoreGroupDeps {
  config: Config;
  logger: Logger;
  map: SchemaMap;
  url: string;
  /** The main repository and the local one (tier 1 bases, point-in-time snapshots and their undos). */
  repo: Repository;
  localRepo: Repository;
  store: CacheStore;
  catalog: Catalog;
  photoStore: BlobStore | null;
  /** The agent's backup queue: a confirmed restore's recovery point writes to the repository. */
  backups: SerialQueue;
  hub: EventHub;
  /** Registers something to close when the connection goes (last registered, first closed). */
  onClose(close: () => Promise<unknown>): void;
}

export interface RestoreGroup {
  restore: NonNullable<ApiServices['restore']>;
  pointInTime: NonNullable<ApiServices['pointInTime']>;
}

/**
 * Guided restores (routes/restore.ts) and point-in-time restores (routes/point-in-time.ts) while
 * the agent is connected.
 *
 * Guarantees: confirmed restores run in the agent's backup queue; progress is published on the
 * event hub; an operation whose recovery point lives in the local repository (a point-in-time
 * restore) is undone from that repository, every other from the main one; `restore.idle()`
 * (registered to run at close) waits for running restores of both repositories.
 */
export async function openRestoreGroup(d: RestoreGroupDeps): Promise<RestoreGroup> {
  const { config, map, url, repo, localRepo, catalog } = d;
  const [{ openRestoreTarget }, { openRecoveryCatalog }, { createRestoreServices }, { ConfirmationTokens }, { openBackupSource }, { createPointInTimeServices, withLocalSnapshots }] = await Promise.all([
    import('../source/restore-target.js'),
    import('../catalog/recovery.js'),
    import('../jobs/restore-service.js'),
    import('../jobs/restore-token.js'),
    import('../source/backup-source.js'),
    import('../jobs/point-in-time-service.js'),
  ]);
  const recovery = await openRecoveryCatalog(url);
  d.onClose(() => recovery.close());
  // Confirmed restores run in the backup queue: their recovery point writes to the repository.
  const restoreDeps = {
    map,
    logger: d.logger,
    liveUrl: url,
    openTarget: openRestoreTarget,
    recovery,
    tokens: new ConfirmationTokens(),
    photoStore: d.photoStore,
    parallelism: config.parallelism,
    backup: { catalog, openSource: (u: string, whole: boolean, o: { snapshot: string }) => openBackupSource(u, map, whole ? config.parallelism : 1, { lockTimeoutMs: config.lockTimeoutMs, ...o }) },
    exclusive: <T>(task: () => Promise<T>) => d.backups.run(task),
    onProgress: (id: string, p: Parameters<EventHub['restoreProgress']>[1]) => d.hub.restoreProgress(id, p),
  };
  const restoreMain = createRestoreServices({ ...restoreDeps, repo });
  // Point-in-time restores (and their recovery points) live in the local repository: so do their undos.
  const restoreLocal = createRestoreServices({ ...restoreDeps, repo: localRepo });
  const local = async (id: string) => {
    const op = await restoreMain.getOperation(id);
    const rp = op.preRecoverySnapshot ? await catalog.getSnapshot(op.preRecoverySnapshot) : null;
    return rp?.storageLocation === localRepo.location && localRepo.location !== repo.location;
  };
  const restoreBoth: RestoreGroup['restore'] = {
    ...restoreMain,
    undoPreview: async (id) => ((await local(id)) ? restoreLocal : restoreMain).undoPreview(id),
    undo: async (id, t) => ((await local(id)) ? restoreLocal : restoreMain).undo(id, t),
    idle: async () => {
      await Promise.all([restoreMain.idle(), restoreLocal.idle()]);
    },
  };
  // Point in time: a wedding as it was at T, rebuilt from the cache and the local repository;
  // previews, row diffs and restores of such snapshots run on that repository.
  const pointInTime = createPointInTimeServices({ restore: { ...restoreDeps, repo: localRepo }, store: d.store, openLocalRepo: async () => localRepo, catalog });
  const restore = withLocalSnapshots(restoreBoth, pointInTime);
  d.onClose(() => restore.idle());
  return { restore, pointInTime };
}
