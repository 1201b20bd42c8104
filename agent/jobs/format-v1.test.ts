import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCatalog, type Catalog } from '../catalog/catalog.js';
import { migrate } from '../catalog/migrate.js';
import { openRecoveryCatalog, type RecoveryCatalog } from '../catalog/recovery.js';
import { manifestBlobIds } from '../contract/manifest.js';
import { DEFAULT_SCHEMA_MAP } from '../contract/schema-map.js';
import { silentLogger } from '../logger.js';
import { checkRepository } from '../repository/check.js';
import { openRepository, type Repository } from '../repository/repository.js';
import { openBackupSource } from '../source/backup-source.js';
import { openRestoreTarget } from '../source/restore-target.js';
import { LocalBlobStore } from '../storage/local/local-store.js';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { runBackup } from './backup.js';
import { previewRestore, startRestore, type RestoreDeps, type RestoreRequest } from './restore.js';
import { ConfirmationTokens } from './restore-token.js';
import { verifySnapshots } from './verify.js';

/**
 * Repository format 1 (one manifest listing every wedding) stays readable: the fixture
 * agent/repository/fixtures/v1-repo was written by the format-1 code (4 seeded weddings, a full
 * backup, then an incremental after changing one wedding's guests; passphrase below). This
 * program lists, verifies and restores it, and adds format-2 snapshots to it that deduplicate
 * against its segments.
 */
const FIXTURE = join(import.meta.dirname, '../repository/fixtures/v1-repo');
const PASSPHRASE = 'v1 fixture passphrase';
const FULL = '65ca689a-c2f7-4459-9ea9-710d9ec31099';
const INCREMENTAL = '5d77e122-1a52-44b6-a7c6-de7e07ad4065';

describe('a format-1 repository', () => {
  let dir: string;
  let store: LocalBlobStore;
  let repo: Repository;
  /** Migrated (catalog tables, the sample schema without rows): the snapshot is restored into it. */
  let db: TestDatabase;
  let recovery: RecoveryCatalog;
  let catalog: Catalog;
  let deps: RestoreDeps;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wedsync-v1-'));
    await cp(FIXTURE, join(dir, 'repo'), { recursive: true });
    store = await LocalBlobStore.open(join(dir, 'repo'));
    repo = await openRepository(store, PASSPHRASE);
    db = await createTestDatabase('v1');
    await migrate(db.url);
    recovery = await openRecoveryCatalog(db.url);
    catalog = await openCatalog(db.url);
  });
  afterAll(async () => {
    await recovery?.close();
    await catalog?.close();
    await store?.close();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists and reads its snapshots, whole and lazily', async () => {
    expect(repo.config.formatVersion).toBe(1);
    expect(await repo.listSnapshots()).toEqual([INCREMENTAL, FULL].sort());
    const full = await repo.loadManifest(FULL);
    const inc = await repo.loadManifest(INCREMENTAL);
    expect(full).toMatchObject({ formatVersion: 1, type: 'full' });
    expect(inc).toMatchObject({ formatVersion: 1, type: 'incremental', parentSnapshotId: FULL });
    expect(full.weddings).toHaveLength(4);
    expect(full.trees).toBeUndefined();
    const view = await repo.openSnapshot(INCREMENTAL);
    expect(view.formatVersion).toBe(1);
    expect(view.weddingIds()).toEqual(inc.weddings.map((w) => w.weddingId).sort());
    const one = inc.weddings[2]!;
    expect(await view.wedding(one.weddingId)).toEqual(one);
    expect(await view.wedding('00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('verifies: check and read-data find nothing wrong', async () => {
    const check = await checkRepository(repo, { readData: true });
    expect(check.findings.filter((f) => f.severity === 'error')).toEqual([]);
    const run = await verifySnapshots({ repo }, { snapshotIds: [FULL, INCREMENTAL], level: 'read-data' });
    expect(run.status).toBe('valid');
  });

  it('restores completely into a database, restores one wedding, and takes format-2 backups that reuse its segments', async () => {
    const logger = await silentLogger();
    deps = {
      repo,
      map: DEFAULT_SCHEMA_MAP,
      liveUrl: db.url,
      openTarget: openRestoreTarget,
      logger,
      recovery,
      tokens: new ConfirmationTokens(),
      photoStore: null,
      backup: { catalog, openSource: (url, _whole, o) => openBackupSource(url, DEFAULT_SCHEMA_MAP, 1, o) },
    };
    const restore = async (request: RestoreRequest) => {
      const { preview, prepared } = await previewRestore(deps, request);
      const started = await startRestore(deps, request, preview.confirmationToken, { initiatedByLabel: 'test' }, prepared);
      return { preview, operation: await started.done };
    };
    const inc = await repo.loadManifest(INCREMENTAL);
    const { operation } = await restore({ snapshotId: INCREMENTAL, recoveryScope: 'complete' });
    expect(operation.status).toBe('completed');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      for (const t of inc.schema.tables) {
        const { rows } = await client.query(`SELECT count(*)::int AS n FROM "${t.schema}"."${t.name}"`);
        expect(rows[0].n, `${t.schema}.${t.name}`).toBe(t.rowCount);
      }
      const { rows: changed } = await client.query(`SELECT count(*)::int AS n FROM guests WHERE dietary_requirements = 'changed after the full'`);
      expect(changed[0].n).toBeGreaterThan(0);

      // One wedding, from the format-1 snapshot, into the restored database.
      const wedding = inc.weddings[1]!.weddingId;
      await client.query('DELETE FROM guests WHERE wedding_id = $1', [wedding]);
      const one = await restore({ snapshotId: INCREMENTAL, recoveryScope: 'wedding-only', weddingIds: [wedding] });
      expect(one.operation.status).toBe('completed');
      expect(one.preview.totals.inserted).toBe(inc.weddings[1]!.rowCounts.guests);

      // A format-2 full of the same data into the same repository: same segments, so almost
      // nothing new (its trees); the repository then holds both formats and checks clean.
      {
        const v2 = await runBackup({ openSource: () => openBackupSource(db.url, DEFAULT_SCHEMA_MAP, 1), catalog, repo, photoStore: null, map: DEFAULT_SCHEMA_MAP, logger }, { type: 'full' });
        const m2 = await repo.loadManifest(v2.snapshotId);
        expect(m2.formatVersion).toBe(2);
        expect(m2.weddings.map((w) => w.tables)).toEqual(inc.weddings.map((w) => w.tables));
        const treeIds = new Set(m2.trees!.entries.map((e) => e.id));
        const newIds = [...manifestBlobIds(m2)].filter((id) => !manifestBlobIds(inc).has(id));
        expect(newIds.every((id) => treeIds.has(id))).toBe(true);
        const check = await checkRepository(repo, { readData: true });
        expect(check.findings.filter((f) => f.severity === 'error')).toEqual([]);
      }
    } finally {
      await client.end();
    }
  });
});
