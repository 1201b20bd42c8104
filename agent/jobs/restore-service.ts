import { WedsyncError } from '../contract/errors.js';
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
import { diffRowsPage, previewRestore, startRestore, type RestoreDeps } from './restore.js';

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
  /** Settles when every restore started here has ended (agent shutdown, tests). */
  idle(): Promise<void>;
}

export function createRestoreServices(deps: RestoreDeps): RestoreServices {
  const progress = new Map<string, RestoreProgress>();
  const running = new Set<Promise<unknown>>();
  const withProgress: RestoreDeps = {
    ...deps,
    onProgress: (id, p) => {
      progress.set(id, p);
      deps.onProgress?.(id, p);
    },
  };
  const merge = (op: RecoveryOperation): RecoveryOperation => {
    const p = progress.get(op.id);
    return op.status === 'running' && p ? { ...op, progress: p } : op;
  };
  const toRequest = (r: RestorePlanRequest) => ({ snapshotId: r.backupId, recoveryScope: r.recoveryScope, weddingIds: r.weddingIds, dataTypes: r.dataTypes });

  return {
    async preview(request) {
      const { preview, prepared } = await previewRestore(deps, toRequest(request));
      await prepared.release();
      return preview;
    },
    diffRows(request) {
      return diffRowsPage(deps, toRequest(request), { weddingId: request.weddingId ?? null, table: request.table, change: request.change, offset: request.offset, limit: request.limit });
    },
    async emergencyRestore(request) {
      const started = await startRestore(withProgress, toRequest(request), request.confirmationToken, { initiatedByLabel: 'api' });
      const done = started.done.catch(() => undefined).finally(() => {
        running.delete(done);
        progress.delete(started.operation.id);
      });
      running.add(done);
      return merge(started.operation);
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
