import type { SnapshotDetail, SnapshotSummary } from '../contract/api.js';
import { ReadCache } from '../api/read-cache.js';
import type { ApiServices } from '../api/services.js';

type StatusAnswer = Awaited<ReturnType<NonNullable<ApiServices['backupStatus']>['status']>>;

/**
 * The agent's hot reads answered from short-lived caches (api/read-cache.ts): at 2000 weddings a
 * status is ~150 ms of CPU and a snapshot's detail ~100 ms, on the event loop the backups share.
 *
 * Invalidation, all in one place:
 *  - `ownWrite()` after this agent wrote a snapshot (emergency backup): list and status;
 *  - `statusChanged()` after a settings change or a cancelled job: status;
 *  - `reconnected()` when the database (re)connects: everything read from the catalog.
 * Writes by other processes (other agents, the CLI) show within each cache's TTL plus one
 * refresh (stale-while-revalidate, api/read-cache.ts); a failed refresh is never hidden beyond
 * the next call. A manifest's parts are immutable once written, so they are kept for an hour.
 */
export class AgentReadCaches {
  // Fresh for 1–2 s, then served stale for up to 10–30 s while ONE refresh runs behind it: a
  // polling load never waits for a recomputation (a status is ~200 ms of queries at 2000 weddings).
  readonly snapshotList = new ReadCache<SnapshotSummary[]>(1_000, 64, Date.now, 10_000);
  readonly snapshotDetail = new ReadCache<SnapshotDetail>(1_000, 64, Date.now, 10_000);
  readonly manifestParts = new ReadCache<Omit<SnapshotDetail, 'snapshot'>>(60 * 60_000, 16);
  readonly status = new ReadCache<StatusAnswer>(2_000, 16, Date.now, 30_000);

  ownWrite(): void {
    this.snapshotList.clear();
    this.status.clear();
  }

  statusChanged(): void {
    this.status.clear();
  }

  reconnected(): void {
    this.snapshotList.clear();
    this.snapshotDetail.clear();
    this.status.clear();
  }
}
