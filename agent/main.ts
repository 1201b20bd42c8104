import type { Config } from './contract/config.js';
import { WedsyncError } from './contract/errors.js';
import type { SnapshotDetail, SnapshotSummary } from './contract/api.js';
import type { Logger } from './logger.js';
import type { ApiServices } from './api/services.js';
import type { AgentJobOptions } from './jobs/runner-daemon.js';
import type { SnapshotRow } from './catalog/catalog.js';

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

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const { config, logger } = options;
  if (!config.databaseUrl) throw new WedsyncError('BAD_INPUT', 'the agent needs a database: set DATABASE_URL or pass --database-url (or run `wedsync-backup demo`)');
  if (!config.passphrase) throw new WedsyncError('PASSPHRASE_REQUIRED', 'the agent needs the repository passphrase: set WEDSYNC_PASSPHRASE or WEDSYNC_PASSPHRASE_FILE');
  const url = config.databaseUrl;
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
  const repo = await openRepo(config.repo, config.passphrase, logger);
  const catalog = await openCatalog(url);
  const photoStore = await openPhotoStore(config, logger);
  const backups = new SerialQueue();
  // Progress pushed to the console as server-sent events (api/routes/events.ts).
  const [{ EventHub }, { EventTickets }, { registerEventRoutes }] = await Promise.all([import('./api/event-hub.js'), import('./api/event-tickets.js'), import('./api/routes/events.js')]);
  const hub = new EventHub();
  const tickets = new EventTickets();
  const [{ openRestoreTarget }, { openRecoveryCatalog }, { createRestoreServices }, { ConfirmationTokens }, { registerRestoreRoutes }] = await Promise.all([
    import('./source/restore-target.js'),
    import('./catalog/recovery.js'),
    import('./jobs/restore-service.js'),
    import('./jobs/restore-token.js'),
    import('./api/routes/restore.js'),
  ]);
  const recovery = await openRecoveryCatalog(url);
  // Confirmed restores run in the backup queue: their recovery point writes to the repository.
  const restore = createRestoreServices({
    repo, map, logger, liveUrl: url, openTarget: openRestoreTarget, recovery, tokens: new ConfirmationTokens(), photoStore, parallelism: config.parallelism,
    backup: { catalog, openSource: (u, whole) => openBackupSource(u, map, whole ? config.parallelism : 1, { lockTimeoutMs: config.lockTimeoutMs }) },
    exclusive: (task) => backups.run(task),
    onProgress: (id, p) => hub.restoreProgress(id, p),
  });
  // Integrity validation (routes/validation.ts): snapshot validations in the background, one at
  // a time, results in the catalog; one wedding's live data on request.
  const [{ createValidationServices }, { openValidationCatalog }, { openWeddingDataSource }, { registerValidationRoutes }] = await Promise.all([
    import('./jobs/verify-service.js'),
    import('./catalog/validation.js'),
    import('./source/data-validation.js'),
    import('./api/routes/validation.js'),
  ]);
  const validationCatalog = await openValidationCatalog(url);
  const validation = createValidationServices({ repo, map, logger, catalog: validationCatalog, openDataSource: () => openWeddingDataSource(url, map), photoStore, onChange: (id) => hub.publish(`validation:${id}`) });

  // Tier 1 and offline operation (jobs/stream.ts, routes/offline.ts): the local cache, kept current
  // by the real-time stream; reading it never needs the database.
  const [{ openLocalCache, createTierOne, timeZoneOf }, { createOfflineServices }, { registerOfflineRoutes }] = await Promise.all([
    import('./cli/commands/stream.js'),
    import('./jobs/offline.js'),
    import('./api/routes/offline.js'),
  ]);
  const cache = await openLocalCache(config, logger);
  const tier1Env = process.env.WEDSYNC_TIER1;
  const wantTier1 = options.tier1 ?? (tier1Env ? tier1Env !== 'off' : Boolean((options as { jobs?: unknown }).jobs));
  const tierOne = wantTier1 ? await createTierOne(config, logger, cache.store, { timeZone: timeZoneOf() }) : null;
  tierOne?.stream.start();
  const offline = createOfflineServices({ store: cache.store, timeZone: timeZoneOf(), ...(tierOne ? { status: () => tierOne.stream.status() } : {}) });

  // Hot reads answered from short-lived caches (api/read-cache.ts): at 2000 weddings a status is
  // ~150 ms of CPU and a snapshot's detail ~100 ms, on the event loop the backups share.
  const { ReadCache } = await import('./api/read-cache.js');
  const listCache = new ReadCache<SnapshotSummary[]>(1_000);
  const detailCache = new ReadCache<SnapshotDetail>(1_000);
  const manifestParts = new ReadCache<Omit<SnapshotDetail, 'snapshot'>>(60 * 60_000, 16);
  const statusCache = new ReadCache<Awaited<ReturnType<NonNullable<ApiServices['backupStatus']>['status']>>>(2_000, 16);
  /** What a snapshot's detail takes from its manifest (immutable once written): computed once per snapshot. */
  const detailOf = async (id: string): Promise<Omit<SnapshotDetail, 'snapshot'>> => {
    const m = await repo.loadManifest(id);
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

  const services: ApiServices = {
    restore,
    validation,
    offline,
    async health() {
      return { repository: repo.location, repositoryId: repo.id };
    },
    snapshots: {
      list: (query) => listCache.get(JSON.stringify(query), async () => {
        try {
          const rows = await catalog.listSnapshots({ weddingId: query.weddingId, type: query.type, limit: query.limit });
          return rows.map(summary);
        } catch (err) {
          // The database is gone: tier 1's mirror of the catalog in the local cache still lists them.
          if ((err as { code?: string }).code !== 'DB_UNREACHABLE') throw err;
          return cache.store.listSnapshots({ weddingId: query.weddingId, type: query.type, limit: query.limit }).map((s) => s.summary as SnapshotSummary);
        }
      }),
      get: (id) => detailCache.get(id, async (): Promise<SnapshotDetail> => {
        const row = await catalog.getSnapshot(id);
        if (!row) throw new WedsyncError('NOT_FOUND', `snapshot ${id} not found`);
        // A manifest never changes once written, but prune may delete it: check it is still there.
        if (!(await repo.store.head(`snapshots/${id}`))) await repo.loadManifest(id);
        return { snapshot: summary(row), ...(await manifestParts.get(id, () => detailOf(id))) };
      }),
      emergencyBackup(request) {
        // A fresh repository (its index as it is now, after any prune) under a shared lock, so a
        // concurrent prune never deletes a pack this backup relies on.
        return backups.run(async () => {
          const { withLock } = await import('./repository/lock.js');
          const fresh = await openRepo(config.repo, config.passphrase!, logger);
          try {
            return await withLock(fresh.store, { kind: 'shared', purpose: `emergency backup of wedding ${request.weddingId} (API)`, waitMs: 60_000 }, () =>
              runBackup(
                { openSource: () => openBackupSource(url, map, 1, { lockTimeoutMs: config.lockTimeoutMs }), catalog, repo: fresh, photoStore, map, logger },
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
  };

  // Scheduling (jobs/runner-daemon.ts, routes/status.ts): status, plan, settings and /metrics;
  // with options.jobs also the scheduler, the job runner and the nightly prune.
  const [{ openSchedulingCatalog }, { startAgentJobs }, { createMetrics }, { registerStatusRoutes }] = await Promise.all([
    import('./catalog/queue-catalog.js'),
    import('./jobs/runner-daemon.js'),
    import('./api/metrics.js'),
    import('./api/routes/status.js'),
  ]);
  const scheduling = openSchedulingCatalog(url, map);
  const agentJobs = await startAgentJobs({
    config, logger, scheduling, catalog, repoStore: repo.store, photoStore, map, options: options.jobs,
    openSource: (type) => openBackupSource(url, map, type === 'full' ? config.parallelism : 1, { lockTimeoutMs: config.lockTimeoutMs }),
    createMetrics: (status) => createMetrics({ status }),
  });
  // Status answers are shared for 2 s (see the read caches above); this agent's own changes clear them.
  const clearingStatus = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => async (...args: A) => {
    try {
      return await fn(...args);
    } finally {
      statusCache.clear();
    }
  };
  services.backupStatus = {
    ...agentJobs.services,
    status: (query) => statusCache.get(JSON.stringify(query), () => agentJobs.services.status(query)),
    updateSettings: clearingStatus(agentJobs.services.updateSettings),
    cancelJob: clearingStatus(agentJobs.services.cancelJob),
  };

  // The console (renderer/dist at `/`, login codes, the wedding directory it picks from).
  const [{ createConsoleRoutes }, { listWeddings }, { backupHistory }, { diffWeddingBetweenSnapshots }] = await Promise.all([
    import('./api/routes/console.js'),
    import('./source/wedding-directory.js'),
    import('./catalog/backup-history.js'),
    import('./jobs/snapshot-diff.js'),
  ]);
  const consoleRoutes = createConsoleRoutes({
    token,
    listWeddings: (q) => listWeddings(url, map, q),
    backupHistory: (limit) => backupHistory(url, limit),
    diffWedding: (id, against, weddingId, rows) => diffWeddingBetweenSnapshots(repo, id, against, weddingId, rows),
  });

  // Per-user tokens, RLS-scoped visibility, the audit log and restore approvals (api/authz.ts).
  const { openAccessCatalog } = await import('./catalog/rls.js');
  const access = await openAccessCatalog(url, map);
  services.access = access;

  const { registeredRoutes } = await import('./api/server.js');
  const app = createApiServer(services, {
    token,
    logger,
    ...(tls ? { https: { key: tls.key, cert: tls.cert } } : {}),
    authenticate: (req) => tickets.authenticate(req),
    authz: { onAuditError: (err, entry) => logger.error({ err: (err as Error).message, action: entry.action }, 'could not write the audit row') },
    extraRoutes: [(a) => registerOfflineRoutes(a, services), (a) => registerRestoreRoutes(a, services), (a) => registerValidationRoutes(a, services), consoleRoutes.register, (a) => registerStatusRoutes(a, services), (a) => registerEventRoutes(a, services, { hub, tickets })],
  });
  await app.listen({ host, port: options.port ?? config.api.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  logger.info({ host, port, tls: tls ? tls.fingerprint256 : null }, 'agent API listening');
  const baseUrl = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: baseUrl,
    token,
    consoleUrl: () => consoleRoutes.loginUrl(baseUrl),
    tlsFingerprint: tls?.fingerprint256 ?? null,
    routes: () => registeredRoutes(app),
    async close() {
      await agentJobs.close();
      await app.close();
      await tierOne?.close();
      cache.store.close();
      await restore.idle();
      await validation.idle();
      await backups.run(async () => undefined);
      await Promise.all([scheduling.close(), access.close(), validationCatalog.close(), recovery.close(), catalog.close(), repo.store.close(), photoStore?.close()]);
    },
  };
}
