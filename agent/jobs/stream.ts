import { CHECKPOINTS, type CacheStore } from '../cache/store.js';
import { isWedsyncError } from '../contract/errors.js';
import type { StreamMode, StreamStatus } from '../contract/offline.js';
import type { SchemaMap } from '../contract/schema-map.js';
import { assessDataCriticality } from '../core/criticality.js';
import type { Logger } from '../logger.js';
import type { Repository } from '../repository/repository.js';
import type { PollTable, ReplicationStream, StreamSource, StreamWeddingCandidate } from '../source/stream-source.js';
import { StreamApplier, streamedTables } from './stream-apply.js';
import { installBase, readBaseRows } from './stream-base.js';

/**
 * Tier 1: keeps the local cache seconds behind the database for the weddings in their
 * high-priority period (agent/core/criticality: `realtime`).
 *
 * One loop, one task at a time (so cache writes never interleave):
 *  1. plan: which weddings need tier 1 now. New ones are tracked `pending`; those leaving are
 *     `kept` until 30 days after the wedding, then purged with their change log.
 *  2. wal_level logical: publication, then this agent's slot (created before any base, so the
 *     stream holds every change a base may miss); retained WAL checked (alert, then drop the slot
 *     past the limit: the weddings are re-based on a fresh slot). No wedding left: slot dropped.
 *     Otherwise: the change journal is polled every `pollIntervalMs`.
 *  3. bases: each pending wedding gets a snapshot in the local repository, loaded into the cache
 *     with the changes logged meanwhile replayed (stream-base.ts).
 *  4. stream: transactions applied in commit order, the slot advanced only after the cache
 *     committed (stream-replication.ts, stream-apply.ts).
 * The database going away ends the round: status `offline`, retried with backoff; the cache keeps
 * serving. Nothing here throws out of `run()`.
 */
export interface StreamOptions {
  pollIntervalMs: number;
  /** How often the plan, the WAL check and the purge run while streaming. */
  planIntervalMs: number;
  /** First retry delay after a failure (doubles up to 30 s). */
  retryMs: number;
  /** Retained WAL that raises an alert. */
  walAlertBytes: number;
  /** Retained WAL past which the slot is dropped. */
  walMaxBytes: number;
  /** Days after the wedding its cached rows and change log are kept. */
  keepDays: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = {
  pollIntervalMs: 2_000,
  planIntervalMs: 30_000,
  retryMs: 2_000,
  walAlertBytes: 512 * 1024 * 1024,
  walMaxBytes: 4 * 1024 * 1024 * 1024,
  keepDays: 30,
};

export interface StreamDeps {
  store: CacheStore;
  map: SchemaMap;
  logger: Logger;
  openSource(): Promise<StreamSource>;
  /** This agent's slot (stream-slot.ts slotNameFor). */
  slot: string;
  /** Takes a snapshot of one wedding into `localRepo` (tier 1); returns its id. */
  takeBase(weddingId: string): Promise<string>;
  localRepo: Repository;
  timeZone: string;
  now?: () => Date;
  /** Exactly these weddings instead of those criticality picks (CLI --wedding, tests, bench). */
  weddings?: string[];
  options?: Partial<StreamOptions>;
  /** Each time the database answers again (every round's start): e.g. run restores queued offline. */
  onConnected?(): Promise<void>;
  /** After each plan (every `planIntervalMs` while connected): e.g. refresh the snapshot mirror. */
  onPlan?(): Promise<void>;
  /** After each streamed transaction is committed to the cache (lag measurement). */
  onApplied?(info: { commitTime: string; appliedAt: number; rowChanges: number }): void;
}

const DAY = 86_400_000;

const every = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export class TierOneStream {
  private readonly options: StreamOptions;
  private readonly applier: StreamApplier;
  private readonly now: () => Date;
  private stopped = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private repl: ReplicationStream | null = null;
  private reread = new Set<string>();
  private state: StreamStatus = { mode: 'stopped', detail: 'not started', slot: null, weddings: 0, lastCommitAt: null, caughtUpAt: null, retainedWalBytes: null, alerts: [] };
  private walAlerted = false;

  constructor(private readonly deps: StreamDeps) {
    this.options = { ...DEFAULT_STREAM_OPTIONS, ...deps.options };
    this.applier = new StreamApplier(deps.store, deps.map);
    this.now = deps.now ?? (() => new Date());
  }

  status(): StreamStatus {
    return { ...this.state, alerts: [...this.state.alerts] };
  }

  start(): void {
    this.stopped = false;
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.repl?.stop();
    await this.loop;
    this.loop = null;
    this.setMode('stopped', 'stopped');
  }

  /** Re-plan now (settings changed, a test wants it) instead of at the next interval. */
  refresh(): void {
    this.wake?.();
  }

  private setMode(mode: StreamMode, detail: string): void {
    if (this.state.mode !== mode || this.state.detail !== detail) this.deps.logger.info({ mode, detail }, 'tier 1 stream');
    this.state.mode = mode;
    this.state.detail = detail;
  }

  private alert(message: string): void {
    this.deps.logger.warn({ alert: message }, 'tier 1 stream alert');
    this.state.alerts = [...this.state.alerts.filter((a) => a !== message), message].slice(-10);
  }

  private sleep(ms: number, until?: Promise<unknown>): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
      until?.then(done, done);
    }).finally(() => {
      this.wake = null;
    });
  }

  private async run(): Promise<void> {
    let delay = this.options.retryMs;
    while (!this.stopped) {
      let source: StreamSource | null = null;
      try {
        source = await this.deps.openSource();
        if (this.deps.onConnected) {
          await this.deps.onConnected().catch((err: unknown) => this.deps.logger.error({ err: (err as Error).message }, 'tier 1: work queued while offline failed'));
        }
        const level = await source.walLevel();
        const logical = level === 'logical';
        this.setMode(
          logical ? 'logical' : 'polling',
          logical ? 'logical replication (pgoutput)' : `wal_level is ${level}, not logical: polling the change journal every ${every(this.options.pollIntervalMs)}`,
        );
        this.state.slot = logical ? this.deps.slot : null;
        if (logical) await this.runLogical(source);
        else await this.runPolling(source);
        delay = this.options.retryMs;
      } catch (err) {
        const unreachable = isWedsyncError(err, 'DB_UNREACHABLE');
        this.setMode('offline', unreachable ? `database unreachable (${(err as Error).message}); serving the cache` : `stream failed: ${(err as Error).message}`);
        if (!unreachable) this.deps.logger.error({ err: (err as Error).message }, 'tier 1 stream failed; retrying');
      } finally {
        const r = this.repl;
        this.repl = null;
        await r?.stop().catch(() => undefined);
        await source?.close().catch(() => undefined);
      }
      if (this.stopped) break;
      await this.sleep(delay);
      delay = Math.min(delay * 2, 30_000);
    }
  }

  /** Which weddings need tier 1 now; updates the cache's tracked set. Returns the wanted ids. */
  private async plan(source: StreamSource): Promise<string[]> {
    const { store } = this.deps;
    const now = this.now();
    let wanted: StreamWeddingCandidate[];
    if (this.deps.weddings) {
      const all = await source.candidates('0001-01-01', '9999-12-31');
      wanted = all.filter((c) => this.deps.weddings!.includes(c.id));
    } else {
      const from = isoDate(new Date(now.getTime() - 10 * DAY));
      const to = isoDate(new Date(now.getTime() + 10 * DAY));
      wanted = (await source.candidates(from, to)).filter(
        (c) => assessDataCriticality({ id: c.id, weddingDate: c.weddingDate, type: c.type, status: c.status, coupleNames: c.coupleNames }, c.settings, now, { timeZone: this.deps.timeZone }).realtime,
      );
    }
    const ids = new Set(wanted.map((w) => w.id));
    store.transaction(() => {
      for (const c of wanted) {
        const have = store.getWedding(c.id);
        if (have && have.state !== 'kept') continue;
        // New (or back in its period after being kept): rows come from a new base.
        store.putWedding({
          weddingId: c.id,
          state: 'pending',
          weddingDate: c.weddingDate,
          organizationId: c.organizationId,
          coupleNames: c.coupleNames,
          venueName: c.venueName,
          baseSnapshotId: have?.baseSnapshotId ?? null,
          baseLocation: have?.baseLocation ?? null,
          baseJournalSnapshot: have?.baseJournalSnapshot ?? null,
          baseAt: have?.baseAt ?? null,
          realtimeUntil: null,
          purgeAfter: null,
          lastChangeAt: have?.lastChangeAt ?? null,
        });
      }
      for (const w of store.listWeddings()) {
        if (ids.has(w.weddingId)) continue;
        if (w.state !== 'kept') {
          const end = w.weddingDate ? Date.parse(`${w.weddingDate}T00:00:00Z`) + (this.options.keepDays + 1) * DAY : now.getTime() + this.options.keepDays * DAY;
          store.putWedding({ ...w, state: 'kept', realtimeUntil: now.toISOString(), purgeAfter: new Date(Math.max(end, now.getTime())).toISOString() });
        } else if (w.purgeAfter && Date.parse(w.purgeAfter) <= now.getTime()) {
          store.deleteWedding(w.weddingId);
          this.deps.logger.info({ weddingId: w.weddingId }, 'tier 1: purged a wedding 30 days after its date');
        }
      }
    });
    this.state.weddings = ids.size;
    if (this.deps.onPlan) await this.deps.onPlan().catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message }, 'tier 1: periodic task failed'));
    return [...ids];
  }

  /** Snapshots and loads every pending wedding. */
  private async loadBases(): Promise<void> {
    const { store, map, localRepo } = this.deps;
    for (const w of store.listWeddings({ states: ['pending'] })) {
      if (this.stopped) return;
      const snapshotId = await this.deps.takeBase(w.weddingId);
      const manifest = await localRepo.loadManifest(snapshotId);
      const rows = await readBaseRows(localRepo, manifest, w.weddingId, map);
      const replayed = installBase(store, rows, { location: localRepo.location, realtimeUntil: null, weddingsTable: map.weddings.table });
      this.applier.reload();
      this.reread.add(w.weddingId);
      this.deps.logger.info({ weddingId: w.weddingId, snapshotId, replayed }, 'tier 1: wedding loaded into the cache');
    }
  }

  /** Drops the slot and forgets the stream position: every tracked wedding needs a new base. */
  private async resetSlot(source: StreamSource, why: string): Promise<void> {
    const r = this.repl;
    this.repl = null;
    await r?.stop();
    const dropped = await source.dropSlot(this.deps.slot);
    const { store } = this.deps;
    store.transaction(() => {
      store.deleteCheckpoint(CHECKPOINTS.streamLsn);
      store.deleteCheckpoint(CHECKPOINTS.streamSlot);
      for (const w of store.listWeddings({ states: ['ready'] })) store.putWedding({ ...w, state: 'pending' });
    });
    if (dropped) this.deps.logger.info({ slot: this.deps.slot, why }, 'tier 1: replication slot dropped');
  }

  private async runLogical(source: StreamSource): Promise<void> {
    const { store } = this.deps;
    const tables = streamedTables(this.deps.map).map((t) => t.table);
    while (!this.stopped) {
      const wanted = await this.plan(source);
      if (!wanted.length) {
        if (store.getCheckpoint(CHECKPOINTS.streamSlot) || (await source.slotInfo(this.deps.slot))) await this.resetSlot(source, 'no wedding needs tier 1');
        this.setMode('idle', 'no wedding is in its high-priority period: no replication slot');
        this.state.retainedWalBytes = null;
        await this.sleep(this.options.planIntervalMs);
        continue;
      }
      this.setMode('logical', 'logical replication (pgoutput)');
      await source.ensurePublication(tables);
      const created = await source.ensureSlot(this.deps.slot);
      if (created || store.getCheckpoint(CHECKPOINTS.streamSlot) !== this.deps.slot) {
        // A new slot (first start, or the old one was lost): positions of any earlier slot mean
        // nothing here, and rows loaded before it may miss changes: re-base everything.
        store.transaction(() => {
          store.deleteCheckpoint(CHECKPOINTS.streamLsn);
          store.setCheckpoint(CHECKPOINTS.streamSlot, this.deps.slot);
          for (const w of store.listWeddings({ states: ['ready'] })) store.putWedding({ ...w, state: 'pending' });
        });
      }
      const info = await source.slotInfo(this.deps.slot);
      this.state.retainedWalBytes = info?.retainedBytes ?? null;
      if (info?.walStatus === 'lost' || (info && info.retainedBytes > this.options.walMaxBytes)) {
        this.alert(`replication slot ${this.deps.slot} dropped: it held ${info.retainedBytes} bytes of WAL (limit ${this.options.walMaxBytes}); weddings are re-based on a new slot`);
        await this.resetSlot(source, 'retained WAL past the limit');
        continue;
      }
      if (info && info.retainedBytes > this.options.walAlertBytes) {
        if (!this.walAlerted) this.alert(`replication slot ${this.deps.slot} holds ${info.retainedBytes} bytes of WAL on the server (alert at ${this.options.walAlertBytes})`);
        this.walAlerted = true;
      } else this.walAlerted = false;

      await this.loadBases();
      if (!this.repl) {
        const startLsn = store.getCheckpoint(CHECKPOINTS.streamLsn) ?? '0/0';
        this.repl = await source.replicate({
          slot: this.deps.slot,
          startLsn,
          onTransaction: async (tx) => {
            const stats = this.applier.applyTransaction(tx);
            if (stats.skipped) return;
            this.state.lastCommitAt = tx.commitTime;
            this.deps.onApplied?.({ commitTime: tx.commitTime, appliedAt: Date.now(), rowChanges: stats.rowChanges });
          },
          onCaughtUp: () => {
            this.state.caughtUpAt = new Date().toISOString();
          },
        });
      }
      const repl = this.repl;
      let failure: unknown = null;
      let ended = false;
      const watch = repl.done.then(
        () => (ended = true),
        (e: unknown) => {
          ended = true;
          failure = e;
        },
      );
      await this.sleep(this.options.planIntervalMs, watch);
      // A failed stream ends the round (run() reconnects with backoff); one that ended cleanly
      // without our asking (server shutdown) is simply started again.
      if (failure) throw failure;
      if (ended && this.repl === repl) this.repl = null;
    }
  }

  private async runPolling(source: StreamSource): Promise<void> {
    const { store, map } = this.deps;
    let lastPlan = 0;
    while (!this.stopped) {
      if (Date.now() - lastPlan >= this.options.planIntervalMs || store.listWeddings({ states: ['pending'] }).length) {
        const wanted = await this.plan(source);
        lastPlan = Date.now();
        if (!wanted.length) {
          this.setMode('idle', 'no wedding is in its high-priority period');
          await this.sleep(this.options.planIntervalMs);
          continue;
        }
        this.setMode('polling', this.state.detail.startsWith('wal_level') ? this.state.detail : `polling the change journal every ${every(this.options.pollIntervalMs)}`);
        await this.loadBases();
      }
      const ready = store.listWeddings({ states: ['ready'] }).map((w) => w.weddingId);
      const previous = store.getCheckpoint(CHECKPOINTS.pollSnapshot);
      // After a restart every ready wedding is read again: the cache may have missed changes.
      const reread = previous ? [...this.reread] : ready;
      const tables: PollTable[] = store
        .listTableMeta()
        .filter((m) => streamedTables(map).some((t) => t.table === m.table))
        .map((m) => ({ table: m.table, weddingColumn: m.weddingColumn, columns: m.columns.map((c) => c.name) }));
      const result = await source.poll(previous, tables, ready, reread);
      const stats = this.applier.applyPoll(result.changed, result.snapshot);
      this.reread.clear();
      this.state.caughtUpAt = new Date().toISOString();
      if (stats.rowChanges) {
        const last = result.changed.reduce((a, p) => (p.changedAt > a ? p.changedAt : a), '');
        this.state.lastCommitAt = last || this.state.lastCommitAt;
        this.deps.onApplied?.({ commitTime: last, appliedAt: Date.now(), rowChanges: stats.rowChanges });
      }
      await this.sleep(this.options.pollIntervalMs);
    }
  }
}
