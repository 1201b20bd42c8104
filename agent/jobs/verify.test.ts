import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { s3StoreConfig, startS3Server, type S3TestServer } from '../../test-support/s3.js';
import { migrate } from '../catalog/migrate.js';
import { openValidationCatalog } from '../catalog/validation.js';
import type { Manifest } from '../contract/manifest.js';
import type { IntegrityFinding, VerifyRunReport } from '../contract/validation-report.js';
import { checkRepository, openRepositoryForCheck } from '../repository/check.js';
import { packName } from '../repository/format.js';
import { decodeIndexFile, encodeIndexFile } from '../repository/index-file.js';
import { initRepository, openRepository, type Repository } from '../repository/repository.js';
import { TEST_KDF } from '../repository/test-helpers.js';
import type { BlobStore } from '../storage/blob-store.js';
import { LocalBlobStore } from '../storage/local/local-store.js';
import { MemoryBlobStore } from '../storage/memory/memory-store.js';
import { S3BlobStore } from '../storage/s3/s3-store.js';
import { verifySnapshots } from './verify.js';
import {
  FIXTURE_PASSPHRASE,
  backUp,
  codecOf,
  copyStore,
  draftFrom,
  flipByte,
  seedAndBackUp,
  swapBlobs,
  truncateBlob,
  type BackedUpRepository,
} from './verify-fixture.js';

/**
 * "Faults it must catch": each fault is made on a fresh copy of one backed-up repository, in a
 * folder and in S3, and must be found at the right level, attributed to the snapshot, wedding
 * and data type it hurts, without the verifier throwing.
 */

let db: TestDatabase;
let golden: BackedUpRepository;
let goldenManifest: Manifest;
let foreign: { store: MemoryBlobStore; snapshotId: string };
let s3: S3TestServer;
let dir: string;
let counter = 0;

beforeAll(async () => {
  db = await createTestDatabase('verify');
  await migrate(db.url);
  golden = await seedAndBackUp(db.url);
  const repo = await openRepository(golden.store, FIXTURE_PASSPHRASE);
  goldenManifest = await repo.loadManifest(golden.snapshotId);
  // Another repository of the same data: its manifest must not pass for one of ours.
  const otherStore = new MemoryBlobStore(`verify-foreign-${process.pid}`);
  const other = await initRepository(otherStore, FIXTURE_PASSPHRASE, { kdf: TEST_KDF, packSize: 64 * 1024 });
  foreign = { store: otherStore, snapshotId: await backUp(db.url, other, golden.photos) };
  s3 = await startS3Server();
  dir = await mkdtemp(join(tmpdir(), 'wedsync-verify-'));
});

afterAll(async () => {
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  await db?.drop();
});

const stores: Record<string, () => Promise<BlobStore>> = {
  folder: () => LocalBlobStore.open(join(dir, `repo-${counter++}`), { create: true }),
  s3: async () => new S3BlobStore(s3StoreConfig(s3, `verify/repo-${counter++}`)),
};

/** Where a wedding's data sits: the first wedding with a segment of `table` (and photos, for 'photo'). */
function target(table: string): { weddingId: string; blobId: string } {
  for (const w of goldenManifest.weddings) {
    const seg = w.tables[table]?.[0];
    if (seg) return { weddingId: w.weddingId, blobId: seg.id };
  }
  throw new Error(`no wedding has ${table}`);
}

function photoTarget(): { weddingId: string; blobId: string; photoId: string } {
  for (const w of goldenManifest.weddings) {
    const p = w.photos[0];
    if (p) return { weddingId: w.weddingId, blobId: p.blobId, photoId: p.photoId };
  }
  throw new Error('no photos');
}

function kinds(run: VerifyRunReport): string[] {
  return [...new Set([...run.snapshots.flatMap((s) => s.findings), ...run.repositoryFindings].map((f) => f.kind))].sort();
}

function findings(run: VerifyRunReport): IntegrityFinding[] {
  return run.snapshots.flatMap((s) => s.findings);
}

describe.each(Object.keys(stores))('verify on a %s repository', (kind) => {
  let store: BlobStore;
  let repo: Repository;

  /** A fresh clean copy of the backed-up repository, damaged by `damage` before it is opened. */
  async function damaged(damage: (store: BlobStore, repo: Repository) => Promise<void> = async () => undefined): Promise<void> {
    store = await stores[kind]!();
    await copyStore(golden.store, store);
    const before = await openRepository(store, FIXTURE_PASSPHRASE);
    await before.loadIndex();
    await damage(store, before);
    repo = await openRepository(store, FIXTURE_PASSPHRASE);
  }

  const verify = (level: 'structure' | 'read-data', subset?: number, ids = [golden.snapshotId]) =>
    verifySnapshots({ repo }, { snapshotIds: ids, level, ...(subset ? { subset } : {}) });

  async function packOf(repo: Repository, blobId: string): Promise<{ pack: string; packId: string; offset: number; length: number }> {
    await repo.loadIndex();
    const entry = repo.blobEntry(blobId);
    if (!entry) throw new Error(`blob ${blobId} not indexed`);
    return { pack: packName(entry.packId), packId: entry.packId, offset: entry.offset, length: entry.length };
  }

  it('passes a clean repository with zero findings at every level', async () => {
    await damaged();
    for (const level of ['structure', 'read-data'] as const) {
      const run = await verify(level);
      expect(kinds(run), level).toEqual([]);
      expect(run.status).toBe('valid');
      expect(run.snapshots[0]!.checked.weddings).toBe(8);
    }
    const full = await verify('read-data');
    const counts = full.snapshots[0]!.checked;
    expect(counts.packsRead).toBe(counts.packs);
    expect(counts.packs).toBeGreaterThan(3);
    expect(counts.blobsRead).toBeGreaterThan(8 * 5);
    expect(counts.rowsCounted).toBe(goldenManifest.totals.rowCount);
    const check = await checkRepository(repo, { readData: true, passphrase: FIXTURE_PASSPHRASE });
    expect(check.findings).toEqual([]);
    expect(check.status).toBe('valid');
    expect(check.counts.snapshots).toBe(1);
  });

  it('finds a flipped byte inside a segment at read-data, naming wedding and data type', async () => {
    const t = target('public.guests');
    let packId = '';
    await damaged(async (s, r) => {
      const p = await packOf(r, t.blobId);
      packId = p.packId;
      await flipByte(s, p.pack, p.offset + Math.floor(p.length / 2));
    });
    expect((await verify('structure')).status).toBe('valid');
    const run = await verify('read-data');
    expect(run.status).toBe('corrupted');
    expect(findings(run)).toContainEqual(expect.objectContaining({ kind: 'blob-corrupt', snapshotId: golden.snapshotId, weddingId: t.weddingId, dataType: 'guests', table: 'public.guests', blobId: t.blobId, packId }));
    expect(findings(run)).toContainEqual(expect.objectContaining({ kind: 'pack-hash-mismatch', packId }));
    expect(run.snapshots[0]!.affectedWeddings).toEqual([t.weddingId]);
    const check = await checkRepository(repo, { readData: true });
    expect(check.findings.map((f) => f.kind)).toContain('blob-corrupt');
  });

  it('finds a flipped byte in a pack header at read-data and in the repository check', async () => {
    let packId = '';
    await damaged(async (s, r) => {
      const p = await packOf(r, target('public.timeline_events').blobId);
      packId = p.packId;
      await flipByte(s, p.pack, -10);
    });
    const run = await verify('read-data');
    expect(run.status).toBe('corrupted');
    expect(findings(run)).toEqual([expect.objectContaining({ kind: 'pack-hash-mismatch', packId, snapshotId: golden.snapshotId })]);
    const check = await checkRepository(repo);
    expect(check.findings).toContainEqual(expect.objectContaining({ kind: 'pack-header-damaged', packId, snapshots: [golden.snapshotId] }));
  });

  it('finds a flipped byte in the index at structure level, naming what it hides', async () => {
    await damaged(async (s) => {
      const [index] = await s.list('index/');
      await flipByte(s, index!.name, 40);
    });
    const run = await verify('structure');
    expect(run.status).toBe('corrupted');
    expect(kinds(run)).toEqual(['blob-missing-from-index', 'index-unreadable']);
    const t = target('public.vendors');
    expect(findings(run)).toContainEqual(expect.objectContaining({ kind: 'blob-missing-from-index', weddingId: t.weddingId, dataType: 'vendors', blobId: t.blobId }));
    const check = await checkRepository(repo);
    expect(check.findings.map((f) => f.kind)).toEqual(expect.arrayContaining(['index-unreadable', 'blob-missing-from-index']));
  });

  it('finds a flipped byte in a manifest at structure level', async () => {
    await damaged(async (s) => flipByte(s, `snapshots/${golden.snapshotId}`, 100));
    const run = await verify('structure');
    expect(run.status).toBe('corrupted');
    expect(findings(run)).toEqual([expect.objectContaining({ kind: 'manifest-undecryptable', snapshotId: golden.snapshotId, severity: 'error' })]);
    expect((await verify('read-data')).status).toBe('corrupted');
    // The weddings it costs are known only from the catalog.
    const catalog = await openValidationCatalog(db.url);
    try {
      const withCatalog = await verifySnapshots({ repo, catalogWeddings: async (id) => (await catalog.get(id))?.weddingIds ?? null }, { snapshotIds: [golden.snapshotId], level: 'structure' });
      expect(withCatalog.snapshots[0]!.affectedWeddings).toEqual(goldenManifest.weddings.map((w) => w.weddingId).sort());
      expect(withCatalog.snapshots[0]!.findings[0]!.message).toMatch(/none of its 8 wedding/);
    } finally {
      await catalog.close();
    }
  });

  it('finds a damaged key file: beside an intact key, and as the only key', async () => {
    let keyId = '';
    await damaged(async (s, r) => {
      const added = await r.addKey(FIXTURE_PASSPHRASE, { kdf: TEST_KDF, label: 'second' });
      keyId = added.id;
      await flipByte(s, `keys/${keyId}`, 30);
    });
    const run = await verify('structure');
    expect(run.snapshots[0]!.status).toBe('valid');
    expect(run.status).toBe('corrupted');
    expect(run.repositoryFindings).toEqual([expect.objectContaining({ kind: expect.stringMatching(/^key-(unreadable|altered)$/), keyId })]);

    // The only key damaged: the repository cannot open, and that is a finding, not a crash.
    const lone = await stores[kind]!();
    await copyStore(golden.store, lone);
    const [key] = await lone.list('keys/');
    for (const offset of [3, 150, -40]) {
      const copy = await stores[kind]!();
      await copyStore(golden.store, copy);
      await flipByte(copy, key!.name, offset);
      const opened = await openRepositoryForCheck(copy, FIXTURE_PASSPHRASE);
      expect(opened.repo, `offset ${offset}`).toBeNull();
      expect(opened.findings.map((f) => f.kind)).toContain('key-unreadable');
    }
  });

  it('finds a truncated pack at structure level, and the blobs it cut at read-data', async () => {
    const t = target('public.timeline_events');
    await damaged(async (s, r) => {
      const p = await packOf(r, t.blobId);
      await truncateBlob(s, p.pack, p.offset + 5);
    });
    const structure = await verify('structure');
    expect(structure.status).toBe('corrupted');
    expect(findings(structure)).toContainEqual(expect.objectContaining({ kind: 'pack-size-mismatch', weddingId: t.weddingId, dataType: 'timeline' }));
    const read = await verify('read-data');
    expect(findings(read)).toContainEqual(expect.objectContaining({ kind: 'blob-corrupt', weddingId: t.weddingId, dataType: 'timeline', blobId: t.blobId }));
  });

  it('finds a deleted pack at structure level: incomplete', async () => {
    const t = target('public.guests');
    let packId = '';
    await damaged(async (s, r) => {
      const p = await packOf(r, t.blobId);
      packId = p.packId;
      await s.delete(p.pack);
    });
    const run = await verify('structure');
    expect(run.status).toBe('incomplete');
    expect(findings(run)).toContainEqual(expect.objectContaining({ kind: 'pack-missing', weddingId: t.weddingId, dataType: 'guests', packId }));
    expect(kinds(run)).toEqual(['pack-missing']);
    const check = await checkRepository(repo);
    expect(check.findings).toContainEqual(expect.objectContaining({ kind: 'index-pack-missing', packId, snapshots: [golden.snapshotId] }));
  });

  it('finds a deleted index entry at structure level: incomplete', async () => {
    const t = target('public.vendors');
    await damaged(async (s) => {
      const codec = await codecOf(s);
      for (const { name } of await s.list('index/')) {
        const id = name.slice('index/'.length);
        const packs = decodeIndexFile(codec, id, await s.get(name));
        const pruned = packs.map((p) => ({ ...p, blobs: p.blobs.filter((b) => b.id !== t.blobId) }));
        const file = encodeIndexFile(codec, pruned);
        await s.put(`index/${file.id}`, file.bytes);
        await s.delete(name);
      }
    });
    const run = await verify('structure');
    expect(run.status).toBe('incomplete');
    expect(findings(run)).toEqual([expect.objectContaining({ kind: 'blob-missing-from-index', weddingId: t.weddingId, dataType: 'vendors', table: 'public.vendors', blobId: t.blobId })]);
  });

  it("finds two packs swapped under each other's names", async () => {
    const a = target('public.guests');
    let packs: string[] = [];
    await damaged(async (s, r) => {
      const pa = await packOf(r, a.blobId);
      // Another pack of data blobs (not a tree pack: a swapped tree pack hides weddings before
      // their segments are read, a different finding), found through the manifest.
      const segments = goldenManifest.weddings.flatMap((w) => [...Object.values(w.tables).flat().map((seg) => seg.id), ...w.photos.map((p) => p.blobId)]);
      let other: string | undefined;
      for (const id of segments) {
        const p = await packOf(r, id);
        if (p.pack !== pa.pack) {
          other = p.pack;
          break;
        }
      }
      packs = [pa.pack, other!];
      await swapBlobs(s, pa.pack, other!);
    });
    const read = await verify('read-data');
    expect(read.status).toBe('corrupted');
    expect(findings(read)).toContainEqual(expect.objectContaining({ kind: 'pack-hash-mismatch', packId: packs[0]!.slice(-64) }));
    expect(findings(read)).toContainEqual(expect.objectContaining({ kind: 'blob-corrupt', weddingId: a.weddingId, dataType: 'guests' }));
    const sizes = await Promise.all(packs.map((p) => golden.store.head(p)));
    if (sizes[0]!.size !== sizes[1]!.size) {
      expect(kinds(await verify('structure'))).toContain('pack-size-mismatch');
    }
  });

  it('finds an altered photo blob at read-data, naming the photo', async () => {
    const t = photoTarget();
    await damaged(async (s, r) => {
      const p = await packOf(r, t.blobId);
      await flipByte(s, p.pack, p.offset + 100);
    });
    expect((await verify('structure')).status).toBe('valid');
    const run = await verify('read-data');
    expect(findings(run)).toContainEqual(expect.objectContaining({ kind: 'blob-corrupt', weddingId: t.weddingId, dataType: 'photos', photoId: t.photoId, blobId: t.blobId }));
  });

  it('refuses a manifest copied from another repository, or renamed', async () => {
    const renamed = randomUUID();
    await damaged(async (s) => {
      await s.put(`snapshots/${foreign.snapshotId}`, await foreign.store.get(`snapshots/${foreign.snapshotId}`));
      await s.put(`snapshots/${renamed}`, await s.get(`snapshots/${golden.snapshotId}`));
    });
    const run = await verify('structure', undefined, [golden.snapshotId, foreign.snapshotId, renamed]);
    expect(run.snapshots.map((s) => s.status)).toEqual(['valid', 'corrupted', 'corrupted']);
    expect(run.snapshots[1]!.findings).toEqual([expect.objectContaining({ kind: 'manifest-undecryptable', snapshotId: foreign.snapshotId })]);
    expect(run.snapshots[1]!.findings[0]!.message).toMatch(/another repository/);
    expect(run.snapshots[2]!.findings).toEqual([expect.objectContaining({ kind: 'manifest-undecryptable', snapshotId: renamed })]);
  });

  it('reads only the sampled packs with a subset, the same ones every time', async () => {
    await damaged();
    const half = await verify('read-data', 0.5);
    const again = await verify('read-data', 0.5);
    const c = half.snapshots[0]!.checked;
    expect(c.packsRead).toBeLessThan(c.packs);
    expect(c.packsRead).toBe(again.snapshots[0]!.checked.packsRead);
    expect(half.snapshots[0]!.subset).toBe(0.5);
    expect(kinds(half)).toEqual([]);
  });
});

describe('read-data checks on forged manifests (content the writer vouched for, wrong)', () => {
  let repo: Repository;

  beforeAll(async () => {
    const store = new MemoryBlobStore(`verify-forged-${process.pid}`);
    await copyStore(golden.store, store);
    repo = await openRepository(store, FIXTURE_PASSPHRASE);
  });

  async function forge(edit: (m: ReturnType<typeof draftFrom>) => void): Promise<string> {
    const id = randomUUID();
    const draft = draftFrom(goldenManifest, id);
    edit(draft);
    await repo.saveManifest(draft);
    return id;
  }

  const readData = async (id: string) => (await verifySnapshots({ repo }, { snapshotIds: [id], level: 'read-data' })).snapshots[0]!;

  it('recounts rows against the manifest', async () => {
    const w = goldenManifest.weddings[2]!;
    const id = await forge((d) => {
      const seg = d.weddings[2]!.tables['public.guests']![0]!;
      seg.rows += 1;
    });
    const report = await readData(id);
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'row-count-mismatch', weddingId: w.weddingId, dataType: 'guests' })]);
    expect(report.status).toBe('corrupted');
  });

  it("re-hashes photos against the manifest's sha256", async () => {
    const w = goldenManifest.weddings.find((x) => x.photos.length > 0)!;
    const id = await forge((d) => {
      const photo = d.weddings.find((x) => x.weddingId === w.weddingId)!.photos[0]!;
      photo.sha256 = 'f'.repeat(64);
    });
    const report = await readData(id);
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'photo-hash-mismatch', weddingId: w.weddingId, dataType: 'photos', photoId: w.photos[0]!.photoId })]);
  });

  it("finds rows filed under another wedding (recovery-point consistency)", async () => {
    const [a, b] = goldenManifest.weddings;
    const id = await forge((d) => {
      d.weddings[0]!.tables['public.guests'] = structuredClone(b!.tables['public.guests']!);
    });
    const report = await readData(id);
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'wedding-id-mismatch', weddingId: a!.weddingId, dataType: 'guests', table: 'public.guests' })]);
  });

  it('finds timeline vendor references that do not resolve inside the snapshot', async () => {
    // A wedding whose timeline names at least one vendor.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ wedding_id: string }>('SELECT wedding_id::text FROM timeline_events WHERE vendor_id IS NOT NULL ORDER BY wedding_id LIMIT 1');
    await client.end();
    const weddingId = rows[0]!.wedding_id;
    const id = await forge((d) => {
      const w = d.weddings.find((x) => x.weddingId === weddingId)!;
      const other = d.weddings.find((x) => x.weddingId !== weddingId)!;
      w.tables['public.vendors'] = structuredClone(other.tables['public.vendors']!);
    });
    const report = await readData(id);
    expect(report.findings.map((f) => [f.kind, f.weddingId, f.dataType])).toEqual(
      expect.arrayContaining([
        ['wedding-id-mismatch', weddingId, 'vendors'],
        ['vendor-reference-unresolved', weddingId, 'timeline'],
      ]),
    );
  });

  it('flags a wedding listed without its own row at structure level', async () => {
    const w = goldenManifest.weddings[1]!;
    const id = await forge((d) => {
      delete d.weddings[1]!.tables['public.weddings'];
    });
    const report = (await verifySnapshots({ repo }, { snapshotIds: [id], level: 'structure' })).snapshots[0]!;
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'wedding-row-missing', weddingId: w.weddingId, dataType: 'wedding' })]);
    expect(report.status).toBe('incomplete');
  });
});
