import type { Logger } from '../logger.js';
import { WedsyncError } from '../contract/errors.js';
import type { AgentOptions, RunningAgent } from '../main.js';
import type { ApiServices } from './services.js';

/**
 * An agent started without the repository passphrase (`wedsync-backup agent --unlock`): on its
 * address it serves the console and GET/POST /api/unlock only (routes/unlock.ts; every other
 * route answers PASSPHRASE_REQUIRED), until an admin enters the passphrase in the console. Then
 * the passphrase is checked against the repository (a wrong one: 401 WRONG_PASSPHRASE, still
 * locked), this server closes and the full agent starts on the same host, port and token, so the
 * console that unlocked it carries on with a reload.
 *
 * Guarantees: loopback only (the passphrase crosses the API in a request body: never over a
 * network); only the agent's own token may unlock (user tokens need the catalog, which needs the
 * agent); attempts are rate-limited; the passphrase is kept only in the running agent's config,
 * never written or logged.
 */
export interface LockedAgent {
  url: string;
  token: string;
  consoleUrl(): string;
  /** Settles with the full agent once unlocked (rejects if it then fails to start). */
  unlocked: Promise<RunningAgent>;
  /** The full agent, once unlocked. */
  current(): RunningAgent | null;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export async function startLockedAgent(options: AgentOptions, start: (o: AgentOptions) => Promise<RunningAgent>): Promise<LockedAgent> {
  const { config } = options;
  const logger: Logger = options.logger;
  const host = options.host ?? config.api.host;
  if (!LOOPBACK.test(host)) throw new WedsyncError('BAD_INPUT', `--unlock serves the passphrase prompt on loopback only (got --host ${host}): set WEDSYNC_PASSPHRASE(_FILE) for a remote agent`);
  const [{ createApiServer }, { loadOrCreateAgentToken }, { createConsoleRoutes }, { registerUnlockRoutes }, { openRepo }] = await Promise.all([
    import('./server.js'),
    import('./auth.js'),
    import('./routes/console.js'),
    import('./routes/unlock.js'),
    import('../cli/repo.js'),
  ]);
  const token = options.token ?? (await loadOrCreateAgentToken(config.home));
  const lockedError = () => new WedsyncError('PASSPHRASE_REQUIRED', 'the agent is locked: an admin must enter the repository passphrase in the console (or start it with WEDSYNC_PASSPHRASE)');
  const refuse = () => Promise.reject(lockedError());
  const services: ApiServices = { snapshots: { list: refuse, get: refuse, emergencyBackup: refuse }, health: async () => ({ locked: true }) };
  const consoleRoutes = createConsoleRoutes({ token });
  let locked = true;
  let running: RunningAgent | null = null;
  let settle: { resolve: (a: RunningAgent) => void; reject: (e: unknown) => void } = { resolve: () => undefined, reject: () => undefined };
  const unlocked = new Promise<RunningAgent>((resolve, reject) => (settle = { resolve, reject }));
  unlocked.catch(() => undefined);

  const app = createApiServer(services, {
    token,
    logger,
    extraRoutes: [
      consoleRoutes.register,
      (a) =>
        registerUnlockRoutes(a, {
          locked: () => locked,
          reason: () => 'the agent was started without the repository passphrase',
          async unlock(passphrase) {
            // Checked before anything changes: a wrong passphrase leaves the agent locked.
            const repo = await openRepo(config.repo, passphrase, logger);
            await repo.store.close();
            locked = false;
            // After this answer is sent: the full agent takes over the address.
            setImmediate(() => {
              void (async () => {
                await app.close();
                running = await start({ ...options, config: { ...config, passphrase }, token, host, port });
                logger.info({ url: running.url }, 'agent unlocked');
                settle.resolve(running);
              })().catch((err: unknown) => {
                logger.error({ err: (err as Error).message }, 'the agent could not start after unlocking');
                settle.reject(err);
              });
            });
          },
        }),
    ],
  });
  await app.listen({ host, port: options.port ?? config.api.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ host, port }, 'agent locked: waiting for the repository passphrase in the console');
  return {
    url,
    token,
    consoleUrl: () => (running ? running.consoleUrl() : consoleRoutes.loginUrl(url)),
    unlocked,
    current: () => running,
    async close() {
      if (running) await running.close();
      else await app.close();
    },
  };
}
