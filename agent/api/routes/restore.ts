import type { FastifyInstance } from 'fastify';
import { WedsyncError } from '../../contract/errors.js';
import {
  EmergencyRestoreRequestSchema,
  RecoveryOperationIdParamsSchema,
  RecoveryOperationListQuerySchema,
  RecoveryOperationListResponseSchema,
  RecoveryOperationResponseSchema,
  RestoreDiffRowsRequestSchema,
  RestoreDiffRowsResponseSchema,
  RestorePlanRequestSchema,
  RestorePreviewSchema,
  UndoRequestSchema,
} from '../../contract/restore.js';
import { parse, send } from '../http.js';
import type { ApiServices } from '../services.js';

/**
 * Guided restore over HTTP:
 *   POST /api/backup/restore/preview        plan + row-level diff counts + confirmation token (changes nothing)
 *   POST /api/backup/restore/preview/rows   the changed rows of one (wedding, table), paged
 *   POST /api/backup/emergency-restore      the WS-337 body with the token → 202 { operation } (runs in the background)
 *   GET  /api/backup/recovery-operations    the audit trail, newest first
 *   GET  /api/backup/recovery-operations/:id   one operation, with progress while it runs (poll it)
 *   POST /api/backup/recovery-operations/:id/undo-preview   what undoing it changes + a token
 *   POST /api/backup/recovery-operations/:id/undo           { confirmationToken } → 202 { operation } (type undo)
 */
export function registerRestoreRoutes(app: FastifyInstance, services: ApiServices): void {
  const restore = () => {
    if (!services.restore) throw new WedsyncError('NOT_FOUND', 'restore is not available in this agent');
    return services.restore;
  };

  app.post('/api/backup/restore/preview', async (req, reply) => {
    const body = parse(RestorePlanRequestSchema, req.body, 'body');
    return send(reply, RestorePreviewSchema, await restore().preview(body));
  });

  app.post('/api/backup/restore/preview/rows', async (req, reply) => {
    const body = parse(RestoreDiffRowsRequestSchema, req.body, 'body');
    return send(reply, RestoreDiffRowsResponseSchema, await restore().diffRows(body));
  });

  app.post('/api/backup/emergency-restore', async (req, reply) => {
    const body = parse(EmergencyRestoreRequestSchema, req.body, 'body');
    return send(reply, RecoveryOperationResponseSchema, { operation: await restore().emergencyRestore(body) }, 202);
  });

  app.get('/api/backup/recovery-operations', async (req, reply) => {
    const query = parse(RecoveryOperationListQuerySchema, req.query, 'query');
    return send(reply, RecoveryOperationListResponseSchema, { operations: await restore().listOperations(query) });
  });

  app.get('/api/backup/recovery-operations/:id', async (req, reply) => {
    const { id } = parse(RecoveryOperationIdParamsSchema, req.params, 'params');
    return send(reply, RecoveryOperationResponseSchema, { operation: await restore().getOperation(id) });
  });

  app.post('/api/backup/recovery-operations/:id/undo-preview', async (req, reply) => {
    const { id } = parse(RecoveryOperationIdParamsSchema, req.params, 'params');
    return send(reply, RestorePreviewSchema, await restore().undoPreview(id));
  });

  app.post('/api/backup/recovery-operations/:id/undo', async (req, reply) => {
    const { id } = parse(RecoveryOperationIdParamsSchema, req.params, 'params');
    const { confirmationToken } = parse(UndoRequestSchema, req.body, 'body');
    return send(reply, RecoveryOperationResponseSchema, { operation: await restore().undo(id, confirmationToken) }, 202);
  });
}
