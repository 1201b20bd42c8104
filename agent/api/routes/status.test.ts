import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test-support/db.js';
import { SMALL_SEED } from '../../../test-support/fixtures.js';
import { migrate } from '../../catalog/migrate.js';
import { openSchedulingCatalog, type SchedulingCatalog } from '../../catalog/queue-catalog.js';
import { WedsyncError } from '../../contract/errors.js';
import { DEFAULT_SCHEMA_MAP } from '../../contract/schema-map.js';
import { statusResponseSchema } from '../../contract/scheduling.js';
import { scheduleConfig } from '../../jobs/scheduler-cron.js';
import { createBackupStatusServices } from '../../jobs/scheduler-service.js';
import { silentLogger } from '../../logger.js';
import { seed } from '../../source/seed.js';
import { createMetrics } from '../metrics.js';
import { createApiServer } from '../server.js';
import type { ApiServices } from '../services.js';
import { registerStatusRoutes } from './status.js';

const NOW = SMALL_SEED.now!; // the seed puts wedding #1 on this day
const TOKEN = 'status-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('GET /api/backup/status and friends', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let scheduling: SchedulingCatalog;
  let app: FastifyInstance;
  let today: string;
  let failedJob: string;
  let pendingJob: string;

  beforeAll(async () => {
    db = await createTestDatabase('status');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await migrate(client);
    await seed(client, { weddings: 8, ...SMALL_SEED, photoFilesPerWedding: 0 });
    today = (await client.query<{ id: string }>(`SELECT id::text FROM weddings WHERE wedding_date = $1::date LIMIT 1`, [NOW.toISOString().slice(0, 10)])).rows[0]!.id;
    // A snapshot of today's wedding 5 minutes ago, a tier 3 full a day ago, a job that failed for good, one waiting.
    const job = await client.query<{ id: string }>(
      `INSERT INTO backup_jobs (backup_type, tier, status, priority_level, target_weddings, scheduled_at, attempts, completed_at, error_details)
       VALUES ('incremental', 2, 'failed', 9, ARRAY[$1::uuid], $2::timestamptz - interval '1 hour', 3, $2::timestamptz - interval '30 minutes',
               '{"code":"STORAGE_UNAVAILABLE","message":"S3 answered 503"}') RETURNING id`,
      [today, NOW],
    );
    failedJob = job.rows[0]!.id;
    pendingJob = (await client.query<{ id: string }>(`INSERT INTO backup_jobs (backup_type, tier, priority_level, scheduled_at) VALUES ('full', 3, 3, $1) RETURNING id`, [new Date(NOW.getTime() + 3_600_000)])).rows[0]!.id;
    await client.query(
      `INSERT INTO backup_snapshots (snapshot_type, tier, wedding_ids, storage_location, created_at) VALUES
         ('incremental', 2, ARRAY[$1::uuid], '/repo', $2::timestamptz - interval '5 minutes'),
         ('full', 3, (SELECT array_agg(id) FROM weddings), '/repo', $2::timestamptz - interval '1 day')`,
      [today, NOW],
    );

    scheduling = openSchedulingCatalog(db.url, DEFAULT_SCHEMA_MAP, { max: 2 });
    const schedule = scheduleConfig({ timeZone: 'UTC', offsiteConfigured: false });
    const metrics = createMetrics({ processMetrics: false, status: () => scheduling.status({ now: NOW, schedule, days: 30 }) });
    const services: ApiServices = {
      snapshots: {
        list: async () => [],
        get: async () => {
          throw new WedsyncError('NOT_FOUND', 'none');
        },
        emergencyBackup: async () => {
          throw new WedsyncError('INTERNAL', 'not in this test');
        },
      },
      health: async () => ({}),
      backupStatus: createBackupStatusServices({ port: scheduling, schedule, clock: () => NOW, metrics }),
    };
    app = createApiServer(services, { token: TOKEN, logger: await silentLogger(), extraRoutes: [(a) => registerStatusRoutes(a, services)] });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await scheduling?.close();
    await client?.end();
    await db?.drop();
  });

  it('needs the token', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/backup/status' })).statusCode).toBe(401);
  });

  it('shows upcoming weddings with criticality and RPO, tiers, failing jobs', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/backup/status', headers: auth });
    expect(res.statusCode).toBe(200);
    const status = statusResponseSchema.parse(res.json());
    const w = status.weddings.find((x) => x.weddingId === today)!;
    expect(w).toMatchObject({ level: 'wedding-day', priority: 9, frequencyMinutes: 15, achievedRpoMinutes: 5, rpoMet: true, lastSnapshot: { type: 'incremental', tier: 2 } });
    // The others' newest snapshot is the day-old full: active ones miss their target.
    const missed = status.weddings.filter((x) => x.active && !x.rpoMet);
    expect(missed.length).toBeGreaterThan(0);
    expect(missed.every((x) => x.achievedRpoMinutes === 1440)).toBe(true);
    expect(status.healthy).toBe(false);
    expect(status.tiers.map((t) => [t.tier, t.lastSnapshot?.type ?? null])).toEqual([
      [1, null],
      [2, 'incremental'],
      [3, 'full'],
      [4, null],
    ]);
    expect(status.tiers[2]!.nextRunAt).toBe('2026-11-29T02:00:00.000Z');
    expect(status.failingJobs).toEqual([expect.objectContaining({ id: failedJob, status: 'failed', attempts: 3, error: { code: 'STORAGE_UNAVAILABLE', message: 'S3 answered 503' } })]);
    expect(status.queue).toEqual({ pending: 0, running: 0, failedLastDay: 1, retrying: 0 });
    expect(status.warnings.some((x) => /no agent is running/.test(x))).toBe(true);
  });

  it('serves the plan, the same for the same now', async () => {
    const url = `/api/backup/plan?now=${encodeURIComponent('2026-11-28T12:00:00Z')}&hours=2`;
    const a = await app.inject({ method: 'GET', url, headers: auth });
    const b = await app.inject({ method: 'GET', url, headers: auth });
    expect(a.statusCode).toBe(200);
    expect(a.json()).toEqual(b.json());
    expect(a.json().entries.some((e: { tier: number; weddingIds: string[] }) => e.tier === 2 && e.weddingIds.includes(today))).toBe(true);
    const bad = await app.inject({ method: 'GET', url: '/api/backup/plan?hours=0&now=yesterday', headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.fields.map((f: { field: string }) => f.field).sort()).toEqual(['query.hours', 'query.now']);
  });

  it('refuses invalid settings, naming the field, and stores valid ones', async () => {
    const put = (id: string, body: unknown) => app.inject({ method: 'PUT', url: `/api/backup/weddings/${id}/settings`, headers: auth, payload: body as object });
    const tooOften = await put(today, { backupFrequencyMinutes: 10 });
    expect(tooOften.statusCode).toBe(400);
    expect(tooOften.json().error.fields).toEqual([{ field: 'body.backupFrequencyMinutes', message: 'must be at least 15 minutes' }]);
    const inverted = await put(today, { highPriorityStart: '2026-12-01T00:00:00Z', highPriorityEnd: '2026-11-30T00:00:00Z' });
    expect(inverted.statusCode).toBe(400);
    expect(inverted.json().error.fields).toEqual([{ field: 'body.highPriorityEnd', message: 'must be after highPriorityStart' }]);
    // A start after the stored end is refused too: the merged settings are checked as a whole.
    const afterEnd = await put(today, { highPriorityStart: '2027-01-01T00:00:00Z' });
    expect(afterEnd.statusCode).toBe(400);
    expect(afterEnd.json().error.message).toMatch(/highPriorityEnd: must be after highPriorityStart/);

    const ok = await put(today, { backupFrequencyMinutes: 20, notificationPreferences: { onSuccess: true, webhookUrl: 'https://hooks.example/wedding' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ weddingId: today, stored: true, settings: { backupFrequencyMinutes: 20, notificationPreferences: { onFailure: true, onSuccess: true } } });
    const got = await app.inject({ method: 'GET', url: `/api/backup/weddings/${today}/settings`, headers: auth });
    expect(got.json().settings).toEqual(ok.json().settings);
    expect((await put('99999999-9999-4999-8999-999999999999', { backupFrequencyMinutes: 30 })).statusCode).toBe(404);
    expect((await put('not-a-uuid', {})).json().error.fields[0].field).toBe('params.weddingId');
  });

  it('cancels a job', async () => {
    const res = await app.inject({ method: 'POST', url: `/api/backup/jobs/${pendingJob}/cancel`, headers: auth });
    expect(res.json()).toEqual({ jobId: pendingJob, outcome: 'cancelled' });
    expect((await app.inject({ method: 'POST', url: `/api/backup/jobs/${pendingJob}/cancel`, headers: auth })).json().outcome).toBe('already-finished');
    expect((await app.inject({ method: 'POST', url: '/api/backup/jobs/99999999-9999-4999-8999-999999999999/cancel', headers: auth })).statusCode).toBe(404);
  });

  it('exposes Prometheus metrics with the RPO of each upcoming wedding', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain(`wedsync_backup_wedding_rpo_seconds{wedding_id="${today}",level="wedding-day"} 300`);
    expect(res.body).toMatch(new RegExp(`wedsync_backup_wedding_rpo_target_seconds\\{wedding_id="${today}",level="wedding-day"\\} \\d+`));
    expect(res.body).toContain('wedsync_backup_status_healthy 0');
    expect(res.body).toContain('wedsync_backup_jobs{state="failed_last_day"} 1');
  });
});
