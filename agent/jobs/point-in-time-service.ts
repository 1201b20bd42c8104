import type { CacheStore } from '../cache/store.js';
import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import type { DataType } from '../contract/manifest.js';
import type { PointInTimePreviewRequest, PointInTimePreviewResponse, PointInTimeRestoreRequest, PointInTimeWindowResponse } from '../contract/point-in-time.js';
import type { RecoveryOperation, RestoreDiffRowsRequest, RestoreDiffRowsResponse, RestorePlanRequest, RestorePreview } from '../contract/restore.js';
import type { Repository } from '../repository/repository.js';
import { diffRowsPage, previewRestore, startRestore, undoRequest, type RestoreDeps, type RestoreRequest } from './restore.js';
import { planRequest, type RestoreServices } from './restore-service.js';
import { checkPointInTime, materializePointInTime, pointInTimeWindow, type SnapshotCatalog } from './stream-point-in-time.js';

/**
 * Point-in-time restore as the agent's API offers it (agent/contract/point-in-time.ts): the rows
 * of a wedding at T rebuilt from the local cache and tier 1's local repository
 * (jobs/stream-point-in-time.ts), previewed and restored through the usual engine
 * (jobs/restore.ts) on that local repository, recorded as operation type point-in-time.
 *
 * Guarantees: T and the wedding are checked before anything is read or written; rebuilding and
 * restoring run in turn with the agent's other repository writers (`deps.exclusive`); a restore
 * only accepts a snapshot this service rebuilt for that very wedding; the recovery point goes to
 * the local repository, so undo (withLocalSnapshots) reads it from there.
 */
export interface PointInTimeServices {
  window(weddingId: string): Promise<PointInTimeWindowResponse>;
  preview(request: PointInTimePreviewRequest): Promise<PointInTimePreviewResponse>;
  restore(request: PointInTimeRestoreRequest): Promise<RecoveryOperation>;
  /** True when the snapshot is in the local repository (and not one the main restore service reads). */
  isLocal(snapshotId: string): Promise<boolean>;
  /** The local repository's restore deps (diff rows, undo of point-in-time restores). */
  localDeps(): Promise<RestoreDeps>;
  /** A confirmed restore on the local repository, run in the background (idle() waits for it). */
  startLocal(request: RestoreRequest, confirmationToken: string): Promise<RecoveryOperation>;
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface PointInTimeServiceDeps {
  /** The main restore deps: everything but the repository is shared (catalogs, tokens, queue, progress). */
  restore: RestoreDeps;
  store: CacheStore;
  /** Tier 1's local repository (the caller owns it: close() leaves it open). */
  openLocalRepo: () => Promise<Repository>;
  /** Point-in-time snapshots are entered in the backup catalog (browsable like any other). */
  catalog: SnapshotCatalog | null;
  now?: () => Date;
}

export function createPointInTimeServices(deps: PointInTimeServiceDeps): PointInTimeServices {
  let local: Promise<Repository> | null = null;
  const repo = () => {
    if (!local) {
      local = deps.openLocalRepo();
      local.catch(() => (local = null));
    }
    return local;
  };
  const localDeps = async (): Promise<RestoreDeps> => ({ ...deps.restore, repo: await repo() });
  const exclusive = <T>(task: () => Promise<T>) => (deps.restore.exclusive ? deps.restore.exclusive(task) : task());
  /** Snapshots rebuilt here → their wedding: a restore may only use one of these, for its wedding. */
  const prepared = new Map<string, string>();
  const running = new Set<Promise<unknown>>();

  const startLocal = async (r: RestoreRequest, confirmationToken: string): Promise<RecoveryOperation> => {
    const started = await startRestore(await localDeps(), r, confirmationToken, { initiatedByLabel: 'api' });
    const done = started.done.catch(() => undefined).finally(() => running.delete(done));
    running.add(done);
    return started.operation;
  };

  const request = (snapshotId: string, weddingId: string, dataTypes: DataType[] | undefined): RestoreRequest =>
    dataTypes
      ? { snapshotId, recoveryScope: 'selective', weddingIds: [weddingId], dataTypes, operationType: 'point-in-time' }
      : { snapshotId, recoveryScope: 'wedding-only', weddingIds: [weddingId], operationType: 'point-in-time' };

  return {
    async window(weddingId) {
      const id = weddingId.toLowerCase();
      const window = pointInTimeWindow(deps.store, id, deps.now?.() ?? new Date());
      const cached = deps.store.getWedding(id);
      return {
        weddingId: id,
        window,
        reason: window ? null : cached ? 'tier 1 has not loaded a base snapshot of this wedding yet' : 'tier 1 does not stream this wedding (only weddings in their high-priority period are streamed)',
      };
    },

    async preview({ weddingId, at, dataTypes }) {
      const id = weddingId.toLowerCase();
      // T, the wedding and its window first: nothing is opened or written for a bad request.
      checkPointInTime(deps.store, id, at, deps.now?.() ?? new Date());
      const localRepo = await repo();
      const p = await exclusive(() => materializePointInTime({ store: deps.store, localRepo, map: deps.restore.map, ...(deps.now ? { now: deps.now } : {}) }, id, at, { catalog: deps.catalog }));
      prepared.set(p.snapshotId, id);
      const { preview, prepared: plan } = await previewRestore({ ...deps.restore, repo: localRepo }, request(p.snapshotId, id, dataTypes as DataType[] | undefined));
      await plan.release();
      return { pointInTime: p, preview };
    },

    async restore({ weddingId, snapshotId, dataTypes, confirmationToken }) {
      const id = weddingId.toLowerCase();
      const snap = snapshotId.toLowerCase();
      if (prepared.get(snap) !== id) {
        throw new WedsyncError('BAD_INPUT', `snapshotId ${snapshotId} is not a point in time prepared for wedding ${weddingId}: preview it first (POST /api/backup/point-in-time/preview)`);
      }
      return startLocal(request(snap, id, dataTypes as DataType[] | undefined), confirmationToken);
    },

    startLocal,

    async isLocal(snapshotId) {
      if (prepared.has(snapshotId.toLowerCase())) return true;
      try {
        return (await (await repo()).listSnapshots()).includes(snapshotId.toLowerCase());
      } catch (err) {
        // No local repository (no passphrase for it, never created): nothing is local.
        if (isWedsyncError(err)) return false;
        throw err;
      }
    },

    localDeps,

    async idle() {
      await Promise.all([...running]);
    },

    async close() {
      await Promise.all([...running]);
    },
  };
}

/**
 * The API's restore services over both repositories: previews, row diffs and restores of a
 * snapshot that lives in the local repository (point in time), and undos whose recovery point
 * does, run on the local repository; everything else goes to `main` unchanged.
 */
export function withLocalSnapshots(main: RestoreServices, pit: PointInTimeServices): RestoreServices {
  const toRequest = (r: RestorePlanRequest): RestoreRequest => {
    // The local repository's deps write photo files to the live photo store: a restore of a local
    // snapshot into another database takes no photo store of its own.
    if (r.targetPhotoStore !== undefined) throw new WedsyncError('BAD_INPUT', `targetPhotoStore: snapshot ${r.backupId} is in the local (tier 1) repository, whose restores into another database write no photo files`);
    return planRequest(r);
  };
  /**
   * The main repository first (where nearly every snapshot is); a snapshot it does not have
   * (NOT_FOUND) is tried in the local one, so the local repository is only opened when needed.
   */
  const either = async <T>(snapshotId: string | null, onMain: () => Promise<T>, onLocal: () => Promise<T>): Promise<T> => {
    try {
      return await onMain();
    } catch (err) {
      if (snapshotId && isWedsyncError(err, 'NOT_FOUND') && (await pit.isLocal(snapshotId))) return onLocal();
      throw err;
    }
  };
  const recoveryPointOf = async (operationId: string) => (await main.getOperation(operationId)).preRecoverySnapshot;
  const localPreview = async (deps: RestoreDeps, request: RestoreRequest): Promise<RestorePreview> => {
    const { preview, prepared } = await previewRestore(deps, request);
    await prepared.release();
    return preview;
  };
  return {
    ...main,
    preview: (request) => either(request.backupId, () => main.preview(request), async () => localPreview(await pit.localDeps(), toRequest(request))),
    diffRows: (request: RestoreDiffRowsRequest): Promise<RestoreDiffRowsResponse> =>
      either(
        request.backupId,
        () => main.diffRows(request),
        async () => diffRowsPage(await pit.localDeps(), toRequest(request), { weddingId: request.weddingId ?? null, table: request.table, change: request.change, offset: request.offset, limit: request.limit }),
      ),
    emergencyRestore: (request) => either(request.backupId, () => main.emergencyRestore(request), () => pit.startLocal(toRequest(request), request.confirmationToken)),
    undoPreview: async (id) =>
      either(
        await recoveryPointOf(id),
        () => main.undoPreview(id),
        async () => {
          const deps = await pit.localDeps();
          return localPreview(deps, await undoRequest(deps, id));
        },
      ),
    undo: async (id, confirmationToken) =>
      either(
        await recoveryPointOf(id),
        () => main.undo(id, confirmationToken),
        async () => pit.startLocal(await undoRequest(await pit.localDeps(), id), confirmationToken),
      ),
    async idle() {
      await Promise.all([main.idle(), pit.idle()]);
    },
  };
}
