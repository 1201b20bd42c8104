import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Principal } from '../core/authz.js';
import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import type { Logger } from '../logger.js';
import { refuseCrossOrigin, resolvePrincipal, setPrincipal } from './auth.js';
import { installAuthorization, type AuthzOptions } from './authz.js';
import { registerAccessRoutes } from './routes/access.js';
import { registerSnapshotRoutes } from './routes/snapshots.js';
import type { ApiServices } from './services.js';

const routeLists = new WeakMap<FastifyInstance, string[]>();

/** Every route of an API server, as "METHOD /url/:param" (for the fuzz suite and the authorisation coverage test). */
export function registeredRoutes(app: FastifyInstance): string[] {
  return [...(routeLists.get(app) ?? [])];
}

export interface ApiOptions {
  token: string;
  logger: Logger;
  /** Largest accepted request body (bytes). */
  bodyLimit?: number;
  /** Extra route groups (console, later features) registered after the core ones. */
  extraRoutes?: ((app: FastifyInstance) => void)[];
  /** Serve HTTPS with this key and certificate (PEM): required for non-loopback binds (agent/api/tls.ts). */
  https?: { key: string | Buffer; cert: string | Buffer };
  /** Authorisation settings (wedding-day time zone, clock, audit failure reporting). */
  authz?: Omit<AuthzOptions, 'access'>;
  /** Other credentials, tried when the bearer token is missing or wrong: event-stream tickets (api/event-tickets.ts). */
  authenticate?: (req: FastifyRequest) => Principal | null;
}

/**
 * The agent's HTTP API (Fastify). Guarantees: every /api route needs a bearer token — the
 * agent's own (the service) or a live per-user token (services.access) — 401 otherwise; user
 * tokens are authorised route by route (authz.ts: 403, or 404 for what the user may not see);
 * every error is JSON `{ error: { code, message, fields? } }` with the status of its code — bad
 * input is 4xx, never 500; bodies are size-limited; no cookies, no CORS headers, and requests
 * from another origin (browsers say so in Origin) are refused.
 */
export function createApiServer(services: ApiServices, options: ApiOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'api' }) as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    disableRequestLogging: true,
    // Errors the router raises before any route or hook (bad URL encoding, a path parameter over
    // maxParamLength): the same JSON error shape as everything else, never Fastify's own.
    frameworkErrors: (error, _req, reply) => {
      const status = (error as { statusCode?: number }).statusCode ?? 400;
      const message = (error as { code?: string }).code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'malformed request URL';
      void (reply as unknown as FastifyReply).code(status >= 400 && status < 500 ? status : 400).send({ error: { code: 'BAD_INPUT', message } });
    },
    ...(options.https ? { https: { key: options.https.key, cert: options.https.cert, minVersion: 'TLSv1.2' as const } } : {}),
  }) as unknown as FastifyInstance;

  const routes: string[] = [];
  routeLists.set(app, routes);
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push(`${m} ${r.url}`);
  });

  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/api/') && !req.url.startsWith('/console/')) return;
    refuseCrossOrigin(req);
    if (!req.url.startsWith('/api/')) return;
    const principal = (await resolvePrincipal(req.headers.authorization, options.token, services.access)) ?? options.authenticate?.(req) ?? null;
    if (!principal) throw new WedsyncError('UNAUTHENTICATED', 'missing or wrong bearer token');
    setPrincipal(req, principal);
  });
  installAuthorization(app, services, { ...options.authz, ...(services.access ? { access: services.access } : {}) });

  app.setErrorHandler((err, req, reply) => {
    let error: WedsyncError;
    if (isWedsyncError(err)) error = err;
    else if ((err as { validation?: unknown }).validation || (err as { statusCode?: number }).statusCode === 400) error = new WedsyncError('BAD_INPUT', (err as Error).message);
    else if ((err as { statusCode?: number }).statusCode === 413) return reply.code(413).send({ error: { code: 'BAD_INPUT', message: 'request body too large' } });
    else if ((err as { statusCode?: number }).statusCode === 415) return reply.code(415).send({ error: { code: 'BAD_INPUT', message: 'unsupported content type: send application/json' } });
    else error = new WedsyncError('INTERNAL', (err as Error).message ?? 'internal error', { cause: err });
    if (error.httpStatus >= 500) req.log.error({ err: (err as Error).message, code: error.code }, 'request failed');
    const fields = (error.details as { fields?: unknown } | undefined)?.fields;
    return reply.code(error.httpStatus).send({ error: { code: error.code, message: error.message, ...(fields ? { fields } : {}) } });
  });

  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }));

  app.get('/healthz', async () => ({ ok: true, ...(await services.health()) }));
  registerSnapshotRoutes(app, services);
  registerAccessRoutes(app, services);
  for (const register of options.extraRoutes ?? []) register(app);
  return app;
}
