import type { FastifyInstance } from 'fastify';
import {
  BackupResultSchema,
  EmergencyBackupRequestSchema,
  SnapshotDetailResponseSchema,
  SnapshotIdParamsSchema,
  SnapshotListQuerySchema,
  SnapshotListResponseSchema,
} from '../../contract/api.js';
import { parse, send } from '../http.js';
import type { ApiServices } from '../services.js';

export function registerSnapshotRoutes(app: FastifyInstance, services: ApiServices): void {
  // One body per (cached) list, so a list sent again is neither validated nor encoded again (http.ts).
  const bodies = new WeakMap<object, { snapshots: Awaited<ReturnType<ApiServices['snapshots']['list']>> }>();
  app.get('/api/backup/snapshots', async (req, reply) => {
    const query = parse(SnapshotListQuerySchema, req.query, 'query');
    const snapshots = await services.snapshots.list(query);
    let body = bodies.get(snapshots);
    if (!body) bodies.set(snapshots, (body = { snapshots }));
    return send(reply, SnapshotListResponseSchema, body);
  });

  app.get('/api/backup/snapshots/:id', async (req, reply) => {
    const { id } = parse(SnapshotIdParamsSchema, req.params, 'params');
    return send(reply, SnapshotDetailResponseSchema, await services.snapshots.get(id));
  });

  app.post('/api/backup/emergency-backup', async (req, reply) => {
    const body = parse(EmergencyBackupRequestSchema, req.body, 'body');
    return send(reply, BackupResultSchema, await services.snapshots.emergencyBackup(body), 201);
  });
}
