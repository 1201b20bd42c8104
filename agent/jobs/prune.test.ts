import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { SMALL_SEED } from '../../test-support/fixtures.js';
import { openCatalog, type Catalog } from '../catalog/catalog.js';
import { migrate } from '../catalog/migrate.js';
import { pruneCatalog } from '../catalog/retention.js';
import { manifestBlobIds } from '../contract/manifest.js';
import { DEFAULT_SCHEMA_MAP } from '../contract/schema-map.js';
import { silentLogger, type Logger } from '../logger.js';
import { acquireLock, listLocks } from '../repository/lock.js';
import { PRUNE_STATE_NAME } from '../repository/prune.js';
import { initRepository, openRepository, type Repository } from '../repository/repository.js';
import { TEST_KDF } from '../repository/test-helpers.js';
import { openBackupSource } from '../source/backup-source.js';
import { seed } from '../source/seed.js';
import type { BlobInfo, BlobStore } from '../storage/blob-store.js';
import { LocalBlobStore } from '../storage/local/local-store.js';
import { runBackup, type BackupRequest, type BackupResult } from './backup.js';
import { runPrune } from './prune.js';

const PASSPHRASE = 'prune test passphrase';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A store that can hold one pack upload (after storing it) until released: a backup caught mid-flight. */
class GatedStore implements BlobStore {
  readonly location: string;
  readonly provider: BlobStore['provider'];
  private packPuts = 0;
  private gate: { at: number; reached: () => void; release: Promise<void> } | null = null;
  constructor(private readonly inner: BlobStore) {
    this.location = inner.location;
    this.provider = inner.provider;
  }
  /** The next backup blocks after storing its `at`-th pack from now; resolves when it got there. */
  holdAfterPack(at: number): { reached: Promise<void>; release: () => void } {
    let release!: () => void;
    let reached!: () => void;
    const reachedP = new Promise<void>((r) => (reached = r));
    const releaseP = new Promise<void>((r) => (release = r));
    this.gate = { at: this.packPuts + at, reached, release: releaseP };
    return { reached: reachedP, release };
  }
  async put(name: string, data: Buffer | Uint8Array): Promise<void> {
    await this.inner.put(name, data);
    if (name.startsWith('packs/')) {
      this.packPuts++;
      const gate = this.gate;
      if (gate && this.packPuts === gate.at) {
        this.gate = null;
        gate.reached();
        await gate.release;
      }
    }
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
    return this.inner.close();
  }
}

interface World {
  db: TestDatabase;
  client: pg.Client;
  pool: pg.Pool;
  dir: string;
  store: GatedStore;
  photoStore: BlobStore;
  catalog: Catalog;
  logger: Logger;
  repo: Repository;
  backup(request: BackupRequest): Promise<BackupResult>;
  fresh(): Promise<Repository>;
  close(): Promise<void>;
}

async function createWorld(): Promise<World> {
  const db = await createTestDatabase('prune');
  const dir = await mkdtemp(join(tmpdir(), 'wedsync-prune-'));
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await migrate(client);
  const photoStore = await LocalBlobStore.open(join(dir, 'photos'), { create: true });
  await seed(client, { weddings: 6, ...SMALL_SEED, writePhoto: (key, bytes) => photoStore.put(key, bytes) });
  // Far-future weddings: no final-state archive rule interferes with what this test checks.
  await client.query(`UPDATE weddings SET wedding_date = '2029-01-01'`);
  await client.query(`UPDATE wedding_backup_settings SET high_priority_start = NULL, high_priority_end = NULL`);
  const store = new GatedStore(await LocalBlobStore.open(join(dir, 'repo'), { create: true }));
  // Small packs so one backup writes several: a backup can be caught between two of them.
  const repo = await initRepository(store, PASSPHRASE, { kdf: TEST_KDF, packSize: 64 * 1024 });
  const catalog = await openCatalog(db.url);
  const pool = new pg.Pool({ connectionString: db.url, max: 3 });
  const logger = await silentLogger();
  const world: World = {
    db,
    client,
    pool,
    dir,
    store,
    photoStore,
    catalog,
    logger,
    repo,
    // Each backup opens the repository afresh, as the agent's runner does. Without the shared
    // lock backups take (takeLock: false): these tests are about prune's own protections.
    backup: async (request) => runBackup({ openSource: () => openBackupSource(db.url, DEFAULT_SCHEMA_MAP, 2), catalog, repo: await world.fresh(), photoStore, map: DEFAULT_SCHEMA_MAP, logger, takeLock: false }, request),
    fresh: () => openRepository(store, PASSPHRASE),
    async close() {
      await catalog.close();
      await pool.end();
      await client.end();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** Every blob of every remaining manifest loads and checks out, from a freshly opened repository. */
async function assertAllManifestsRestorable(w: World): Promise<number> {
  const repo = await w.fresh();
  let blobs = 0;
  for (const id of await repo.listSnapshots()) {
    const ids = manifestBlobIds(await repo.loadManifest(id));
    await repo.forEachBlob(ids, () => {
      blobs++;
    });
  }
  return blobs;
}

async function touchWedding(client: pg.Client, offset: number, tag: string): Promise<void> {
  await client.query(`UPDATE guests SET dietary_requirements = $1 WHERE wedding_id = (SELECT id FROM weddings ORDER BY id LIMIT 1 OFFSET $2)`, [tag, offset]);
}

describe('prune over a simulated year', () => {
  let w: World;
  const ids: string[] = [];
  const NOW = new Date('2027-06-10T12:00:00Z');
  beforeAll(async () => {
    w = await createWorld();
    // s0 full; s1 changes wedding 1 (changed again before s2, so s1's new data is garbage later);
    // s2 full (validated); s3 changes wedding 2 (changed again before s4); s4; s5 full.
    const plan: Array<[BackupRequest, string, string | null]> = [
      [{ type: 'full', tier: 3 }, '2026-06-15T02:00:00Z', null],
      [{ type: 'incremental', tier: 2 }, '2026-09-01T10:00:00Z', 'a'],
      [{ type: 'full', tier: 3 }, '2026-12-01T02:00:00Z', 'b'],
      [{ type: 'incremental', tier: 2 }, '2027-03-01T10:00:00Z', 'c'],
      [{ type: 'incremental', tier: 2 }, '2027-05-25T10:00:00Z', 'd'],
      [{ type: 'full', tier: 3 }, '2027-06-09T02:00:00Z', 'e'],
    ];
    for (const [i, [request, at, change]] of plan.entries()) {
      if (change === 'a' || change === 'b') await touchWedding(w.client, 1, `${change}-${i}`);
      if (change === 'c' || change === 'd') await touchWedding(w.client, 2, `${change}-${i}`);
      if (change === 'e') await touchWedding(w.client, 3, 'e');
      const r = await w.backup(request);
      ids.push(r.snapshotId);
      // The simulated clock: the catalog says when each snapshot was taken.
      await w.client.query(`UPDATE backup_snapshots SET created_at = $2, retention_until = $2::timestamptz + interval '30 days' WHERE id = $1`, [r.snapshotId, at]);
    }
    await w.client.query(`UPDATE backup_snapshots SET validation_status = 'valid' WHERE id = $1`, [ids[2]]);
  }, 120_000);
  afterAll(async () => w?.close());

  it('a dry run reports what a real run would do and changes nothing', async () => {
    const before = await w.store.list('');
    const report = await runPrune(
      { repo: await w.fresh(), passphrase: PASSPHRASE, catalog: pruneCatalog(w.pool, DEFAULT_SCHEMA_MAP, w.store.location, 'primary'), logger: w.logger, timeZone: 'UTC', clock: () => NOW },
      { dryRun: true },
    );
    expect(report.snapshots.forgotten.map((f) => f.id).sort()).toEqual([ids[0], ids[1], ids[3]].sort());
    expect(report.gc!.packs.deleted).toBeGreaterThan(0);
    expect((await w.store.list('')).map((b) => b.name).sort()).toEqual(before.map((b) => b.name).sort());
    const { rows } = await w.client.query('SELECT count(*)::int AS n FROM backup_snapshots WHERE forgotten_at IS NOT NULL');
    expect(rows[0].n).toBe(0);
  });

  it('forgets what the policy no longer keeps, deletes packs nothing needs, and every kept snapshot stays whole', async () => {
    const blobsBefore = await assertAllManifestsRestorable(w);
    const packsBefore = (await w.store.list('packs/')).length;
    const report = await runPrune({
      repo: await w.fresh(),
      passphrase: PASSPHRASE,
      catalog: pruneCatalog(w.pool, DEFAULT_SCHEMA_MAP, w.store.location, 'primary'),
      logger: w.logger,
      timeZone: 'UTC',
      clock: () => NOW,
    });
    // Kept: s2 (last valid snapshot), s4 (16 days old), s5 (1 day). Forgotten: s0, s1, s3.
    expect(report.snapshots.forgotten.map((f) => f.id).sort()).toEqual([ids[0], ids[1], ids[3]].sort());
    expect(report.kept.map((k) => k.id).sort()).toEqual([ids[2], ids[4], ids[5]].sort());
    expect(report.kept.find((k) => k.id === ids[2])!.reasons[0]).toMatch(/last valid snapshot/);
    expect(await (await w.fresh()).listSnapshots()).toEqual([ids[2], ids[4], ids[5]].sort());
    const { rows } = await w.client.query('SELECT id::text FROM backup_snapshots WHERE forgotten_at IS NOT NULL ORDER BY 1');
    expect(rows.map((r) => r.id)).toEqual([ids[0], ids[1], ids[3]].sort());
    // s1's and s3's own data was replaced before the next snapshot: their packs went at once.
    expect(report.gc!.packs.deleted).toBeGreaterThanOrEqual(2);
    expect(report.gc!.bytes.freed).toBeGreaterThan(0);
    expect((await w.store.list('packs/')).length).toBeLessThan(packsBefore);
    expect(report.gc!.blobs.missing).toEqual([]);
    const blobsAfter = await assertAllManifestsRestorable(w);
    expect(blobsAfter).toBeGreaterThan(0);
    expect(blobsAfter).toBeLessThanOrEqual(blobsBefore);
  });

  it('repacks mostly-garbage packs without losing a live blob', async () => {
    const report = await runPrune(
      { repo: await w.fresh(), passphrase: PASSPHRASE, catalog: pruneCatalog(w.pool, DEFAULT_SCHEMA_MAP, w.store.location, 'primary'), logger: w.logger, timeZone: 'UTC', clock: () => new Date(NOW.getTime() + 7 * HOUR) },
      { repackThreshold: 0.01 },
    );
    expect(report.snapshots.forgotten).toEqual([]);
    expect(report.gc!.packs.repacked).toBeGreaterThan(0);
    expect(report.gc!.packs.written).toBeGreaterThan(0);
    await assertAllManifestsRestorable(w);
    // Nothing left to do: a second run is a no-op.
    const again = await runPrune(
      { repo: await w.fresh(), passphrase: PASSPHRASE, catalog: pruneCatalog(w.pool, DEFAULT_SCHEMA_MAP, w.store.location, 'primary'), logger: w.logger, timeZone: 'UTC', clock: () => new Date(NOW.getTime() + 14 * HOUR) },
      { repackThreshold: 0.01 },
    );
    expect(again.gc).toMatchObject({ packs: { deleted: 0, repacked: 0 }, indexFiles: { written: 0, deleted: 0 } });
  });

  it('a year later with no new backups, the last valid snapshot of every wedding is still there', async () => {
    const report = await runPrune({
      repo: await w.fresh(),
      passphrase: PASSPHRASE,
      catalog: pruneCatalog(w.pool, DEFAULT_SCHEMA_MAP, w.store.location, 'primary'),
      logger: w.logger,
      timeZone: 'UTC',
      clock: () => new Date(NOW.getTime() + 365 * DAY),
    });
    // s4 goes; s2 (last valid) and s5 (newest, not yet validated) stay.
    expect(report.snapshots.forgotten.map((f) => f.id)).toEqual([ids[4]]);
    expect((await (await w.fresh()).listSnapshots()).sort()).toEqual([ids[2], ids[5]].sort());
    await assertAllManifestsRestorable(w);
  });
});

describe('prune while a backup runs', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld();
    await w.backup({ type: 'full', tier: 3 });
  }, 120_000);
  afterAll(async () => w?.close());

  const prune = async (now: Date, extra: Parameters<typeof runPrune>[1] = {}) =>
    runPrune({ repo: await w.fresh(), passphrase: PASSPHRASE, catalog: pruneCatalog(w.pool, DEFAULT_SCHEMA_MAP, w.store.location, 'primary'), logger: w.logger, timeZone: 'UTC', clock: () => now }, extra);

  it('never deletes the packs of a backup in progress (grace period), and collects a crashed one’s later', async () => {
    await touchWedding(w.client, 0, 'concurrent');
    await touchWedding(w.client, 4, 'concurrent');
    const gate = w.store.holdAfterPack(1);
    const running = w.backup({ type: 'full', tier: 3 });
    await gate.reached; // one pack of the new backup is stored, no index or manifest yet
    const t0 = new Date();
    const during = await prune(t0);
    expect(during.gc!.packs.unindexed).toBeGreaterThan(0);
    expect(during.gc!.packs.deleted).toBe(0);
    gate.release();
    const result = await running;

    // A crashed session: a pack stored, never indexed.
    const crashed = await w.fresh();
    await crashed.saveBlob('photo', randomBytes(100 * 1024));
    await crashed.discardUnflushed();
    const unindexed = (await w.store.list('packs/')).length;

    const soon = await prune(new Date(t0.getTime() + HOUR));
    expect(soon.gc!.packs.deleted).toBe(0); // the crashed pack is still within the grace period
    const later = await prune(new Date(t0.getTime() + 8 * HOUR));
    expect(later.gc!.packs.deleted).toBe(1); // only the crashed pack
    expect((await w.store.list('packs/')).length).toBe(unindexed - 1);
    const repo = await w.fresh();
    expect(await repo.listSnapshots()).toContain(result.snapshotId);
    await assertAllManifestsRestorable(w);
    const state = JSON.parse((await w.store.get(PRUNE_STATE_NAME)).toString('utf8'));
    expect(state.unreferencedSince).toEqual({});
  });

  it('while a backup holds the shared lock, prune forgets but leaves the packs', async () => {
    const lock = await acquireLock(w.store, { kind: 'shared', purpose: 'backup job (test)', refreshEveryMs: 0 });
    try {
      const report = await prune(new Date(), { lockWaitMs: 0 });
      expect(report.gc).toBeNull();
      expect(report.gcSkipped).toMatch(/locked: shared lock .*backup job \(test\)/);
    } finally {
      await lock.release();
    }
    expect(await listLocks(w.store)).toEqual([]);
    const report = await prune(new Date(), { lockWaitMs: 0 });
    expect(report.gc).not.toBeNull();
  });

  it('a second prune is refused while one holds the exclusive lock; a stale lock is ignored', async () => {
    const exclusive = await acquireLock(w.store, { kind: 'exclusive', purpose: 'prune', refreshEveryMs: 0 });
    await expect(acquireLock(w.store, { kind: 'shared', purpose: 'backup' })).rejects.toThrow(/locked: exclusive lock/);
    // Seen from two hours later, the unrefreshed lock is stale and gets removed by the next taker.
    const later = () => new Date(Date.now() + 2 * HOUR);
    const shared = await acquireLock(w.store, { kind: 'shared', purpose: 'backup', clock: later, refreshEveryMs: 0 });
    expect(exclusive.lost).toBe(false);
    expect((await listLocks(w.store)).map((l) => l.id)).toEqual([shared.id]);
    await exclusive.refresh();
    expect(exclusive.lost).toBe(true);
    expect(() => exclusive.assertHeld()).toThrow(/lost/);
    await shared.release();
    await exclusive.release();
  });
});
