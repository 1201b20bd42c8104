import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupWorld, type BackupWorld } from '../../test-support/fixtures.js';
import { startS3Server, s3StoreConfig, type S3TestServer } from '../../test-support/s3.js';
import { pruneCatalog, recordOffsiteCopy } from '../catalog/retention.js';
import { isWedsyncError } from '../contract/errors.js';
import { manifestBlobIds } from '../contract/manifest.js';
import { DEFAULT_SCHEMA_MAP } from '../contract/schema-map.js';
import { silentLogger, type Logger } from '../logger.js';
import { initRepository, openRepository } from '../repository/repository.js';
import { TEST_KDF } from '../repository/test-helpers.js';
import { S3BlobStore } from '../storage/s3/s3-store.js';
import { copySnapshot, type CopyDeps } from './copy.js';
import { runPrune } from './prune.js';

describe('off-site copy to S3', () => {
  let s3: S3TestServer;
  let world: BackupWorld;
  let pool: pg.Pool;
  let logger: Logger;
  const target = () => new S3BlobStore(s3StoreConfig(s3, 'offsite'));
  const deps = (): CopyDeps => ({
    source: world.repo,
    targetStore: target(),
    passphrase: world.passphrase,
    logger,
    recordCopy: async (id, copy) => void (await recordOffsiteCopy(pool, id, copy)),
  });

  beforeAll(async () => {
    s3 = await startS3Server();
    world = await createBackupWorld({ weddings: 5 });
    pool = new pg.Pool({ connectionString: world.db.url, max: 2 });
    logger = await silentLogger();
  });
  afterAll(async () => {
    await pool?.end();
    await world?.close();
    await s3?.stop();
  });

  it('initialises a replica, copies the snapshot, verifies it, and records it in the catalog', async () => {
    const full = await world.backup({ type: 'full', tier: 3 });
    const report = await copySnapshot(deps(), full.snapshotId, { verifyData: true });
    expect(report).toMatchObject({ initialised: true, alreadyPresent: false, repositoryId: world.repo.id, verified: { manifest: true, dataRead: true } });
    expect(report.blobs.copied).toBe(report.blobs.total);
    expect(report.blobs.total).toBeGreaterThan(10);

    // A fresh process with only the off-site bucket and the passphrase restores the same data.
    const offsite = await openRepository(target(), world.passphrase);
    expect(offsite.id).toBe(world.repo.id);
    const original = await world.repo.loadManifest(full.snapshotId);
    const copy = await offsite.loadManifest(full.snapshotId);
    expect(copy).toEqual(original);
    const blobs = await offsite.loadBlobs(manifestBlobIds(copy));
    const same = await world.repo.loadBlobs(manifestBlobIds(original));
    for (const [id, bytes] of blobs) expect(bytes.equals(same.get(id)!)).toBe(true);

    const { rows } = await pool.query(`SELECT offsite_copies FROM backup_snapshots WHERE id = $1`, [full.snapshotId]);
    expect(rows[0].offsite_copies).toEqual([expect.objectContaining({ location: target().location, repositoryId: world.repo.id, verified: true, blobsCopied: report.blobs.copied })]);
  });

  it('sends only what the target lacks', async () => {
    await world.client.query(`UPDATE guests SET phone = '+44 7700 900456' WHERE wedding_id = (SELECT id FROM weddings ORDER BY id LIMIT 1)`);
    const inc = await world.backup({ type: 'incremental', tier: 2 });
    const report = await copySnapshot(deps(), inc.snapshotId);
    expect(report.initialised).toBe(false);
    expect(report.blobs.present).toBeGreaterThan(report.blobs.copied);
    expect(report.blobs.copied).toBeGreaterThan(0);
    expect(report.blobs.copied).toBeLessThan(5);
    const again = await copySnapshot(deps(), inc.snapshotId);
    expect(again).toMatchObject({ alreadyPresent: true, blobs: { copied: 0 }, verified: { manifest: true } });
  });

  it('notices a copy that lost a pack, and removes the manifest it wrote', async () => {
    const store = target();
    const offsite = await openRepository(store, world.passphrase);
    await offsite.loadIndex();
    await world.client.query(`UPDATE guests SET phone = '+44 7700 900789' WHERE wedding_id = (SELECT id FROM weddings ORDER BY id LIMIT 1 OFFSET 1)`);
    const inc = await world.backup({ type: 'incremental', tier: 2 });
    // Damage the target: drop the pack that holds the blobs this snapshot shares with the first.
    const shared = [...manifestBlobIds(await world.repo.loadManifest(inc.snapshotId))].find((id) => offsite.blobEntry(id));
    const pack = offsite.blobEntry(shared!)!.packId;
    await store.delete(`packs/${pack.slice(0, 2)}/${pack}`);
    await expect(copySnapshot(deps(), inc.snapshotId)).rejects.toSatisfy((e) => isWedsyncError(e, 'INTEGRITY') && /pack .* missing/.test((e as Error).message));
    expect(await store.head(`snapshots/${inc.snapshotId}`)).toBeNull();
  });

  it('refuses a target that is another repository', async () => {
    const other = new S3BlobStore(s3StoreConfig(s3, 'other'));
    await initRepository(other, world.passphrase, { kdf: TEST_KDF });
    const latest = (await world.repo.listSnapshots())[0]!;
    await expect(copySnapshot({ ...deps(), targetStore: other }, latest)).rejects.toSatisfy((e) => isWedsyncError(e, 'BAD_INPUT') && /another repository/.test((e as Error).message));
    expect((await other.list('snapshots/')).length).toBe(0);
  });

  it('prunes the off-site repository on its own policy: copies kept a year', async () => {
    const snaps = await world.catalog.listSnapshots({ storageLocation: world.repo.location });
    const oldest = snaps[snaps.length - 1]!;
    await pool.query(`UPDATE backup_snapshots SET created_at = now() - interval '400 days', retention_until = now() - interval '370 days' WHERE id = $1`, [oldest.id]);
    // Weddings far ahead: no wedding's final state pins the old copy (that rule is tested in core).
    await pool.query(`UPDATE weddings SET wedding_date = '2029-01-01'`);
    await pool.query(`UPDATE wedding_backup_settings SET high_priority_start = NULL, high_priority_end = NULL`);
    const offsite = await openRepository(target(), world.passphrase);
    const report = await runPrune({ repo: offsite, passphrase: world.passphrase, catalog: pruneCatalog(pool, DEFAULT_SCHEMA_MAP, target().location, 'offsite'), logger, timeZone: 'UTC' }, { target: 'offsite' });
    expect(report.snapshots.forgotten.map((f) => f.id)).toEqual([oldest.id]);
    expect(await offsite.listSnapshots()).not.toContain(oldest.id);
    // The pack deleted in the damage test above is reported, not papered over.
    expect(report.gc!.packs.missing).toBe(1);
    // Only the copy is forgotten: the primary still has it.
    expect(await world.repo.listSnapshots()).toContain(oldest.id);
    const { rows } = await pool.query(`SELECT forgotten_at, offsite_copies->0->>'forgottenAt' AS copy FROM backup_snapshots WHERE id = $1`, [oldest.id]);
    expect(rows[0].forgotten_at).toBeNull();
    expect(rows[0].copy).not.toBeNull();
  });
});
