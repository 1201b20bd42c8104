import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../agent/catalog/queue.js';
import { openRecoveryCatalog, type RecoveryCatalog } from '../agent/catalog/recovery.js';
import { DEFAULT_SCHEMA_MAP } from '../agent/contract/schema-map.js';
import { runBackup } from '../agent/jobs/backup.js';
import { previewRestore, startRestore, type RestoreDeps, type RestoreRequest } from '../agent/jobs/restore.js';
import { silentLogger } from '../agent/logger.js';
import { openRepository } from '../agent/repository/repository.js';
import { openBackupSource } from '../agent/source/backup-source.js';
import { createBackupWorld, restoreDepsFor, type BackupWorld } from '../test-support/fixtures.js';
import { CHILDREN } from './child.js';
import { churn, expectEverySnapshotValid, expectRepositoryClean, expectSnapshotEqualsDatabase, GARBAGE_KINDS } from './invariants.js';
import { pick, report, seeded } from './profile.js';

/** An agent process (reliability/children/agent-child.mjs) and what it printed so far. */
interface AgentChild {
  id: string;
  process: ChildProcess;
  out: string;
}

/**
 * Concurrency across agents (issue 10, item 4): three agent processes on one catalog and one
 * repository run a queue of real backup jobs; one is killed -9 in the middle of a backup. Every
 * job ends completed exactly once (the orphan taken over when its lease runs out), every listed
 * snapshot validates, the repository holds nothing worse than garbage. And a restore while a
 * backup runs: both complete, the restore exactly, the backup consistent.
 */
describe('three agents on one catalog, one killed mid-backup', () => {
  let world: BackupWorld;
  let pool: pg.Pool;
  const agents: AgentChild[] = [];
  const leaseMs = 2_000;

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 6, packSize: 64 * 1024 });
    pool = new pg.Pool({ connectionString: world.db.url, max: 3 });
  });
  afterAll(async () => {
    for (const a of agents) a.process.kill('SIGKILL');
    await pool?.end();
    await world?.close();
  });

  const startAgent = (id: string): Promise<AgentChild> =>
    new Promise((resolve, reject) => {
      const spec = { agentId: id, url: world.db.url, repo: join(world.dir, 'repo'), photos: join(world.dir, 'photos'), passphrase: world.passphrase, leaseMs };
      const child: AgentChild = { id, process: spawn(process.execPath, [join(CHILDREN, 'agent-child.mjs'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] }), out: '' };
      let err = '';
      child.process.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.process.stdout!.on('data', (d: Buffer) => {
        child.out += d.toString();
        if (child.out.includes('READY')) resolve(child);
      });
      child.process.once('exit', (code) => reject(new Error(`agent ${id} exited (${code}): ${err.slice(-1500)}`)));
      agents.push(child);
    });
  const queued: string[] = [];
  const jobs = async () => (await pool.query<{ id: string; status: string; attempts: number; claimed_by: string | null; backup_type: string }>(`SELECT id, status, attempts, claimed_by, backup_type FROM backup_jobs WHERE id = ANY($1::uuid[])`, [queued])).rows;

  it('every job runs to completion exactly once, the orphan is taken over, every snapshot validates', { timeout: pick(120_000, 600_000) }, async () => {
    const prng = seeded('three agents');
    const count = pick(9, 30);
    const queue = new JobQueue(pool);
    const weddings = (await pool.query<{ id: string }>('SELECT id FROM weddings ORDER BY id')).rows.map((r) => r.id);
    for (let i = 0; i < count; i++) {
      const type = prng.pick(['full', 'incremental', 'emergency'] as const);
      queued.push((await queue.enqueue({ backupType: type, tier: type === 'full' ? 3 : 2, priority: prng.int(3, 9), scheduledAt: new Date(Date.now() - 1000), maxAttempts: 3, ...(type === 'emergency' ? { weddingIds: [prng.pick(weddings)] } : {}) })).id);
    }
    await churn(pool, world.photoStore, prng, 4);
    const [victim] = await Promise.all([startAgent('agent-a'), startAgent('agent-b'), startAgent('agent-c')]);
    // The victim is killed a random moment into the first backup it starts.
    const deadline = Date.now() + 60_000;
    while (!/STARTED ([0-9a-f-]{36})/.test(victim!.out)) {
      if (Date.now() > deadline) throw new Error('agent-a never started a job');
      await new Promise((r) => setTimeout(r, 5));
    }
    const orphan = /STARTED ([0-9a-f-]{36})/.exec(victim!.out)![1]!;
    // A backup here takes a few hundred ms: a kill within 60 ms of its start lands mid-backup.
    await new Promise((r) => setTimeout(r, prng.int(0, 60)));
    victim!.process.kill('SIGKILL');

    for (;;) {
      const rows = await jobs();
      if (rows.every((j) => ['completed', 'failed', 'cancelled'].includes(j.status))) break;
      if (Date.now() > deadline + 60_000) throw new Error(`jobs still open: ${JSON.stringify(rows.filter((j) => j.status !== 'completed'))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const a of agents.slice(1)) a.process.kill('SIGTERM');

    const rows = await jobs();
    expect(rows.filter((j) => j.status !== 'completed')).toEqual([]);
    // Exactly once: one snapshot per job (a job killed after recording its snapshot would be
    // retried and recorded twice; none may have none).
    const perJob = (await pool.query<{ job: string; n: number }>(`SELECT backup_job_id::text AS job, count(*)::int AS n FROM backup_snapshots WHERE backup_job_id = ANY($1::uuid[]) GROUP BY 1`, [queued])).rows;
    expect(perJob).toHaveLength(count);
    const twice = perJob.filter((r) => r.n > 1);
    expect(twice.every((r) => r.job === orphan)).toBe(true);
    // Killed mid-job: taken over by another agent once the lease ran out (the second attempt).
    const killedMidJob = rows.find((j) => j.id === orphan)!.claimed_by !== 'agent-a';
    expect(killedMidJob, 'the kill came after the backup finished').toBe(true);
    expect(rows.find((j) => j.id === orphan)).toMatchObject({ status: 'completed', attempts: 2 });
    const ranBy = new Set(rows.map((j) => j.claimed_by));
    expect(ranBy.size).toBeGreaterThanOrEqual(2);

    const repo = await openRepository(world.repoStore, world.passphrase);
    const valid = await expectEverySnapshotValid(repo, world.catalog);
    await expectRepositoryClean(repo, world.passphrase, GARBAGE_KINDS, { readData: false });
    report('three agents', { jobs: count, completed: rows.length, killedMidJob: String(killedMidJob), orphanAttempts: rows.find((j) => j.id === orphan)!.attempts, snapshotsValid: valid.length, duplicateSnapshots: twice.length });
  });
});

describe('a restore while a backup runs', () => {
  let world: BackupWorld;
  let recovery: RecoveryCatalog;

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 8, packSize: 64 * 1024 });
    recovery = await openRecoveryCatalog(world.db.url);
  });
  afterAll(async () => {
    await recovery?.close();
    await world?.close();
  });

  it('both complete: the restore exactly, the backup a consistent snapshot of before or after', async () => {
    const prng = seeded('restore vs backup');
    const logger = await silentLogger();
    const snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    const wedding = (await world.repo.loadManifest(snapshotId)).weddings[0]!.weddingId;
    const deps: RestoreDeps = restoreDepsFor(world, recovery, logger, { repo: await openRepository(world.repoStore, world.passphrase) });
    for (let round = 0; round < pick(3, 10); round++) {
      await world.client.query(`DELETE FROM guests WHERE wedding_id = $1`, [wedding]);
      await churn(world.client, world.photoStore, prng, 3);
      const request: RestoreRequest = { snapshotId, recoveryScope: 'wedding-only', weddingIds: [wedding], dataTypes: undefined };
      const { preview, prepared } = await previewRestore(deps, request);
      const backupRepo = await openRepository(world.repoStore, world.passphrase);
      const [backup, operation] = await Promise.all([
        new Promise((r) => setTimeout(r, prng.int(0, 100))).then(() =>
          runBackup({ openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2), catalog: world.catalog, repo: backupRepo, photoStore: world.photoStore, map: DEFAULT_SCHEMA_MAP, logger }, { type: prng.chance(0.5) ? 'full' : 'incremental' }),
        ),
        startRestore(deps, request, preview.confirmationToken, { initiatedByLabel: 'reliability test' }, prepared).then((s) => s.done),
      ]);
      expect(operation).toMatchObject({ status: 'completed', successMetrics: { verified: true } });
      const guests = (await world.client.query(`SELECT count(*)::int AS n FROM guests WHERE wedding_id = $1`, [wedding])).rows[0].n;
      expect(guests).toBeGreaterThan(0);
      // The backup saw the wedding's guests either all deleted or all restored: one consistent moment.
      const m = await backupRepo.loadManifest(backup.snapshotId);
      const rows = m.weddings.find((w) => w.weddingId === wedding)?.rowCounts.guests ?? 0;
      expect([0, guests]).toContain(rows);
    }
    const fresh = await openRepository(world.repoStore, world.passphrase);
    await expectEverySnapshotValid(fresh, world.catalog);
    const latest = await runBackup({ openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2), catalog: world.catalog, repo: fresh, photoStore: world.photoStore, map: DEFAULT_SCHEMA_MAP, logger }, { type: 'full' });
    await expectSnapshotEqualsDatabase(fresh, latest.snapshotId, world.client);
  });
});
