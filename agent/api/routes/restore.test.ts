import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test-support/db.js';
import { createBackupWorld, restoreDepsFor, type BackupWorld } from '../../../test-support/fixtures.js';
import { openRecoveryCatalog, type RecoveryCatalog } from '../../catalog/recovery.js';
import { WedsyncError } from '../../contract/errors.js';
import { createRestoreServices, type RestoreServices } from '../../jobs/restore-service.js';
import { silentLogger } from '../../logger.js';
import { createApiServer } from '../server.js';
import type { ApiServices } from '../services.js';
import { registerRestoreRoutes } from './restore.js';

const TOKEN = 'test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('restore API routes (fastify inject, real PostgreSQL)', () => {
  let world: BackupWorld;
  let recovery: RecoveryCatalog;
  let restore: RestoreServices;
  let app: FastifyInstance;
  let snapshotId: string;
  let wedding: string;

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 6 });
    recovery = await openRecoveryCatalog(world.db.url);
    const logger = await silentLogger();
    restore = createRestoreServices(restoreDepsFor(world, recovery, logger, { repo: world.repo }));
    const unused = () => Promise.reject(new WedsyncError('NOT_FOUND', 'not in this test'));
    const services: ApiServices = { restore, health: async () => ({}), snapshots: { list: unused, get: unused, emergencyBackup: unused } };
    app = createApiServer(services, { token: TOKEN, logger, extraRoutes: [(a) => registerRestoreRoutes(a, services)] });
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    wedding = (await world.client.query<{ id: string }>('SELECT id FROM weddings ORDER BY id LIMIT 1')).rows[0]!.id;
  });
  afterAll(async () => {
    await app?.close();
    await restore?.idle();
    await recovery?.close();
    await world?.close();
  });

  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, headers: auth, payload: payload as object });
  const fields = (body: string) => (JSON.parse(body) as { error: { fields?: Array<{ field: string }> } }).error.fields?.map((f) => f.field) ?? [];

  it('rejects bad bodies with a 400 naming each field', async () => {
    const cases: Array<[unknown, string[]]> = [
      [{}, ['body.backupId', 'body.recoveryScope']],
      [{ backupId: 'nope', recoveryScope: 'complete' }, ['body.backupId']],
      [{ backupId: snapshotId, recoveryScope: 'everything' }, ['body.recoveryScope']],
      [{ backupId: snapshotId, recoveryScope: 'complete', weddingIds: [wedding] }, ['body.weddingIds']],
      [{ backupId: snapshotId, recoveryScope: 'complete', dataTypes: ['guests'] }, ['body.dataTypes']],
      [{ backupId: snapshotId, recoveryScope: 'wedding-only' }, ['body.weddingIds']],
      [{ backupId: snapshotId, recoveryScope: 'wedding-only', weddingIds: [wedding], dataTypes: ['guests'] }, ['body.dataTypes']],
      [{ backupId: snapshotId, recoveryScope: 'selective', weddingIds: [wedding] }, ['body.dataTypes']],
      [{ backupId: snapshotId, recoveryScope: 'selective', dataTypes: ['cake'] }, ['body.dataTypes.0']],
      [{ backupId: snapshotId, recoveryScope: 'selective', dataTypes: [] }, ['body.dataTypes']],
      [{ backupId: snapshotId, recoveryScope: 'selective', dataTypes: ['guests'], weddingIds: ['x'] }, ['body.weddingIds.0']],
      [{ backupId: snapshotId, recoveryScope: 'complete', extra: 1 }, ['body']],
    ];
    for (const [body, expected] of cases) {
      const res = await post('/api/backup/restore/preview', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(fields(res.body), JSON.stringify(body)).toEqual(expected);
    }
    const noToken = await post('/api/backup/emergency-restore', { backupId: snapshotId, recoveryScope: 'wedding-only', weddingIds: [wedding] });
    expect(noToken.statusCode).toBe(400);
    expect(fields(noToken.body)).toEqual(['body.confirmationToken']);
    const notJson = await app.inject({ method: 'POST', url: '/api/backup/emergency-restore', headers: { ...auth, 'content-type': 'application/json' }, payload: '{oops' });
    expect(notJson.statusCode).toBe(400);
    const badId = await app.inject({ method: 'GET', url: '/api/backup/recovery-operations/123', headers: auth });
    expect(badId.statusCode).toBe(400);
    expect(fields(badId.body)).toEqual(['params.id']);
    const badQuery = await app.inject({ method: 'GET', url: '/api/backup/recovery-operations?limit=0', headers: auth });
    expect(badQuery.statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/api/backup/restore/preview', payload: {} })).statusCode).toBe(401);
  });

  it('unknown snapshot and unknown operation are 404s', async () => {
    const res = await post('/api/backup/restore/preview', { backupId: '00000000-0000-4000-8000-000000000000', recoveryScope: 'complete' });
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body).error.code).toBe('NOT_FOUND');
    const op = await app.inject({ method: 'GET', url: '/api/backup/recovery-operations/00000000-0000-4000-8000-000000000000', headers: auth });
    expect(op.statusCode).toBe(404);
  });

  it('preview → token → emergency restore (202) → poll until completed; the token works once', async () => {
    await world.client.query('DELETE FROM guests WHERE wedding_id = $1', [wedding]);
    const plan = { backupId: snapshotId, recoveryScope: 'wedding-only', weddingIds: [wedding] };
    const preview = await post('/api/backup/restore/preview', plan);
    expect(preview.statusCode).toBe(200);
    const p = JSON.parse(preview.body);
    expect(p.totals).toMatchObject({ inserted: 12, updated: 0, deleted: 0 });
    expect(p.plan.tables[0]).toBe('public.weddings');
    expect(Date.parse(p.expiresAt)).toBeGreaterThan(Date.now());

    const rows = await post('/api/backup/restore/preview/rows', { ...plan, weddingId: wedding, table: 'public.guests', limit: 5 });
    expect(rows.statusCode).toBe(200);
    expect(JSON.parse(rows.body)).toMatchObject({ total: 12, offset: 0, rows: expect.arrayContaining([expect.objectContaining({ change: 'inserted', before: null })]) });
    expect(JSON.parse(rows.body).rows).toHaveLength(5);

    const started = await post('/api/backup/emergency-restore', { ...plan, confirmationToken: p.confirmationToken });
    expect(started.statusCode).toBe(202);
    const { operation } = JSON.parse(started.body);
    expect(operation).toMatchObject({ operationType: 'emergency-restore', recoveryScope: 'wedding-only', affectedWeddings: [wedding], initiatedByLabel: 'api' });
    expect(['running', 'completed']).toContain(operation.status);

    let final;
    for (let i = 0; i < 200; i++) {
      const got = await app.inject({ method: 'GET', url: `/api/backup/recovery-operations/${operation.id}`, headers: auth });
      expect(got.statusCode).toBe(200);
      final = JSON.parse(got.body).operation;
      if (final.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(final).toMatchObject({ status: 'completed', successMetrics: expect.objectContaining({ verified: true }) });
    const { rows: count } = await world.client.query('SELECT count(*)::int AS n FROM guests WHERE wedding_id = $1', [wedding]);
    expect(count[0].n).toBe(12);

    const again = await post('/api/backup/emergency-restore', { ...plan, confirmationToken: p.confirmationToken });
    expect(again.statusCode).toBe(409);
    expect(JSON.parse(again.body).error.message).toMatch(/already used/);

    const list = await app.inject({ method: 'GET', url: `/api/backup/recovery-operations?weddingId=${wedding}`, headers: auth });
    expect(list.statusCode).toBe(200);
    expect(JSON.parse(list.body).operations.map((o: { id: string }) => o.id)).toContain(operation.id);
  });

  it('undo over HTTP: preview with a token, then confirm; recorded as an undo', async () => {
    const [done] = (await restore.listOperations({ status: 'completed', limit: 1 }));
    const bad = await app.inject({ method: 'POST', url: `/api/backup/recovery-operations/${done!.id}/undo`, headers: auth, payload: {} });
    expect(bad.statusCode).toBe(400);
    expect(fields(bad.body)).toEqual(['body.confirmationToken']);
    const preview = await app.inject({ method: 'POST', url: `/api/backup/recovery-operations/${done!.id}/undo-preview`, headers: auth });
    expect(preview.statusCode).toBe(200);
    const p = JSON.parse(preview.body);
    expect(p.plan).toMatchObject({ snapshotId: done!.preRecoverySnapshot, weddingIds: done!.affectedWeddings });
    const undo = await app.inject({ method: 'POST', url: `/api/backup/recovery-operations/${done!.id}/undo`, headers: auth, payload: { confirmationToken: p.confirmationToken } });
    expect(undo.statusCode).toBe(202);
    await restore.idle();
    const op = await restore.getOperation(JSON.parse(undo.body).operation.id);
    expect(op).toMatchObject({ status: 'completed', operationType: 'undo' });
    const unknown = await app.inject({ method: 'POST', url: '/api/backup/recovery-operations/00000000-0000-4000-8000-000000000000/undo-preview', headers: auth });
    expect(unknown.statusCode).toBe(404);
  });

  it('a forged token is a 400 and changes nothing', async () => {
    const res = await post('/api/backup/emergency-restore', { backupId: snapshotId, recoveryScope: 'complete', confirmationToken: 'wsr1.e30.AAAA' });
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error.message).toMatch(/confirmationToken/);
  });

  describe('into another database (targetUrl, targetPhotoStore)', () => {
    let empty: TestDatabase | undefined;
    let photoDir: string | undefined;
    afterAll(async () => {
      await restore?.idle();
      await empty?.drop();
      if (photoDir) await rm(photoDir, { recursive: true, force: true });
    });

    it('bad target fields are 400s naming the field', async () => {
      const plan = { backupId: snapshotId, recoveryScope: 'complete' };
      const cases: Array<[unknown, string[]]> = [
        [{ ...plan, targetUrl: 'mysql://x/y' }, ['body.targetUrl']],
        [{ ...plan, targetUrl: 42 }, ['body.targetUrl']],
        [{ ...plan, targetPhotoStore: '/tmp/photos' }, ['body.targetPhotoStore']],
        [{ ...plan, targetUrl: 'postgres://u@localhost/db', targetPhotoStore: '' }, ['body.targetPhotoStore']],
        [{ ...plan, targetUrl: 'postgres://u@localhost/db', targetPhotoStore: 'ftp://host/photos' }, ['body.targetPhotoStore']],
      ];
      for (const [body, expected] of cases) {
        for (const url of ['/api/backup/restore/preview', '/api/backup/emergency-restore']) {
          const res = await post(url, url.endsWith('emergency-restore') ? { ...(body as object), confirmationToken: 'x' } : body);
          expect(res.statusCode, `${url} ${JSON.stringify(body)}`).toBe(400);
          expect(fields(res.body), `${url} ${JSON.stringify(body)}`).toEqual(expected);
        }
      }
      // Well-formed but no database there: a clear error, not a 500.
      const gone = await post('/api/backup/restore/preview', { ...plan, targetUrl: world.db.url.replace(/\/[^/?]+(\?.*)?$/, '/wedsync_no_such_db') });
      expect(gone.statusCode).toBe(400);
      expect(JSON.parse(gone.body).error.message).toMatch(/does not exist/);
    });

    it('a complete restore into an empty database over HTTP, photo files into the store named for it; the live database and photo store untouched', async () => {
      empty = await createTestDatabase('ra');
      photoDir = await mkdtemp(join(tmpdir(), 'wedsync-target-photos-'));
      const liveBefore = (await world.client.query('SELECT count(*)::int AS n FROM guests')).rows[0].n;
      const livePhotos = await world.photoStore.list('').then((l) => l.length).catch(() => null);
      const plan = { backupId: snapshotId, recoveryScope: 'complete', targetUrl: empty.url, targetPhotoStore: photoDir };
      const preview = await post('/api/backup/restore/preview', plan);
      expect(preview.statusCode, preview.body).toBe(200);
      const p = JSON.parse(preview.body);
      expect(p.plan).toMatchObject({ emptyTarget: true, target: expect.stringContaining(empty.name) });
      expect(p.photos.toWrite).toBeGreaterThan(0);
      // The token binds the target: the same plan into the live database does not take it.
      const elsewhere = await post('/api/backup/emergency-restore', { backupId: snapshotId, recoveryScope: 'complete', confirmationToken: p.confirmationToken });
      expect(elsewhere.statusCode).toBe(400);

      const started = await post('/api/backup/emergency-restore', { ...plan, confirmationToken: p.confirmationToken });
      expect(started.statusCode, started.body).toBe(202);
      await restore.idle();
      const op = await restore.getOperation(JSON.parse(started.body).operation.id);
      expect(op).toMatchObject({ status: 'completed', operationType: 'full-restore', targetDatabase: expect.stringContaining(empty.name) });
      expect(op.dataRestored).toMatchObject({ emptyTarget: true, photosWritten: p.photos.toWrite, photoStore: photoDir });

      const target = new pg.Client({ connectionString: empty.url });
      await target.connect();
      try {
        // The tables the tests above left as the snapshot has them: the same rows.
        for (const table of ['weddings', 'timeline_events', 'vendors', 'photos']) {
          const a = (await world.client.query(`SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) AS h, count(*)::int AS n FROM ${table} t`)).rows[0];
          const b = (await target.query(`SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) AS h, count(*)::int AS n FROM ${table} t`)).rows[0];
          expect(b, table).toEqual(a);
        }
        // Every table: as many rows as the snapshot holds (guests: the live ones differ by the undo above).
        const snapshotRows = new Map<string, number>();
        for (const i of p.items as Array<{ table: string; snapshotRows: number }>) snapshotRows.set(i.table, (snapshotRows.get(i.table) ?? 0) + i.snapshotRows);
        for (const [table, n] of snapshotRows) expect((await target.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, table).toBe(n);
      } finally {
        await target.end();
      }
      expect((await readdir(photoDir, { recursive: true })).length).toBeGreaterThan(0);
      expect((await world.client.query('SELECT count(*)::int AS n FROM guests')).rows[0].n).toBe(liveBefore);
      expect(await world.photoStore.list('').then((l) => l.length).catch(() => null)).toBe(livePhotos);
    });
  });
});
