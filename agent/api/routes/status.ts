import type { FastifyInstance } from 'fastify';
import { WedsyncError } from '../../contract/errors.js';
import {
  CancelJobResponseSchema,
  JobIdParamsSchema,
  PlanQuerySchema,
  StatusQuerySchema,
  WeddingIdParamsSchema,
  WeddingSettingsResponseSchema,
  planResponseSchema,
  statusResponseSchema,
  weddingBackupSettingsPatchSchema,
} from '../../contract/scheduling.js';
import { parse, send } from '../http.js';
import type { ApiServices } from '../services.js';

/**
 * Scheduling routes:
 *   GET  /api/backup/status                           upcoming weddings, RPO, tiers, queue, failing jobs, agents
 *   GET  /api/backup/plan?hours=24&now=ISO            what the scheduler will run, when and why
 *   GET  /api/backup/weddings/:weddingId/settings     a wedding's backup settings (defaults when none stored)
 *   PUT  /api/backup/weddings/:weddingId/settings     change them (partial; 400 naming the bad field)
 *   POST /api/backup/jobs/:jobId/cancel               cancel a pending or running job
 *   GET  /metrics                                     Prometheus text (outside /api: no token, like /healthz)
 */
export function registerStatusRoutes(app: FastifyInstance, services: ApiServices): void {
  const backup = services.backupStatus;
  if (!backup) return;

  app.get('/api/backup/status', async (req, reply) => {
    const query = parse(StatusQuerySchema, req.query, 'query');
    return send(reply, statusResponseSchema, await backup.status(query));
  });

  app.get('/api/backup/plan', async (req, reply) => {
    const query = parse(PlanQuerySchema, req.query, 'query');
    return send(reply, planResponseSchema, await backup.plan(query));
  });

  app.get('/api/backup/weddings/:weddingId/settings', async (req, reply) => {
    const { weddingId } = parse(WeddingIdParamsSchema, req.params, 'params');
    return send(reply, WeddingSettingsResponseSchema, await backup.getSettings(weddingId));
  });

  app.put('/api/backup/weddings/:weddingId/settings', async (req, reply) => {
    const { weddingId } = parse(WeddingIdParamsSchema, req.params, 'params');
    const patch = parse(weddingBackupSettingsPatchSchema, req.body, 'body');
    return send(reply, WeddingSettingsResponseSchema, await backup.updateSettings(weddingId, patch));
  });

  app.post('/api/backup/jobs/:jobId/cancel', async (req, reply) => {
    const { jobId } = parse(JobIdParamsSchema, req.params, 'params');
    return send(reply, CancelJobResponseSchema, await backup.cancelJob(jobId));
  });

  app.get('/metrics', async (_req, reply) => {
    const m = await backup.metrics();
    if (!m) throw new WedsyncError('NOT_FOUND', 'metrics are off in this agent');
    return reply.code(200).header('content-type', m.contentType).send(m.body);
  });
}
