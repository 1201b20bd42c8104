import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRecoveryCatalog, type RecoveryCatalog } from '../agent/catalog/recovery.js';
import { isWedsyncError } from '../agent/contract/errors.js';
import { DEFAULT_SCHEMA_MAP } from '../agent/contract/schema-map.js';
import { runBackup } from '../agent/jobs/backup.js';
import { previewRestore, startRestore, type RestoreDeps, type RestoreRequest } from '../agent/jobs/restore.js';
import type { TierOneStream } from '../agent/jobs/stream.js';
import { silentLogger } from '../agent/logger.js';
import { openRepository } from '../agent/repository/repository.js';
import { openBackupSource } from '../agent/source/backup-source.js';
import { connect, databaseError } from '../agent/source/db.js';
import { startEmbeddedPostgres, type EmbeddedCluster } from '../agent/source/embedded.js';
import { runCli } from '../test-support/cli.js';
import { cliEnv, createBackupWorld, restoreDepsFor, type BackupWorld } from '../test-support/fixtures.js';
import { cachedRows, createTier1World, liveRows, waitFor, type Tier1World } from '../test-support/tier1.js';
import { churn, expectEverySnapshotValid, expectSnapshotEqualsDatabase, tableDigests } from './invariants.js';
import { pick, report, seeded } from './profile.js';

/**
 * Database faults (issue 10, item 3): the connection killed mid-export and mid-restore
 * (pg_terminate_backend), a statement timeout, a table locked by a long transaction, and the
 * server restarted under the tier 1 stream. Each ends cleanly — the job or operation failed
 * with the reason in one line, nothing half-visible, the database unchanged — or, where the
 * product can ride it out, succeeds; and nothing is lost.
 */
describe('database faults during backup and restore', () => {
  let world: BackupWorld;
  let admin: pg.Client;
  let recovery: RecoveryCatalog;
  let deps: RestoreDeps;
  let snapshotId: string;
  let wedding: string;
  let faults = 0;

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 8 });
    admin = new pg.Client({ connectionString: world.db.url });
    await admin.connect();
    recovery = await openRecoveryCatalog(world.db.url);
    deps = restoreDepsFor(world, recovery, await silentLogger());
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    wedding = (await world.repo.loadManifest(snapshotId)).weddings[0]!.weddingId;
  });
  afterAll(async () => {
    await admin?.query(`ALTER DATABASE ${world.db.name} RESET ALL`).catch(() => undefined);
    await admin?.end();
    await recovery?.close();
    await world?.close();
    report('database faults', { injected: faults, rowsLost: 0 });
  });

  const backup = async (opts: { onProgress?: () => void; lockTimeoutMs?: number } = {}) =>
    runBackup(
      {
        openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2, opts.lockTimeoutMs ? { lockTimeoutMs: opts.lockTimeoutMs } : {}),
        catalog: world.catalog,
        repo: await openRepository(world.repoStore, world.passphrase),
        photoStore: world.photoStore,
        map: DEFAULT_SCHEMA_MAP,
        logger: deps.logger,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      },
      { type: 'full' },
    );
  const lastJob = async () => (await admin.query(`SELECT status, error_details FROM backup_jobs ORDER BY created_at DESC LIMIT 1`)).rows[0];
  /** The backup failed with `code` and `message` in one line; its job row (when it got as far as creating one) says failed with the reason; no snapshot appeared. */
  const jobCount = async () => (await admin.query(`SELECT count(*)::int AS n FROM backup_jobs`)).rows[0].n as number;
  async function expectCleanFailure(attempt: Promise<unknown>, code: string, message: RegExp, before: string[], jobsBefore?: number): Promise<void> {
    jobsBefore ??= await jobCount();
    const error = await attempt.then(
      () => null,
      (err: unknown) => err,
    );
    expect(isWedsyncError(error), String(error)).toBe(true);
    expect(error).toMatchObject({ code });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toMatch(/\n/);
    if ((await admin.query(`SELECT count(*)::int AS n FROM backup_jobs`)).rows[0].n > jobsBefore) expect(await lastJob()).toMatchObject({ status: 'failed', error_details: { code } });
    expect((await admin.query(`SELECT count(*)::int AS n FROM backup_jobs WHERE status = 'running'`)).rows[0].n).toBe(0);
    expect((await world.catalog.listSnapshots()).map((s) => s.id)).toEqual(before);
    expect(await (await openRepository(world.repoStore, world.passphrase)).listSnapshots()).toEqual([...before].sort());
  }
  const listed = async () => (await world.catalog.listSnapshots()).map((s) => s.id);

  it('export connections killed (pg_terminate_backend) at seeded points: the job fails with the reason; the next backup is exact', async () => {
    const prng = seeded('terminate export');
    for (let run = 0; run < pick(3, 12); run++) {
      await churn(world.client, world.photoStore, prng, 2);
      const before = await listed();
      const jobsBefore = await jobCount();
      const at = prng.int(1, 4);
      let calls = 0;
      const attempt = backup({
        onProgress: () => {
          if (++calls !== at) return;
          faults++;
          void admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'wedsync-backup export%' AND pid <> pg_backend_pid()`);
        },
      });
      // Mostly the backup fails (and must fail cleanly); when the kill lands after the last row
      // was read it may complete — then its snapshot must hold every row, none cut off.
      const finished = await attempt.then(
        (r) => r,
        () => null,
      );
      if (finished) await expectSnapshotEqualsDatabase(world.repo, finished.snapshotId, world.client);
      else await expectCleanFailure(attempt, 'DB_UNREACHABLE', /lost the connection|cannot reach the database/, before, jobsBefore);
      const next = await backup();
      await expectSnapshotEqualsDatabase(world.repo, next.snapshotId, world.client);
    }
    await expectEverySnapshotValid(await openRepository(world.repoStore, world.passphrase), world.catalog);
  });

  it('a table locked by a long transaction: the backup gives up after its lock timeout with the reason, then succeeds once the lock is gone', { timeout: 30_000 }, async () => {
    const locker = new pg.Client({ connectionString: world.db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE guests IN ACCESS EXCLUSIVE MODE');
      faults++;
      const before = await listed();
      const jobsBefore = await jobCount();
      await expectCleanFailure(backup({ lockTimeoutMs: 300 }), 'CONFLICT', /waited 300ms for a lock and gave up \(lock timeout.*table public\.guests is locked \(AccessExclusiveLock\) by pid \d+/, before, jobsBefore);
      // The attempt is in the job history, failed with the reason.
      expect(await jobCount()).toBe(jobsBefore + 1);
      await locker.query('ROLLBACK');
      const next = await backup({ lockTimeoutMs: 300 });
      await expectSnapshotEqualsDatabase(world.repo, next.snapshotId, world.client);
    } finally {
      await locker.end();
    }
  });

  it('a source that will not open (connection refused; a lock wait that runs out while opening) still leaves a failed job row with the reason', { timeout: 30_000 }, async () => {
    const before = await listed();
    const attempt = (openSource: () => ReturnType<typeof openBackupSource>) =>
      runBackup({ openSource, catalog: world.catalog, repo: world.repo, photoStore: world.photoStore, map: DEFAULT_SCHEMA_MAP, logger: deps.logger }, { type: 'full' });

    // Nothing listens there: refused before any job work began.
    let jobsBefore = await jobCount();
    faults++;
    await expectCleanFailure(attempt(() => openBackupSource('postgres://postgres@127.0.0.1:1/nowhere', DEFAULT_SCHEMA_MAP, 2)), 'DB_UNREACHABLE', /cannot reach the database at 127\.0\.0\.1:1\/nowhere/, before, jobsBefore);
    expect(await jobCount()).toBe(jobsBefore + 1);
    expect(await lastJob()).toMatchObject({ status: 'failed', error_details: { code: 'DB_UNREACHABLE', message: expect.stringMatching(/cannot reach the database at 127\.0\.0\.1:1\/nowhere/) } });

    // The weddings table is locked by a long transaction (a migration, say): opening the source
    // waits for that lock and gives up after its lock timeout, before any job work began.
    const locker = new pg.Client({ connectionString: world.db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE weddings IN ACCESS EXCLUSIVE MODE');
      jobsBefore = await jobCount();
      faults++;
      await expectCleanFailure(
        attempt(() => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2, { lockTimeoutMs: 300 })),
        'CONFLICT',
        /table public\.weddings is locked \(AccessExclusiveLock\) by pid \d+/,
        before,
        jobsBefore,
      );
      expect(await jobCount()).toBe(jobsBefore + 1);
      expect(await lastJob()).toMatchObject({ status: 'failed', error_details: { code: 'CONFLICT' } });
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
  });

  it('`backup --lock-timeout 300ms` (the CLI) gives up on a locked table after 300 ms, naming the table, who holds it and the bound, and records the failed job', { timeout: 60_000 }, async () => {
    const locker = new pg.Client({ connectionString: world.db.url, application_name: 'wedsync reliability locker' });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE guests IN ACCESS EXCLUSIVE MODE');
      faults++;
      const jobsBefore = await jobCount();
      const env = cliEnv(world, { WEDSYNC_LOG_LEVEL: 'silent' });
      const run = await runCli(['backup', '--type', 'full', '--lock-timeout', '300ms'], env);
      expect(run.code, run.stderr).toBe(1); // CONFLICT
      const line = run.stderr.trim();
      expect(line.split('\n')).toHaveLength(1);
      expect(line).toMatch(/waited 300ms for a lock and gave up \(lock timeout; --lock-timeout \/ WEDSYNC_LOCK_TIMEOUT\): table public\.guests is locked \(AccessExclusiveLock\) by pid \d+ \(wedsync reliability locker\), in a transaction open \d+ s/);
      expect(await jobCount()).toBe(jobsBefore + 1);
      expect(await lastJob()).toMatchObject({ status: 'failed', error_details: { code: 'CONFLICT', message: expect.stringMatching(/table public\.guests is locked/) } });
      // A bad duration is refused before anything runs.
      const bad = await runCli(['backup', '--lock-timeout', 'soon'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--lock-timeout must be a duration such as 500ms, 30s, 2m or 1h/);
      expect(await jobCount()).toBe(jobsBefore + 1);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
  });

  it('a statement timeout shorter than the export (a lock wait here) does not cancel the backup', { timeout: 30_000 }, async () => {
    await admin.query(`ALTER DATABASE ${world.db.name} SET statement_timeout = '150ms'`);
    const locker = new pg.Client({ connectionString: world.db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE guests IN ACCESS EXCLUSIVE MODE');
      faults++;
      // The COPY of guests waits ~600 ms for the lock: four times the statement timeout.
      setTimeout(() => void locker.query('ROLLBACK'), 600);
      const result = await backup();
      await admin.query(`ALTER DATABASE ${world.db.name} RESET statement_timeout`);
      await expectSnapshotEqualsDatabase(world.repo, result.snapshotId, world.client);
    } finally {
      await admin.query(`ALTER DATABASE ${world.db.name} RESET statement_timeout`);
      await locker.end();
    }
  });

  it('a connection broken mid-session is reported as lost (DB_UNREACHABLE), never as a bug (INTERNAL)', async () => {
    const client = await connect(world.db.url, { applicationName: 'wedsync-backup reliability victim' });
    try {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'wedsync-backup reliability victim'`);
      faults++;
      // The first query meets the termination; every later one the pg client's "not queryable".
      for (let i = 0; i < 2; i++) {
        const err = await client.query('SELECT 1').then(
          () => null,
          (e: unknown) => databaseError(e, world.db.url),
        );
        expect(err).toMatchObject({ code: 'DB_UNREACHABLE' });
        expect(err!.message).toMatch(/lost the connection|cannot reach/);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  });

  const request = (): RestoreRequest => ({ snapshotId, recoveryScope: 'wedding-only', weddingIds: [wedding] });
  async function restore(extra: Partial<RestoreDeps> = {}) {
    const d = { ...deps, ...extra } as RestoreDeps;
    const { preview, prepared } = await previewRestore(d, request());
    const started = await startRestore(d, request(), preview.confirmationToken, { initiatedByLabel: 'reliability test' }, prepared);
    return started.done;
  }
  async function expectRestoreFailedCleanly(attempt: Promise<unknown>, code: string, message: RegExp, before: Record<string, string>, tookRecoveryPoint = true) {
    const error = await attempt.then(
      () => null,
      (err: unknown) => err,
    );
    expect(error, 'the restore should have failed').toMatchObject({ code });
    expect((error as Error).message).toMatch(message);
    expect(await tableDigests(world.client)).toEqual(before);
    const [op] = await recovery.list({ limit: 1 });
    expect(op).toMatchObject({ status: 'failed', errorDetails: { code } });
    // Its recovery point was taken (under the apply's locks) before anything changed, and is
    // whole — unless it failed while taking those locks, when there was nothing to keep yet.
    if (tookRecoveryPoint) expect(op!.preRecoverySnapshot).toBeTruthy();
    else expect(op!.preRecoverySnapshot).toBeNull();
    await expectEverySnapshotValid(world.repo, world.catalog);
  }

  it('the restore connection killed mid-apply: rolled back, operation failed with the reason; a retry succeeds', async () => {
    await world.client.query(`DELETE FROM guests WHERE wedding_id = $1`, [wedding]);
    const before = await tableDigests(world.client);
    faults++;
    const attempt = restore({
      afterMerge: async () => {
        await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle in transaction'`);
      },
    });
    await expectRestoreFailedCleanly(attempt, 'DB_UNREACHABLE', /lost the connection|cannot reach/, before);
    expect(await restore()).toMatchObject({ status: 'completed' });
    expect((await world.client.query(`SELECT count(*)::int AS n FROM guests WHERE wedding_id = $1`, [wedding])).rows[0].n).toBeGreaterThan(0);
  });

  it('a statement timeout during the apply (rows held by another transaction): rolled back with the reason; a retry succeeds', { timeout: 30_000 }, async () => {
    await world.client.query(`UPDATE guests SET dietary_requirements = 'edited' WHERE wedding_id = $1`, [wedding]);
    const before = await tableDigests(world.client);
    const locker = new pg.Client({ connectionString: world.db.url });
    await locker.connect();
    try {
      await admin.query(`ALTER DATABASE ${world.db.name} SET statement_timeout = '300ms'`);
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM guests WHERE wedding_id = $1 FOR UPDATE`, [wedding]);
      faults++;
      // It times out taking the locks: before the recovery point, which is taken under them.
      await expectRestoreFailedCleanly(restore(), 'DB_UNREACHABLE', /cancelled a statement: canceling statement due to statement timeout/, before, false);
      await locker.query('ROLLBACK');
      await admin.query(`ALTER DATABASE ${world.db.name} RESET statement_timeout`);
      expect(await restore()).toMatchObject({ status: 'completed' });
    } finally {
      await admin.query(`ALTER DATABASE ${world.db.name} RESET statement_timeout`);
      await locker.end();
    }
  });
});

describe('the server restarted under the tier 1 stream', () => {
  let dir: string;
  let cluster: EmbeddedCluster;
  let world: Tier1World;
  let stream: TierOneStream;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wedsync-restart-'));
    cluster = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), persistent: true, settings: { fsync: 'off' } });
    world = await createTier1World(cluster.url, { weddings: 2 });
  }, 180_000);
  afterAll(async () => {
    await stream?.stop();
    await world?.close().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loses no change committed before the restart and applies none twice', { timeout: 120_000 }, async () => {
    const W = world.weddingIds[0]!;
    stream = world.stream({ weddings: [W] });
    stream.start();
    await waitFor(() => world.store.getWedding(W)?.state === 'ready', 'wedding loaded', 60_000);
    const { rows: guests } = await world.client.query<{ id: string }>('SELECT id::text FROM guests WHERE wedding_id = $1 ORDER BY id', [W]);
    const N = pick(60, 400);
    const write = async (client: pg.Client, from: number, to: number) => {
      for (let i = from; i < to; i++) await client.query('UPDATE guests SET dietary_requirements = $1 WHERE id = $2', [`m${i}`, guests[i % guests.length]!.id]);
    };
    // Half the changes in a burst, and the server stops at once: some are committed but not streamed yet.
    await write(world.client, 0, N / 2);
    await world.client.end();
    await cluster.stop();
    await waitFor(() => stream.status().mode === 'offline', 'the stream notices', 30_000);
    cluster = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: cluster.port, persistent: true, settings: { fsync: 'off' } });
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      await write(client, N / 2, N);
      await waitFor(() => world.store.changes({ weddingId: W }).some((c) => c.values?.dietary_requirements === `m${N - 1}`), 'every change streamed', 60_000);
      const markers = world.store
        .changes({ weddingId: W })
        .map((c) => c.values?.dietary_requirements)
        .filter((v): v is string => typeof v === 'string' && /^m\d+$/.test(v));
      expect(markers).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));
      expect(cachedRows(world.store, W)).toEqual(await liveRows(client, W));
      report('tier 1 server restart', { changes: N, restarts: 1, lost: 0, duplicated: 0 });
    } finally {
      await client.end();
    }
  });
});
