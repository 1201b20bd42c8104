import type { SnapshotDetail, SnapshotSummary } from '../contract/api.js';
import { WedsyncError } from '../contract/errors.js';
import type { SnapshotServices } from '../api/services.js';
import type { AgentParts } from './agent-parts.js';
import type { Online } from './online.js';
import { SnapshotListReader, summary } from './snapshot-list.js';

export interface SnapshotServiceDeps extends AgentParts {
  /** The database-backed part, while connected. */
  online(): Online | null;
}

/**
 * The snapshot routes' services (routes/snapshots.ts), connected or not.
 *
 * Guarantees:
 *  - list: the catalog's snapshots (snapshot-list.ts: wedding ids read once per snapshot); with the database unreachable (not connected, or gone
 *    mid-call) the cache's mirror of the catalog (tier 1 keeps it), never an error for that alone.
 *  - get: the catalog row (else the mirror's, offline) and the manifest's parts; NOT_FOUND when
 *    neither knows the id or the manifest was pruned. Point-in-time snapshots and tier 1 bases
 *    are read from the local repository.
 *  - emergencyBackup: needs the database (DB_UNREACHABLE otherwise); runs in the backup queue on
 *    a freshly opened repository under a shared lock (a concurrent prune never deletes a pack it
 *    relies on), and clears the list and status caches after, so this agent reads it back at once.
 *    `options.signal` cancels it: before its turn nothing is opened; after, runBackup stops before
 *    the snapshot exists and fails its job with the reason.
 */
export function createSnapshotServices(d: SnapshotServiceDeps): SnapshotServices {
  const { config, logger, localRepo, caches } = d;
  /** The repository a snapshot lives in: tier 1 bases and point-in-time snapshots are in the local one. */
  const repoAt = (location: string | null) => {
    const on = d.online();
    return location === localRepo.location || !on ? localRepo : on.repo;
  };
  /** What a snapshot's detail takes from its manifest (immutable once written): computed once per snapshot. */
  const detailOf = async (id: string, location: string | null): Promise<Omit<SnapshotDetail, 'snapshot'>> => {
    const m = await repoAt(location).loadManifest(id);
    return {
      scope: m.scope ?? { kind: 'complete' },
      tables: m.schema.tables.map((t) => ({ table: `${t.schema}.${t.name}`, dataType: t.dataType, rows: t.rowCount })),
      weddings: m.weddings.map((w) => ({
        weddingId: w.weddingId,
        weddingDate: w.weddingDate ?? null,
        organizationId: w.organizationId ?? null,
        rowCounts: w.rowCounts as Record<string, number>,
        photos: w.photos.length,
        segments: Object.values(w.tables).reduce((a, s) => a + s.length, 0),
        rawBytes: Object.values(w.tables).reduce((a, s) => a + s.reduce((b, r) => b + r.rawBytes, 0), 0),
      })),
      photoProblems: m.photoProblems,
    };
  };
  const listed = new SnapshotListReader();
  const mirrored = (query: { weddingId?: string | undefined; type?: string | undefined; limit?: number | undefined }) =>
    d.store.listSnapshots({ weddingId: query.weddingId, type: query.type, limit: query.limit }).map((s) => s.summary as SnapshotSummary);

  return {
    list: (query) =>
      caches.snapshotList.get(JSON.stringify(query), async () => {
        const online = d.online();
        if (!online) return mirrored(query);
        try {
          return await listed.list(online.catalog, query);
        } catch (err) {
          // The database is gone: tier 1's mirror of the catalog in the local cache still lists them.
          if ((err as { code?: string }).code !== 'DB_UNREACHABLE') throw err;
          return mirrored(query);
        }
      }),
    get: (id) =>
      caches.snapshotDetail.get(id, async (): Promise<SnapshotDetail> => {
        const online = d.online();
        let snapshot: SnapshotSummary | null = null;
        try {
          const row = online ? await online.catalog.getSnapshot(id) : null;
          if (row) snapshot = summary(row);
          else if (online) throw new WedsyncError('NOT_FOUND', `snapshot ${id} not found`);
        } catch (err) {
          if ((err as { code?: string }).code !== 'DB_UNREACHABLE') throw err;
        }
        // Offline: the cache's mirror of the catalog.
        snapshot ??= (d.store.getSnapshot(id)?.summary as SnapshotSummary | undefined) ?? null;
        if (!snapshot) throw new WedsyncError('NOT_FOUND', `snapshot ${id} not found${online ? '' : ' in the local cache (the database is unreachable)'}`);
        const repo = repoAt(snapshot.storageLocation);
        // A manifest never changes once written, but prune may delete it: check it is still there.
        if (!(await repo.store.head(`snapshots/${id}`))) await repo.loadManifest(id);
        return { snapshot, ...(await caches.manifestParts.get(id, () => detailOf(id, snapshot.storageLocation))) };
      }),
    emergencyBackup(request, options) {
      const on = d.online();
      if (!on) return Promise.reject(new WedsyncError('DB_UNREACHABLE', 'database unreachable: an emergency backup needs it (the wedding is in the local cache if tier 1 streams it)'));
      // A fresh repository (its index as it is now, after any prune) under a shared lock, so a
      // concurrent prune never deletes a pack this backup relies on.
      const signal = options?.signal;
      return d.backups.run(async () => {
        // Cancelled while waiting for its turn: nothing is opened.
        signal?.throwIfAborted();
        const [{ withLock }, { openRepo }, { runBackup }, { openBackupSource }] = await Promise.all([
          import('../repository/lock.js'),
          import('../cli/repo.js'),
          import('../jobs/backup.js'),
          import('../source/backup-source.js'),
        ]);
        // The agent's key is already unwrapped: no key derivation (scrypt) per backup.
        const reopened = await on.repo.reopen();
        const fresh = reopened ?? (await openRepo(config.repo, d.passphrase, logger));
        try {
          return await withLock(fresh.store, { kind: 'shared', purpose: `emergency backup of wedding ${request.weddingId} (API)`, waitMs: 60_000, ...(signal ? { signal } : {}) }, (lock) =>
            runBackup(
              { openSource: () => openBackupSource(d.url, d.map, 1, { lockTimeoutMs: config.lockTimeoutMs }), catalog: on.catalog, repo: fresh, photoStore: on.photoStore, map: d.map, logger, takeLock: false, heldLock: lock, ...(options?.onProgress ? { onProgress: options.onProgress } : {}), ...(signal ? { signal } : {}) },
              { type: 'emergency', weddingIds: [request.weddingId], dataTypes: request.dataTypes, priority: 10 },
            ),
          );
        } finally {
          // A reopened repository shares the agent's store: only one opened here is closed.
          if (!reopened) await fresh.store.close();
          // Read back this agent's own writes at once.
          caches.ownWrite();
        }
      });
    },
  };
}
