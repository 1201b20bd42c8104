import type { CacheStore } from '../cache/store.js';
import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import type {
  QueuedRestoreConfirmResponse,
  QueuedRestoreListQuery,
  QueuedRestoreListResponse,
  QueuedRestorePreviewResponse,
  QueuedRestoreView,
} from '../contract/queued-restore.js';
import { queuedItem, queuedRestoreView, recordPointInTimeSnapshot, restoreRequestOf, type QueuedRestoreRequest } from './offline-queue.js';
import { previewRestore, startRestore, type RestoreDeps } from './restore.js';
import type { ConfirmationTokens } from './restore-token.js';

/**
 * The queued-restore API group (contract/queued-restore.ts, routes/queued-restores.ts): restores
 * prepared while the database was unreachable, confirmed from the console once it is back.
 *
 * Guarantees:
 *  - `preview` computes the plan against the live database as it is now and issues a token bound
 *    to it (this agent's token issuer, shared by every preview and confirm of this group);
 *    nothing changes. DB_UNREACHABLE (503) while the database is still down.
 *  - `confirm` runs the item only with a token its preview issued for exactly that plan (rows
 *    changed since → refused, as every restore): recovery point, apply, verify, audit, in the
 *    background; the item is `running`, then `done` (or `failed` with the reason, or back to
 *    `queued` when the database went away before anything changed).
 *  - `cancel` only cancels an item still queued; running or finished items are CONFLICT (409).
 */
export interface QueuedRestoreServices {
  list(query: QueuedRestoreListQuery): Promise<QueuedRestoreListResponse>;
  /** NOT_FOUND for an unknown id. */
  get(id: string): Promise<QueuedRestoreView>;
  preview(id: string): Promise<QueuedRestorePreviewResponse>;
  confirm(id: string, confirmationToken: string, who?: { initiatedByLabel?: string | null }): Promise<QueuedRestoreConfirmResponse>;
  cancel(id: string): Promise<{ queued: QueuedRestoreView }>;
  /** Settles when every restore confirmed here has ended. */
  idle(): Promise<void>;
}

export interface QueuedRestoreServiceDeps {
  store: CacheStore;
  /** Fresh restore dependencies on the local repository (new connections: the old ones died with the database). */
  openDeps(): Promise<{ deps: RestoreDeps; close(): Promise<void> }>;
  /** Whether the agent reaches the database now (for the list's `database` field). */
  databaseReachable(): boolean;
  /** Token issuer shared by preview and confirm. */
  tokens: ConfirmationTokens;
}

export function createQueuedRestoreServices(d: QueuedRestoreServiceDeps): QueuedRestoreServices {
  const running = new Set<Promise<unknown>>();
  const open = async () => {
    const opened = await d.openDeps();
    return { deps: { ...opened.deps, tokens: d.tokens }, close: opened.close };
  };
  const view = (id: string) => queuedRestoreView(d.store.getQueuedRestore(id)!);

  return {
    async list(query) {
      const items = d.store.listQueuedRestores(query.status ? [query.status] : undefined).reverse().slice(0, query.limit);
      return { queued: items.map(queuedRestoreView), database: d.databaseReachable() ? 'reachable' : 'unreachable' };
    },
    async get(id) {
      const q = d.store.getQueuedRestore(id);
      if (!q) throw new WedsyncError('NOT_FOUND', `queued restore ${id} not found`);
      return queuedRestoreView(q);
    },
    async preview(id) {
      const q = queuedItem(d.store, id, 'previewed');
      const opened = await open();
      try {
        await recordPointInTimeSnapshot(opened.deps, q);
        const { preview, prepared } = await previewRestore(opened.deps, restoreRequestOf(q));
        await prepared.release();
        const prior = (q.result as Record<string, unknown> | null) ?? {};
        d.store.putQueuedRestore({ ...q, lastError: null, result: { ...prior, preview: { totals: preview.totals, items: preview.items.length, notes: preview.notes }, awaitingConfirmation: true } });
        return { queued: view(id), preview };
      } finally {
        await opened.close();
      }
    },
    async confirm(id, confirmationToken, who = {}) {
      const q = queuedItem(d.store, id, 'confirmed');
      // Signature and expiry before any connection: a stale token costs nothing.
      d.tokens.check(confirmationToken);
      const opened = await open();
      const r = q.request as unknown as QueuedRestoreRequest;
      let started: Awaited<ReturnType<typeof startRestore>>;
      d.store.putQueuedRestore({ ...q, status: 'running', attempts: q.attempts + 1 });
      try {
        started = await startRestore(opened.deps, restoreRequestOf(q), confirmationToken, { initiatedByLabel: who.initiatedByLabel ?? r.initiatedByLabel ?? 'queued offline restore' });
      } catch (err) {
        // Nothing changed: the item waits again (the token was refused, or the database went away).
        d.store.putQueuedRestore({ ...q, attempts: q.attempts + 1, lastError: (err as Error).message });
        await opened.close();
        throw err;
      }
      const operationId = started.operation.id;
      d.store.putQueuedRestore({ ...d.store.getQueuedRestore(id)!, operationId });
      const finish = started.done
        .then(
          (op) => {
            const cur = d.store.getQueuedRestore(id)!;
            const prior = (cur.result as Record<string, unknown> | null) ?? {};
            d.store.putQueuedRestore({ ...cur, status: 'done', lastError: null, operationId: op.id, result: { ...prior, awaitingConfirmation: false, operation: { id: op.id, status: op.status, operationType: op.operationType } } });
          },
          (err: unknown) => {
            const cur = d.store.getQueuedRestore(id)!;
            // The operation records its own failure; the item says so too (back in the queue only if the database was lost).
            d.store.putQueuedRestore({ ...cur, status: isWedsyncError(err, 'DB_UNREACHABLE') ? 'queued' : 'failed', lastError: (err as Error).message });
          },
        )
        .finally(async () => {
          running.delete(finish);
          await opened.close().catch(() => undefined);
        });
      running.add(finish);
      return { queued: view(id), operation: started.operation };
    },
    async cancel(id) {
      const q = queuedItem(d.store, id, 'cancelled');
      d.store.putQueuedRestore({ ...q, status: 'cancelled' });
      return { queued: view(id) };
    },
    async idle() {
      await Promise.all([...running]);
    },
  };
}
