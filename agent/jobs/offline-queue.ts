import { randomUUID } from 'node:crypto';
import type { CacheStore, QueuedRestore } from '../cache/store.js';
import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import type { DataType } from '../contract/manifest.js';
import type { RecoveryScope, RestoreCounts } from '../contract/restore.js';
import type { QueuedRestoreView } from '../contract/queued-restore.js';
import { previewRestore, startRestore, type RestoreDeps, type RestoreRequest } from './restore.js';
import { materializePointInTime, pointInTimeCatalogRow, type PointInTimeDeps } from './stream-point-in-time.js';

/**
 * Restores asked for while the database is unreachable: prepared now (a point-in-time restore's
 * rows are rebuilt from the cache and stored in the local repository; a snapshot restore's
 * snapshot must be readable), queued in the cache, and run when the database answers again —
 * through the usual preview and confirmation: the preview is computed against the database as it
 * is then; an item queued `confirmed` (the person said "yes, as soon as it is back") goes on to
 * the recovery point and apply with that preview's token; otherwise it waits with its preview
 * for `confirmQueuedRestore`. Each item runs once: done, failed (with the reason), or back in
 * the queue when the database went away again.
 */
export interface QueuedRestoreRequest {
  kind: 'snapshot' | 'point-in-time';
  /** Snapshot restores. */
  snapshotId?: string;
  recoveryScope?: RecoveryScope;
  weddingIds?: string[];
  dataTypes?: DataType[];
  /** Point in time: the wedding and T. */
  weddingId?: string;
  at?: string;
  /** Apply after the preview without asking again. */
  confirmed: boolean;
  initiatedByLabel?: string | null;
}

export interface QueuedResult {
  /** The snapshot the restore reads (for point in time: the rebuilt rows at T). */
  snapshotId?: string;
  preview?: { totals: unknown; items: number; notes: string[] };
  awaitingConfirmation?: boolean;
  operation?: { id: string; status: string; operationType: string };
}

export async function queueRestore(store: CacheStore, request: QueuedRestoreRequest, pit?: PointInTimeDeps): Promise<QueuedRestore> {
  let result: QueuedResult = {};
  if (request.kind === 'point-in-time') {
    if (!request.weddingId || !request.at) throw new WedsyncError('BAD_INPUT', 'a point-in-time restore needs --wedding and --at');
    if (!pit) throw new WedsyncError('INTERNAL', 'point-in-time restore needs the local cache and repository');
    const p = await materializePointInTime(pit, request.weddingId, request.at);
    result = { snapshotId: p.snapshotId };
  } else if (!request.snapshotId || !request.recoveryScope) {
    throw new WedsyncError('BAD_INPUT', 'a queued restore needs a snapshot and a scope');
  } else {
    result = { snapshotId: request.snapshotId };
  }
  const item: Omit<QueuedRestore, 'updatedAt'> = {
    id: randomUUID(),
    createdAt: new Date().toISOString(),
    status: 'queued',
    request: request as unknown as Record<string, unknown>,
    attempts: 0,
    lastError: null,
    operationId: null,
    result,
  };
  store.putQueuedRestore(item);
  return store.getQueuedRestore(item.id)!;
}

/** The item, still queued: NOT_FOUND for an unknown id, CONFLICT naming its status otherwise. */
export function queuedItem(store: CacheStore, id: string, doing: string): QueuedRestore {
  const q = store.getQueuedRestore(id);
  if (!q) throw new WedsyncError('NOT_FOUND', `queued restore ${id} not found`);
  if (q.status !== 'queued') throw new WedsyncError('CONFLICT', `queued restore ${id} is ${q.status}: only a queued one can be ${doing}`);
  return q;
}

/**
 * Marks a queued item confirmed without a preview token: for the person at this machine (CLI
 * `queued confirm`), who said yes to the restore they queued; it runs, previewed, when the
 * database is back. The API confirms with a preview's token instead (queued-restore-service.ts).
 */
export function confirmQueuedRestore(store: CacheStore, id: string): QueuedRestore {
  const q = queuedItem(store, id, 'confirmed');
  store.putQueuedRestore({ ...q, request: { ...q.request, confirmed: true }, result: { ...(q.result as QueuedResult), awaitingConfirmation: false } });
  return store.getQueuedRestore(id)!;
}

/** Cancels a queued item (it never runs); CONFLICT once it is running or finished. */
export function cancelQueuedRestore(store: CacheStore, id: string): QueuedRestore {
  const q = queuedItem(store, id, 'cancelled');
  store.putQueuedRestore({ ...q, status: 'cancelled' });
  return store.getQueuedRestore(id)!;
}

/** The item as the API and `queued list --json` show it (contract/queued-restore.ts). */
export function queuedRestoreView(q: QueuedRestore): QueuedRestoreView {
  const r = q.request as unknown as QueuedRestoreRequest;
  const res = (q.result as QueuedResult | null) ?? {};
  const pit = r.kind === 'point-in-time';
  const preview = res.preview as { totals: RestoreCounts; items: number; notes: string[] } | undefined;
  return {
    id: q.id,
    kind: r.kind,
    status: q.status,
    createdAt: q.createdAt,
    updatedAt: q.updatedAt,
    weddingIds: pit ? [r.weddingId!] : (r.weddingIds ?? []),
    dataTypes: r.dataTypes ?? null,
    recoveryScope: pit ? (r.dataTypes ? 'selective' : 'wedding-only') : r.recoveryScope!,
    at: pit ? (r.at ?? null) : null,
    snapshotId: res.snapshotId ?? r.snapshotId ?? null,
    confirmed: Boolean(r.confirmed),
    awaitingConfirmation: Boolean(res.awaitingConfirmation),
    initiatedByLabel: r.initiatedByLabel ?? null,
    attempts: q.attempts,
    lastError: q.lastError,
    operationId: q.operationId,
    lastPreview: preview ? { totals: preview.totals, items: preview.items, notes: preview.notes } : null,
  };
}

export function restoreRequestOf(q: QueuedRestore): RestoreRequest {
  const r = q.request as unknown as QueuedRestoreRequest;
  const snapshotId = (q.result as QueuedResult | null)?.snapshotId ?? r.snapshotId;
  if (!snapshotId) throw new WedsyncError('INTERNAL', `queued restore ${q.id} has no snapshot`);
  if (r.kind === 'point-in-time') {
    return r.dataTypes
      ? { snapshotId, recoveryScope: 'selective', weddingIds: [r.weddingId!], dataTypes: r.dataTypes, operationType: 'point-in-time' }
      : { snapshotId, recoveryScope: 'wedding-only', weddingIds: [r.weddingId!], operationType: 'point-in-time' };
  }
  return { snapshotId, recoveryScope: r.recoveryScope!, weddingIds: r.weddingIds, dataTypes: r.dataTypes };
}

/**
 * Runs every queued item that is not waiting for a confirmation, oldest first. `openDeps` opens
 * fresh connections for each attempt (the old ones died with the database). Returns the items
 * as they ended up.
 */
export async function runQueuedRestores(store: CacheStore, openDeps: () => Promise<{ deps: RestoreDeps; close(): Promise<void> }>): Promise<QueuedRestore[]> {
  const out: QueuedRestore[] = [];
  for (const listed of store.listQueuedRestores(['queued'])) {
    // Another pass (or the API's confirm) may have taken it since the list was read: each item runs once.
    const q = store.getQueuedRestore(listed.id);
    if (q?.status !== 'queued') continue;
    const prior = (q.result as QueuedResult | null) ?? {};
    if (prior.awaitingConfirmation) continue;
    const r = q.request as unknown as QueuedRestoreRequest;
    store.putQueuedRestore({ ...q, status: 'running', attempts: q.attempts + 1 });
    let opened: { deps: RestoreDeps; close(): Promise<void> } | null = null;
    try {
      opened = await openDeps();
      const request = restoreRequestOf(q);
      await recordPointInTimeSnapshot(opened.deps, q);
      const { preview, prepared } = await previewRestore(opened.deps, request);
      const summary = { totals: preview.totals, items: preview.items.length, notes: preview.notes };
      if (!r.confirmed) {
        await prepared.release();
        store.putQueuedRestore({ ...q, status: 'queued', attempts: q.attempts + 1, lastError: null, result: { ...prior, preview: summary, awaitingConfirmation: true } });
      } else {
        const started = await startRestore(opened.deps, request, preview.confirmationToken, { initiatedByLabel: r.initiatedByLabel ?? 'queued offline restore' }, prepared);
        const op = await started.done;
        store.putQueuedRestore({
          ...q,
          status: 'done',
          attempts: q.attempts + 1,
          lastError: null,
          operationId: op.id,
          result: { ...prior, preview: summary, operation: { id: op.id, status: op.status, operationType: op.operationType } },
        });
      }
    } catch (err) {
      const unreachable = isWedsyncError(err, 'DB_UNREACHABLE');
      store.putQueuedRestore({ ...q, status: unreachable ? 'queued' : 'failed', attempts: q.attempts + 1, lastError: (err as Error).message });
    } finally {
      await opened?.close().catch(() => undefined);
    }
    out.push(store.getQueuedRestore(q.id)!);
  }
  return out;
}

/**
 * A point-in-time snapshot prepared offline gets its catalog row once the database answers
 * (idempotent: ON CONFLICT DO NOTHING), so it is browsable like the others.
 */
export async function recordPointInTimeSnapshot(deps: Pick<RestoreDeps, 'repo' | 'backup'>, q: QueuedRestore): Promise<void> {
  const r = q.request as unknown as QueuedRestoreRequest;
  const snapshotId = (q.result as QueuedResult | null)?.snapshotId;
  if (r.kind !== 'point-in-time' || !snapshotId || !deps.backup) return;
  const manifest = await deps.repo.loadManifest(snapshotId);
  await deps.backup.catalog.insertSnapshot(pointInTimeCatalogRow(manifest, deps.repo));
}
