import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { SMALL_SEED } from '../../test-support/fixtures.js';
import { migrate } from '../catalog/migrate.js';
import { openSchedulingCatalog, type SchedulingCatalog } from '../catalog/queue-catalog.js';
import { WedsyncError } from '../contract/errors.js';
import { DEFAULT_SCHEMA_MAP } from '../contract/schema-map.js';
import { silentLogger, type Logger } from '../logger.js';
import { seed } from '../source/seed.js';
import { cronSchedule, scheduleConfig } from './scheduler-cron.js';
import { Maintenance } from './scheduler-maintenance.js';
import { Scheduler, type SchedulerPort } from './scheduler.js';

// The seed puts its weddings around 2026-11-28 (a Saturday): one today, others within the week,
// the month, and in the past. The agent's clock is faked; the database is real.
const T0 = new Date('2026-11-28T12:00:10Z');
const HOUR = 3_600_000;

let db: TestDatabase;
let client: pg.Client;
let catalogs: SchedulingCatalog[] = [];
let logger: Logger;
let now: Date;

function port(c: SchedulingCatalog): SchedulerPort {
  return {
    loadWeddings: (w) => c.loadSchedulingWeddings(w),
    lastPlannedSlots: () => c.queue.lastPlannedSlots(),
    enqueue: (j) => c.queue.enqueue(j),
    expireLeases: () => c.queue.expireLeases(),
  };
}

function scheduler(c: SchedulingCatalog, p: SchedulerPort = port(c)): Scheduler {
  return new Scheduler({ port: p, config: scheduleConfig({ timeZone: 'UTC', offsiteConfigured: true }), logger, clock: () => now });
}

async function activeJobsPerTier(): Promise<Record<number, number>> {
  const { rows } = await client.query<{ tier: number; n: number }>(
    `SELECT tier, count(*)::int AS n FROM backup_jobs WHERE status IN ('pending', 'running') GROUP BY tier ORDER BY tier`,
  );
  return Object.fromEntries(rows.map((r) => [r.tier, r.n]));
}

beforeAll(async () => {
  db = await createTestDatabase('sched');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await migrate(client);
  await seed(client, { weddings: 12, ...SMALL_SEED, photoFilesPerWedding: 0 });
  logger = await silentLogger();
  catalogs = [0, 1].map(() => openSchedulingCatalog(db.url, DEFAULT_SCHEMA_MAP, { clock: () => now, max: 2 }));
});
afterAll(async () => {
  await Promise.all(catalogs.map((c) => c.close()));
  await client?.end();
  await db?.drop();
});
beforeEach(async () => {
  now = T0;
  await client.query('TRUNCATE backup_jobs, backup_maintenance_runs CASCADE');
});

describe('Scheduler against the catalog', () => {
  it('plans each slot once, however many agents tick at the same moment', async () => {
    const [a, b] = catalogs.map((c) => scheduler(c));
    const results = await Promise.all([a!.tick(), b!.tick(), a!.tick(), b!.tick()]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(await activeJobsPerTier()).toEqual({ 2: 1, 3: 1, 4: 1 });
    expect((await client.query('SELECT count(*)::int AS n FROM backup_jobs')).rows[0].n).toBe(3);
    // The same instant again: nothing new.
    expect((await a!.tick()).created).toEqual([]);
  });

  it('after a 2-day outage creates one job per tier, not one per missed slot', async () => {
    const s = scheduler(catalogs[0]!);
    await s.tick();
    now = new Date(T0.getTime() + 15 * 60_000);
    await s.tick();
    const before = (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM backup_jobs')).rows[0]!.n;

    now = new Date(T0.getTime() + 48 * HOUR); // nobody ticked for two days
    const r = await s.tick();
    expect(r.created.map((d) => d.tier).sort()).toEqual([2, 3, 4]);
    const tier2 = r.created.find((d) => d.tier === 2)!;
    expect(tier2.collapsedSlots).toBeGreaterThan(48); // 15-minute weddings missed ~190 slots
    expect(r.created.find((d) => d.tier === 3)!.collapsedSlots).toBe(2); // the 29th and 30th at 02:00
    const after = (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM backup_jobs')).rows[0]!.n;
    expect(after - before).toBe(3);
    // Nobody ran the old ones: each tier has one job waiting, the old slots superseded.
    expect(await activeJobsPerTier()).toEqual({ 2: 1, 3: 1, 4: 1 });
    const superseded = await client.query(`SELECT count(*)::int AS n FROM backup_jobs WHERE error_details->>'code' = 'SUPERSEDED'`);
    expect(superseded.rows[0].n).toBeGreaterThanOrEqual(3);
  });

  it('pauses while the database is away and resumes by itself, without a burst of jobs', async () => {
    let down = false;
    const real = port(catalogs[0]!);
    const unreachable = () => Promise.reject(new WedsyncError('DB_UNREACHABLE', 'cannot reach the database (ECONNREFUSED)'));
    const flaky: SchedulerPort = {
      loadWeddings: (w) => (down ? unreachable() : real.loadWeddings(w)),
      lastPlannedSlots: () => (down ? unreachable() : real.lastPlannedSlots()),
      enqueue: (j) => (down ? unreachable() : real.enqueue(j)),
      expireLeases: () => (down ? unreachable() : real.expireLeases()),
    };
    const s = scheduler(catalogs[0]!, flaky);
    await s.tick();
    down = true;
    for (let i = 1; i <= 12; i++) {
      now = new Date(T0.getTime() + i * 15 * 60_000);
      expect((await s.tick()).ok).toBe(false);
    }
    expect(s.consecutiveFailures).toBe(12);
    down = false;
    const r = await s.tick();
    expect(r.ok).toBe(true);
    expect(r.created.map((d) => d.tier)).toEqual([2]); // one catch-up for the three missed hours
    expect(s.consecutiveFailures).toBe(0);
    expect(await activeJobsPerTier()).toEqual({ 2: 1, 3: 1, 4: 1 });
  });

  it('runs the nightly maintenance once per slot across agents', async () => {
    const ran: string[] = [];
    const cron = cronSchedule('30 4 * * *', 'UTC');
    const [a, b] = catalogs.map(
      (c, i) =>
        new Maintenance({
          port: c.queue,
          agentId: `agent-${i}`,
          cron,
          logger,
          clock: () => now,
          tasks: {
            prune: async () => {
              ran.push(`agent-${i}`);
              return { forgotten: 0 };
            },
          },
        }),
    );
    const started = await Promise.all([a!.tick(), b!.tick(), a!.tick()]);
    await Promise.all([a!.idle(), b!.idle()]);
    expect(started.flat()).toEqual(['prune']);
    expect(ran).toHaveLength(1);
    const { rows } = await client.query(`SELECT slot_key, outcome FROM backup_maintenance_runs`);
    expect(rows).toEqual([{ slot_key: 'm:2026-11-28T04:30:00.000Z', outcome: { ok: true, forgotten: 0 } }]);
    now = new Date(T0.getTime() + 24 * HOUR);
    expect(await b!.tick()).toEqual(['prune']);
    await b!.idle();
    expect(ran).toHaveLength(2);
  });
});
