import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import type { BlobStore } from '../storage/blob-store.js';

/**
 * Repository locks, as restic does them: one small file per holder under `locks/` in the
 * BlobStore itself, so agents on different machines sharing only the repository (an S3 bucket)
 * see each other.
 *
 *   locks/<32 hex>   plaintext JSON { formatVersion: 1, id, kind: "shared" | "exclusive", purpose,
 *                    hostname, pid, agent, created, refreshed }  (no secrets: who and why only)
 *
 * - SHARED locks are taken by work that adds to the repository (backups run by the agent's
 *   runner, off-site copies into a target). Any number may coexist.
 * - An EXCLUSIVE lock is taken by prune before it deletes packs: no other lock may exist.
 * - Acquiring: write our lock file, then list the others. Shared conflicts with a live exclusive;
 *   exclusive conflicts with any live lock. On conflict we delete ours and wait (poll) or fail with
 *   CONFLICT naming the holder. Two that race both see each other and both back off: never both win.
 * - A holder refreshes its file every few minutes; a lock not refreshed for `staleAfterMs`
 *   (default 30 min) belongs to a dead process and is ignored (and removed by the next acquirer).
 *   Staleness is judged with the reader's clock against the writer's: clocks must agree to well
 *   within that margin. A lock taken on THIS machine (same hostname) by a process that no longer
 *   exists is stale at once, as restic judges it: a backup killed -9 must not block prune for half
 *   an hour. (Hosts sharing a repository must have distinct hostnames, as containers do by default.)
 * - A holder whose own file vanished, or that could not refresh it for `staleAfterMs`, is `lost`:
 *   prune checks this before every destructive step.
 */

export type LockKind = 'shared' | 'exclusive';

export const LOCKS_PREFIX = 'locks/';
export const DEFAULT_STALE_AFTER_MS = 30 * 60_000;
export const DEFAULT_REFRESH_EVERY_MS = 5 * 60_000;

const lockFileSchema = z.object({
  formatVersion: z.literal(1),
  id: z.string().regex(/^[0-9a-f]{32}$/),
  kind: z.enum(['shared', 'exclusive']),
  purpose: z.string(),
  hostname: z.string(),
  pid: z.number().int(),
  agent: z.string().nullable(),
  created: z.string(),
  refreshed: z.string(),
});
type LockFile = z.infer<typeof lockFileSchema>;

export interface LockInfo extends LockFile {
  name: string;
  stale: boolean;
}

export interface LockOptions {
  kind: LockKind;
  /** What the holder does ("prune", "backup job 1234…"): shown to whoever is blocked. */
  purpose: string;
  agent?: string | null;
  clock?: () => Date;
  staleAfterMs?: number;
  /** 0 disables the refresh timer (the caller refreshes). */
  refreshEveryMs?: number;
  /** How long to keep trying while another holder conflicts (default 0: fail at once). */
  waitMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
}

function describeHolder(l: LockFile): string {
  return `${l.kind} lock by ${l.agent ? `agent ${l.agent}` : 'a process'} on ${l.hostname} (pid ${l.pid}, ${l.purpose}, since ${l.created})`;
}

/** Every lock file, parsed, with whether it is stale. Unreadable lock files are skipped. */
export async function listLocks(store: BlobStore, opts: { clock?: () => Date; staleAfterMs?: number } = {}): Promise<LockInfo[]> {
  const now = (opts.clock ?? (() => new Date()))().getTime();
  const staleAfter = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const out: LockInfo[] = [];
  for (const { name } of await store.list(LOCKS_PREFIX)) {
    let bytes: Buffer;
    try {
      bytes = await store.get(name);
    } catch (err) {
      if (isWedsyncError(err, 'BLOB_NOT_FOUND')) continue; // released since the listing
      throw err;
    }
    let parsed: LockFile;
    try {
      parsed = lockFileSchema.parse(JSON.parse(bytes.toString('utf8')));
    } catch {
      continue;
    }
    out.push({ ...parsed, name, stale: now - Date.parse(parsed.refreshed) > staleAfter || holderIsGone(parsed) });
  }
  return out;
}

/** True when the lock was taken on this machine by a process that is not running any more. */
function holderIsGone(lock: LockFile): boolean {
  if (lock.hostname !== hostname() || lock.pid === process.pid) return false;
  try {
    process.kill(lock.pid, 0); // signal 0: only asks whether the process exists
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'; // EPERM: it exists, under another user
  }
}

export class RepositoryLock {
  private timer: NodeJS.Timeout | null = null;
  private lastRefresh: number;
  private isLost = false;
  private released = false;

  /** @internal use acquireLock */
  constructor(
    private readonly store: BlobStore,
    private file: LockFile,
    private readonly clock: () => Date,
    private readonly staleAfterMs: number,
    refreshEveryMs: number,
  ) {
    this.lastRefresh = clock().getTime();
    if (refreshEveryMs > 0) {
      this.timer = setInterval(() => void this.refresh().catch(() => undefined), refreshEveryMs);
      this.timer.unref();
    }
  }

  get id(): string {
    return this.file.id;
  }

  get kind(): LockKind {
    return this.file.kind;
  }

  get name(): string {
    return `${LOCKS_PREFIX}${this.file.id}`;
  }

  /** True once the lock can no longer be trusted (its file vanished or went unrefreshed too long). */
  get lost(): boolean {
    if (!this.isLost && this.clock().getTime() - this.lastRefresh > this.staleAfterMs) this.isLost = true;
    return this.isLost;
  }

  /** Throws CONFLICT when the lock is lost: call before every destructive step. */
  assertHeld(): void {
    if (this.released || this.lost) throw new WedsyncError('CONFLICT', `the ${this.kind} repository lock ${this.id} on ${this.store.location} was lost; stopping`);
  }

  /** Rewrites the lock file with a fresh timestamp. Marks the lock lost if someone removed it. */
  async refresh(): Promise<void> {
    if (this.released) return;
    if (!(await this.store.head(this.name))) {
      this.isLost = true;
      return;
    }
    this.file = { ...this.file, refreshed: this.clock().toISOString() };
    await this.store.put(this.name, Buffer.from(JSON.stringify(this.file)));
    this.lastRefresh = this.clock().getTime();
  }

  /** Removes the lock file. Idempotent. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.released) return;
    this.released = true;
    await this.store.delete(this.name);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new WedsyncError('CANCELLED', 'stopped while waiting for a repository lock'));
      },
      { once: true },
    );
  });
}

/** Takes a lock (see the top of this file). CONFLICT naming the holder when it cannot within `waitMs`. */
export async function acquireLock(store: BlobStore, opts: LockOptions): Promise<RepositoryLock> {
  const clock = opts.clock ?? (() => new Date());
  const staleAfter = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const deadline = Date.now() + (opts.waitMs ?? 0);
  const id = randomBytes(16).toString('hex');
  const name = `${LOCKS_PREFIX}${id}`;
  for (;;) {
    const at = clock().toISOString();
    const file: LockFile = { formatVersion: 1, id, kind: opts.kind, purpose: opts.purpose, hostname: hostname(), pid: process.pid, agent: opts.agent ?? null, created: at, refreshed: at };
    await store.put(name, Buffer.from(JSON.stringify(file)));
    let others: LockInfo[];
    try {
      others = (await listLocks(store, { clock, staleAfterMs: staleAfter })).filter((l) => l.id !== id);
    } catch (err) {
      await store.delete(name).catch(() => undefined);
      throw err;
    }
    for (const stale of others.filter((l) => l.stale)) await store.delete(stale.name).catch(() => undefined);
    const conflict = others.find((l) => !l.stale && (opts.kind === 'exclusive' || l.kind === 'exclusive'));
    if (!conflict) return new RepositoryLock(store, file, clock, staleAfter, opts.refreshEveryMs ?? DEFAULT_REFRESH_EVERY_MS);
    await store.delete(name);
    if (Date.now() >= deadline) {
      throw new WedsyncError('CONFLICT', `repository at ${store.location} is locked: ${describeHolder(conflict)}`, {
        details: { lock: conflict.id, kind: conflict.kind, hostname: conflict.hostname, pid: conflict.pid, purpose: conflict.purpose },
      });
    }
    // Jitter, so two agents that keep colliding drift apart.
    await sleep(Math.min(opts.pollMs ?? 2_000, Math.max(0, deadline - Date.now())) * (0.5 + Math.random() / 2), opts.signal);
  }
}

/** Runs `fn` holding a lock; always releases it. */
export async function withLock<T>(store: BlobStore, opts: LockOptions, fn: (lock: RepositoryLock) => Promise<T>): Promise<T> {
  const lock = await acquireLock(store, opts);
  try {
    return await fn(lock);
  } finally {
    await lock.release().catch(() => undefined);
  }
}
