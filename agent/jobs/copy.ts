import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import { manifestBlobIds } from '../contract/manifest.js';
import type { Logger } from '../logger.js';
import { CONFIG_NAME, KEYS_PREFIX, packName, snapshotName } from '../repository/format.js';
import { acquireLock } from '../repository/lock.js';
import { isRepository, openRepository, type Repository } from '../repository/repository.js';
import type { BlobStore } from '../storage/blob-store.js';

/**
 * The off-site copy (tier 4, `wedsync-backup copy SNAPSHOT --to REPO`): one snapshot from this
 * repository into another, usually an S3 bucket elsewhere.
 *
 * The off-site repository is a REPLICA: the same repository id and master key (its config and
 * key files are copied verbatim when the target is empty). So blob ids are equal on both sides,
 * the manifest is copied as stored (still sealed, integrity hash unchanged), the same passphrase
 * opens both, and what the target already holds is never sent again. A non-empty target that is
 * not a replica of this repository is refused (BAD_INPUT): nothing is written to it.
 *
 * Order: blobs the target lacks (read here, stored through the target's own pack writer: the
 * target's packs and index files are its own, so transfer is per blob — less than per pack),
 * then the target's index, then the manifest LAST. Then the copy is verified from a freshly
 * opened target: the manifest decrypts and has the source's integrity hash, every blob it
 * references is in the target's index and its pack exists and is long enough; with
 * `verifyData`, every blob is also read back and checked against its id. If verification fails,
 * the manifest written by this run is removed again (no snapshot that cannot be restored is
 * left behind) and the copy fails with INTEGRITY.
 *
 * Runs under a SHARED lock on the target, so a prune of the off-site repository (exclusive)
 * never collects packs of a copy in progress.
 */

export interface CopyDeps {
  source: Repository;
  targetStore: BlobStore;
  passphrase: string;
  logger: Logger;
  agentName?: string | null;
  /** Records the verified copy (catalog backup_snapshots.offsite_copies). */
  recordCopy?: (snapshotId: string, copy: { location: string; repositoryId: string; copiedAt: string; verified: boolean; blobsCopied: number; bytesCopied: number }) => Promise<void>;
}

export interface CopyOptions {
  /** Read back every blob of the snapshot from the target (costs a full download). */
  verifyData?: boolean;
  lockWaitMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: { blobsDone: number; blobsTotal: number; bytes: number }) => void;
}

export interface CopyReport {
  snapshotId: string;
  source: string;
  target: string;
  repositoryId: string;
  /** The target was empty and became a replica in this run. */
  initialised: boolean;
  /** The target already had this snapshot's manifest. */
  alreadyPresent: boolean;
  blobs: { total: number; copied: number; present: number };
  /** Plaintext bytes sent. */
  bytesCopied: number;
  packsWritten: number;
  verified: { manifest: boolean; blobs: number; packs: number; dataRead: boolean };
  durationMs: number;
}

/** Makes `target` a replica of `source` if it is empty; opens it; refuses a foreign repository. */
export async function openReplica(source: Repository, target: BlobStore, passphrase: string): Promise<{ repo: Repository; initialised: boolean }> {
  let initialised = false;
  if (!(await isRepository(target))) {
    const existing = await target.list('');
    const foreign = existing.filter((b) => !b.name.startsWith(KEYS_PREFIX) && !b.name.startsWith('locks/'));
    if (foreign.length > 0) {
      throw new WedsyncError('BAD_INPUT', `off-site location ${target.location} is not empty and holds no repository (${foreign.length} files, e.g. ${foreign[0]!.name}); use an empty location`);
    }
    // Key files first, config last: the config's existence is what makes it a repository.
    for (const { name } of await source.store.list(KEYS_PREFIX)) await target.put(name, await source.store.get(name));
    await target.put(CONFIG_NAME, await source.store.get(CONFIG_NAME));
    initialised = true;
  }
  const repo = await openRepository(target, passphrase);
  if (repo.id !== source.id) {
    throw new WedsyncError('BAD_INPUT', `off-site repository at ${target.location} is another repository (id ${repo.id}, this one is ${source.id}); copy needs an empty location or a replica of this repository`);
  }
  return { repo, initialised };
}

export async function copySnapshot(deps: CopyDeps, snapshotId: string, options: CopyOptions = {}): Promise<CopyReport> {
  const started = Date.now();
  const { source, targetStore, logger } = deps;
  const manifest = await source.loadManifest(snapshotId);
  const ids = [...manifestBlobIds(manifest)];
  const { repo: target, initialised } = await openReplica(source, targetStore, deps.passphrase);
  const lock = await acquireLock(targetStore, {
    kind: 'shared',
    purpose: `copy of snapshot ${snapshotId}`,
    agent: deps.agentName ?? null,
    waitMs: options.lockWaitMs ?? 60_000,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  let wroteManifest = false;
  try {
    const alreadyPresent = (await targetStore.head(snapshotName(snapshotId))) !== null;
    await target.loadIndex();
    const missing = ids.filter((id) => !target.hasBlob(id));
    let bytes = 0;
    let done = 0;
    await source.loadIndex();
    // Data first, trees after: the target keeps trees in packs of their own, as the source does.
    const isTree = (id: string) => source.blobEntry(id)?.type === 'tree';
    for (const group of [missing.filter((id) => !isTree(id)), missing.filter(isTree)]) {
      await source.forEachBlob(group, async (id, plaintext) => {
        if (options.signal?.aborted) throw new WedsyncError('CANCELLED', 'the copy was cancelled');
        const entry = source.blobEntry(id);
        if (!entry) throw new WedsyncError('BLOB_NOT_FOUND', `blob ${id} vanished from the source index`);
        const saved = await target.saveBlob(entry.type, plaintext);
        // Same master key on both sides: a different id would mean the target is not a replica.
        if (saved.id !== id) throw new WedsyncError('INTEGRITY', `blob ${id} got id ${saved.id} in the target: the keys differ`);
        bytes += plaintext.length;
        options.onProgress?.({ blobsDone: ++done, blobsTotal: missing.length, bytes });
      });
    }
    if (options.signal?.aborted) throw new WedsyncError('CANCELLED', 'the copy was cancelled');
    lock.assertHeld();
    const flushed = await target.flush();
    if (!alreadyPresent) {
      await targetStore.put(snapshotName(snapshotId), await source.store.get(snapshotName(snapshotId)));
      wroteManifest = true;
    }

    const verified = await verifyCopy(targetStore, deps.passphrase, snapshotId, manifest.integrityHash, ids, options.verifyData ?? false);
    const report: CopyReport = {
      snapshotId,
      source: source.location,
      target: targetStore.location,
      repositoryId: source.id,
      initialised,
      alreadyPresent,
      blobs: { total: ids.length, copied: missing.length, present: ids.length - missing.length },
      bytesCopied: bytes,
      packsWritten: flushed.packIds.length,
      verified,
      durationMs: Date.now() - started,
    };
    await deps.recordCopy?.(snapshotId, {
      location: targetStore.location,
      repositoryId: source.id,
      copiedAt: new Date().toISOString(),
      verified: true,
      blobsCopied: missing.length,
      bytesCopied: bytes,
    });
    logger.info({ snapshotId, target: targetStore.location, copied: missing.length, present: report.blobs.present, bytes }, 'off-site copy verified');
    return report;
  } catch (err) {
    await target.discardUnflushed().catch(() => undefined);
    if (wroteManifest) await targetStore.delete(snapshotName(snapshotId)).catch(() => undefined);
    throw err;
  } finally {
    await lock.release().catch(() => undefined);
  }
}

/** The checks described at the top of this file, against a freshly opened target. */
async function verifyCopy(
  store: BlobStore,
  passphrase: string,
  snapshotId: string,
  integrityHash: string,
  ids: string[],
  readData: boolean,
): Promise<CopyReport['verified']> {
  const fresh = await openRepository(store, passphrase);
  const copy = await fresh.loadManifest(snapshotId);
  if (copy.integrityHash !== integrityHash) throw new WedsyncError('INTEGRITY', `the copy of snapshot ${snapshotId} differs from the original`);
  await fresh.loadIndex();
  const packEnds = new Map<string, number>();
  const unindexed: string[] = [];
  for (const id of ids) {
    const entry = fresh.blobEntry(id);
    if (!entry) {
      unindexed.push(id);
      continue;
    }
    packEnds.set(entry.packId, Math.max(packEnds.get(entry.packId) ?? 0, entry.offset + entry.length));
  }
  if (unindexed.length > 0) {
    throw new WedsyncError('INTEGRITY', `copy of snapshot ${snapshotId} is incomplete: ${unindexed.length} blobs are in no index of ${store.location} (e.g. ${unindexed[0]})`);
  }
  for (const [packId, end] of packEnds) {
    const info = await store.head(packName(packId));
    if (!info || info.size < end) {
      // The target's index still lists the lost pack, so its blobs look present to every copy:
      // `prune --offsite` rewrites the index without it, and the next copy sends them again.
      throw new WedsyncError(
        'INTEGRITY',
        `copy of snapshot ${snapshotId} is incomplete: pack ${packId} is ${info ? `too short (${info.size} bytes)` : 'missing'} in ${store.location}; run \`wedsync-backup prune --offsite\` to drop it from the index, then copy again`,
      );
    }
  }
  if (readData) {
    try {
      await fresh.forEachBlob(ids, () => undefined);
    } catch (err) {
      if (isWedsyncError(err, 'INTEGRITY') || isWedsyncError(err, 'BLOB_NOT_FOUND')) {
        throw new WedsyncError('INTEGRITY', `copy of snapshot ${snapshotId} does not read back: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }
  return { manifest: true, blobs: ids.length, packs: packEnds.size, dataRead: readData };
}
