import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../agent/catalog/migrate.js';
import { openCatalog, type Catalog } from '../agent/catalog/catalog.js';
import { DEFAULT_SCHEMA_MAP } from '../agent/contract/schema-map.js';
import { initRepository, openRepository, type Repository } from '../agent/repository/repository.js';
import { TEST_KDF } from '../agent/repository/test-helpers.js';
import { openBackupSource } from '../agent/source/backup-source.js';
import { seed, type SeedOptions } from '../agent/source/seed.js';
import { runBackup, type BackupRequest, type BackupResult } from '../agent/jobs/backup.js';
import { silentLogger, type Logger } from '../agent/logger.js';
import type { RecoveryCatalog } from '../agent/catalog/recovery.js';
import type { RestoreDeps } from '../agent/jobs/restore.js';
import { ConfirmationTokens } from '../agent/jobs/restore-token.js';
import { openRestoreTarget } from '../agent/source/restore-target.js';
import type { BlobStore } from '../agent/storage/blob-store.js';
import { LocalBlobStore } from '../agent/storage/local/local-store.js';
import { createTestDatabase, type TestDatabase } from './db.js';

/**
 * A ready-to-back-up world for integration tests: a fresh database with the migrations and
 * seeded weddings, a folder photo store with the seed's files, a repository (folder by default)
 * and an open catalog. `backup()` runs the real backup task.
 */
export interface BackupWorld {
  db: TestDatabase;
  client: pg.Client;
  dir: string;
  photoStore: BlobStore;
  repoStore: BlobStore;
  repo: Repository;
  catalog: Catalog;
  passphrase: string;
  backup(request: BackupRequest): Promise<BackupResult>;
  /** Reopens the repository (fresh index and writer), as a new process would. */
  reopen(): Promise<Repository>;
  close(): Promise<void>;
}

export const SMALL_SEED: Omit<SeedOptions, 'weddings'> = {
  guestsPerWedding: 12,
  timelineEventsPerWedding: 6,
  vendorsPerWedding: 4,
  photosPerWedding: 5,
  photoFilesPerWedding: 2,
  seed: 7,
  now: new Date('2026-11-28T12:00:00Z'),
  timeZone: 'UTC',
};

export async function createBackupWorld(
  opts: { weddings?: number; seed?: Partial<SeedOptions>; repoStore?: BlobStore; parallelism?: number; /** Smaller packs: more of them for the same data (fault tests). */ packSize?: number } = {},
): Promise<BackupWorld> {
  const db = await createTestDatabase('bk');
  const dir = await mkdtemp(join(tmpdir(), 'wedsync-world-'));
  const client = new pg.Client({ connectionString: db.url });
  // Fault tests kill connections on purpose: an idle client's 'error' must not crash the run.
  client.on('error', () => undefined);
  await client.connect();
  await migrate(client);
  const photoStore = await LocalBlobStore.open(join(dir, 'photos'), { create: true });
  await seed(client, { weddings: opts.weddings ?? 10, ...SMALL_SEED, ...opts.seed, writePhoto: (key, bytes) => photoStore.put(key, bytes) });
  const repoStore = opts.repoStore ?? (await LocalBlobStore.open(join(dir, 'repo'), { create: true }));
  const passphrase = 'correct horse battery staple';
  let repo = await initRepository(repoStore, passphrase, { kdf: TEST_KDF, ...(opts.packSize ? { packSize: opts.packSize } : {}) });
  const catalog = await openCatalog(db.url);
  const logger = await silentLogger();
  const world: BackupWorld = {
    db,
    client,
    dir,
    photoStore,
    repoStore,
    get repo() {
      return repo;
    },
    catalog,
    passphrase,
    backup: (request) =>
      runBackup({ openSource: () => openBackupSource(db.url, DEFAULT_SCHEMA_MAP, opts.parallelism ?? 2), catalog, repo, photoStore, map: DEFAULT_SCHEMA_MAP, logger }, request),
    async reopen() {
      repo = await openRepository(repoStore, passphrase);
      return repo;
    },
    async close() {
      await catalog.close();
      await client.end().catch(() => undefined);
      await repoStore.close();
      await photoStore.close();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/**
 * What a restore needs, over a world: the live database as target, the real recovery catalog
 * and backup source (two export workers for a whole-database recovery point), fresh confirmation
 * tokens. `repo` is the world's current repository (it follows `reopen()`) unless one is given.
 */
export function restoreDepsFor(world: BackupWorld, recovery: RecoveryCatalog, logger: Logger, options: { repo?: Repository } = {}): RestoreDeps {
  return {
    get repo() {
      return options.repo ?? world.repo;
    },
    map: DEFAULT_SCHEMA_MAP,
    liveUrl: world.db.url,
    openTarget: openRestoreTarget,
    logger,
    recovery,
    tokens: new ConfirmationTokens(),
    photoStore: world.photoStore,
    backup: { catalog: world.catalog, openSource: (url, whole, o) => openBackupSource(url, DEFAULT_SCHEMA_MAP, whole ? 2 : 1, o) },
  };
}

/**
 * The environment that points the compiled CLI at a world (its database, repository, photo store
 * and passphrase, a home of its own), at log level warn; `overrides` replace or add variables.
 */
export function cliEnv(world: BackupWorld, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: world.db.url,
    WEDSYNC_HOME: join(world.dir, 'home'),
    WEDSYNC_REPO: join(world.dir, 'repo'),
    WEDSYNC_PHOTO_STORE: join(world.dir, 'photos'),
    WEDSYNC_PASSPHRASE: world.passphrase,
    WEDSYNC_LOG_LEVEL: 'warn',
    ...overrides,
  };
}
