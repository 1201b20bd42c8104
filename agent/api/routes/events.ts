import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WedsyncError } from '../../contract/errors.js';
import {
  AgentEventSchema,
  EventStreamParamsSchema,
  EventStreamQuerySchema,
  EventTicketRequestSchema,
  EventTicketResponseSchema,
  eventStreamPath,
  type AgentEvent,
} from '../../contract/events.js';
import type { RecoveryOperation } from '../../contract/restore.js';
import { principalOf } from '../auth.js';
import type { EventHub, EventTopic } from '../event-hub.js';
import type { EventTickets } from '../event-tickets.js';
import { parse, send } from '../http.js';
import type { ApiServices } from '../services.js';

/**
 * Progress pushed as server-sent events (shapes and authentication: agent/contract/events.ts):
 *   POST /api/events/tickets                    { stream, id } → 201 { ticket, path, expiresAt }
 *   GET  /api/events/recovery-operations/:id    the operation now, then on every change, then `end`
 *   GET  /api/events/validations/:id            a snapshot's validation state and run, likewise
 *   GET  /api/events/backups/:id                 an emergency backup run (progress, then result or error), likewise
 *
 * Guarantees: what a stream sends is exactly what the matching GET route answers (the same
 * service read, the same schema, for a user token the same trimming to their organization);
 * an unknown id or a bad ticket is a JSON 4xx before any event is sent; a stream wakes on the
 * job's own notification (EventHub) and also re-reads every `fallbackMs`, so a change the hub
 * did not announce (a failure, another agent's write) still arrives; it ends when the work ends,
 * after `maxStreamMs`, when the client goes away, or when the server closes — never left open.
 */
export interface EventRouteOptions {
  tickets: EventTickets;
  hub: EventHub;
  heartbeatMs?: number;
  fallbackMs?: number;
  maxStreamMs?: number;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'awaiting-approval']);

interface Snapshot {
  event: AgentEvent;
  /** The work is over: nothing more will change. */
  done: boolean;
}

export function registerEventRoutes(app: FastifyInstance, services: ApiServices, options: EventRouteOptions): void {
  const open = new Set<(reason: 'shutdown') => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end('shutdown');
  });

  const restore = () => {
    if (!services.restore) throw new WedsyncError('NOT_FOUND', 'restore is not available in this agent');
    return services.restore;
  };
  const validation = () => {
    if (!services.validation) throw new WedsyncError('NOT_FOUND', 'validation is not available in this agent');
    return services.validation;
  };

  const backupRuns = () => {
    if (!services.backupRuns) throw new WedsyncError('NOT_FOUND', 'background backups are not available in this agent');
    return services.backupRuns;
  };

  /** A user sees only their organization's weddings in an operation (as GET /api/backup/recovery-operations/:id trims it). */
  async function operationReader(req: FastifyRequest, id: string): Promise<() => Promise<Snapshot>> {
    const principal = principalOf(req);
    const mine = principal.kind === 'user' && services.access ? await services.access.organizationWeddingIds(principal.organizationId) : null;
    return async () => {
      const op: RecoveryOperation = await restore().getOperation(id);
      const progress = op.status === 'running' ? (op.progress ?? options.hub.lastRestoreProgress(op.id)) : undefined;
      const operation = { ...op, ...(progress ? { progress } : {}), ...(mine ? { affectedWeddings: op.affectedWeddings.filter((w) => mine.has(w)) } : {}) };
      return { event: { type: 'recovery-operation', operation }, done: TERMINAL.has(op.status) };
    };
  }

  async function stream(req: FastifyRequest, reply: FastifyReply, topic: EventTopic, read: () => Promise<Snapshot>): Promise<void> {
    // The first read happens before the response starts: a missing thing is still a JSON 404.
    let current = await read();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
      'x-accel-buffering': 'no',
    });
    let last = '';
    let ended = false;
    const write = (e: AgentEvent) => {
      const data = JSON.stringify(AgentEventSchema.parse(e));
      if (data === last) return;
      last = data;
      res.write(`event: ${e.type}\ndata: ${data}\n\n`);
    };
    const timers: ReturnType<typeof setInterval>[] = [];
    let unsubscribe = () => undefined as void;
    const end = (reason: 'finished' | 'idle' | 'time-limit' | 'shutdown') => {
      if (ended) return;
      ended = true;
      for (const t of timers) clearInterval(t);
      unsubscribe();
      open.delete(end);
      if (!res.destroyed) {
        res.write(`event: end\ndata: ${JSON.stringify({ type: 'end', reason })}\n\n`);
        res.end();
      }
    };
    write(current.event);
    if (current.done) return end('idle');
    open.add(end);
    res.on('close', () => end('finished'));

    let reading = false;
    let again = false;
    const wake = async () => {
      if (ended) return;
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        do {
          again = false;
          current = await read();
          if (ended) return;
          write(current.event);
          if (current.done) return end('finished');
        } while (again);
      } catch (err) {
        // The thing vanished or the catalog went away: say so by ending; the client falls back to polling.
        req.log.warn({ err: (err as Error).message, topic }, 'event stream ended on a read error');
        end('finished');
      } finally {
        reading = false;
      }
    };
    unsubscribe = options.hub.subscribe(topic, () => void wake());
    timers.push(setInterval(() => void wake(), options.fallbackMs ?? 1000));
    timers.push(setInterval(() => !res.destroyed && res.write(': ping\n\n'), options.heartbeatMs ?? 15_000));
    timers.push(setInterval(() => end('time-limit'), options.maxStreamMs ?? 30 * 60_000));
    // Something may have changed between the first read and the subscription.
    void wake();
  }

  app.post('/api/events/tickets', async (req, reply) => {
    const { stream: kind, id } = parse(EventTicketRequestSchema, req.body, 'body');
    // Only for something that exists (and that the caller may see: authz.ts checked it for users).
    if (kind === 'recovery-operation') await restore().getOperation(id.toLowerCase());
    else if (kind === 'backup') backupRuns().get(id);
    else await validation().snapshotValidation(id.toLowerCase());
    const path = eventStreamPath(kind, id);
    return send(reply, EventTicketResponseSchema, { ...options.tickets.issue(principalOf(req), path), path }, 201);
  });

  app.get('/api/events/recovery-operations/:id', async (req, reply) => {
    const { id } = parse(EventStreamParamsSchema, req.params, 'params');
    parse(EventStreamQuerySchema, req.query, 'query');
    await stream(req, reply, `recovery-operation:${id.toLowerCase()}`, await operationReader(req, id.toLowerCase()));
  });

  app.get('/api/events/validations/:id', async (req, reply) => {
    const { id } = parse(EventStreamParamsSchema, req.params, 'params');
    parse(EventStreamQuerySchema, req.query, 'query');
    const snapshotId = id.toLowerCase();
    await stream(req, reply, `validation:${snapshotId}`, async () => {
      const v = await validation().snapshotValidation(snapshotId);
      return { event: { type: 'validation', validation: v }, done: v.run?.state !== 'running' };
    });
  });

  app.get('/api/events/backups/:id', async (req, reply) => {
    const { id } = parse(EventStreamParamsSchema, req.params, 'params');
    parse(EventStreamQuerySchema, req.query, 'query');
    const runId = id.toLowerCase();
    await stream(req, reply, `backup:${runId}`, async () => {
      const backup = backupRuns().get(runId);
      return { event: { type: 'backup', backup }, done: backup.state !== 'running' };
    });
  });
}
