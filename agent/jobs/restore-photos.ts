import { createHash } from 'node:crypto';
import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import type { PhotoRef } from '../contract/manifest.js';
import type { Repository } from '../repository/repository.js';
import type { BlobStore } from '../storage/blob-store.js';

/**
 * Photo files of a restore: which ones the photo store lacks (or holds with other content),
 * and writing them back from the repository, each checked by sha256 before and after.
 */
export type ScopedPhoto = PhotoRef & { weddingId: string };

const CONCURRENCY = 8;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function eachLimit<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** The photos whose file is missing from the store or differs from the snapshot's (by size, then sha256). */
export async function photosToWrite(store: BlobStore, photos: ScopedPhoto[]): Promise<ScopedPhoto[]> {
  const out: ScopedPhoto[] = [];
  await eachLimit(photos, async (p) => {
    const info = await store.head(p.storageKey).catch((err: unknown) => {
      if (isWedsyncError(err, 'BAD_INPUT')) return null; // a key the store cannot hold: treat as missing, the write will say why
      throw err;
    });
    if (!info || info.size !== p.sizeBytes || sha256(await store.get(p.storageKey)) !== p.sha256) out.push(p);
  });
  return out;
}

/**
 * Reads the photos' blobs from the repository and checks each against its sha256 — call before
 * changing anything, so a damaged photo blob refuses the restore up front.
 */
export async function loadPhotoBlobs(repo: Repository, photos: ScopedPhoto[]): Promise<Map<string, Buffer>> {
  const byBlob = new Map(photos.map((p) => [p.blobId, p]));
  const out = new Map<string, Buffer>();
  await repo.forEachBlob(byBlob.keys(), (id, bytes) => {
    const p = byBlob.get(id)!;
    if (sha256(bytes) !== p.sha256) throw new WedsyncError('INTEGRITY', `photo ${p.photoId} of wedding ${p.weddingId} in the repository does not match its sha256`);
    out.set(id, bytes);
  });
  return out;
}

/** Writes the files and reads each back: INTEGRITY when the store returns other bytes. */
export async function writePhotos(store: BlobStore, photos: ScopedPhoto[], blobs: Map<string, Buffer>): Promise<number> {
  let written = 0;
  await eachLimit(photos, async (p) => {
    await store.put(p.storageKey, blobs.get(p.blobId)!);
    const back = sha256(await store.get(p.storageKey));
    if (back !== p.sha256) throw new WedsyncError('INTEGRITY', `photo ${p.storageKey} of wedding ${p.weddingId} reads back from ${store.location} with sha256 ${back}, expected ${p.sha256}`);
    written++;
  });
  return written;
}
