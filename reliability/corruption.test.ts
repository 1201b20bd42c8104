import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRecoveryCatalog, type RecoveryCatalog } from '../agent/catalog/recovery.js';
import { isWedsyncError } from '../agent/contract/errors.js';
import type { Manifest } from '../agent/contract/manifest.js';
import { DEFAULT_SCHEMA_MAP } from '../agent/contract/schema-map.js';
import { runBackup } from '../agent/jobs/backup.js';
import { previewRestore, startRestore, type RestoreDeps, type RestoreRequest } from '../agent/jobs/restore.js';
import { copyStore, flipByte, masterKeyOf, swapBlobs, truncateBlob } from '../agent/jobs/verify-fixture.js';
import { silentLogger } from '../agent/logger.js';
import { BlobCodec } from '../agent/repository/codec.js';
import { DEFAULT_COMPRESSION_LEVEL, packName, snapshotName } from '../agent/repository/format.js';
import { decodeIndexFile, encodeIndexFile } from '../agent/repository/index-file.js';
import { initRepository, openRepository, type Repository } from '../agent/repository/repository.js';
import { TEST_KDF } from '../agent/repository/test-helpers.js';
import { openBackupSource } from '../agent/source/backup-source.js';
import type { BlobStore } from '../agent/storage/blob-store.js';
import { LocalBlobStore } from '../agent/storage/local/local-store.js';
import { S3BlobStore } from '../agent/storage/s3/s3-store.js';
import { createBackupWorld, restoreDepsFor, type BackupWorld } from '../test-support/fixtures.js';
import { startS3Server, s3StoreConfig, type S3TestServer } from '../test-support/s3.js';
import { tableDigests } from './invariants.js';
import { FULL, report } from './profile.js';

/**
 * Corruption (issue 10, item 5): every kind of damage the validation issue lists — a flipped
 * byte in a segment, a pack header, the index, a manifest, the key file; a truncated, deleted or
 * swapped pack; a deleted index entry; an altered photo blob; a manifest from another
 * repository — made to a copy of a good repository, and then a restore of the wedding it hurts
 * is attempted. Each must be refused before anything changes: every table of the database, the
 * photo files, and the audit trail (no completed operation) exactly as before.
 */
type Damage = (store: BlobStore, ctx: { repo: Repository; manifest: Manifest; wedding: string }) => Promise<void>;
/**
 * refused: the restore stops before changing anything. restores: the damage is in a part no
 * restore reads (a pack header only rebuilds the index), every blob the restore does read is
 * checked against its id, so it restores exactly the snapshot's rows.
 */
type Outcome = 'refused' | 'restores';

describe('damaged repositories: detected before a restore changes anything', () => {
  let world: BackupWorld;
  let recovery: RecoveryCatalog;
  let manifest: Manifest;
  let wedding: string;
  let foreignStore: BlobStore;
  let foreignSnapshot: string;
  let s3: S3TestServer | undefined;
  let dir: string;
  let counter = 0;
  let refused = 0;

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 6, packSize: 64 * 1024 });
    recovery = await openRecoveryCatalog(world.db.url);
    const snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    manifest = await world.repo.loadManifest(snapshotId);
    wedding = manifest.weddings.find((w) => w.photos.length > 0 && w.tables['public.guests']?.length)!.weddingId;
    // Another repository of the same data, for a manifest that belongs elsewhere.
    dir = await mkdtemp(join(tmpdir(), 'wedsync-corrupt-'));
    foreignStore = await LocalBlobStore.open(join(dir, 'foreign'), { create: true });
    const foreign = await initRepository(foreignStore, world.passphrase, { kdf: TEST_KDF });
    foreignSnapshot = (
      await runBackup(
        { openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 1), catalog: world.catalog, repo: foreign, photoStore: null, map: DEFAULT_SCHEMA_MAP, logger: await silentLogger() },
        { type: 'full' },
      )
    ).snapshotId;
    await harm();
    if (FULL) s3 = await startS3Server();
  });
  afterAll(async () => {
    await recovery?.close();
    await world?.close();
    await s3?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    report('corruption', { kinds: DAMAGES.length, targets: FULL ? 2 : 1, refusedBeforeChange: refused });
  });

  /** The day's damage a restore would repair: the wedding's guests gone, a photo file lost. */
  async function harm(): Promise<void> {
    await world.client.query(`DELETE FROM guests WHERE wedding_id = $1`, [wedding]);
    await world.photoStore.delete(manifest.weddings.find((w) => w.weddingId === wedding)!.photos[0]!.storageKey);
  }

  /** Where a blob lives: its pack and byte range. */
  async function located(repo: Repository, blobId: string) {
    await repo.loadIndex();
    const e = repo.blobEntry(blobId)!;
    return { pack: packName(e.packId), offset: e.offset, length: e.length };
  }
  const guestsBlob = (m: Manifest, w: string) => m.weddings.find((x) => x.weddingId === w)!.tables['public.guests']![0]!.id;
  const photoBlob = (m: Manifest, w: string) => m.weddings.find((x) => x.weddingId === w)!.photos[0]!.blobId;

  const DAMAGES: Array<[string, Damage, Outcome?]> = [
    ['a byte flipped inside the wedding’s guests segment', async (s, { repo, manifest: m, wedding: w }) => {
      const at = await located(repo, guestsBlob(m, w));
      await flipByte(s, at.pack, at.offset + Math.floor(at.length / 2));
    }],
    ['a byte flipped in that pack’s header', async (s, { repo, manifest: m, wedding: w }) => flipByte(s, (await located(repo, guestsBlob(m, w))).pack, -10), 'restores'],
    ['a byte flipped in the index file', async (s) => flipByte(s, (await s.list('index/'))[0]!.name, 40)],
    ['a byte flipped in the manifest', async (s, { manifest: m }) => flipByte(s, snapshotName(m.snapshotId), 30)],
    ['a byte flipped in the (only) key file', async (s) => flipByte(s, (await s.list('keys/'))[0]!.name, 200)],
    ['the pack truncated', async (s, { repo, manifest: m, wedding: w }) => {
      const at = await located(repo, guestsBlob(m, w));
      await truncateBlob(s, at.pack, at.offset + 1);
    }],
    ['the pack deleted', async (s, { repo, manifest: m, wedding: w }) => s.delete((await located(repo, guestsBlob(m, w))).pack)],
    ['the segment’s index entry deleted', async (s, { manifest: m, wedding: w }) => {
      const codec = new BlobCodec(await masterKeyOf(s, world.passphrase), DEFAULT_COMPRESSION_LEVEL);
      const drop = guestsBlob(m, w);
      for (const { name } of await s.list('index/')) {
        const packs = decodeIndexFile(codec, name.slice('index/'.length), await s.get(name));
        const file = encodeIndexFile(codec, packs.map((p) => ({ ...p, blobs: p.blobs.filter((b) => b.id !== drop) })));
        await s.put(`index/${file.id}`, file.bytes);
        await s.delete(name);
      }
    }],
    ['the pack swapped with another under their names', async (s, { repo, manifest: m, wedding: w }) => {
      const mine = (await located(repo, guestsBlob(m, w))).pack;
      const other = (await s.list('packs/')).find((p) => p.name !== mine)!.name;
      await swapBlobs(s, mine, other);
    }],
    ['the photo blob altered', async (s, { repo, manifest: m, wedding: w }) => {
      const at = await located(repo, photoBlob(m, w));
      await flipByte(s, at.pack, at.offset + Math.floor(at.length / 2));
    }],
    ['a manifest from another repository in its place', async (s, { manifest: m }) => s.put(snapshotName(m.snapshotId), await foreignStore.get(snapshotName(foreignSnapshot)))],
  ];

  const targets = (): Array<[string, () => Promise<BlobStore>]> => [
    ['folder', () => LocalBlobStore.open(join(dir, `copy-${counter++}`), { create: true })],
    ...(FULL ? ([['S3', async () => new S3BlobStore(s3StoreConfig(s3!, `corrupt-${counter++}`))]] as Array<[string, () => Promise<BlobStore>]>) : []),
  ];

  async function photoFiles(): Promise<string> {
    const h = createHash('sha256');
    for (const { name } of (await world.photoStore.list('')).sort((a, b) => (a.name < b.name ? -1 : 1))) h.update(name).update(await world.photoStore.get(name));
    return h.digest('hex');
  }

  for (const [target, open] of targets()) {
    for (const [what, damage, outcome = 'refused'] of DAMAGES) {
      it(`${target}: ${what}`, async () => {
        const store = await open();
        await copyStore(world.repoStore, store);
        await damage(store, { repo: await openRepository(store, world.passphrase), manifest, wedding });
        const before = {
          tables: await tableDigests(world.client),
          photos: await photoFiles(),
          operations: (await recovery.list({ limit: 1000 })).length,
          snapshots: (await world.catalog.listSnapshots({ limit: 10_000, brief: true })).length,
        };

        let error: unknown = null;
        try {
          const repo = await openRepository(store, world.passphrase);
          const deps: RestoreDeps = restoreDepsFor(world, recovery, await silentLogger(), { repo });
          const request: RestoreRequest = { snapshotId: manifest.snapshotId, recoveryScope: 'wedding-only', weddingIds: [wedding] };
          const { preview, prepared } = await previewRestore(deps, request);
          const started = await startRestore(deps, request, preview.confirmationToken, { initiatedByLabel: 'reliability test' }, prepared);
          await started.done;
        } catch (err) {
          error = err;
        } finally {
          await store.close();
        }
        if (outcome === 'restores') {
          expect(error).toBeNull();
          const restored = (await recovery.list({ limit: 1 }))[0]!;
          expect(restored).toMatchObject({ status: 'completed', successMetrics: { verified: true } });
          await harm();
          return;
        }
        expect(error, `the restore went ahead despite ${what}`).not.toBeNull();
        expect(isWedsyncError(error), String(error)).toBe(true);
        expect(['INTEGRITY', 'BLOB_NOT_FOUND', 'NOT_FOUND', 'WRONG_PASSPHRASE']).toContain((error as { code: string }).code);
        // Nothing changed: the tables, the photo files, and no completed operation.
        expect(await tableDigests(world.client)).toEqual(before.tables);
        expect(await photoFiles()).toBe(before.photos);
        const ops = (await recovery.list({ limit: 1000 })).slice(0, -before.operations || undefined);
        expect(ops.filter((o) => o.status === 'completed')).toEqual([]);
        expect(ops.length).toBeLessThanOrEqual(1);
        // Found before the recovery point too: the damage is reported, not worked around.
        expect((await world.catalog.listSnapshots({ limit: 10_000, brief: true })).length).toBe(before.snapshots);
        refused++;
      });
    }
  }
});
