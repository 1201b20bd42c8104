import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupWorld, type BackupWorld } from '../../test-support/fixtures.js';
import { startS3Server, s3StoreConfig, type S3TestServer } from '../../test-support/s3.js';
import { S3BlobStore } from '../storage/s3/s3-store.js';
import { openRepository } from '../repository/repository.js';

// The same backup task against the S3 protocol (s3rver): what a user with WEDSYNC_REPO=s3://… gets.
describe('backup to an S3 repository', () => {
  let s3: S3TestServer;
  let world: BackupWorld;
  beforeAll(async () => {
    s3 = await startS3Server();
    world = await createBackupWorld({ weddings: 6, repoStore: new S3BlobStore(s3StoreConfig(s3, 'repo')) });
  });
  afterAll(async () => {
    await world?.close();
    await s3?.stop();
  });

  it('writes full and incremental snapshots that a fresh process can read back', async () => {
    const full = await world.backup({ type: 'full' });
    await world.client.query(`UPDATE guests SET phone = '+44 7700 900123' WHERE wedding_id = (SELECT id FROM weddings ORDER BY id LIMIT 1)`);
    const inc = await world.backup({ type: 'incremental' });
    expect(inc.type).toBe('incremental');
    expect(inc.bytesNew).toBeGreaterThan(0);
    expect(inc.bytesNew).toBeLessThan(full.bytesNew / 2);

    const fresh = await openRepository(new S3BlobStore(s3StoreConfig(s3, 'repo')), world.passphrase);
    expect((await fresh.listSnapshots()).sort()).toEqual([full.snapshotId, inc.snapshotId].sort());
    const m = await fresh.loadManifest(inc.snapshotId);
    const ids = m.weddings.flatMap((w) => Object.values(w.tables).flat().map((s) => s.id));
    const blobs = await fresh.loadBlobs(ids);
    expect(blobs.size).toBe(new Set(ids).size);
    const row = await world.catalog.getSnapshot(inc.snapshotId);
    expect(row?.storageProvider).toBe('s3');
    expect(row?.storageLocation).toMatch(/^s3:\/\//);
  });
});
