import type { Config } from './contract/config.js';
import { WedsyncError } from './contract/errors.js';
import type { Logger } from './logger.js';
import type { ApiServices } from './api/services.js';
import type { AgentJobOptions } from './jobs/runner-daemon.js';
import type { DatabaseConnectivity } from './contract/offline.js';
import { SerialQueue } from './main/serial-queue.js';
import { whileConnected } from './main/while-connected.js';

export { SerialQueue };

/**
 * The one place that wires the agent together: catalog, repository, photo store, jobs and the
 * HTTP API. Everything else receives what it needs through interfaces. Each part lives in
 * agent/main/ with one job:
 *   offline-start.ts      local repository, cache, tier 1, run sheets, restore queue (no network needed)
 *   online.ts             the database-backed services (online-restore.ts, online-scheduling.ts)
 *   snapshot-services.ts  the snapshot routes' services, connected or not
 *   read-caches.ts        the hot reads' caches and when they are cleared
 *   database-link.ts      connecting now or later: the reconnect loop and /healthz's `database`
 *   api-app.ts            the HTTP app with every route group
 *   agent-parts.ts        what every database-facing part is handed
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

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const { config, logger } = options;
  if (!config.databaseUrl) throw new WedsyncError('BAD_INPUT', 'the agent needs a database: set DATABASE_URL or pass --database-url (or run `wedsync-backup demo`)');
  if (!config.passphrase) throw new WedsyncError('PASSPHRASE_REQUIRED', 'the agent needs the repository passphrase: set WEDSYNC_PASSPHRASE or WEDSYNC_PASSPHRASE_FILE');
  const url = config.databaseUrl;
  const passphrase = config.passphrase;
  const [{ schemaMap }, { loadOrCreateAgentToken }, { resolveTls }, { EventHub }, { EventTickets }, { BackupRuns }, { timeZoneOf }, { offlineStatusResponse }, { registeredRoutes }] = await Promise.all([
    import('./cli/services.js'),
    import('./api/auth.js'),
    import('./api/tls.js'),
    import('./api/event-hub.js'),
    import('./api/event-tickets.js'),
    import('./api/backup-runs.js'),
    import('./cli/commands/stream.js'),
    import('./jobs/offline.js'),
    import('./api/server.js'),
  ]);
  const [{ startOffline }, { connectOnline }, { createSnapshotServices }, { AgentReadCaches }, { DatabaseLink }, { createAgentApp }] = await Promise.all([
    import('./main/offline-start.js'),
    import('./main/online.js'),
    import('./main/snapshot-services.js'),
    import('./main/read-caches.js'),
    import('./main/database-link.js'),
    import('./main/api-app.js'),
  ]);
  const map = schemaMap(config);
  const token = options.token ?? (await loadOrCreateAgentToken(config.home));
  // Before anything is opened: a remote bind without --allow-remote or a bad certificate stops here.
  const host = options.host ?? config.api.host;
  const tls = await resolveTls({ host, allowRemote: options.allowRemote, certFile: options.tlsCert, keyFile: options.tlsKey, home: config.home });
  const retry = { minMs: options.retry?.minMs ?? 2_000, maxMs: options.retry?.maxMs ?? 30_000, firstWaitMs: options.retry?.firstWaitMs ?? 8_000 };
  const backups = new SerialQueue();
  // Progress pushed to the console as server-sent events (api/routes/events.ts).
  const hub = new EventHub();
  const tickets = new EventTickets();
  const caches = new AgentReadCaches();

  // What works with no network: on a wedding day in a barn the agent starts with this alone.
  const tier1Env = process.env.WEDSYNC_TIER1;
  const local = await startOffline({
    config,
    logger,
    tier1: options.tier1 ?? (tier1Env ? tier1Env !== 'off' : Boolean(options.jobs)),
    retryMs: retry.minMs,
    backups,
    databaseReachable: () => link.connected(),
  });
  const { tierOne } = local;
  const streamOffline = () => (tierOne?.stream.status().mode === 'offline' ? tierOne.stream.status().detail : null);

  // The database (and the main repository): now, or later by itself (database-link.ts).
  const link = new DatabaseLink({
    connect: () => connectOnline({ config, logger, map, url, passphrase, localRepo: local.localRepo, store: local.cache.store, backups, hub, caches, jobs: options.jobs }),
    logger,
    retry,
    streamOffline,
    onConnected: () => {
      caches.reconnected();
      void local.runQueue().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'queued restores failed'));
    },
  });
  const online = () => link.current();

  const services: ApiServices = {
    restore: whileConnected(() => online()?.restore, 'restore'),
    pointInTime: whileConnected(() => online()?.pointInTime, 'point-in-time restore'),
    validation: whileConnected(() => online()?.validation, 'validation'),
    offline: local.offline,
    queuedRestores: local.queuedRestores,
    backupRuns: new BackupRuns({ hub }),
    async health() {
      const database = link.database();
      const on = online();
      return { repository: on?.repo.location ?? config.repo, repositoryId: on?.repo.id ?? null, localRepository: local.localRepo.location, degraded: database.state !== 'connected', database };
    },
    snapshots: createSnapshotServices({ config, logger, map, url, passphrase, localRepo: local.localRepo, store: local.cache.store, backups, caches, online }),
    backupStatus: whileConnected(() => online()?.backupStatus, 'scheduling', {
      // Degraded, not dead: status answers, saying the database is unreachable.
      status: async () => offlineStatusResponse({ timeZone: timeZoneOf(), reason: link.database().lastError ?? 'not connected yet', stream: tierOne?.stream.status() ?? null }),
    }),
    access: whileConnected(() => online()?.access, 'per-user tokens'),
  };
  const { app, console: consoleRoutes } = await createAgentApp({ services, token, logger, tls, hub, tickets, url, map, mainRepo: () => online()?.repo ?? null });

  try {
    await link.start();
  } catch (err) {
    // Not "unreachable" (a bad passphrase, a catalog without its migrations): the start stops.
    await app.close();
    await local.close();
    throw err;
  }

  await app.listen({ host, port: options.port ?? config.api.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  logger.info({ host, port, tls: tls ? tls.fingerprint256 : null, database: link.database().state }, 'agent API listening');
  const baseUrl = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: baseUrl,
    token,
    consoleUrl: () => consoleRoutes.loginUrl(baseUrl),
    tlsFingerprint: tls?.fingerprint256 ?? null,
    routes: () => registeredRoutes(app),
    database: () => link.database(),
    async close() {
      await link.stopTrying();
      await app.close();
      await local.drainQueue();
      await backups.run(async () => undefined);
      await link.closeCurrent();
      await local.close();
    },
  };
}
