import type { FastifyInstance } from 'fastify';
import { WedsyncError } from '../contract/errors.js';
import type { SchemaMap } from '../contract/schema-map.js';
import type { EventHub } from '../api/event-hub.js';
import type { EventTickets } from '../api/event-tickets.js';
import type { ApiServices } from '../api/services.js';
import type { ConsoleRoutes } from '../api/routes/console.js';
import type { TlsMaterial } from '../api/tls.js';
import type { Logger } from '../logger.js';
import type { Repository } from '../repository/repository.js';

export interface AgentAppDeps {
  services: ApiServices;
  token: string;
  logger: Logger;
  tls: TlsMaterial | null;
  hub: EventHub;
  tickets: EventTickets;
  /** The wedding database: the console's wedding directory and backup history read it. */
  url: string;
  map: SchemaMap;
  /** The main repository while connected (comparing snapshots needs it). */
  mainRepo(): Repository | null;
}

/**
 * The agent's HTTP app: the core API (api/server.ts) plus every feature's routes and the console
 * (renderer/dist at `/`, login codes, the wedding directory it picks from). Not listening yet.
 *
 * Guarantees: every route is registered here, once, at start — routes needing the database see
 * their service group come and go (main/while-connected.ts); audit-row failures are logged, never
 * fail the request.
 */
export async function createAgentApp(d: AgentAppDeps): Promise<{ app: FastifyInstance; console: ConsoleRoutes }> {
  const { services, hub, tickets, url, map } = d;
  const [
    { createApiServer },
    { createConsoleRoutes },
    { listWeddings },
    { backupHistory },
    { diffWeddingBetweenSnapshots },
    { registerOfflineRoutes },
    { registerRestoreRoutes },
    { registerQueuedRestoreRoutes },
    { registerValidationRoutes },
    { registerStatusRoutes },
    { registerEventRoutes },
    { registerBackupRunRoutes },
    { registerPointInTimeRoutes },
    { registerUnlockRoutes },
  ] = await Promise.all([
    import('../api/server.js'),
    import('../api/routes/console.js'),
    import('../source/wedding-directory.js'),
    import('../catalog/backup-history.js'),
    import('../jobs/snapshot-diff.js'),
    import('../api/routes/offline.js'),
    import('../api/routes/restore.js'),
    import('../api/routes/queued-restores.js'),
    import('../api/routes/validation.js'),
    import('../api/routes/status.js'),
    import('../api/routes/events.js'),
    import('../api/routes/backup-runs.js'),
    import('../api/routes/point-in-time.js'),
    import('../api/routes/unlock.js'),
  ]);
  const consoleRoutes = createConsoleRoutes({
    token: d.token,
    listWeddings: (q) => listWeddings(url, map, q),
    backupHistory: (limit) => backupHistory(url, limit),
    diffWedding: (id, against, weddingId, rows) => {
      const repo = d.mainRepo();
      if (!repo) return Promise.reject(new WedsyncError('DB_UNREACHABLE', 'database unreachable: comparing snapshots needs the main repository'));
      return diffWeddingBetweenSnapshots(repo, id, against, weddingId, rows);
    },
  });
  const app = createApiServer(services, {
    token: d.token,
    logger: d.logger,
    ...(d.tls ? { https: { key: d.tls.key, cert: d.tls.cert } } : {}),
    authenticate: (req) => tickets.authenticate(req),
    authz: { onAuditError: (err, entry) => d.logger.error({ err: (err as Error).message, action: entry.action }, 'could not write the audit row') },
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
  return { app, console: consoleRoutes };
}
