import type { FastifyInstance } from 'fastify';
import { WedsyncError } from '../../contract/errors.js';
import {
  PointInTimePreviewRequestSchema,
  PointInTimePreviewResponseSchema,
  PointInTimeRestoreRequestSchema,
  PointInTimeWindowParamsSchema,
  PointInTimeWindowResponseSchema,
} from '../../contract/point-in-time.js';
import { RecoveryOperationResponseSchema } from '../../contract/restore.js';
import type { PointInTimeServices } from '../../jobs/point-in-time-service.js';
import { parse, send } from '../http.js';

/**
 * Point-in-time restore over HTTP (shapes and rules: agent/contract/point-in-time.ts):
 *   GET  /api/backup/point-in-time/:weddingId/window
 *   POST /api/backup/point-in-time/preview     { weddingId, at, dataTypes? } → { pointInTime, preview }
 *   POST /api/backup/point-in-time/restore     { weddingId, snapshotId, dataTypes?, confirmationToken } → 202 { operation }
 * Absent services (no local cache in this agent): 404 like any route it does not offer.
 */
export function registerPointInTimeRoutes(app: FastifyInstance, services: { pointInTime?: PointInTimeServices | undefined }): void {
  const pit = () => {
    if (!services.pointInTime) throw new WedsyncError('NOT_FOUND', 'point-in-time restore is not available in this agent');
    return services.pointInTime;
  };

  app.get('/api/backup/point-in-time/:weddingId/window', async (req, reply) => {
    const { weddingId } = parse(PointInTimeWindowParamsSchema, req.params, 'params');
    return send(reply, PointInTimeWindowResponseSchema, await pit().window(weddingId));
  });

  app.post('/api/backup/point-in-time/preview', async (req, reply) => {
    const body = parse(PointInTimePreviewRequestSchema, req.body, 'body');
    return send(reply, PointInTimePreviewResponseSchema, await pit().preview(body));
  });

  app.post('/api/backup/point-in-time/restore', async (req, reply) => {
    const body = parse(PointInTimeRestoreRequestSchema, req.body, 'body');
    return send(reply, RecoveryOperationResponseSchema, { operation: await pit().restore(body) }, 202);
  });
}
