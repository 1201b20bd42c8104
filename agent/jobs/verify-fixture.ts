import { openCatalog } from '../catalog/catalog.js';
import type { Manifest, ManifestDraft } from '../contract/manifest.js';
import { DEFAULT_SCHEMA_MAP } from '../contract/schema-map.js';
import { silentLogger } from '../logger.js';
import { BlobCodec, type MasterKey } from '../repository/codec.js';
import { DEFAULT_COMPRESSION_LEVEL, KEYS_PREFIX } from '../repository/format.js';
import { parseKeyFile, unwrapMasterKey } from '../repository/keys.js';
import { type Repository, initRepository } from '../repository/repository.js';
import { TEST_KDF } from '../repository/test-helpers.js';
import { openBackupSource } from '../source/backup-source.js';
import { seed, type SeedOptions } from '../source/seed.js';
import type { BlobStore } from '../storage/blob-store.js';
import { MemoryBlobStore } from '../storage/memory/memory-store.js';
import { runBackup } from './backup.js';

/**
 * Test fixtures for validation: a seeded database backed up into a repository, and the tools to
 * damage a copy of it the way disks, networks and people do (flip a byte, truncate, delete,
 * rename, forge). Used by the verify, check and API tests; not part of the product.
 */

export const FIXTURE_PASSPHRASE = 'fixture passphrase for verify tests';
/** A fixed day and zone: the seeded rows, and the data-validation day windows, depend on them. */
export const FIXTURE_NOW = new Date('2026-06-13T10:30:00Z');
export const FIXTURE_TZ = 'Europe/Dublin';

export const SMALL_SEED: SeedOptions = {
  weddings: 8,
  guestsPerWedding: 6,
  timelineEventsPerWedding: 5,
  vendorsPerWedding: 3,
  photosPerWedding: 3,
  photoFilesPerWedding: 2,
  seed: 11,
  now: FIXTURE_NOW,
  timeZone: FIXTURE_TZ,
};

export interface BackedUpRepository {
  store: MemoryBlobStore;
  photos: MemoryBlobStore;
  snapshotId: string;
  repositoryId: string;
}

let counter = 0;

/**
 * Seeds `dbUrl` (already migrated) and takes a full backup into a fresh in-memory repository
 * with small (64 KiB) packs, so even a few weddings spread over many packs.
 */
export async function seedAndBackUp(dbUrl: string, opts: { seed?: Partial<SeedOptions>; photos?: MemoryBlobStore } = {}): Promise<BackedUpRepository> {
  const photos = opts.photos ?? new MemoryBlobStore(`fixture-photos-${process.pid}-${counter++}`);
  await seed(dbUrl, { ...SMALL_SEED, ...opts.seed, writePhoto: (key, bytes) => photos.put(key, bytes) });
  const store = new MemoryBlobStore(`fixture-repo-${process.pid}-${counter++}`);
  const repo = await initRepository(store, FIXTURE_PASSPHRASE, { kdf: TEST_KDF, packSize: 64 * 1024 });
  const snapshotId = await backUp(dbUrl, repo, photos);
  return { store, photos, snapshotId, repositoryId: repo.id };
}

/** A full backup of `dbUrl` into `repo` (catalog rows included); returns the snapshot id. */
export async function backUp(dbUrl: string, repo: Repository, photos: BlobStore | null): Promise<string> {
  const catalog = await openCatalog(dbUrl);
  try {
    const result = await runBackup(
      { openSource: () => openBackupSource(dbUrl, DEFAULT_SCHEMA_MAP, 2), catalog, repo, photoStore: photos, map: DEFAULT_SCHEMA_MAP, logger: await silentLogger() },
      { type: 'full' },
    );
    return result.snapshotId;
  } finally {
    await catalog.close();
  }
}

/** Copies every blob of `from` into `to` (a clean copy to damage). */
export async function copyStore(from: BlobStore, to: BlobStore): Promise<void> {
  for (const { name } of await from.list('')) await to.put(name, await from.get(name));
}

/** XORs the byte at `offset` (negative: from the end) with 0xff. */
export async function flipByte(store: BlobStore, name: string, offset: number): Promise<void> {
  const bytes = await store.get(name);
  const at = offset < 0 ? bytes.length + offset : offset;
  bytes[at] = bytes[at]! ^ 0xff;
  await store.put(name, bytes);
}

export async function truncateBlob(store: BlobStore, name: string, keep: number): Promise<void> {
  const bytes = await store.get(name);
  await store.put(name, bytes.subarray(0, keep));
}

/** Stores blob `a` under `b`'s name and `b` under `a`'s. */
export async function swapBlobs(store: BlobStore, a: string, b: string): Promise<void> {
  const [ba, bb] = await Promise.all([store.get(a), store.get(b)]);
  await store.put(a, bb);
  await store.put(b, ba);
}

/** The master key, as only a holder of the passphrase gets it (for forging index files). */
export async function masterKeyOf(store: BlobStore, passphrase = FIXTURE_PASSPHRASE): Promise<MasterKey> {
  for (const { name } of await store.list(KEYS_PREFIX)) {
    const parsed = parseKeyFile(await store.get(name), name.slice(KEYS_PREFIX.length));
    if (parsed.kind !== 'ok') continue;
    const master = await unwrapMasterKey(parsed.file, passphrase);
    if (master) return master;
  }
  throw new Error('no key opens with the fixture passphrase');
}

export async function codecOf(store: BlobStore): Promise<BlobCodec> {
  return new BlobCodec(await masterKeyOf(store), DEFAULT_COMPRESSION_LEVEL);
}

/** A manifest draft from a stored manifest (new id, same content), to forge variants of it. */
export function draftFrom(m: Manifest, snapshotId: string): ManifestDraft {
  const { integrityHash: _h, formatVersion: _f, repositoryId: _r, encryptionKeyId: _k, ...rest } = m;
  return { ...structuredClone(rest), snapshotId };
}
