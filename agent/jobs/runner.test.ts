import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { migrate } from '../catalog/migrate.js';
import { JobQueue } from '../catalog/queue.js';
import { WedsyncError } from '../contract/errors.js';
import { DEFAULT_NOTIFICATION_PREFERENCES, type NotificationPreferences } from '../contract/scheduling.js';
import { silentLogger, type Logger } from '../logger.js';
import { createHookNotifier } from './runner-hooks.js';
import { JobRunner, type JobHandler, type RunnerEvent } from './runner.js';
import { createMetrics } from '../api/metrics.js';

const here = dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FAST = { baseMs: 10, factor: 1, maxMs: 10 };

let db: TestDatabase;
let pool: pg.Pool;
let logger: Logger;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const count = async (sql: string, params: unknown[] = []) => (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;

beforeAll(async () => {
  db = await createTestDatabase('runner');
  await migrate(db.url);
  pool = new pg.Pool({ connectionString: db.url, max: 6 });
  await pool.query('CREATE TABLE test_runs (job_id uuid NOT NULL, agent text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  await pool.query('CREATE TABLE test_done (job_id uuid NOT NULL, agent text NOT NULL)');
  logger = await silentLogger();
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});
beforeEach(async () => {
  await pool.query('TRUNCATE backup_jobs, test_runs, test_done CASCADE');
});

describe('three agents on one catalog', () => {
  const pools: pg.Pool[] = [];
  let child: ChildProcess | null = null;
  afterEach(async () => {
    child?.kill('SIGKILL');
    await Promise.all(pools.splice(0).map((p) => p.end()));
  });

  it('run 50 queued jobs exactly once each, one agent killed mid-job (lease expiry takeover)', async () => {
    const leaseMs = 1500;
    const queue = new JobQueue(pool);
    for (let i = 0; i < 50; i++) {
      await queue.enqueue({ backupType: 'incremental', tier: 2, priority: 3 + (i % 7), scheduledAt: new Date(Date.now() - 60_000) });
    }

    // A separate agent process (compiled code) claims the most urgent job, then is killed -9.
    child = spawn(process.execPath, [join(here, 'runner.test-child.mjs'), db.url, String(leaseMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const orphan = await new Promise<string>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /CLAIMED ([0-9a-f-]{36})/.exec(out);
        if (m) resolve(m[1]!);
      });
      child!.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });

    const handler =
      (agent: string): JobHandler =>
      async ({ job, signal }) => {
        await pool.query('INSERT INTO test_runs (job_id, agent) VALUES ($1, $2)', [job.id, agent]);
        await sleep(5 + Math.floor(Math.random() * 25));
        if (signal.aborted) throw signal.reason;
        await pool.query('INSERT INTO test_done (job_id, agent) VALUES ($1, $2)', [job.id, agent]);
        return {};
      };
    const runners = ['agent-a', 'agent-b', 'agent-c'].map((agentId) => {
      const own = new pg.Pool({ connectionString: db.url, max: 3 });
      pools.push(own);
      return new JobRunner({ agentId, queue: new JobQueue(own), logger, leaseMs, pollMs: 20, handlers: { incremental: handler(agentId) }, lanes: [{ name: 'routine', minPriority: 1, concurrency: 2 }] });
    });
    for (const r of runners) r.start();
    await waitFor('a few jobs done', async () => (await count('test_done')) >= 5);
    child.kill('SIGKILL');
    await waitFor('all 50 jobs completed', async () => (await count(`backup_jobs WHERE status = 'completed'`)) === 50);
    await Promise.all(runners.map((r) => r.stop(1000)));

    const done = await pool.query<{ job_id: string; n: number }>('SELECT job_id, count(*)::int AS n FROM test_done GROUP BY job_id');
    expect(done.rows).toHaveLength(50);
    expect(done.rows.every((r) => r.n === 1)).toBe(true);
    const takeover = await pool.query(`SELECT attempts, claimed_by FROM backup_jobs WHERE id = $1`, [orphan]);
    expect(takeover.rows[0].attempts).toBe(2);
    expect(['agent-a', 'agent-b', 'agent-c']).toContain(takeover.rows[0].claimed_by);
    const runsOfOrphan = await pool.query<{ agent: string }>('SELECT agent FROM test_runs WHERE job_id = $1 ORDER BY at', [orphan]);
    expect(runsOfOrphan.rows.map((r) => r.agent)[0]).toBe('child');
    expect(runsOfOrphan.rows).toHaveLength(2);
    // Every agent took part.
    const byAgent = await pool.query<{ agent: string }>('SELECT DISTINCT agent FROM test_done');
    expect(byAgent.rows.length).toBeGreaterThanOrEqual(2);
  });
});

describe('JobRunner', () => {
  it('runs urgent jobs in their own lane while a routine job is still running', async () => {
    const queue = new JobQueue(pool);
    const { id: routine } = await queue.enqueue({ backupType: 'full', tier: 3, priority: 3, scheduledAt: new Date(Date.now() - 1000) });
    let releaseFull!: () => void;
    const fullBlocked = new Promise<void>((r) => (releaseFull = r));
    const order: string[] = [];
    const runner = new JobRunner({
      agentId: 'lanes',
      queue,
      logger,
      pollMs: 20,
      handlers: {
        full: async () => {
          order.push('full started');
          await fullBlocked;
          order.push('full done');
          return {};
        },
        incremental: async () => {
          order.push('wedding-day done');
          return {};
        },
      },
    });
    runner.start();
    await waitFor('the full to start', async () => order.includes('full started'));
    const { id: urgent } = await queue.enqueue({ backupType: 'incremental', tier: 2, priority: 9, scheduledAt: new Date(Date.now() - 1000) });
    runner.wake();
    await waitFor('the wedding-day job', async () => (await queue.get(urgent))!.status === 'completed');
    expect((await queue.get(routine))!.status).toBe('running');
    releaseFull();
    await waitFor('the full', async () => (await queue.get(routine))!.status === 'completed');
    await runner.stop();
    expect(order).toEqual(['full started', 'wedding-day done', 'full done']);
  });

  it('retries with backoff, then reports the failure through hooks and metrics', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wedsync-hooks-'));
    const posts: unknown[] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        posts.push({ url: req.url, body: JSON.parse(body) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const wA = 'aaaaaaaa-0000-4000-8000-000000000001';
    const wB = 'bbbbbbbb-0000-4000-8000-000000000002';
    const prefs = new Map<string, NotificationPreferences>([
      [wA, { onFailure: true, onSuccess: true, webhookUrl: `${base}/wedding-a` }],
      [wB, { ...DEFAULT_NOTIFICATION_PREFERENCES, onFailure: false }],
    ]);
    try {
      const queue = new JobQueue(pool);
      const { id: flaky } = await queue.enqueue({ backupType: 'incremental', tier: 2, priority: 8, weddingIds: [wA], scheduledAt: new Date(Date.now() - 1000) });
      const { id: broken } = await queue.enqueue({ backupType: 'incremental', tier: 2, priority: 7, weddingIds: [wA], scheduledAt: new Date(Date.now() - 1000) });
      const { id: muted } = await queue.enqueue({ backupType: 'incremental', tier: 2, priority: 6, weddingIds: [wB], scheduledAt: new Date(Date.now() - 1000) });
      const { id: bad } = await queue.enqueue({ backupType: 'full', tier: 3, priority: 3, scheduledAt: new Date(Date.now() - 1000) });
      const tries = new Map<string, number>();
      const hooks = createHookNotifier({
        config: { command: `cat >> ${join(dir, 'events.jsonl')}; echo >> ${join(dir, 'events.jsonl')}`, webhookUrl: `${base}/ops`, onSuccess: false },
        loadPreferences: async (ids) => new Map(ids.map((id) => [id, prefs.get(id) ?? DEFAULT_NOTIFICATION_PREFERENCES])),
        logger,
      });
      const metrics = createMetrics({ processMetrics: false });
      const events: RunnerEvent[] = [];
      const runner = new JobRunner({
        agentId: 'retry',
        queue,
        logger,
        backoff: FAST,
        pollMs: 10,
        handlers: {
          incremental: async ({ job }) => {
            const n = (tries.get(job.id) ?? 0) + 1;
            tries.set(job.id, n);
            if (job.id === flaky && n < 3) throw new WedsyncError('STORAGE_UNAVAILABLE', 'S3 answered 503');
            if (job.id !== flaky) throw new WedsyncError('STORAGE_UNAVAILABLE', 'S3 is gone');
            return { snapshotId: '11111111-2222-4333-8444-555555555555', bytes: 1234 };
          },
          full: async () => {
            throw new WedsyncError('WRONG_PASSPHRASE', 'wrong passphrase for repository');
          },
        },
        onEvent: async (e) => {
          events.push(e);
          metrics.observe(e);
          await hooks(e);
        },
      });
      // drain() runs what is due now; a retry becomes due after the (10 ms) backoff.
      for (let round = 0; round < 20; round++) {
        await runner.drain();
        const statuses = await Promise.all([flaky, broken, muted, bad].map(async (id) => (await queue.get(id))!.status));
        if (statuses.every((s) => s === 'completed' || s === 'failed')) break;
        await sleep(15);
      }
      expect((await queue.get(flaky))!).toMatchObject({ status: 'completed', attempts: 3 });
      expect((await queue.get(broken))!).toMatchObject({ status: 'failed', attempts: 3, errorDetails: { code: 'STORAGE_UNAVAILABLE' } });
      expect((await queue.get(bad))!).toMatchObject({ status: 'failed', attempts: 1, errorDetails: { code: 'WRONG_PASSPHRASE' } });
      expect(events.filter((e) => e.job.id === flaky).map((e) => e.type)).toEqual(['started', 'retrying', 'started', 'retrying', 'started', 'succeeded']);

      // Agent hooks: the two final failures that someone wants to hear about (wedding B muted its own).
      const lines = (await readFile(join(dir, 'events.jsonl'), 'utf8')).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.event, l.job.id]).sort()).toEqual([
        ['backup.failed', bad],
        ['backup.failed', broken],
      ].sort());
      expect(lines.find((l) => l.job.id === broken).error).toEqual({ code: 'STORAGE_UNAVAILABLE', message: 'S3 is gone' });
      const ops = posts.filter((p) => (p as { url: string }).url === '/ops');
      expect(ops).toHaveLength(2);
      // Wedding A's own webhook: its failure and (it opted in) its success.
      const own = posts.filter((p) => (p as { url: string }).url === '/wedding-a').map((p) => (p as { body: { event: string; weddingId: string } }).body);
      expect(own.map((b) => b.event).sort()).toEqual(['backup.failed', 'backup.succeeded']);
      expect(own.every((b) => b.weddingId === wA)).toBe(true);

      const text = await metrics.text();
      expect(text).toMatch(/wedsync_backup_job_failures_total\{tier="2",type="incremental",code="STORAGE_UNAVAILABLE",final="false"\} 6/);
      expect(text).toMatch(/wedsync_backup_job_failures_total\{tier="3",type="full",code="WRONG_PASSPHRASE",final="true"\} 1/);
      expect(text).toMatch(/wedsync_backup_bytes_total\{tier="2",type="incremental"\} 1234/);
      expect(text).toMatch(/wedsync_backup_last_success_timestamp_seconds\{tier="2",type="incremental"\} \d+/);
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops a running job when it is cancelled, and one that runs past its timeout', async () => {
    const queue = new JobQueue(pool);
    const { id: cancelled } = await queue.enqueue({ backupType: 'full', tier: 3, priority: 3, scheduledAt: new Date(Date.now() - 1000), maxAttempts: 1 });
    const { id: slow } = await queue.enqueue({ backupType: 'incremental', tier: 2, priority: 9, scheduledAt: new Date(Date.now() - 1000), maxAttempts: 1 });
    const waitForAbort: JobHandler = ({ signal }) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    const events: RunnerEvent[] = [];
    const runner = new JobRunner({ agentId: 'stopper', queue, logger, leaseMs: 300, pollMs: 10, timeoutsMs: { incremental: 200 }, handlers: { full: waitForAbort, incremental: waitForAbort }, onEvent: (e) => void events.push(e) });
    runner.start();
    await waitFor('the full to run', async () => (await queue.get(cancelled))!.status === 'running');
    await queue.cancel(cancelled, 'test');
    await waitFor('both to end', async () => events.filter((e) => e.type !== 'started').length === 2, 10_000);
    await runner.stop();
    expect(events.find((e) => e.job.id === cancelled && e.type !== 'started')!.type).toBe('cancelled');
    expect((await queue.get(cancelled))!.status).toBe('cancelled');
    expect(events.filter((e) => e.job.id === slow && e.type !== 'started').map((e) => [e.type, e.error?.message])).toEqual([['failed', 'the incremental job timed out after 0.2 s']]);
  });

  it('on stop, a job that does not finish in the grace time goes back to the queue, attempt not counted', async () => {
    const queue = new JobQueue(pool);
    const { id } = await queue.enqueue({ backupType: 'full', tier: 3, priority: 3, scheduledAt: new Date(Date.now() - 1000) });
    const runner = new JobRunner({
      agentId: 'leaving',
      queue,
      logger,
      pollMs: 10,
      handlers: { full: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })) },
    });
    runner.start();
    await waitFor('the job to run', async () => (await queue.get(id))!.status === 'running');
    await runner.stop(50);
    expect(await queue.get(id)).toMatchObject({ status: 'pending', attempts: 0, claimedBy: null });
  });
});
