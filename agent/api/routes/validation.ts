import type { FastifyInstance } from 'fastify';
import { SnapshotIdParamsSchema } from '../../contract/api.js';
import { WedsyncError } from '../../contract/errors.js';
import {
  SnapshotValidationResponseSchema,
  ValidateSnapshotRequestSchema,
  WeddingIdParamsSchema,
  validationRunSchema,
  weddingDataReportSchema,
} from '../../contract/validation-report.js';
import { parse, send } from '../http.js';
import type { ApiServices } from '../services.js';

/**
 * Integrity validation over HTTP:
 *   POST /api/backup/snapshots/:id/validate    body { level: structure|read-data, subset? } → 202 the run (runs in the background)
 *   GET  /api/backup/snapshots/:id/validation  the stored result, and the latest run with its progress (poll it)
 *   POST /api/weddings/:id/validate            one wedding's live data, checked now → its report
 */
export function registerValidationRoutes(app: FastifyInstance, services: ApiServices): void {
  const validation = () => {
    if (!services.validation) throw new WedsyncError('NOT_FOUND', 'validation is not available in this agent');
    return services.validation;
  };

  app.post('/api/backup/snapshots/:id/validate', async (req, reply) => {
    const { id } = parse(SnapshotIdParamsSchema, req.params, 'params');
    const body = parse(ValidateSnapshotRequestSchema, req.body, 'body');
    return send(reply, validationRunSchema, await validation().startSnapshotValidation(id.toLowerCase(), body), 202);
  });

  app.get('/api/backup/snapshots/:id/validation', async (req, reply) => {
    const { id } = parse(SnapshotIdParamsSchema, req.params, 'params');
    return send(reply, SnapshotValidationResponseSchema, await validation().snapshotValidation(id.toLowerCase()));
  });

  app.post('/api/weddings/:id/validate', async (req, reply) => {
    const { id } = parse(WeddingIdParamsSchema, req.params, 'params');
    return send(reply, weddingDataReportSchema, await validation().validateWedding(id.toLowerCase()));
  });
}
