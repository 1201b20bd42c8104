import { readdir, utimes } from 'node:fs/promises';
import { join, relative } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneCatalog } from '../agent/catalog/retention.js';
import { DEFAULT_SCHEMA_MAP } from '../agent/contract/schema-map.js';
import { runBackup } from '../agent/jobs/backup.js';
import { runPrune } from '../agent/jobs/prune.js';
import { openBackupSource } from '../agent/source/backup-source.js';
import type { BlobStore } from '../agent/storage/blob-store.js';
import { silentLogger } from '../agent/logger.js';
import { isValidBlobName } from '../agent/storage/checks.js';
import { openRepository } from '../agent/repository/repository.js';
import { createBackupWorld, type BackupWorld } from '../test-support/fixtures.js';
import { CHILDREN, CLI, runNode, type ChildResult } from './child.js';
import { churn, expectEverySnapshotValid, expectRepositoryClean, expectSnapshotEqualsDatabase, GARBAGE_KINDS } from './invariants.js';
import { pick, report, seeded } from './profile.js';

/**
 * Crash consistency of the backup (issue 10, item 1): a backup in its own process is killed
 * with SIGKILL at seeded random points spread over its whole run, alternately
 *  - at an exact write to the repository (just before, during, or just after the Nth put or
 *    delete, drawn from the writes a complete backup of the same kind made), and
 *  - at a random moment of the real CLI's run (start-up, export, photos, packs, manifest, catalog).
 * After every kill: every listed snapshot passes read-data validation, the repository check finds
 * nothing but garbage (unreferenced or unindexed packs), the killed run's job row is never left
 * `running` (the next reader of the catalog finds its owner gone and records it failed,
 * "interrupted"), and the next backup succeeds.
 * At the end prune removes the garbage, the check is clean with zero findings, no stray file is
 * left in the repository folder, and the newest snapshot holds exactly the database's rows.
 */

type Kind = 'full' | 'incremental';

/** Counts the writes a backup makes (puts and deletes), passing everything through. */
class CountingStore implements BlobStore {
  readonly location: string;
  readonly provider: BlobStore['provider'];
  writes = 0;
  constructor(private readonly inner: BlobStore) {
    this.location = inner.location;
    this.provider = inner.provider;
  }
  put(name: string, data: Buffer | Uint8Array) {
    this.writes++;
    return this.inner.put(name, data);
  }
  delete(name: string) {
    this.writes++;
    return this.inner.delete(name);
  }
  get(name: string) {
    return this.inner.get(name);
  }
  getRange(name: string, offset: number, length: number) {
    return this.inner.getRange(name, offset, length);
  }
  head(name: string) {
    return this.inner.head(name);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  close() {
    return Promise.resolve();
  }
}

describe('backup killed -9 at seeded random points', () => {
  let world: BackupWorld;
  let pool: pg.Pool;
  const repoDir = () => join(world.dir, 'repo');

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: pick(8, 40), packSize: 64 * 1024 });
    pool = new pg.Pool({ connectionString: world.db.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await world?.close();
  });

  const childSpec = (type: Kind, kill?: { at: number; mode: string; delayMs: number }) =>
    JSON.stringify({ url: world.db.url, repo: repoDir(), photos: join(world.dir, 'photos'), passphrase: world.passphrase, type, ...(kill ? { kill } : {}) });
  const cliEnv = () => ({
    DATABASE_URL: world.db.url,
    WEDSYNC_REPO: repoDir(),
    WEDSYNC_PHOTO_STORE: join(world.dir, 'photos'),
    WEDSYNC_PASSPHRASE: world.passphrase,
    WEDSYNC_HOME: join(world.dir, 'home'),
    WEDSYNC_LOG_LEVEL: 'silent',
    WEDSYNC_PARALLELISM: '2',
  });
  const childBackup = (type: Kind, kill?: { at: number; mode: string; delayMs: number }) => runNode([join(CHILDREN, 'backup-child.mjs'), childSpec(type, kill)]);
  const cliBackup = (type: Kind, killAfterMs?: number) => runNode([CLI, 'backup', '--type', type, '--json'], { env: cliEnv(), ...(killAfterMs !== undefined ? { killAfterMs } : {}) });

  function expectOk(r: ChildResult, what: string): void {
    expect(r.code, `${what} failed: ${r.stderr.slice(-1500)}`).toBe(0);
  }
  const writesOf = (r: ChildResult) => Number(/WRITES (\d+)/.exec(r.stdout)?.[1]);

  it('after every kill: listed snapshots validate, check finds only garbage, the next backup succeeds; prune then leaves a clean repository', { timeout: pick(180_000, 1_800_000) }, async () => {
    const prng = seeded('crash-backup');
    const points = pick(20, 80);
    // Reference runs: how many writes, and how long, a complete backup of each kind takes.
    const refWrites: Record<Kind, number> = { full: 0, incremental: 0 };
    const refMs: Record<Kind, number> = { full: 0, incremental: 0 };
    for (const type of ['full', 'incremental'] as const) {
      const viaChild = await childBackup(type);
      expectOk(viaChild, `reference ${type} backup`);
      refWrites[type] = writesOf(viaChild);
      const viaCli = await cliBackup(type);
      expectOk(viaCli, `reference ${type} CLI backup`);
      refMs[type] = viaCli.ms;
    }

    let killed = 0;
    let completedAnyway = 0;
    let interrupted = 0;
    const jobIds = async () => new Set((await pool.query<{ id: string }>(`SELECT id FROM backup_jobs`)).rows.map((r) => r.id));
    /**
     * The job rows a run created, once the server has ended the killed process's session (it
     * notices when it next reads the socket, a moment after the process is gone) and a sweep ran.
     */
    const settledJobs = async (before: Set<string>) => {
      for (let attempt = 0; ; attempt++) {
        await world.catalog.sweepInterrupted();
        const { rows } = await pool.query<{ id: string; status: string; error_details: { code?: string; message?: string } | null }>(`SELECT id, status, error_details FROM backup_jobs`);
        const created = rows.filter((r) => !before.has(r.id));
        if (!rows.some((r) => r.status === 'running') || attempt >= 100) return { created, running: rows.filter((r) => r.status === 'running').length };
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const validated = new Set<string>();
    const logger = await silentLogger();
    // Until `points` kills landed (a kill drawn after the end of a run lets it complete: not counted).
    for (let i = 0; killed < points; i++) {
      if (i >= points * 3) throw new Error(`only ${killed} of ${i} runs were killed before they completed`);
      // New data for the backup to write (rows and photo files), so kills land amid uploads too.
      await churn(pool, world.photoStore, prng);
      const type: Kind = prng.chance(0.5) ? 'full' : 'incremental';
      const before = await jobIds();
      let r: ChildResult;
      let where: string;
      if (i % 2 === 0) {
        const kill = { at: prng.int(1, refWrites[type]), mode: prng.pick(['before', 'during', 'after']), delayMs: prng.int(0, 3) };
        where = `${type} write ${kill.at}/${refWrites[type]} ${kill.mode}`;
        r = await childBackup(type, kill);
      } else {
        const at = prng.int(0, Math.round(refMs[type]));
        where = `${type} CLI at ${at}/${Math.round(refMs[type])} ms`;
        r = await cliBackup(type, at);
      }
      if (r.signal === 'SIGKILL') killed++;
      else {
        expectOk(r, where);
        completedAnyway++;
      }

      // No job left running: the killed one says failed, interrupted (or completed, when the kill came after).
      const jobs = await settledJobs(before);
      expect(jobs.running, `jobs left running after the kill at ${where}`).toBe(0);
      for (const job of jobs.created) {
        if (job.status === 'completed') continue;
        expect(job, `job of the run killed at ${where}`).toMatchObject({ status: 'failed', error_details: { code: 'INTERRUPTED', message: 'interrupted: process ended before completion' } });
        interrupted++;
      }

      // The invariants, from a freshly opened repository (as the next process sees it).
      const repo = await openRepository(world.repoStore, world.passphrase);
      for (const id of await expectEverySnapshotValid(repo, world.catalog, { skip: validated })) validated.add(id);
      await expectRepositoryClean(repo, world.passphrase, GARBAGE_KINDS, { readData: false });
      // The next backup succeeds (in this process, counting its writes: the range of the next kill point).
      const counting = new CountingStore(world.repoStore);
      const next = await runBackup(
        { openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2), catalog: world.catalog, repo: await openRepository(counting, world.passphrase), photoStore: world.photoStore, map: DEFAULT_SCHEMA_MAP, logger },
        { type },
      );
      expect(next.snapshotId, `backup after the kill at ${where}`).toBeTruthy();
      refWrites[type] = counting.writes;
    }

    // Time passes: temp files of puts the kills interrupted are now hours old (as after a night).
    const hoursAgo = new Date(Date.now() - 2 * 3_600_000);
    for (const e of await readdir(repoDir(), { recursive: true, withFileTypes: true })) if (e.name.startsWith('~')) await utimes(join(e.parentPath, e.name), hoursAgo, hoursAgo);

    // Prune collects what the kills left: the first run notes the garbage, a run past the grace period deletes it.
    const catalog = pruneCatalog(pool, DEFAULT_SCHEMA_MAP, world.repoStore.location, 'primary');
    const later = new Date(Date.now() + 7 * 3_600_000);
    const repo = await openRepository(world.repoStore, world.passphrase);
    const garbage = (await expectRepositoryClean(repo, world.passphrase, GARBAGE_KINDS, { readData: false })).length;
    await runPrune({ repo, passphrase: world.passphrase, catalog, logger, timeZone: 'UTC' });
    const pruned = await runPrune({ repo, passphrase: world.passphrase, catalog, logger, timeZone: 'UTC', clock: () => later });
    const fresh = await openRepository(world.repoStore, world.passphrase);
    expect(await expectRepositoryClean(fresh, world.passphrase)).toEqual([]);
    const ids = await expectEverySnapshotValid(fresh, world.catalog);
    // Nothing but blobs in the folder: no temp file of an interrupted write stays behind.
    const stray = (await readdir(repoDir(), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => relative(repoDir(), join(e.parentPath, e.name)))
      .filter((name) => !isValidBlobName(name));
    expect(stray).toEqual([]);
    // No data lost: the newest snapshot is exactly the database.
    const newest = (await world.catalog.listSnapshots({ storageLocation: world.repoStore.location, limit: 1 }))[0]!;
    const rows = await expectSnapshotEqualsDatabase(fresh, newest.id, world.client);
    report('backup kill -9', { points, killed, completedBeforeKill: completedAnyway, jobsRecordedInterrupted: interrupted, snapshotsValid: ids.length, garbageFound: garbage, packsCollected: pruned.gc?.packs.deleted ?? 0, rowsCompared: rows, rowsLost: 0 });
  });
});
