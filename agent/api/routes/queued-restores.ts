import type { FastifyInstance } from 'fastify';
import { WedsyncError } from '../../contract/errors.js';
import {
  QueuedRestoreConfirmRequestSchema,
  QueuedRestoreConfirmResponseSchema,
  QueuedRestoreIdParamsSchema,
  QueuedRestoreListQuerySchema,
  QueuedRestoreListResponseSchema,
  QueuedRestorePreviewResponseSchema,
  QueuedRestoreResponseSchema,
} from '../../contract/queued-restore.js';
import { parse, send } from '../http.js';
import type { ApiServices } from '../services.js';

/**
 * Restores queued while the database was unreachable (contract/queued-restore.ts):
 *   GET  /api/backup/queued-restores               the queue, newest first; `database` reachable|unreachable
 *   POST /api/backup/queued-restores/:id/preview   preview against the live database now + token (503 while it is down)
 *   POST /api/backup/queued-restores/:id/confirm   { confirmationToken } → 202 { queued, operation }
 *   POST /api/backup/queued-restores/:id/cancel    → { queued } (cancelled)
 * The list reads only the local cache: it answers with the database down.
 */
export function registerQueuedRestoreRoutes(app: FastifyInstance, services: ApiServices): void {
  const queued = () => {
    if (!services.queuedRestores) throw new WedsyncError('NOT_FOUND', 'this agent keeps no local cache: no queued restores');
    return services.queuedRestores;
  };

  app.get('/api/backup/queued-restores', async (req, reply) => {
    const query = parse(QueuedRestoreListQuerySchema, req.query, 'query');
    return send(reply, QueuedRestoreListResponseSchema, await queued().list(query));
  });

  app.post('/api/backup/queued-restores/:id/preview', async (req, reply) => {
    const { id } = parse(QueuedRestoreIdParamsSchema, req.params, 'params');
    return send(reply, QueuedRestorePreviewResponseSchema, await queued().preview(id.toLowerCase()));
  });

  app.post('/api/backup/queued-restores/:id/confirm', async (req, reply) => {
    const { id } = parse(QueuedRestoreIdParamsSchema, req.params, 'params');
    const { confirmationToken } = parse(QueuedRestoreConfirmRequestSchema, req.body, 'body');
    return send(reply, QueuedRestoreConfirmResponseSchema, await queued().confirm(id.toLowerCase(), confirmationToken), 202);
  });

  app.post('/api/backup/queued-restores/:id/cancel', async (req, reply) => {
    const { id } = parse(QueuedRestoreIdParamsSchema, req.params, 'params');
    return send(reply, QueuedRestoreResponseSchema, await queued().cancel(id.toLowerCase()));
  });
}
