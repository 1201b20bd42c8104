/**
 * Short-lived answers for the agent's hot read endpoints (snapshot list, snapshot detail,
 * status). A console or monitor polling at hundreds of requests per second must not cost one
 * computation per request: at 2000 weddings the status alone is ~150 ms of CPU, a snapshot's
 * detail ~100 ms (its manifest decrypted and checked), and the agent has ONE event loop for its
 * API and its backups — 200 requests/s of those left every request timing out.
 *
 * Guarantees: at most one computation per key per `ttlMs` (concurrent misses share it: single
 * flight); a failed computation is not kept; the same object is handed out while it is fresh
 * (api/http.ts validates an object once); clear() drops everything (after this agent's own
 * writes, so it reads them back at once). Writes by other processes show within `ttlMs`.
 * Answers are the services' own, before per-user trimming (api/authz.ts), so one cache serves
 * every caller.
 */
export class ReadCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 64,
    private readonly clock: () => number = Date.now,
  ) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const now = this.clock();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = compute();
    this.entries.set(key, { at: now, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    // Oldest first out: keys are a handful of query variants, the bound only guards against junk.
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }

  clear(): void {
    this.entries.clear();
  }
}
