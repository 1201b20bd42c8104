import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { JobQueue } from '../agent/catalog/queue.js';
import { newestCompleteSnapshot, recordOffsiteCopy } from '../agent/catalog/retention.js';
import { backupHandlers, offsiteHandler } from '../agent/jobs/runner-handlers.js';
import { JobRunner, type RunnerEvent } from '../agent/jobs/runner.js';
import { DEFAULT_SCHEMA_MAP } from '../agent/contract/schema-map.js';
import { runBackup, type BackupType } from '../agent/jobs/backup.js';
import { silentLogger } from '../agent/logger.js';
import { openStore } from '../agent/cli/repo.js';
import { initRepository, openRepository, type Repository } from '../agent/repository/repository.js';
import { TEST_KDF } from '../agent/repository/test-helpers.js';
import { openBackupSource } from '../agent/source/backup-source.js';
import { RetryingBlobStore } from '../agent/storage/retrying-store.js';
import { S3BlobStore } from '../agent/storage/s3/s3-store.js';
import { runCli } from '../test-support/cli.js';
import { createBackupWorld, type BackupWorld } from '../test-support/fixtures.js';
import { startS3FaultProxy, type S3FaultProxy } from '../test-support/faults/s3-fault-proxy.js';
import { startS3Server, s3StoreConfig, type S3TestServer } from '../test-support/s3.js';
import { expectEverySnapshotValid, expectRepositoryClean, expectSnapshotEqualsDatabase, GARBAGE_KINDS } from './invariants.js';
import { pick, report, seeded } from './profile.js';

/** The retry settings the CLI and agent use (agent/cli/repo.ts openStore). */
const PRODUCTION_RETRY = { retries: 5, minDelayMs: 100, maxDelayMs: 5_000 };

describe('S3 target behind a fault-injecting proxy', () => {
  let s3: S3TestServer;
  let proxy: S3FaultProxy | undefined;
  let world: BackupWorld;
  const store = (endpoint: string, prefix = 'repo') => new RetryingBlobStore(new S3BlobStore({ ...s3StoreConfig(s3, prefix), endpoint }), PRODUCTION_RETRY);
  const backup = async (repo: Repository, type: BackupType) =>
    runBackup({ openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2), catalog: world.catalog, repo, photoStore: world.photoStore, map: DEFAULT_SCHEMA_MAP, logger: await silentLogger() }, { type });

  beforeAll(async () => {
    s3 = await startS3Server();
    // Small packs (64 KiB): a few hundred requests per backup, so 20% is many faults.
    world = await createBackupWorld({ weddings: pick(8, 40), packSize: 64 * 1024, repoStore: store(s3.endpoint) });
  });
  afterAll(async () => {
    await world?.close();
    await proxy?.stop();
    await s3?.stop();
  });

  it('at 20% faults (500, 503, resets, stalls, truncated bodies) full and incremental backups complete and validate', async () => {
    const prng = seeded('s3-20pct');
    proxy = await startS3FaultProxy({ target: s3.endpoint, seed: prng.int(0, 2 ** 31), rate: 0.2 });
    // The store exactly as the CLI and the agent open it (agent/cli/repo.ts: S3 client, retries),
    // pointed at the proxy the way a user points it at any S3-compatible endpoint.
    const env = { AWS_ENDPOINT_URL: proxy.endpoint, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_REGION: 'us-east-1' };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    onTestFinished(() => {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    });
    const repoStore = await openStore(`s3://${s3.bucket}/repo`);
    const repo = await openRepository(repoStore, world.passphrase);
    const runs = pick(3, 8);
    const done: string[] = [];
    for (let i = 0; i < runs; i++) {
      await world.client.query(`UPDATE guests SET phone = $1 WHERE id IN (SELECT id FROM guests ORDER BY random() LIMIT 5)`, [`+44 7700 9${String(i).padStart(5, '0')}`]);
      done.push((await backup(repo, i === 0 ? 'full' : 'incremental')).snapshotId);
    }
    // Validated through the faults, and again over a clean connection (what a restore reads).
    expect((await expectEverySnapshotValid(repo, world.catalog)).sort()).toEqual([...done].sort());
    const direct = await openRepository(store(s3.endpoint), world.passphrase);
    await expectEverySnapshotValid(direct, world.catalog);
    await expectRepositoryClean(direct, world.passphrase, GARBAGE_KINDS);
    expect(proxy.injected()).toBeGreaterThan(10);
    report('s3 20% faults', { requests: proxy.stats.requests, injected: proxy.injected(), ...proxy.stats.faults, backups: runs, survived: done.length });
    await repoStore.close();
    await direct.store.close();
  });

  it('a fifth of the downloads cut short (bodies truncated mid-transfer): read-data validation still reads every byte right', async () => {
    const prng = seeded('s3-truncate');
    if ((await world.catalog.listSnapshots({ limit: 1 })).length === 0) await backup(await openRepository(store(s3.endpoint), world.passphrase), 'full');
    const cutter = await startS3FaultProxy({ target: s3.endpoint, seed: prng.int(0, 2 ** 31), rate: 0.2, faults: ['truncate'] });
    try {
      // Uploads pass (a truncated upload is refused whole); every other download is cut: only
      // the store's own retries (the SDK does not retry a body that breaks off) get them through.
      const repo = await openRepository(store(cutter.endpoint), world.passphrase);
      const ids = await expectEverySnapshotValid(repo, world.catalog);
      expect(ids.length).toBeGreaterThan(0);
      expect(cutter.stats.faults.truncate).toBeGreaterThan(0);
      report('s3 truncated downloads', { requests: cutter.stats.requests, truncated: cutter.stats.faults.truncate, snapshotsValid: ids.length });
      await repo.store.close();
    } finally {
      await cutter.stop();
    }
  });
});

describe('S3 off-site target down while the local tiers run (job runner, real queue)', () => {
  let s3: S3TestServer;
  let proxy: S3FaultProxy;
  let world: BackupWorld;
  let pool: pg.Pool;
  let runner: JobRunner | undefined;
  const events: RunnerEvent[] = [];
  const offsite = () => new RetryingBlobStore(new S3BlobStore({ ...s3StoreConfig(s3, 'offsite'), endpoint: proxy.endpoint }), PRODUCTION_RETRY);

  beforeAll(async () => {
    s3 = await startS3Server();
    proxy = await startS3FaultProxy({ target: s3.endpoint, seed: 1, rate: 0 });
    world = await createBackupWorld({ weddings: 6 });
    pool = new pg.Pool({ connectionString: world.db.url, max: 4 });
    const logger = await silentLogger();
    const deps = {
      openRepository: () => openRepository(world.repoStore, world.passphrase),
      catalog: world.catalog,
      openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 1),
      photoStore: world.photoStore,
      map: DEFAULT_SCHEMA_MAP,
      logger,
      agentName: 'reliability-agent',
    };
    runner = new JobRunner({
      agentId: 'reliability-agent',
      queue: new JobQueue(pool),
      logger,
      pollMs: 50,
      backoff: { baseMs: 50, factor: 1, maxMs: 50 },
      handlers: {
        ...backupHandlers(deps),
        offsite: offsiteHandler({
          ...deps,
          passphrase: world.passphrase,
          openTarget: async () => offsite(),
          newestCompleteSnapshot: (location) => newestCompleteSnapshot(pool, location),
          recordCopy: async (id, copy) => void (await recordOffsiteCopy(pool, id, copy)),
        }),
      },
      onEvent: (e) => void events.push(e),
    });
    runner.start();
  });
  afterAll(async () => {
    await runner?.stop(5_000);
    await pool?.end();
    await world?.close();
    await proxy?.stop();
    await s3?.stop();
  });

  const queue = () => new JobQueue(pool);
  async function settled(jobId: string, timeoutMs = 60_000): Promise<{ status: string; error_details: { code: string; message: string } | null }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await pool.query(`SELECT status, error_details FROM backup_jobs WHERE id = $1`, [jobId]);
      if (['completed', 'failed', 'cancelled'].includes(rows[0]?.status)) return rows[0];
      if (Date.now() > deadline) throw new Error(`job ${jobId} still ${rows[0]?.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('the off-site job fails with a clear reason and leaves nothing half-visible; local backups keep working; the next run succeeds once S3 is back', async () => {
    const enqueue = async (backupType: 'full' | 'incremental' | 'offsite', tier: number) =>
      (await queue().enqueue({ backupType, tier, priority: 5, scheduledAt: new Date(Date.now() - 1000), maxAttempts: 1 })).id;
    const full = await enqueue('full', 3);
    expect((await settled(full)).status).toBe('completed');

    proxy.setDown(true);
    const copy = await enqueue('offsite', 4);
    runner!.wake();
    const failed = await settled(copy);
    expect(failed.status).toBe('failed');
    expect(failed.error_details?.code).toBe('STORAGE_UNAVAILABLE');
    expect(failed.error_details?.message).toMatch(/S3 .* of .*s3:\/\/wedsync-test\/offsite.* failed/);
    expect(failed.error_details?.message.split('\n')).toHaveLength(1);

    // Local tiers while S3 is down.
    await world.client.query(`UPDATE guests SET dietary_requirements = 'changed while S3 was down' WHERE id = (SELECT id FROM guests ORDER BY id LIMIT 1)`);
    const inc = await enqueue('incremental', 2);
    runner!.wake();
    expect((await settled(inc)).status).toBe('completed');

    // Nothing of the failed copy is visible off-site, and the catalog records no copy.
    const direct = new S3BlobStore({ ...s3StoreConfig(s3, 'offsite') });
    expect((await direct.list('snapshots/')).length).toBe(0);
    const copies = await pool.query(`SELECT count(*)::int AS n FROM backup_snapshots WHERE offsite_copies <> '[]'::jsonb`);
    expect(copies.rows[0].n).toBe(0);

    // S3 back: the next scheduled off-site run copies the newest snapshot, verified.
    proxy.setDown(false);
    const next = await enqueue('offsite', 4);
    runner!.wake();
    const ok = await settled(next);
    expect(ok).toMatchObject({ status: 'completed' });
    const newest = await newestCompleteSnapshot(pool, world.repoStore.location);
    const replica = await openRepository(direct, world.passphrase);
    expect(await replica.listSnapshots()).toEqual([newest!.id]);
    await expectEverySnapshotValid(replica);
    report('s3 down', { refused: proxy.stats.refused, offsiteFailed: 1, localJobsDuringOutage: 1, offsiteAfterRecovery: 'completed' });
    await direct.close();
  });
});

describe('S3 connections that stall forever (no answer, or a download that stops mid-body, never closed)', () => {
  let s3: S3TestServer;
  let proxy: S3FaultProxy;
  let world: BackupWorld;
  const direct = () => new S3BlobStore({ ...s3StoreConfig(s3, 'stall') });
  /** The real CLI, pointed at the proxy, with a 500 ms idle bound (WEDSYNC_S3_REQUEST_TIMEOUT). */
  const cliEnv = () => ({
    DATABASE_URL: world.db.url,
    WEDSYNC_REPO: `s3://${s3.bucket}/stall`,
    WEDSYNC_PHOTO_STORE: join(world.dir, 'photos'),
    WEDSYNC_PASSPHRASE: world.passphrase,
    WEDSYNC_HOME: join(world.dir, 'home'),
    WEDSYNC_LOG_LEVEL: 'silent',
    WEDSYNC_PARALLELISM: '2',
    WEDSYNC_S3_REQUEST_TIMEOUT: '500ms',
    AWS_ENDPOINT_URL: proxy.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: 'us-east-1',
  });

  beforeAll(async () => {
    s3 = await startS3Server();
    world = await createBackupWorld({ weddings: pick(6, 20) });
    // Small packs: many requests, so a share of them hang.
    await initRepository(direct(), world.passphrase, { kdf: TEST_KDF, packSize: 64 * 1024 });
  });
  afterAll(async () => {
    await proxy?.stop();
    await world?.close();
    await s3?.stop();
  });

  it('each stall is cut short after the configured idle time and retried: the backup completes, exact; with every request stalling it fails cleanly within the bound', { timeout: 180_000 }, async () => {
    const prng = seeded('s3-hang');
    proxy = await startS3FaultProxy({ target: s3.endpoint, seed: prng.int(0, 2 ** 31), rate: 0.15, faults: ['hang'] });
    const ok = await runCli(['backup', '--type', 'full', '--json'], cliEnv(), { timeoutMs: 150_000 });
    expect(ok.code, ok.stderr.slice(-1500)).toBe(0);
    const { snapshotId } = JSON.parse(ok.stdout) as { snapshotId: string };
    const hung = proxy.stats.faults.hang;
    expect(hung).toBeGreaterThan(0);
    const repo = await openRepository(direct(), world.passphrase);
    const rows = await expectSnapshotEqualsDatabase(repo, snapshotId, world.client);

    // S3 accepts connections and then says nothing, ever: the backup gives up by itself, in one
    // line, with nothing new visible in the repository.
    proxy.setRate(1);
    const before = await repo.listSnapshots();
    const started = performance.now();
    const failed = await runCli(['backup', '--type', 'full', '--json'], cliEnv(), { timeoutMs: 150_000 });
    const ms = Math.round(performance.now() - started);
    expect(failed.code, failed.stdout + failed.stderr).toBe(1);
    const error = (JSON.parse(failed.stdout) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('STORAGE_UNAVAILABLE');
    expect(error.message).toMatch(/timed out after 500 ms of inactivity/);
    expect(error.message.split('\n')).toHaveLength(1);
    expect(await (await openRepository(direct(), world.passphrase)).listSnapshots()).toEqual(before);
    report('s3 stalls', { requests: proxy.stats.requests, stalled: proxy.stats.faults.hang, stalledInCompletedBackup: hung, rowsCompared: rows, allStalledFailedAfterMs: ms, rowsLost: 0 });
  });
});
