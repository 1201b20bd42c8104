import type { FastifyInstance } from 'fastify';
import { BackupRunParamsSchema, BackupRunResponseSchema, CancelBackupRunRequestSchema, StartBackupRunRequestSchema } from '../../contract/backup-run.js';
import { WedsyncError } from '../../contract/errors.js';
import { principalLabel, principalOf } from '../auth.js';
import { parse, send } from '../http.js';
import type { ApiServices } from '../services.js';

/**
 * Emergency backups in the background (shapes: agent/contract/backup-run.ts):
 *   POST /api/backup/emergency-backups        { weddingId, dataTypes? } → 202 { backup } (watch GET /api/events/backups/:id)
 *   GET  /api/backup/emergency-backups/:id    { backup }: state, progress, then result or error (the polling fallback)
 *   POST /api/backup/emergency-backups/:id/cancel  { reason? } → 202 { backup } (admins): the run stops before its
 *        snapshot exists and ends failed, CANCELLED naming who and why (watch it); 409 once finished
 * POST /api/backup/emergency-backup (routes/snapshots.ts) still waits and answers 201 with the result.
 */
export function registerBackupRunRoutes(app: FastifyInstance, services: ApiServices): void {
  const runs = () => {
    if (!services.backupRuns) throw new WedsyncError('NOT_FOUND', 'background backups are not available in this agent');
    return services.backupRuns;
  };
  app.post('/api/backup/emergency-backups', async (req, reply) => {
    const body = parse(StartBackupRunRequestSchema, req.body, 'body');
    const backup = runs().start(body, (request, options) => services.snapshots.emergencyBackup(request, options));
    return send(reply, BackupRunResponseSchema, { backup }, 202);
  });
  app.get('/api/backup/emergency-backups/:id', async (req, reply) => {
    const { id } = parse(BackupRunParamsSchema, req.params, 'params');
    return send(reply, BackupRunResponseSchema, { backup: runs().get(id) });
  });
  app.post('/api/backup/emergency-backups/:id/cancel', async (req, reply) => {
    const { id } = parse(BackupRunParamsSchema, req.params, 'params');
    const { reason } = parse(CancelBackupRunRequestSchema, req.body ?? {}, 'body');
    const backup = runs().cancel(id, { label: principalLabel(principalOf(req)), reason });
    return send(reply, BackupRunResponseSchema, { backup }, 202);
  });
}
