/**
 * Short-lived answers for the agent's hot read endpoints (snapshot list, snapshot detail,
 * status). A console or monitor polling at hundreds of requests per second must not cost one
 * computation per request: at 2000 weddings the status alone is ~150 ms of CPU, a snapshot's
 * detail ~100 ms (its manifest decrypted and checked), and the agent has ONE event loop for its
 * API and its backups — 200 requests/s of those left every request timing out.
 *
 * Guarantees: at most one computation per key per `ttlMs` (concurrent misses share it: single
 * flight); a failed computation is not kept; the same object is handed out while it is fresh
 * (api/http.ts validates and encodes an object once); clear() drops everything (after this
 * agent's own writes, so it reads them back at once: the next call waits for a new answer).
 *
 * With `staleMs` (stale-while-revalidate): for up to `staleMs` after an answer expires, callers
 * get that answer at once while ONE new computation runs in the background; it replaces the
 * old answer when it succeeds (unless clear() came in between) and drops it when it fails, so an
 * error is never hidden for longer than one more call. No request then waits for a recomputation
 * (a status is ~200 ms of queries at 2000 weddings) except the first after a clear or a long idle.
 * Writes by other processes show within `ttlMs` plus one computation. Answers are the services'
 * own, before per-user trimming (api/authz.ts), so one cache serves every caller.
 */
export class ReadCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 64,
    private readonly clock: () => number = Date.now,
    private readonly staleMs = 0,
  ) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const now = this.clock();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    if (hit && hit.settled && now - hit.at < this.ttlMs + this.staleMs) {
      if (!hit.refreshing) this.refresh(key, hit, now, compute);
      return hit.value;
    }
    return this.store(key, now, compute()).value;
  }

  clear(): void {
    this.entries.clear();
  }

  private store(key: string, at: number, value: Promise<T>): Entry<T> {
    const entry: Entry<T> = { at, value, settled: false, refreshing: false };
    this.entries.set(key, entry);
    value.then(
      () => {
        entry.settled = true;
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    // Oldest first out: keys are a handful of query variants, the bound only guards against junk.
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return entry;
  }

  private refresh(key: string, stale: Entry<T>, at: number, compute: () => Promise<T>): void {
    stale.refreshing = true;
    const next = compute();
    next.then(
      () => {
        // A clear() since (this agent wrote something) wins: its caller computes afresh.
        if (this.entries.get(key) === stale) this.store(key, at, next).settled = true;
      },
      () => {
        if (this.entries.get(key) === stale) this.entries.delete(key);
      },
    );
  }
}

interface Entry<T> {
  /** When its computation started. */
  at: number;
  value: Promise<T>;
  /** Resolved (a stale answer is only served once it is there). */
  settled: boolean;
  /** A background recomputation is running. */
  refreshing: boolean;
}
