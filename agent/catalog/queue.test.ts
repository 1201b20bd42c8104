import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { isWedsyncError } from '../contract/errors.js';
import { migrate } from './migrate.js';
import { JobQueue, backoffDelay } from './queue.js';

let db: TestDatabase;
let pool: pg.Pool;
let other: pg.Pool;
let now: Date;
let queue: JobQueue;
let queue2: JobQueue;

const T0 = new Date('2026-06-10T09:00:00Z');
const later = (ms: number) => new Date(now.getTime() + ms);
const W1 = '11111111-1111-4111-8111-111111111111';
const W2 = '22222222-2222-4222-8222-222222222222';

beforeAll(async () => {
  db = await createTestDatabase('queue');
  await migrate(db.url);
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  other = new pg.Pool({ connectionString: db.url, max: 4 });
  queue = new JobQueue(pool, { clock: () => now });
  queue2 = new JobQueue(other, { clock: () => now });
});

afterAll(async () => {
  await pool?.end();
  await other?.end();
  await db?.drop();
});

beforeEach(async () => {
  now = T0;
  await pool.query('TRUNCATE backup_jobs CASCADE');
});

describe('JobQueue', () => {
  it('plans a slot once, whoever plans it and however often', async () => {
    const job = { backupType: 'incremental' as const, tier: 2, priority: 9, weddingIds: [W1], scheduledAt: T0, slotKey: 't2:2026-06-10T09:00:00.000Z' };
    const results = await Promise.all([queue.enqueue(job), queue2.enqueue(job), queue.enqueue(job), queue2.enqueue(job)]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM backup_jobs');
    expect(rows[0].n).toBe(1);
  });

  it('a newer slot supersedes the tier’s older pending ones and takes over their weddings', async () => {
    await queue.enqueue({ backupType: 'incremental', tier: 2, priority: 9, weddingIds: [W1], scheduledAt: T0, slotKey: 't2:a' });
    const second = await queue.enqueue({ backupType: 'incremental', tier: 2, priority: 6, weddingIds: [W2], scheduledAt: later(15 * 60_000), slotKey: 't2:b' });
    expect(second.superseded).toBe(1);
    const job = await queue.get(second.id);
    expect(job).toMatchObject({ weddingIds: [W1, W2].sort(), priority: 9, status: 'pending' });
    const old = await pool.query(`SELECT status, error_details->>'code' AS code FROM backup_jobs WHERE slot_key = 't2:a'`);
    expect(old.rows[0]).toEqual({ status: 'cancelled', code: 'SUPERSEDED' });
  });

  it('claims the most urgent due job first; the urgent lane never takes routine work', async () => {
    await queue.enqueue({ backupType: 'full', tier: 3, priority: 3, scheduledAt: new Date(T0.getTime() - 3_600_000) });
    await queue.enqueue({ backupType: 'incremental', tier: 2, priority: 9, weddingIds: [W1], scheduledAt: T0 });
    await queue.enqueue({ backupType: 'incremental', tier: 2, priority: 9, weddingIds: [W2], scheduledAt: later(60_000) }); // not due yet
    expect(await queue.claim('urgent', { types: ['incremental', 'full'], minPriority: 7, leaseMs: 60_000 })).toMatchObject({ priority: 9, weddingIds: [W1], attempts: 1 });
    expect(await queue.claim('urgent', { types: ['incremental', 'full'], minPriority: 7, leaseMs: 60_000 })).toBeNull();
    expect(await queue.claim('routine', { types: ['incremental'], leaseMs: 60_000 })).toBeNull(); // the full is not its type
    expect(await queue.claim('routine', { types: ['incremental', 'full'], leaseMs: 60_000 })).toMatchObject({ backupType: 'full', claimedBy: 'routine' });
  });

  it('never hands one job to two agents claiming at once', async () => {
    for (let i = 0; i < 6; i++) await queue.enqueue({ backupType: 'incremental', tier: 2, priority: 5, scheduledAt: T0 });
    const claims = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? queue : queue2).claim(`agent-${i}`, { types: ['incremental'], leaseMs: 60_000 })));
    const got = claims.filter((c) => c !== null).map((c) => c!.id);
    expect(got).toHaveLength(6);
    expect(new Set(got).size).toBe(6);
  });

  it('takes over a job whose lease expired; the old holder can no longer touch it', async () => {
    const { id } = await queue.enqueue({ backupType: 'full', tier: 3, priority: 3, scheduledAt: T0 });
    const first = (await queue.claim('dead-agent', { types: ['full'], leaseMs: 60_000 }))!;
    expect(await queue2.claim('live-agent', { types: ['full'], leaseMs: 60_000 })).toBeNull();
    now = later(30_000);
    expect(await queue.renew(first, 60_000)).toBe('ok');
    now = later(61_000);
    const taken = (await queue2.claim('live-agent', { types: ['full'], leaseMs: 60_000 }))!;
    expect(taken).toMatchObject({ id, attempts: 2, claimedBy: 'live-agent' });
    expect(await queue.renew(first, 60_000)).toBe('lost');
    expect(await queue.complete(first)).toBe(false);
    expect(await queue2.complete(taken, { progress: { snapshotId: 'x' } })).toBe(true);
    expect(await queue.get(id)).toMatchObject({ status: 'completed', claimedBy: 'live-agent' });
  });

  it('retries a failed job after a backoff, then fails it for good', async () => {
    const { id } = await queue.enqueue({ backupType: 'incremental', tier: 2, priority: 8, scheduledAt: T0, maxAttempts: 2 });
    const a1 = (await queue.claim('a', { types: ['incremental'], leaseMs: 60_000 }))!;
    const r1 = await queue.fail(a1, { code: 'STORAGE_UNAVAILABLE', message: 'S3 said 503' }, { retryable: true });
    expect(r1).toEqual({ outcome: 'retry', notBefore: new Date(T0.getTime() + backoffDelay(1)) });
    expect(await queue.claim('a', { types: ['incremental'], leaseMs: 60_000 })).toBeNull(); // backing off
    now = new Date(T0.getTime() + backoffDelay(1));
    const a2 = (await queue.claim('b', { types: ['incremental'], leaseMs: 60_000 }))!;
    expect(a2.attempts).toBe(2);
    expect(await queue.fail(a2, { code: 'STORAGE_UNAVAILABLE', message: 'S3 said 503 again' }, { retryable: true })).toEqual({ outcome: 'failed' });
    expect(await queue.get(id)).toMatchObject({ status: 'failed', errorDetails: { code: 'STORAGE_UNAVAILABLE', message: 'S3 said 503 again', attempt: 2 } });
    expect(backoffDelay(1)).toBe(30_000);
    expect(backoffDelay(2)).toBe(120_000);
    expect(backoffDelay(10)).toBe(30 * 60_000);
  });

  it('does not retry errors that will not go away', async () => {
    await queue.enqueue({ backupType: 'incremental', tier: 2, priority: 8, scheduledAt: T0 });
    const a = (await queue.claim('a', { types: ['incremental'], leaseMs: 60_000 }))!;
    expect(await queue.fail(a, { code: 'WRONG_PASSPHRASE', message: 'wrong passphrase' }, { retryable: false })).toEqual({ outcome: 'failed' });
  });

  it('fails a job whose agents died max_attempts times', async () => {
    const { id } = await queue.enqueue({ backupType: 'full', tier: 3, priority: 3, scheduledAt: T0, maxAttempts: 2 });
    await queue.claim('a', { types: ['full'], leaseMs: 1_000 });
    now = later(2_000);
    await queue.claim('b', { types: ['full'], leaseMs: 1_000 });
    now = later(2_000);
    expect(await queue.claim('c', { types: ['full'], leaseMs: 1_000 })).toBeNull();
    const expired = await queue.expireLeases();
    expect(expired.map((j) => j.id)).toEqual([id]);
    expect((await queue.get(id))!.errorDetails).toMatchObject({ code: 'AGENT_LOST' });
  });

  it('cancels pending and running jobs; the holder learns it at its next renewal', async () => {
    const { id } = await queue.enqueue({ backupType: 'full', tier: 3, priority: 3, scheduledAt: T0 });
    const held = (await queue.claim('a', { types: ['full'], leaseMs: 60_000 }))!;
    expect(await queue2.cancel(id, 'test')).toBe('cancelled');
    expect(await queue.renew(held, 60_000)).toBe('cancelled');
    expect(await queue.complete(held)).toBe(false);
    expect(await queue2.cancel(id)).toBe('already-finished');
    await expect(queue2.cancel('99999999-9999-4999-8999-999999999999')).rejects.toSatisfy((e) => isWedsyncError(e, 'NOT_FOUND'));
  });

  it('a released job is claimable at once and the attempt is not counted', async () => {
    const { id } = await queue.enqueue({ backupType: 'full', tier: 3, priority: 3, scheduledAt: T0 });
    const held = (await queue.claim('stopping', { types: ['full'], leaseMs: 60_000 }))!;
    expect(await queue.release(held)).toBe(true);
    expect(await queue2.claim('other', { types: ['full'], leaseMs: 60_000 })).toMatchObject({ id, attempts: 1 });
  });

  it('reports the newest planned slot per tier, and runs maintenance once per slot', async () => {
    await queue.enqueue({ backupType: 'full', tier: 3, priority: 3, scheduledAt: T0, slotKey: 't3:x' });
    await queue.enqueue({ backupType: 'incremental', tier: 2, priority: 3, scheduledAt: later(1000), slotKey: 't2:y' });
    await queue.enqueue({ backupType: 'full', tier: null, priority: 3, scheduledAt: later(5000) }); // by hand: no slot
    expect(await queue.lastPlannedSlots()).toEqual({ 2: later(1000), 3: T0 });
    const claims = await Promise.all([queue.claimMaintenance('prune', 'p:1', 'a'), queue2.claimMaintenance('prune', 'p:1', 'b')]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    await queue.finishMaintenance('prune', 'p:1', { ok: true });
    expect(await queue.lastMaintenance('prune')).toMatchObject({ slotKey: 'p:1', outcome: { ok: true } });
  });

  it('maps an unreachable database to DB_UNREACHABLE', async () => {
    const dead = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 2000 });
    dead.on('error', () => undefined);
    await expect(new JobQueue(dead).claim('a', { types: ['full'], leaseMs: 1000 })).rejects.toSatisfy((e) => isWedsyncError(e, 'DB_UNREACHABLE'));
    await dead.end();
  });
});
