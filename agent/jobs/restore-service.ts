import { WedsyncError } from '../contract/errors.js';
import type { Manifest } from '../contract/manifest.js';
import type {
  EmergencyRestoreRequest,
  RecoveryOperation,
  RecoveryOperationListQuery,
  RestoreDiffRowsRequest,
  RestoreDiffRowsResponse,
  RestorePlanRequest,
  RestorePreview,
  RestoreProgress,
} from '../contract/restore.js';
import { diffRowsPage, previewRestore, startRestore, undoRequest, type RestoreDeps, type RestoreRequest } from './restore.js';

/**
 * The restore API group as the agent serves it: previews with tokens, confirmed restores run in
 * the background (in turn with backups when deps.exclusive is the agent's queue), and the audit
 * rows with live progress merged in while this agent runs them.
 */
export interface RestoreServices {
  preview(request: RestorePlanRequest): Promise<RestorePreview>;
  diffRows(request: RestoreDiffRowsRequest): Promise<RestoreDiffRowsResponse>;
  /** Checks the token and plan, records the operation (running) and returns it; the restore continues in the background. */
  emergencyRestore(request: EmergencyRestoreRequest): Promise<RecoveryOperation>;
  listOperations(query: RecoveryOperationListQuery): Promise<RecoveryOperation[]>;
  /** NOT_FOUND for an unknown id. */
  getOperation(id: string): Promise<RecoveryOperation>;
  /** The preview (and token) of undoing operation `id`: its recovery point, same weddings and tables. */
  undoPreview(id: string): Promise<RestorePreview>;
  /** Confirms an undo like emergencyRestore: recorded as an 'undo' operation, run in the background. */
  undo(id: string, confirmationToken: string): Promise<RecoveryOperation>;
  /** Settles when every restore started here has ended (agent shutdown, tests). */
  idle(): Promise<void>;
}

/** The engine's request for an API plan: the snapshot, scope, and where it goes (targetUrl, targetPhotoStore). */
export function planRequest(r: RestorePlanRequest): RestoreRequest {
  return {
    snapshotId: r.backupId,
    recoveryScope: r.recoveryScope,
    weddingIds: r.weddingIds,
    dataTypes: r.dataTypes,
    ...(r.targetUrl !== undefined ? { targetUrl: r.targetUrl } : {}),
    ...(r.targetPhotoStore !== undefined ? { targetPhotoStore: r.targetPhotoStore } : {}),
  };
}

/**
 * `deps` for a request: with a target photo store (a restore into another database), that store
 * opened (a folder is created) as the photo store — never the live one; `close` closes it.
 * BAD_INPUT naming targetPhotoStore when it cannot be opened.
 */
export async function withTargetPhotoStore(deps: RestoreDeps, request: RestoreRequest): Promise<{ deps: RestoreDeps; close(): Promise<void> }> {
  if (request.targetPhotoStore === undefined) return { deps, close: async () => undefined };
  const { openBlobStore } = await import('../storage/open.js');
  let store;
  try {
    store = await openBlobStore(request.targetPhotoStore, { create: true });
  } catch (err) {
    throw new WedsyncError('BAD_INPUT', `targetPhotoStore ${JSON.stringify(request.targetPhotoStore)} cannot be opened: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const opened = store;
  return { deps: { ...deps, photoStore: opened }, close: () => opened.close() };
}

/** Manifests kept in memory: a preview and its restore read the same one (seconds for a big snapshot). */
const MANIFEST_CACHE = 4;

export function createRestoreServices(base: RestoreDeps): RestoreServices {
  const manifests = new Map<string, Promise<Manifest>>();
  const deps: RestoreDeps = {
    ...base,
    loadManifest(id) {
      let m = manifests.get(id);
      if (!m) {
        m = base.repo.loadManifest(id);
        manifests.set(id, m);
        // A failed read is not kept; the oldest entry goes when the cache is full.
        m.catch(() => manifests.delete(id));
        if (manifests.size > MANIFEST_CACHE) manifests.delete(manifests.keys().next().value!);
      }
      return m;
    },
  };
  const progress = new Map<string, RestoreProgress>();
  const running = new Set<Promise<unknown>>();
  const withProgress: RestoreDeps = {
    ...deps,
    onProgress: (id, p) => {
      progress.set(id, p);
      base.onProgress?.(id, p);
    },
  };
  const merge = (op: RecoveryOperation): RecoveryOperation => {
    const p = progress.get(op.id);
    return op.status === 'running' && p ? { ...op, progress: p } : op;
  };
  const start = async (request: RestoreRequest, token: string): Promise<RecoveryOperation> => {
    const target = await withTargetPhotoStore(withProgress, request);
    let started;
    try {
      started = await startRestore(target.deps, request, token, { initiatedByLabel: 'api' });
    } catch (err) {
      await target.close();
      throw err;
    }
    const id = started.operation.id;
    const done = started.done
      .catch(() => undefined)
      .finally(async () => {
        await target.close();
        running.delete(done);
        progress.delete(id);
      });
    running.add(done);
    return merge(started.operation);
  };

  return {
    async preview(request) {
      const target = await withTargetPhotoStore(deps, planRequest(request));
      try {
        const { preview, prepared } = await previewRestore(target.deps, planRequest(request));
        await prepared.release();
        return preview;
      } finally {
        await target.close();
      }
    },
    diffRows(request) {
      return diffRowsPage(deps, planRequest(request), { weddingId: request.weddingId ?? null, table: request.table, change: request.change, offset: request.offset, limit: request.limit });
    },
    emergencyRestore(request) {
      return start(planRequest(request), request.confirmationToken);
    },
    async undoPreview(id) {
      const { preview, prepared } = await previewRestore(deps, await undoRequest(deps, id));
      await prepared.release();
      return preview;
    },
    async undo(id, confirmationToken) {
      return start(await undoRequest(deps, id), confirmationToken);
    },
    async listOperations(query) {
      return (await deps.recovery.list(query)).map(merge);
    },
    async getOperation(id) {
      const op = await deps.recovery.get(id);
      if (!op) throw new WedsyncError('NOT_FOUND', `recovery operation ${id} not found`);
      return merge(op);
    },
    async idle() {
      await Promise.all([...running]);
    },
  };
}
