import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneCatalog } from '../agent/catalog/retention.js';
import { DEFAULT_SCHEMA_MAP } from '../agent/contract/schema-map.js';
import { runBackup, type BackupResult, type BackupType } from '../agent/jobs/backup.js';
import { runPrune } from '../agent/jobs/prune.js';
import { silentLogger, type Logger } from '../agent/logger.js';
import { openRepository, type Repository } from '../agent/repository/repository.js';
import { openBackupSource } from '../agent/source/backup-source.js';
import type { BlobInfo, BlobStore } from '../agent/storage/blob-store.js';
import { createBackupWorld, type BackupWorld } from '../test-support/fixtures.js';
import { CHILDREN, ROOT, runNode } from './child.js';
import { churn, expectEverySnapshotValid, expectSnapshotEqualsDatabase } from './invariants.js';
import { pick, report, seeded } from './profile.js';

/**
 * A store that can hold a writer just before it stores a manifest (`snapshots/…`): the backup
 * has read the index and deduplicated against it, its packs and index are written, and its
 * snapshot is about to appear. What another process does meanwhile is the test.
 */
class HoldingStore implements BlobStore {
  readonly location: string;
  readonly provider: BlobStore['provider'];
  private gate: { reached: () => void; release: Promise<void> } | null = null;
  constructor(private readonly inner: BlobStore) {
    this.location = inner.location;
    this.provider = inner.provider;
  }
  holdBeforeManifest(): { reached: Promise<void>; release: () => void } {
    let release!: () => void;
    let reached!: () => void;
    const reachedP = new Promise<void>((r) => (reached = r));
    this.gate = { reached, release: new Promise<void>((r) => (release = r)) };
    return { reached: reachedP, release };
  }
  async put(name: string, data: Buffer | Uint8Array): Promise<void> {
    const gate = this.gate;
    if (gate && name.startsWith('snapshots/')) {
      this.gate = null;
      gate.reached();
      await gate.release;
    }
    return this.inner.put(name, data);
  }
  get(name: string) {
    return this.inner.get(name);
  }
  getRange(name: string, offset: number, length: number) {
    return this.inner.getRange(name, offset, length);
  }
  head(name: string): Promise<BlobInfo | null> {
    return this.inner.head(name);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  delete(name: string) {
    return this.inner.delete(name);
  }
  close() {
    return Promise.resolve();
  }
}

/**
 * Concurrency (issue 10, item 4): two backups into one repository at once, backups while prune
 * collects garbage, a long-lived repository (the agent's) across a prune, three agents on one
 * catalog, a restore while a backup runs. Invariants after each: every listed snapshot validates
 * (read-data), and no pack a listed manifest needs is ever deleted.
 */
describe('concurrent writers on one repository', () => {
  let world: BackupWorld;
  let pool: pg.Pool;
  let holding: HoldingStore;
  let logger: Logger;

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 8, packSize: 64 * 1024 });
    pool = new pg.Pool({ connectionString: world.db.url, max: 4 });
    holding = new HoldingStore(world.repoStore);
    logger = await silentLogger();
    // Far-future weddings and no high-priority windows: retention decides by age alone here.
    await world.client.query(`UPDATE weddings SET wedding_date = '2029-01-01'`);
    await world.client.query(`UPDATE wedding_backup_settings SET high_priority_start = NULL, high_priority_end = NULL`);
  });
  afterAll(async () => {
    await pool?.end();
    await world?.close();
  });

  const backup = async (repo: Repository, type: BackupType = 'full'): Promise<BackupResult> =>
    runBackup({ openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2), catalog: world.catalog, repo, photoStore: world.photoStore, map: DEFAULT_SCHEMA_MAP, logger }, { type });
  const prune = async (now: Date, lockWaitMs = 0) =>
    runPrune(
      { repo: await openRepository(world.repoStore, world.passphrase), passphrase: world.passphrase, catalog: pruneCatalog(pool, DEFAULT_SCHEMA_MAP, world.repoStore.location, 'primary'), logger, timeZone: 'UTC', clock: () => now },
      { lockWaitMs },
    );
  /** Sets every snapshot's creation back `days`: the retention policy then sees them as old. */
  const age = (days: number) => pool.query(`UPDATE backup_snapshots SET created_at = created_at - $1 * interval '1 day', retention_until = retention_until - $1 * interval '1 day'`, [days]);

  it('two backups at once into one repository (in-process and as two CLI processes): all valid, both exact', async () => {
    const prng = seeded('two backups');
    for (let round = 0; round < pick(2, 8); round++) {
      await churn(pool, world.photoStore, prng, 4);
      const [a, b] = await Promise.all([backup(await openRepository(world.repoStore, world.passphrase)), backup(await openRepository(world.repoStore, world.passphrase), 'incremental')]);
      const repo = await openRepository(world.repoStore, world.passphrase);
      await expectSnapshotEqualsDatabase(repo, a.snapshotId, world.client);
      await expectSnapshotEqualsDatabase(repo, b.snapshotId, world.client);
    }
    await churn(pool, world.photoStore, prng, 4);
    const spec = (type: string) => JSON.stringify({ url: world.db.url, repo: join(world.dir, 'repo'), photos: join(world.dir, 'photos'), passphrase: world.passphrase, type });
    const runs = await Promise.all([runNode([join(CHILDREN, 'backup-child.mjs'), spec('full')]), runNode([join(CHILDREN, 'backup-child.mjs'), spec('incremental')])]);
    for (const r of runs) expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await expectEverySnapshotValid(await openRepository(world.repoStore, world.passphrase), world.catalog);
  });

  it('a backup in flight while prune forgets the snapshot whose blobs it reuses: no pack it needs is deleted', async () => {
    // Wedding data as it was in S1, then changed (S2), then changed back: the next backup
    // deduplicates against S1's blobs — the ones a prune that forgets S1 would collect. (A
    // baseline first, so S1's new packs hold only those blobs and are wholly garbage then.)
    await backup(await openRepository(world.repoStore, world.passphrase));
    await world.client.query(`UPDATE guests SET dietary_requirements = 'state one'`);
    await backup(await openRepository(world.repoStore, world.passphrase));
    await age(40);
    await world.client.query(`UPDATE guests SET dietary_requirements = 'state two'`);
    await backup(await openRepository(world.repoStore, world.passphrase));
    await world.client.query(`UPDATE guests SET dietary_requirements = 'state one'`);

    const gate = holding.holdBeforeManifest();
    const running = backup(await openRepository(holding, world.passphrase));
    await gate.reached; // index read, blobs reused, packs and index written; manifest next
    const pruned = await prune(new Date());
    expect(pruned.snapshots.forgotten.length).toBeGreaterThan(0);
    gate.release();
    const result = await running;
    const repo = await openRepository(world.repoStore, world.passphrase);
    await expectEverySnapshotValid(repo, world.catalog);
    await expectSnapshotEqualsDatabase(repo, result.snapshotId, world.client);
    report('backup during prune', { forgotten: pruned.snapshots.forgotten.length, gc: pruned.gc ? 'ran' : `skipped (${pruned.gcSkipped?.slice(0, 60)}…)` });
  });

  it("a long-lived repository (the agent's) keeps backing up correctly after a prune deleted packs it had indexed", async () => {
    const agentRepo = await openRepository(world.repoStore, world.passphrase);
    await backup(agentRepo);
    await world.client.query(`UPDATE guests SET dietary_requirements = 'long-lived one'`);
    await backup(agentRepo);
    await age(40);
    await world.client.query(`UPDATE guests SET dietary_requirements = 'long-lived two'`);
    await backup(agentRepo);
    // Maintenance forgets the old snapshot and collects its packs (nothing else is running).
    const pruned = await prune(new Date());
    expect(pruned.gc?.packs.deleted ?? 0).toBeGreaterThan(0);
    // Back to the old content: the agent's repository object still "knows" the deleted blobs.
    await world.client.query(`UPDATE guests SET dietary_requirements = 'long-lived one'`);
    const next = await backup(agentRepo);
    const fresh = await openRepository(world.repoStore, world.passphrase);
    await expectEverySnapshotValid(fresh, world.catalog);
    await expectSnapshotEqualsDatabase(fresh, next.snapshotId, world.client);
  });

  it('a backup killed -9 while holding the shared lock does not keep prune from collecting (its process is gone)', async () => {
    const script = `const { acquireLock } = await import(${JSON.stringify(join(ROOT, 'dist/agent/repository/lock.js'))});
      const { LocalBlobStore } = await import(${JSON.stringify(join(ROOT, 'dist/agent/storage/local/local-store.js'))});
      await acquireLock(await LocalBlobStore.open(${JSON.stringify(join(world.dir, 'repo'))}), { kind: 'shared', purpose: 'backup (killed)' });
      process.stdout.write('LOCKED\\n');
      setInterval(() => undefined, 1000);`;
    const child = await runNode(['--input-type=module', '-e', script], { killOn: /LOCKED/ });
    expect(child.killed).toBe(true);
    expect((await world.repoStore.list('locks/')).length).toBe(1);
    const pruned = await prune(new Date());
    expect(pruned.gcSkipped).toBeUndefined();
    expect(pruned.gc).not.toBeNull();
    expect(await world.repoStore.list('locks/')).toEqual([]);
  });

  it('backups and prunes interleaved at seeded moments, simulated days apart: every listed snapshot stays whole', async () => {
    const prng = seeded('backup vs prune');
    const agentRepo = await openRepository(world.repoStore, world.passphrase);
    let prunes = 0;
    let gcRan = 0;
    for (let round = 0; round < pick(4, 20); round++) {
      await churn(pool, world.photoStore, prng, 3);
      if (prng.chance(0.5)) await world.client.query(`UPDATE guests SET dietary_requirements = $1`, [prng.pick(['state one', 'state two', 'long-lived one'])]);
      await age(prng.int(0, 20));
      const repo = prng.chance(0.5) ? agentRepo : await openRepository(world.repoStore, world.passphrase);
      const delay = prng.int(0, 150);
      const [b, p] = await Promise.all([backup(repo, prng.chance(0.5) ? 'full' : 'incremental'), new Promise((r) => setTimeout(r, delay)).then(() => prune(new Date(), prng.int(0, 2_000)))]);
      prunes++;
      if (p.gc) gcRan++;
      const fresh = await openRepository(world.repoStore, world.passphrase);
      await expectEverySnapshotValid(fresh, world.catalog);
      await expectSnapshotEqualsDatabase(fresh, b.snapshotId, world.client);
    }
    report('backup vs prune rounds', { prunes, gcRan });
  });
});
