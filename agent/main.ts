import type { Config } from './contract/config.js';
import { WedsyncError } from './contract/errors.js';
import type { SnapshotDetail, SnapshotSummary } from './contract/api.js';
import type { Logger } from './logger.js';
import type { ApiServices } from './api/services.js';
import type { AgentJobOptions } from './jobs/runner-daemon.js';
import type { SnapshotRow } from './catalog/catalog.js';
import type { DatabaseConnectivity } from './contract/offline.js';
import type { EventHub as EventHubType } from './api/event-hub.js';

/**
 * The one place that wires the agent together: catalog, repository, photo store, jobs and the
 * HTTP API. Everything else receives what it needs through interfaces.
 */
export interface AgentOptions {
  config: Config;
  logger: Logger;
  host?: string;
  port?: number;
  /**
   * Run the tier 1 stream. Default: WEDSYNC_TIER1=on|off when set, else with the scheduler (`jobs`):
   * the daemon streams, tests and embedders choose. The offline routes answer either way.
   */
  tier1?: boolean;
  /** Use this API token instead of the one stored under WEDSYNC_HOME (tests, Electron). */
  token?: string;
  /**
   * The scheduler, the job runner and the nightly prune (agent/jobs/runner-daemon.ts). Off unless
   * asked for: the `agent` command turns it on; tests and embedders (demo, Electron) choose.
   * Status, plan, settings and /metrics are served either way.
   */
  jobs?: boolean | AgentJobOptions;
  /** Needed to bind a non-loopback host (agent/api/tls.ts); TLS is then required. */
  allowRemote?: boolean;
  /** PEM certificate and key for HTTPS; without them a remote bind gets a generated self-signed certificate. */
  tlsCert?: string;
  tlsKey?: string;
  /**
   * Reconnecting while the database is unreachable (the agent starts without it): first delay,
   * doubling up to the maximum. Default 2 s → 30 s; tier 1's stream retries from the same first delay.
   * `firstWaitMs` (default 8 s): how long the start waits for the first attempt before serving offline.
   */
  retry?: { minMs?: number; maxMs?: number; firstWaitMs?: number };
}

export interface RunningAgent {
  url: string;
  token: string;
  /** A fresh one-time link that opens the console signed in (agent/api/routes/console.ts). */
  consoleUrl(): string;
  /** SHA-256 fingerprint of the HTTPS certificate, for clients to pin; null over plain HTTP (loopback). */
  tlsFingerprint: string | null;
  /** Every API route, "METHOD /url/:param". */
  routes(): string[];
  /** Whether the agent reaches its database now (also GET /healthz `database`). */
  database(): DatabaseConnectivity;
  close(): Promise<void>;
}

/** Runs tasks one at a time: backups share one repository writer session. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

function summary(row: SnapshotRow): SnapshotSummary {
  const { organizationIds: _o, validationDetails: _v, ...rest } = row;
  return rest;
}

/** Errors that mean "not reachable now" (the agent waits and tries again), not "misconfigured". */
function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'DB_UNREACHABLE' || code === 'STORAGE_UNAVAILABLE';
}

/**
 * A service group that exists only while the agent is connected: calls go to the live
 * implementation, or fail with DB_UNREACHABLE (503) naming what needs the database. Routes are
 * registered once at start, so they keep their group and see it come and go.
 */
function whileConnected<T extends object>(current: () => T | null | undefined, what: string, offline: Partial<T> = {}): T {
  return new Proxy({} as T, {
    get(_target, prop) {
      if (prop === 'then') return undefined; // not a promise
      const impl = current();
      if (impl) {
        const v = (impl as Record<string | symbol, unknown>)[prop];
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(impl) : v;
      }
      const fallback = (offline as Record<string | symbol, unknown>)[prop];
      if (fallback !== undefined) return fallback;
      return () => Promise.reject(new WedsyncError('DB_UNREACHABLE', `database unreachable: ${what} needs it; the agent serves the local cache meanwhile and reconnects by itself`));
    },
  });
}

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const { config, logger } = options;
  if (!config.databaseUrl) throw new WedsyncError('BAD_INPUT', 'the agent needs a database: set DATABASE_URL or pass --database-url (or run `wedsync-backup demo`)');
  if (!config.passphrase) throw new WedsyncError('PASSPHRASE_REQUIRED', 'the agent needs the repository passphrase: set WEDSYNC_PASSPHRASE or WEDSYNC_PASSPHRASE_FILE');
  const url = config.databaseUrl;
  const passphrase = config.passphrase;
  const [{ openRepo }, { openCatalog }, { openBackupSource }, { runBackup }, { schemaMap, openPhotoStore }, { createApiServer }, { loadOrCreateAgentToken }] = await Promise.all([
    import('./cli/repo.js'),
    import('./catalog/catalog.js'),
    import('./source/backup-source.js'),
    import('./jobs/backup.js'),
    import('./cli/services.js'),
    import('./api/server.js'),
    import('./api/auth.js'),
  ]);
  const map = schemaMap(config);
  const token = options.token ?? (await loadOrCreateAgentToken(config.home));
  // Before anything is opened: a remote bind without --allow-remote or a bad certificate stops here.
  const host = options.host ?? config.api.host;
  const { resolveTls } = await import('./api/tls.js');
  const tls = await resolveTls({ host, allowRemote: options.allowRemote, certFile: options.tlsCert, keyFile: options.tlsKey, home: config.home });
  const retry = { minMs: options.retry?.minMs ?? 2_000, maxMs: options.retry?.maxMs ?? 30_000 };
  const backups = new SerialQueue();
  // Progress pushed to the console as server-sent events (api/routes/events.ts).
  const [{ EventHub }, { EventTickets }, { registerEventRoutes }, { BackupRuns }, { registerBackupRunRoutes }] = await Promise.all([
    import('./api/event-hub.js'),
    import('./api/event-tickets.js'),
    import('./api/routes/events.js'),
    import('./api/backup-runs.js'),
    import('./api/routes/backup-runs.js'),
  ]);
  const hub = new EventHub();
  const tickets = new EventTickets();

  // ------------------------------------------------------------------ what works with no network
  // The local cache, the local repository, tier 1 and the offline routes need neither the database
  // nor the main repository: on a wedding day in a barn the agent starts with these alone.
  const [{ openLocalCache, openLocalRepository, createTierOne, timeZoneOf }, { createOfflineServices, offlineStatusResponse }, { registerOfflineRoutes }, { openLocalRestoreDeps }] = await Promise.all([
    import('./cli/commands/stream.js'),
    import('./jobs/offline.js'),
    import('./api/routes/offline.js'),
    import('./cli/commands/restore-at.js'),
  ]);
  const localRepo = await openLocalRepository(config, logger);
  // The agent serves this file for hours: the full integrity_check at start, whatever the marker says.
  const cache = await openLocalCache(config, logger, { repo: localRepo, check: 'full' }).catch(async (err: unknown) => {
    await localRepo.store.close();
    throw err;
  });
  const tier1Env = process.env.WEDSYNC_TIER1;
  const wantTier1 = options.tier1 ?? (tier1Env ? tier1Env !== 'off' : Boolean((options as { jobs?: unknown }).jobs));
  const tierOne = wantTier1
    ? await createTierOne(config, logger, cache.store, { timeZone: timeZoneOf(), localRepo, streamOptions: { retryMs: retry.minMs } })
    : null;
  tierOne?.stream.start();
  const offline = createOfflineServices({ store: cache.store, timeZone: timeZoneOf(), ...(tierOne ? { status: () => tierOne.stream.status() } : {}) });

  /** Everything that needs the database (and the main repository): opened by `connect()`. */
  interface Online {
    repo: Awaited<ReturnType<typeof openRepo>>;
    catalog: Awaited<ReturnType<typeof openCatalog>>;
    restore: NonNullable<ApiServices['restore']>;
    pointInTime: NonNullable<ApiServices['pointInTime']>;
    validation: NonNullable<ApiServices['validation']>;
    backupStatus: NonNullable<ApiServices['backupStatus']>;
    access: NonNullable<ApiServices['access']>;
    close(): Promise<void>;
  }
  let online: Online | null = null;
  let closing = false;
  const connectivity: DatabaseConnectivity = { state: 'unreachable', since: new Date().toISOString(), lastError: null, nextAttemptAt: null, attempts: 0 };
  const connected = () => online !== null && tierOne?.stream.status().mode !== 'offline';
  const databaseNow = (): DatabaseConnectivity => {
    if (online && tierOne?.stream.status().mode === 'offline') return { ...connectivity, state: 'unreachable', lastError: tierOne.stream.status().detail };
    return { ...connectivity };
  };

  // Restores queued while the database was unreachable: run by themselves when it answers
  // (tier 1's onConnected, and each (re)connection here), one pass at a time.
  const { ConfirmationTokens } = await import('./jobs/restore-token.js');
  const openQueueDeps = async () => {
    const opened = await openLocalRestoreDeps(config, logger, localRepo);
    return { deps: { ...opened.deps, exclusive: <T>(task: () => Promise<T>) => backups.run(task) }, close: opened.close };
  };
  const { createQueuedRestoreServices } = await import('./jobs/queued-restore-service.js');
  const queuedRestores = createQueuedRestoreServices({ store: cache.store, tokens: new ConfirmationTokens(), databaseReachable: connected, openDeps: openQueueDeps });
  const queuePass = new SerialQueue();
  const runQueue = () =>
    queuePass.run(async () => {
      if (!cache.store.listQueuedRestores(['queued']).length) return;
      const { runQueuedRestores } = await import('./jobs/offline-queue.js');
      for (const q of await runQueuedRestores(cache.store, openQueueDeps)) logger.info({ id: q.id, status: q.status, operationId: q.operationId, error: q.lastError }, 'queued restore processed');
    });

  // Hot reads answered from short-lived caches (api/read-cache.ts): at 2000 weddings a status is
  // ~150 ms of CPU and a snapshot's detail ~100 ms, on the event loop the backups share.
  const { ReadCache } = await import('./api/read-cache.js');
  const listCache = new ReadCache<SnapshotSummary[]>(1_000);
  const detailCache = new ReadCache<SnapshotDetail>(1_000);
  const manifestParts = new ReadCache<Omit<SnapshotDetail, 'snapshot'>>(60 * 60_000, 16);
  const statusCache = new ReadCache<Awaited<ReturnType<NonNullable<ApiServices['backupStatus']>['status']>>>(2_000, 16);
  /** The repository a snapshot lives in: tier 1 bases and point-in-time snapshots are in the local one. */
  const repoAt = (location: string | null) => (location === localRepo.location || !online ? localRepo : online.repo);
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
  const mirrored = (query: { weddingId?: string | undefined; type?: string | undefined; limit?: number | undefined }) =>
    cache.store.listSnapshots({ weddingId: query.weddingId, type: query.type, limit: query.limit }).map((s) => s.summary as SnapshotSummary);

  const services: ApiServices = {
    restore: whileConnected(() => online?.restore, 'restore'),
    pointInTime: whileConnected(() => online?.pointInTime, 'point-in-time restore'),
    validation: whileConnected(() => online?.validation, 'validation'),
    offline,
    queuedRestores,
    backupRuns: new BackupRuns({ hub }),
    async health() {
      const database = databaseNow();
      return { repository: online?.repo.location ?? config.repo, repositoryId: online?.repo.id ?? null, localRepository: localRepo.location, degraded: database.state !== 'connected', database };
    },
    snapshots: {
      list: (query) => listCache.get(JSON.stringify(query), async () => {
        if (!online) return mirrored(query);
        try {
          const rows = await online.catalog.listSnapshots({ weddingId: query.weddingId, type: query.type, limit: query.limit });
          return rows.map(summary);
        } catch (err) {
          // The database is gone: tier 1's mirror of the catalog in the local cache still lists them.
          if ((err as { code?: string }).code !== 'DB_UNREACHABLE') throw err;
          return mirrored(query);
        }
      }),
      get: (id) => detailCache.get(id, async (): Promise<SnapshotDetail> => {
        let snapshot: SnapshotSummary | null = null;
        try {
          const row = online ? await online.catalog.getSnapshot(id) : null;
          if (row) snapshot = summary(row);
          else if (online) throw new WedsyncError('NOT_FOUND', `snapshot ${id} not found`);
        } catch (err) {
          if ((err as { code?: string }).code !== 'DB_UNREACHABLE') throw err;
        }
        // Offline: the cache's mirror of the catalog.
        snapshot ??= (cache.store.getSnapshot(id)?.summary as SnapshotSummary | undefined) ?? null;
        if (!snapshot) throw new WedsyncError('NOT_FOUND', `snapshot ${id} not found${online ? '' : ' in the local cache (the database is unreachable)'}`);
        const repo = repoAt(snapshot.storageLocation);
        // A manifest never changes once written, but prune may delete it: check it is still there.
        if (!(await repo.store.head(`snapshots/${id}`))) await repo.loadManifest(id);
        return { snapshot, ...(await manifestParts.get(id, () => detailOf(id, snapshot.storageLocation))) };
      }),
      emergencyBackup(request, options) {
        const on = online;
        if (!on) return Promise.reject(new WedsyncError('DB_UNREACHABLE', 'database unreachable: an emergency backup needs it (the wedding is in the local cache if tier 1 streams it)'));
        // A fresh repository (its index as it is now, after any prune) under a shared lock, so a
        // concurrent prune never deletes a pack this backup relies on.
        return backups.run(async () => {
          const { withLock } = await import('./repository/lock.js');
          const fresh = await openRepo(config.repo, passphrase, logger);
          try {
            return await withLock(fresh.store, { kind: 'shared', purpose: `emergency backup of wedding ${request.weddingId} (API)`, waitMs: 60_000 }, () =>
              runBackup(
                { openSource: () => openBackupSource(url, map, 1, { lockTimeoutMs: config.lockTimeoutMs }), catalog: on.catalog, repo: fresh, photoStore: onlinePhotoStore, map, logger, ...(options?.onProgress ? { onProgress: options.onProgress } : {}) },
                { type: 'emergency', weddingIds: [request.weddingId], dataTypes: request.dataTypes, priority: 10 },
              ),
            );
          } finally {
            await fresh.store.close();
            // Read back this agent's own writes at once.
            listCache.clear();
            statusCache.clear();
          }
        });
      },
    },
    backupStatus: whileConnected(() => online?.backupStatus, 'scheduling', {
      // Degraded, not dead: status answers, saying the database is unreachable.
      status: async () => offlineStatusResponse({ timeZone: timeZoneOf(), reason: databaseNow().lastError ?? 'not connected yet', stream: tierOne?.stream.status() ?? null }),
    }),
    access: whileConnected(() => online?.access, 'per-user tokens'),
  };
  let onlinePhotoStore: Awaited<ReturnType<typeof openPhotoStore>> = null;

  /** Opens everything that needs the database and the main repository; nothing is left open on failure. */
  const connect = async (): Promise<Online> => {
    const opened: Array<() => Promise<unknown>> = [];
    try {
      const repo = await openRepo(config.repo, passphrase, logger);
      opened.push(() => repo.store.close());
      const catalog = await openCatalog(url);
      opened.push(() => catalog.close());
      const photoStore = await openPhotoStore(config, logger);
      opened.push(async () => photoStore?.close());
      const [{ openRestoreTarget }, { openRecoveryCatalog }, { createRestoreServices }] = await Promise.all([
        import('./source/restore-target.js'),
        import('./catalog/recovery.js'),
        import('./jobs/restore-service.js'),
      ]);
      const recovery = await openRecoveryCatalog(url);
      opened.push(() => recovery.close());
      // Confirmed restores run in the backup queue: their recovery point writes to the repository.
      const restoreDeps = {
        map, logger, liveUrl: url, openTarget: openRestoreTarget, recovery, tokens: new ConfirmationTokens(), photoStore, parallelism: config.parallelism,
        backup: { catalog, openSource: (u: string, whole: boolean, o: { snapshot: string }) => openBackupSource(u, map, whole ? config.parallelism : 1, { lockTimeoutMs: config.lockTimeoutMs, ...o }) },
        exclusive: <T>(task: () => Promise<T>) => backups.run(task),
        onProgress: (id: string, p: Parameters<EventHubType['restoreProgress']>[1]) => hub.restoreProgress(id, p),
      };
      const restoreMain = createRestoreServices({ ...restoreDeps, repo });
      // Point-in-time restores (and their recovery points) live in the local repository: so do their undos.
      const restoreLocal = createRestoreServices({ ...restoreDeps, repo: localRepo });
      const local = async (id: string) => {
        const op = await restoreMain.getOperation(id);
        const rp = op.preRecoverySnapshot ? await catalog.getSnapshot(op.preRecoverySnapshot) : null;
        return rp?.storageLocation === localRepo.location && localRepo.location !== repo.location;
      };
      const restoreBoth: Online['restore'] = {
        ...restoreMain,
        undoPreview: async (id) => ((await local(id)) ? restoreLocal : restoreMain).undoPreview(id),
        undo: async (id, t) => ((await local(id)) ? restoreLocal : restoreMain).undo(id, t),
        idle: async () => {
          await Promise.all([restoreMain.idle(), restoreLocal.idle()]);
        },
      };
      // Point in time (routes/point-in-time.ts): a wedding as it was at T, rebuilt from the cache and
      // the local repository; previews, row diffs and restores of such snapshots run on that repository.
      const { createPointInTimeServices, withLocalSnapshots } = await import('./jobs/point-in-time-service.js');
      const pointInTime = createPointInTimeServices({ restore: { ...restoreDeps, repo: localRepo }, store: cache.store, openLocalRepo: async () => localRepo, catalog });
      const restore = withLocalSnapshots(restoreBoth, pointInTime);
      opened.push(() => restore.idle());
      // Integrity validation (routes/validation.ts): snapshot validations in the background, one at
      // a time, results in the catalog; one wedding's live data on request.
      const [{ createValidationServices }, { openValidationCatalog }, { openWeddingDataSource }] = await Promise.all([
        import('./jobs/verify-service.js'),
        import('./catalog/validation.js'),
        import('./source/data-validation.js'),
      ]);
      const validationCatalog = await openValidationCatalog(url);
      opened.push(() => validationCatalog.close());
      const validation = createValidationServices({ repo, map, logger, catalog: validationCatalog, openDataSource: () => openWeddingDataSource(url, map), photoStore, onChange: (id) => hub.publish(`validation:${id}`) });
      opened.push(() => validation.idle());
      // Scheduling (jobs/runner-daemon.ts, routes/status.ts): status, plan, settings and /metrics;
      // with options.jobs also the scheduler, the job runner and the nightly prune.
      const [{ openSchedulingCatalog }, { startAgentJobs }, { createMetrics }] = await Promise.all([
        import('./catalog/queue-catalog.js'),
        import('./jobs/runner-daemon.js'),
        import('./api/metrics.js'),
      ]);
      const scheduling = openSchedulingCatalog(url, map);
      opened.push(() => scheduling.close());
      const agentJobs = await startAgentJobs({
        config, logger, scheduling, catalog, repoStore: repo.store, photoStore, map, options: options.jobs,
        openSource: (type) => openBackupSource(url, map, type === 'full' ? config.parallelism : 1, { lockTimeoutMs: config.lockTimeoutMs }),
        createMetrics: (status) => createMetrics({ status }),
      });
      opened.push(() => agentJobs.close());
      // Status answers are shared for 2 s (see the read caches above); this agent's own changes clear them.
      const clearingStatus = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => async (...args: A) => {
        try {
          return await fn(...args);
        } finally {
          statusCache.clear();
        }
      };
      const backupStatus: Online['backupStatus'] = {
        ...agentJobs.services,
        status: (query) => statusCache.get(JSON.stringify(query), () => agentJobs.services.status(query)),
        updateSettings: clearingStatus(agentJobs.services.updateSettings),
        cancelJob: clearingStatus(agentJobs.services.cancelJob),
      };
      // Per-user tokens, RLS-scoped visibility, the audit log and restore approvals (api/authz.ts).
      const { openAccessCatalog } = await import('./catalog/rls.js');
      const access = await openAccessCatalog(url, map);
      opened.push(() => access.close());
      onlinePhotoStore = photoStore;
      return {
        repo, catalog, restore, pointInTime, validation, backupStatus, access,
        async close() {
          // In the order they were opened, last first (jobs stop before their catalogs close).
          for (const c of opened.reverse()) await c().catch(() => undefined);
        },
      };
    } catch (err) {
      for (const c of opened.reverse()) await c().catch(() => undefined);
      throw err;
    }
  };
  const markConnected = () => {
    Object.assign(connectivity, { state: 'connected', since: new Date().toISOString(), lastError: null, nextAttemptAt: null });
    listCache.clear();
    detailCache.clear();
    statusCache.clear();
    void runQueue().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'queued restores failed'));
  };

  // The console (renderer/dist at `/`, login codes, the wedding directory it picks from).
  const [{ createConsoleRoutes }, { listWeddings }, { backupHistory }, { diffWeddingBetweenSnapshots }, { registerRestoreRoutes }, { registerValidationRoutes }, { registerStatusRoutes }, { registerQueuedRestoreRoutes }, { registerPointInTimeRoutes }, { registerUnlockRoutes }] = await Promise.all([
    import('./api/routes/console.js'),
    import('./source/wedding-directory.js'),
    import('./catalog/backup-history.js'),
    import('./jobs/snapshot-diff.js'),
    import('./api/routes/restore.js'),
    import('./api/routes/validation.js'),
    import('./api/routes/status.js'),
    import('./api/routes/queued-restores.js'),
    import('./api/routes/point-in-time.js'),
    import('./api/routes/unlock.js'),
  ]);
  const consoleRoutes = createConsoleRoutes({
    token,
    listWeddings: (q) => listWeddings(url, map, q),
    backupHistory: (limit) => backupHistory(url, limit),
    diffWedding: (id, against, weddingId, rows) => {
      if (!online) return Promise.reject(new WedsyncError('DB_UNREACHABLE', 'database unreachable: comparing snapshots needs the main repository'));
      return diffWeddingBetweenSnapshots(online.repo, id, against, weddingId, rows);
    },
  });

  const { registeredRoutes } = await import('./api/server.js');
  const app = createApiServer(services, {
    token,
    logger,
    ...(tls ? { https: { key: tls.key, cert: tls.cert } } : {}),
    authenticate: (req) => tickets.authenticate(req),
    authz: { onAuditError: (err, entry) => logger.error({ err: (err as Error).message, action: entry.action }, 'could not write the audit row') },
    extraRoutes: [
      (a) => registerOfflineRoutes(a, services),
      (a) => registerRestoreRoutes(a, services),
      (a) => registerQueuedRestoreRoutes(a, services),
      (a) => registerValidationRoutes(a, services),
      consoleRoutes.register,
      (a) => registerStatusRoutes(a, services),
      (a) => registerEventRoutes(a, services, { hub, tickets }),
      (a) => registerBackupRunRoutes(a, services),
      (a) => registerPointInTimeRoutes(a, services),
      // An agent that runs has its passphrase: GET /api/unlock says so, POST is a 409 (api/locked.ts is the locked one).
      (a) => registerUnlockRoutes(a, { locked: () => false }),
    ],
  });
  const closeOffline = async () => {
    await tierOne?.close();
    await queuedRestores.idle();
    cache.store.close();
    await localRepo.store.close();
  };

  // The database (and the main repository) now, or — unreachable — later, by itself: with
  // backoff, for as long as the agent runs. Anything else wrong (a bad passphrase, a catalog
  // without its migrations) stops the start as before.
  const reconnecting = new AbortController();
  const { default: pRetry } = await import('p-retry');
  const keepTrying = () =>
    pRetry(
      async () => {
        if (closing) return;
        connectivity.attempts++;
        const o = await connect();
        if (closing) {
          await o.close();
          return;
        }
        online = o;
        markConnected();
        logger.info({ attempts: connectivity.attempts }, 'agent connected to the database: scheduling, restores and validation resume');
      },
      {
        retries: Number.POSITIVE_INFINITY,
        factor: 2,
        minTimeout: retry.minMs,
        maxTimeout: retry.maxMs,
        signal: reconnecting.signal,
        onFailedAttempt: ({ error, attemptNumber }) => {
          connectivity.lastError = error.message;
          const delay = Math.min(retry.minMs * 2 ** (attemptNumber - 1), retry.maxMs);
          connectivity.nextAttemptAt = new Date(Date.now() + delay).toISOString();
          if (!isUnreachable(error)) logger.error({ err: error.message }, 'agent: connecting failed; trying again');
        },
      },
    ).catch((err: unknown) => {
      if (!closing) logger.error({ err: (err as Error).message }, 'agent: gave up connecting');
    });
  const offlineStart = (why: string) => {
    connectivity.lastError = why;
    connectivity.nextAttemptAt = new Date(Date.now() + retry.minMs).toISOString();
    logger.warn({ err: why }, 'agent starting offline: database unreachable; serving the local cache, reconnecting by itself');
  };

  // The first attempt is waited for (a reachable database is ready when startAgent returns), but
  // not forever: a network that drops packets (no answer, not a refusal) or a stalled S3 must
  // not keep the wedding-day routes from coming up.
  connectivity.attempts = 1;
  const first = connect().then(
    (o) => ({ ok: true as const, o }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  let timer: NodeJS.Timeout | undefined;
  const waited = await Promise.race([first, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), options.retry?.firstWaitMs ?? 8_000)))]);
  clearTimeout(timer);
  let reconnect: Promise<void> = Promise.resolve();
  if (waited?.ok) {
    online = waited.o;
    markConnected();
  } else if (waited) {
    if (!isUnreachable(waited.e)) {
      await app.close();
      await closeOffline();
      throw waited.e;
    }
    offlineStart((waited.e as Error).message);
    reconnect = keepTrying();
  } else {
    offlineStart('no answer from the database yet');
    reconnect = first.then(async (r) => {
      if (r.ok && closing) await r.o.close();
      else if (r.ok) {
        online = r.o;
        markConnected();
      } else if (!closing) {
        connectivity.lastError = (r.e as Error).message;
        await keepTrying();
      }
    });
  }

  await app.listen({ host, port: options.port ?? config.api.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  logger.info({ host, port, tls: tls ? tls.fingerprint256 : null, database: connectivity.state }, 'agent API listening');
  const baseUrl = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: baseUrl,
    token,
    consoleUrl: () => consoleRoutes.loginUrl(baseUrl),
    tlsFingerprint: tls?.fingerprint256 ?? null,
    routes: () => registeredRoutes(app),
    database: databaseNow,
    async close() {
      closing = true;
      reconnecting.abort();
      await reconnect;
      await app.close();
      await queuePass.run(async () => undefined);
      await backups.run(async () => undefined);
      await online?.close();
      await closeOffline();
    },
  };
}
