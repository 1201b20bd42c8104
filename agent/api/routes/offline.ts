import type { FastifyInstance } from 'fastify';
import { WedsyncError } from '../../contract/errors.js';
import { OfflineWeddingParamsSchema, OfflineWeddingSchema, TodayQuerySchema, TodayResponseSchema } from '../../contract/offline.js';
import { parse, send } from '../http.js';
import type { ApiServices } from '../services.js';

/**
 * Wedding-day data from the local cache (contract/offline.ts): answers with the database and S3
 * unreachable. GET /api/weddings/today[?date=YYYY-MM-DD], GET /api/weddings/:id/offline.
 */
export function registerOfflineRoutes(app: FastifyInstance, services: ApiServices): void {
  const offline = () => {
    if (!services.offline) throw new WedsyncError('NOT_FOUND', 'this agent keeps no local cache');
    return services.offline;
  };

  app.get('/api/weddings/today', async (req, reply) => {
    const query = parse(TodayQuerySchema, req.query, 'query');
    return send(reply, TodayResponseSchema, await offline().today(query));
  });

  app.get('/api/weddings/:id/offline', async (req, reply) => {
    const { id } = parse(OfflineWeddingParamsSchema, req.params, 'params');
    return send(reply, OfflineWeddingSchema, await offline().wedding(id.toLowerCase()));
  });
}
