import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupWorld, type BackupWorld } from '../../test-support/fixtures.js';
import { openSchedulingCatalog, type SchedulingCatalog } from '../catalog/queue-catalog.js';
import { manifestBlobIds } from '../contract/manifest.js';
import { DEFAULT_SCHEMA_MAP } from '../contract/schema-map.js';
import { silentLogger, type Logger } from '../logger.js';
import { acquireLock, listLocks } from '../repository/lock.js';
import { openRepository } from '../repository/repository.js';
import { openBackupSource } from '../source/backup-source.js';
import { MemoryBlobStore } from '../storage/memory/memory-store.js';
import { backupHandlers, offsiteHandler, type BackupHandlerDeps } from './runner-handlers.js';
import { JobRunner, type RunnerEvent } from './runner.js';

// Real backups through the queue and the runner: what the agent does with a planned job.
describe('backup jobs run by the runner', () => {
  let world: BackupWorld;
  let scheduling: SchedulingCatalog;
  let logger: Logger;
  let deps: BackupHandlerDeps;
  const offsite = new MemoryBlobStore('runner-offsite');

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 5 });
    scheduling = openSchedulingCatalog(world.db.url, DEFAULT_SCHEMA_MAP, { max: 3 });
    logger = await silentLogger();
    deps = {
      openRepository: () => openRepository(world.repoStore, world.passphrase),
      catalog: world.catalog,
      openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2),
      photoStore: world.photoStore,
      map: DEFAULT_SCHEMA_MAP,
      logger,
      agentName: 'test-agent',
      lockWaitMs: 50,
    };
  });
  afterAll(async () => {
    await scheduling?.close();
    await world?.close();
  });

  const runner = (events: RunnerEvent[], backoffMs = 1) =>
    new JobRunner({
      agentId: 'test-agent',
      queue: scheduling.queue,
      logger,
      backoff: { baseMs: backoffMs, factor: 1, maxMs: backoffMs },
      handlers: {
        ...backupHandlers(deps),
        offsite: offsiteHandler({
          ...deps,
          passphrase: world.passphrase,
          openTarget: async () => offsite,
          newestCompleteSnapshot: (loc) => scheduling.newestCompleteSnapshot(loc),
          recordCopy: async (id, copy) => void (await scheduling.recordOffsiteCopy(id, copy)),
        }),
      },
      onEvent: (e) => void events.push(e),
    });

  it('runs planned full, incremental, emergency and off-site jobs against their own job rows', async () => {
    const q = scheduling.queue;
    const past = new Date(Date.now() - 60_000);
    const weddingId = (await world.client.query<{ id: string }>('SELECT id::text FROM weddings ORDER BY id LIMIT 1')).rows[0]!.id;
    const full = await q.enqueue({ backupType: 'full', tier: 3, priority: 3, scheduledAt: past, slotKey: 't3:test' });
    const inc = await q.enqueue({ backupType: 'incremental', tier: 2, priority: 9, weddingIds: [weddingId], scheduledAt: past, slotKey: 't2:test' });
    const emergency = await q.enqueue({ backupType: 'emergency', tier: null, priority: 10, weddingIds: [weddingId], dataTypes: ['guests'], scheduledAt: past });
    const events: RunnerEvent[] = [];
    expect(await runner(events).drain()).toBe(3);
    const copy = await q.enqueue({ backupType: 'offsite', tier: 4, priority: 2, scheduledAt: past, slotKey: 't4:test' });
    expect(await runner(events).drain()).toBe(1);

    const done = events.filter((e) => e.type === 'succeeded');
    expect(done.map((e) => e.job.backupType).sort()).toEqual(['emergency', 'full', 'incremental', 'offsite']);
    // No job rows of their own: every snapshot hangs off the planned job that made it.
    expect((await world.client.query('SELECT count(*)::int AS n FROM backup_jobs')).rows[0].n).toBe(4);
    const snaps = await world.client.query<{ job: string; tier: number | null; type: string; days: number }>(
      `SELECT backup_job_id::text AS job, tier, snapshot_type AS type, round(extract(epoch FROM retention_until - created_at) / 86400)::int AS days FROM backup_snapshots ORDER BY created_at`,
    );
    const byJob = new Map(snaps.rows.map((r) => [r.job, r]));
    expect(byJob.get(full.id)).toMatchObject({ tier: 3, type: 'full', days: 30 });
    // It ran alongside the first full (urgent lane): with no snapshot yet to build on, as a full.
    expect(byJob.get(inc.id)).toMatchObject({ tier: 2 });
    expect(byJob.get(emergency.id)).toMatchObject({ type: 'emergency' });
    for (const id of [full.id, inc.id, emergency.id, copy.id]) {
      const job = (await q.get(id))!;
      expect(job.status).toBe('completed');
      expect(job.retentionUntil).not.toBeNull();
    }
    const { rows } = await world.client.query(`SELECT progress->>'snapshotId' AS s FROM backup_jobs WHERE id = $1`, [inc.id]);
    expect(rows[0].s).toBe(done.find((e) => e.job.id === inc.id)!.outcome!.snapshotId);
    // The off-site job copied the newest snapshot and verified it; the repository is unlocked again.
    const copied = done.find((e) => e.job.id === copy.id)!.outcome!.snapshotId!;
    const replica = await openRepository(offsite, world.passphrase);
    await replica.forEachBlob(manifestBlobIds(await replica.loadManifest(copied)), () => undefined);
    expect(await listLocks(world.repoStore)).toEqual([]);
    expect(await listLocks(offsite)).toEqual([]);
  });

  it('a backup waits for prune’s exclusive lock; when it cannot get it, the job is retried, not lost', async () => {
    const q = scheduling.queue;
    const prune = await acquireLock(world.repoStore, { kind: 'exclusive', purpose: 'prune (test)', refreshEveryMs: 0 });
    const job = await q.enqueue({ backupType: 'incremental', tier: 2, priority: 9, scheduledAt: new Date(Date.now() - 1000) });
    const events: RunnerEvent[] = [];
    await runner(events, 300).drain();
    expect(events.filter((e) => e.type !== 'started').map((e) => [e.type, e.error?.code])).toEqual([['retrying', 'CONFLICT']]);
    await prune.release();
    await new Promise((r) => setTimeout(r, 350));
    await runner(events, 300).drain();
    expect((await q.get(job.id))!).toMatchObject({ status: 'completed', attempts: 2 });
  });
});
