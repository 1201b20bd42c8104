import type { FastifyInstance } from 'fastify';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupWorld, restoreDepsFor, type BackupWorld } from '../../../test-support/fixtures.js';
import { openRecoveryCatalog, type RecoveryCatalog } from '../../catalog/recovery.js';
import { openValidationCatalog } from '../../catalog/validation.js';
import { WedsyncError } from '../../contract/errors.js';
import { AgentEventSchema, type AgentEvent } from '../../contract/events.js';
import { DEFAULT_SCHEMA_MAP } from '../../contract/schema-map.js';
import { createRestoreServices, type RestoreServices } from '../../jobs/restore-service.js';
import { createValidationServices, type ValidationServices } from '../../jobs/verify-service.js';
import { createLogger, redactSecrets } from '../../logger.js';
import { openWeddingDataSource } from '../../source/data-validation.js';
import { EventHub } from '../event-hub.js';
import { EventTickets } from '../event-tickets.js';
import { createApiServer } from '../server.js';
import type { ApiServices } from '../services.js';
import { registerEventRoutes } from './events.js';
import { registerRestoreRoutes } from './restore.js';

const TOKEN = 'events-test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

/** Reads a whole SSE response (the stream ends by itself): its events, parsed with the contract. */
async function readEvents(res: Response): Promise<AgentEvent[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .map((block) => block.split('\n').find((l) => l.startsWith('data: ')))
    .filter((l): l is string => !!l)
    .map((l) => AgentEventSchema.parse(JSON.parse(l.slice(6))));
}

describe('event streams (SSE over a real HTTP server, real PostgreSQL and repository)', () => {
  let world: BackupWorld;
  let recovery: RecoveryCatalog;
  let restore: RestoreServices;
  let validation: ValidationServices;
  let app: FastifyInstance;
  let base: string;
  let snapshotId: string;
  let wedding: string;
  const hub = new EventHub();
  const tickets = new EventTickets();
  const logLines: string[] = [];
  let release: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 4 });
    recovery = await openRecoveryCatalog(world.db.url);
    const logger = await createLogger('debug', 'events-test', new Writable({ write: (chunk: Buffer, _e, cb) => (logLines.push(chunk.toString('utf8')), cb()) }) as never);
    restore = createRestoreServices({
      ...restoreDepsFor(world, recovery, logger),
      // The confirmed part waits for the test to open its stream first.
      exclusive: async (task) => {
        await gate;
        return task();
      },
      onProgress: (id, p) => hub.restoreProgress(id, p),
    });
    const validationCatalog = await openValidationCatalog(world.db.url);
    closers.push(() => validationCatalog.close());
    validation = createValidationServices({
      repo: world.repo,
      map: DEFAULT_SCHEMA_MAP,
      logger,
      catalog: validationCatalog,
      openDataSource: () => openWeddingDataSource(world.db.url, DEFAULT_SCHEMA_MAP),
      photoStore: world.photoStore,
      onChange: (id) => hub.publish(`validation:${id}`),
    });
    const unused = () => Promise.reject(new WedsyncError('NOT_FOUND', 'not in this test'));
    const services: ApiServices = { restore, validation, health: async () => ({}), snapshots: { list: unused, get: unused, emergencyBackup: unused } };
    app = createApiServer(services, {
      token: TOKEN,
      logger,
      authenticate: (req) => tickets.authenticate(req),
      extraRoutes: [(a) => registerRestoreRoutes(a, services), (a) => registerEventRoutes(a, services, { hub, tickets, fallbackMs: 200 })],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    wedding = (await world.client.query<{ id: string }>('SELECT id FROM weddings ORDER BY id LIMIT 1')).rows[0]!.id;
  });
  afterAll(async () => {
    release();
    await app?.close();
    await restore?.idle();
    await validation?.idle();
    for (const c of closers) await c();
    await recovery?.close();
    await world?.close();
  });

  const ticketFor = async (stream: string, id: string, headers: Record<string, string> = auth) =>
    fetch(`${base}/api/events/tickets`, { method: 'POST', headers, body: JSON.stringify({ stream, id }) });

  async function startGatedRestore(): Promise<string> {
    gate = new Promise((r) => (release = r));
    await world.client.query('DELETE FROM guests WHERE wedding_id = $1', [wedding]);
    const plan = { backupId: snapshotId, recoveryScope: 'selective' as const, weddingIds: [wedding], dataTypes: ['guests' as const] };
    const preview = await restore.preview(plan);
    return (await restore.emergencyRestore({ ...plan, confirmationToken: preview.confirmationToken })).id;
  }

  it('issues tickets only to an authenticated caller, for something that exists, with bad bodies named', async () => {
    expect((await ticketFor('recovery-operation', snapshotId, { 'content-type': 'application/json' })).status).toBe(401);
    const bad = await ticketFor('everything', 'x');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { fields: { field: string }[] } }).error.fields.map((f) => f.field).sort()).toEqual(['body.id', 'body.stream']);
    expect((await ticketFor('recovery-operation', '00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const ok = await ticketFor('validation', snapshotId);
    expect(ok.status).toBe(201);
    const body = (await ok.json()) as { ticket: string; path: string };
    expect(body.path).toBe(`/api/events/validations/${snapshotId}`);
    // Nothing runs: the stream sends the state and ends at once.
    const events = await readEvents(await fetch(`${base}${body.path}?ticket=${body.ticket}`));
    expect(events.map((e) => e.type)).toEqual(['validation', 'end']);
  });

  it('pushes a running restore from its first progress to completed, then ends; the ticket works once and for its path only', async () => {
    const id = await startGatedRestore();
    const { ticket, path } = (await (await ticketFor('recovery-operation', id)).json()) as { ticket: string; path: string };
    // Another path with this ticket: refused, and that spent it.
    const other = await fetch(`${base}/api/events/validations/${snapshotId}?ticket=${ticket}`);
    expect(other.status).toBe(401);
    expect((await fetch(`${base}${path}?ticket=${ticket}`)).status).toBe(401);

    const fresh = (await (await ticketFor('recovery-operation', id)).json()) as { ticket: string; path: string };
    const res = await fetch(`${base}${fresh.path}?ticket=${fresh.ticket}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect((await fetch(`${base}${fresh.path}?ticket=${fresh.ticket}`)).status).toBe(401);
    const events = readEvents(res);
    release();
    const all = await events;
    const ops = all.flatMap((e) => (e.type === 'recovery-operation' ? [e.operation] : []));
    expect(ops[0]!.status).toBe('running');
    expect(ops.at(-1)!.status).toBe('completed');
    // Progress was pushed while it ran (phases of the restore engine), not only the two ends.
    expect(ops.some((o) => o.progress && o.progress.phase !== 'plan')).toBe(true);
    expect(all.at(-1)).toEqual({ type: 'end', reason: 'finished' });
    await restore.idle();
    expect(hub.size).toBe(0);
  });

  it('the bearer header opens a stream too (Electron main, CLI); a finished operation ends at once', async () => {
    const { operations } = (await (await fetch(`${base}/api/backup/recovery-operations`, { headers: auth })).json()) as { operations: { id: string }[] };
    const events = await readEvents(await fetch(`${base}/api/events/recovery-operations/${operations[0]!.id}`, { headers: auth }));
    expect(events.map((e) => e.type)).toEqual(['recovery-operation', 'end']);
    expect(events.at(-1)).toEqual({ type: 'end', reason: 'idle' });
    // No credentials at all, or an unknown ticket: 401, JSON.
    const none = await fetch(`${base}/api/events/recovery-operations/${operations[0]!.id}?ticket=${'a'.repeat(43)}`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
  });

  it('pushes a read-data validation to its report', async () => {
    const run = await validation.startSnapshotValidation(snapshotId, { level: 'read-data' });
    expect(run.state).toBe('running');
    const { ticket, path } = (await (await ticketFor('validation', snapshotId)).json()) as { ticket: string; path: string };
    const events = await readEvents(await fetch(`${base}${path}?ticket=${ticket}`));
    const last = events.filter((e) => e.type === 'validation').at(-1);
    expect(last?.type === 'validation' && last.validation.run?.state).toBe('completed');
    expect(last?.type === 'validation' && last.validation.validationStatus).toBe('valid');
  });

  it('expired tickets are refused; tickets and tokens never reach the logs', async () => {
    let t = 0;
    const clock = new EventTickets({ ttlMs: 1000, now: () => t });
    const { ticket } = clock.issue({ kind: 'service', label: 'agent-token' }, '/api/events/validations/x');
    t = 1000;
    expect(clock.redeem(ticket, '/api/events/validations/x')).toBeNull();
    expect(redactSecrets(`GET /api/events/validations/x?ticket=${ticket}&a=1`)).toBe('GET /api/events/validations/x?ticket=***&a=1');
    const log = logLines.join('');
    expect(log).not.toContain(TOKEN);
    expect(log).not.toMatch(/ticket=[A-Za-z0-9_-]{20,}/);
  });

  it('closing the server ends open streams (no connection keeps it alive)', async () => {
    const id = await startGatedRestore();
    const res = await fetch(`${base}/api/events/recovery-operations/${id}`, { headers: auth });
    const events = readEvents(res);
    // Let the stream start, then close while the restore still waits.
    await new Promise((r) => setTimeout(r, 100));
    const closing = app.close();
    const all = await events;
    expect(all.at(-1)).toEqual({ type: 'end', reason: 'shutdown' });
    release();
    await closing;
  });
});
