import { z } from 'zod';
import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import { manifestBlobIds } from '../contract/manifest.js';
import type { BlobStore } from '../storage/blob-store.js';
import { BlobCodec, UnsealError, sha256Hex } from './codec.js';
import { openConfig } from './config.js';
import { mapLimit } from './concurrency.js';
import { AAD, INDEX_PREFIX, KEYS_PREFIX, PACKS_PREFIX, indexName, keyName, packIdFromName, packName } from './format.js';
import { type IndexedPack, decodeIndexFile, encodeIndexFile } from './index-file.js';
import { parseKeyFile, unwrapMasterKey } from './keys.js';
import { type PackBlob, assemblePack, readPackHeader } from './pack.js';
import type { Repository } from './repository.js';

/**
 * Garbage collection of a repository: after prune has forgotten snapshots (deleted their
 * manifests), remove the packs no remaining manifest needs and rewrite the index without them;
 * repack packs that are mostly garbage (copy their live blobs, still sealed, into new packs).
 *
 * Safety with backups running at the same time. A pack written by a backup in progress is not
 * referenced by any manifest yet (the manifest is the backup's last write). Two protections:
 *  1. LOCK: the caller holds the repository's exclusive lock (lock.ts); the agent's runner takes a
 *     shared lock around every backup, so prune and the agent's backups never overlap.
 *  2. GRACE PERIOD, for writers that take no lock (a `backup` command run by hand): a pack nobody
 *     references is deleted (or repacked) only once it has been seen unreferenced by an earlier GC
 *     at least `graceMs` ago (default 6 hours: longer than any backup). The first sightings are
 *     kept in `maintenance/prune-state.json` (plaintext: pack ids and times only). The one
 *     exception: a pack whose every unreferenced blob belonged to a snapshot forgotten in this
 *     very run is old by construction (it existed before that snapshot was written) and goes at once.
 *  What the grace period cannot cover is a lock-less backup deduplicating against a blob in a
 *  pack that is garbage now and deleted while that backup runs; that is why the agent's own
 *  backups take the shared lock, and why lock-less writers should too.
 *
 * Crash safety: new packs first, then the new index, then the old index files are deleted, then
 * the old packs. A crash at any point leaves either duplicates (harmless) or packs no index lists
 * (garbage for the next run) — never an index entry or manifest pointing at a deleted pack.
 *
 * Packs that are still in use are never touched; a manifest or index file that cannot be read
 * stops the GC (INTEGRITY) before anything is deleted: we cannot know what it references.
 */

export const PRUNE_STATE_NAME = 'maintenance/prune-state.json';
export const DEFAULT_GRACE_MS = 6 * 3_600_000;
export const DEFAULT_REPACK_THRESHOLD = 0.5;
/** Packs per rewritten index file: keeps each file a few MiB at most. */
const PACKS_PER_INDEX_FILE = 5_000;
const READ_CONCURRENCY = 4;

export interface GcOptions {
  passphrase: string;
  now: Date;
  graceMs?: number;
  /** Repack a partly used pack when at least this fraction of its bytes is garbage. */
  repackThreshold?: number;
  /** Compute and report, write nothing. */
  dryRun?: boolean;
  /** Blob ids of the snapshots this prune just forgot (see the grace exception above). */
  forgottenBlobIds?: ReadonlySet<string>;
  /** Manifests to treat as already deleted (a dry run of a prune that would forget them). */
  ignoreSnapshots?: ReadonlySet<string>;
  /** Called before every destructive step; throws to stop (the lock was lost). */
  assertLocked?: () => void;
  signal?: AbortSignal;
}

export interface GcReport {
  dryRun: boolean;
  manifests: number;
  packs: {
    total: number;
    used: number;
    deleted: number;
    repacked: number;
    written: number;
    /** Unreferenced but within the grace period (kept for now). */
    young: number;
    /** Present in the store but in no index file (a backup in progress, or a crash's leftovers). */
    unindexed: number;
    /** Listed by the index but gone from the store. */
    missing: number;
  };
  blobs: { referenced: number; garbage: number; missing: string[] };
  bytes: { before: number; freed: number; rewritten: number };
  indexFiles: { read: number; written: number; deleted: number };
}

const stateSchema = z.object({
  formatVersion: z.literal(1),
  /** packId → when a GC first saw it unreferenced. */
  unreferencedSince: z.record(z.string(), z.string()),
});
type PruneState = z.infer<typeof stateSchema>;

/**
 * The repository's codec, from its key file and the passphrase (one scrypt). GC needs it to
 * read and rewrite index files and pack headers itself; the Repository keeps its own private.
 */
export async function openCodec(repo: Repository, passphrase: string): Promise<BlobCodec> {
  const names = [keyName(repo.keyId), ...(await repo.store.list(KEYS_PREFIX)).map((b) => b.name).filter((n) => n !== keyName(repo.keyId))];
  const configBytes = await repo.store.get('config');
  for (const name of names) {
    let bytes: Buffer;
    try {
      bytes = await repo.store.get(name);
    } catch (err) {
      if (isWedsyncError(err, 'BLOB_NOT_FOUND')) continue;
      throw err;
    }
    const parsed = parseKeyFile(bytes, name.slice(KEYS_PREFIX.length));
    if (parsed.kind !== 'ok') continue;
    const master = await unwrapMasterKey(parsed.file, passphrase);
    if (!master) continue;
    const codec = new BlobCodec(master, repo.config.settings.compressionLevel);
    try {
      if (openConfig(codec, configBytes, repo.location).repositoryId === repo.id) return codec;
    } catch {
      continue;
    }
  }
  throw new WedsyncError('WRONG_PASSPHRASE', `wrong passphrase for repository at ${repo.location}`);
}

async function readState(store: BlobStore): Promise<PruneState> {
  try {
    const parsed = stateSchema.safeParse(JSON.parse((await store.get(PRUNE_STATE_NAME)).toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch (err) {
    if (!isWedsyncError(err, 'BLOB_NOT_FOUND') && !(err instanceof SyntaxError)) throw err;
  }
  return { formatVersion: 1, unreferencedSince: {} };
}

interface PackPlan {
  id: string;
  size: number;
  blobs: PackBlob[];
  used: PackBlob[];
  garbageBytes: number;
  indexed: boolean;
}

export async function collectGarbage(repo: Repository, opts: GcOptions): Promise<GcReport> {
  const store = repo.store;
  const now = opts.now.getTime();
  const grace = opts.graceMs ?? DEFAULT_GRACE_MS;
  const threshold = opts.repackThreshold ?? DEFAULT_REPACK_THRESHOLD;
  const forgotten = opts.forgottenBlobIds ?? new Set<string>();
  const dryRun = opts.dryRun ?? false;
  const checkpoint = () => {
    if (opts.signal?.aborted) throw new WedsyncError('CANCELLED', 'prune was cancelled');
    opts.assertLocked?.();
  };
  const codec = await openCodec(repo, opts.passphrase);
  const state = await readState(store);

  // 1. The index as stored, file by file (only these files are replaced at the end).
  const indexFiles = (await store.list(INDEX_PREFIX)).map((b) => b.name.slice(INDEX_PREFIX.length));
  const indexedPacks = new Map<string, IndexedPack>();
  await mapLimit(indexFiles, READ_CONCURRENCY, async (indexId) => {
    const bytes = await store.get(indexName(indexId));
    for (const pack of decodeIndexFile(codec, indexId, bytes)) if (!indexedPacks.has(pack.id)) indexedPacks.set(pack.id, pack);
  });

  // 2. The packs really there. Listed after the index files: a pack indexed by a file written
  //    after step 1 looks unindexed here, and the grace period protects it.
  const stored = new Map<string, number>();
  for (const { name, size } of await store.list(PACKS_PREFIX)) {
    const id = packIdFromName(name);
    if (id) stored.set(id, size);
  }

  // 3. What the remaining manifests reference.
  const snapshotIds = (await repo.listSnapshots()).filter((id) => !opts.ignoreSnapshots?.has(id));
  const referenced = new Set<string>();
  for (const id of snapshotIds) {
    checkpoint();
    for (const blobId of manifestBlobIds(await repo.loadManifest(id))) referenced.add(blobId);
  }

  // 4. One home per referenced blob (the first pack, by id, that holds it and still exists):
  //    duplicates elsewhere are garbage in their packs.
  const home = new Map<string, string>();
  for (const pack of [...indexedPacks.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (!stored.has(pack.id)) continue;
    for (const b of pack.blobs) if (referenced.has(b.id) && !home.has(b.id)) home.set(b.id, pack.id);
  }

  const plans: PackPlan[] = [];
  let missingPacks = 0;
  for (const pack of indexedPacks.values()) {
    const size = stored.get(pack.id);
    if (size === undefined) {
      missingPacks++;
      continue;
    }
    const used = pack.blobs.filter((b) => home.get(b.id) === pack.id);
    const garbageBytes = pack.blobs.filter((b) => home.get(b.id) !== pack.id).reduce((n, b) => n + b.length, 0);
    plans.push({ id: pack.id, size, blobs: pack.blobs, used, garbageBytes, indexed: true });
  }
  const unindexedIds = [...stored.keys()].filter((id) => !indexedPacks.has(id));

  // 5. Which candidates are old enough to touch.
  const seen = state.unreferencedSince;
  const nextState: PruneState = { formatVersion: 1, unreferencedSince: {} };
  // Every candidate is remembered with its first sighting; those removed below are dropped at the end.
  const oldEnough = (pack: { id: string; garbage: PackBlob[] | null }) => {
    nextState.unreferencedSince[pack.id] = seen[pack.id] ?? opts.now.toISOString();
    const since = seen[pack.id] ? Date.parse(seen[pack.id]!) : null;
    if (since !== null && now - since >= grace) return true;
    return Boolean(pack.garbage && pack.garbage.length > 0 && pack.garbage.every((b) => forgotten.has(b.id)));
  };

  const toDelete: PackPlan[] = [];
  const toRepack: PackPlan[] = [];
  let young = 0;
  for (const plan of plans) {
    if (plan.used.length === plan.blobs.length) continue;
    const garbage = plan.blobs.filter((b) => !plan.used.includes(b));
    // Recorded for every pack holding garbage, so its age counts even while under the repack threshold.
    const old = oldEnough({ id: plan.id, garbage });
    if (plan.used.length === 0) {
      if (old) toDelete.push(plan);
      else young++;
    } else if (plan.garbageBytes >= threshold * plan.size) {
      if (old) toRepack.push(plan);
      else young++;
    }
  }
  // Unindexed packs: deleted once past the grace period, unless their header shows a blob some
  // manifest needs and has nowhere else (an index file was lost): then they are indexed again.
  const reindex: IndexedPack[] = [];
  const unindexedDelete: Array<{ id: string; size: number }> = [];
  for (const id of unindexedIds) {
    if (!oldEnough({ id, garbage: null })) {
      young++;
      continue;
    }
    const size = stored.get(id)!;
    let blobs: PackBlob[];
    try {
      blobs = await readPackHeader(store, codec, packName(id), size);
    } catch (err) {
      if (!isWedsyncError(err, 'INTEGRITY')) throw err;
      unindexedDelete.push({ id, size }); // damaged and unindexed: nothing can use it
      continue;
    }
    const needed = blobs.filter((b) => referenced.has(b.id) && !home.has(b.id));
    if (needed.length > 0) {
      delete nextState.unreferencedSince[id];
      for (const b of needed) home.set(b.id, id);
      reindex.push({ id, size, blobs });
    } else {
      unindexedDelete.push({ id, size });
    }
  }

  const missingBlobs = [...referenced].filter((id) => !home.has(id)).sort();
  const report: GcReport = {
    dryRun,
    manifests: snapshotIds.length,
    packs: { total: stored.size, used: plans.filter((p) => p.used.length > 0).length, deleted: 0, repacked: 0, written: 0, young, unindexed: unindexedIds.length, missing: missingPacks },
    blobs: { referenced: referenced.size, garbage: plans.reduce((n, p) => n + p.blobs.length - p.used.length, 0), missing: missingBlobs.slice(0, 100) },
    bytes: { before: [...stored.values()].reduce((a, b) => a + b, 0), freed: 0, rewritten: 0 },
    indexFiles: { read: indexFiles.length, written: 0, deleted: 0 },
  };
  const deletions = [...toDelete.map((p) => ({ id: p.id, size: p.size })), ...unindexedDelete];
  if (dryRun) {
    report.packs.deleted = deletions.length;
    report.packs.repacked = toRepack.length;
    report.bytes.freed = deletions.reduce((n, p) => n + p.size, 0) + toRepack.reduce((n, p) => n + p.garbageBytes, 0);
    report.bytes.rewritten = toRepack.reduce((n, p) => n + p.size - p.garbageBytes, 0);
    return report;
  }

  // 6. Repack: live blobs move, still sealed (a sealed blob is bound to its id, not its pack).
  const written: IndexedPack[] = [];
  const repacked: PackPlan[] = [];
  let parts: Buffer[] = [];
  let blobs: PackBlob[] = [];
  let length = 0;
  const sealPack = async () => {
    if (blobs.length === 0) return;
    const { id, bytes } = assemblePack(codec, parts, length, blobs);
    checkpoint();
    await store.put(packName(id), bytes);
    written.push({ id, size: bytes.length, blobs });
    report.bytes.rewritten += bytes.length;
    parts = [];
    blobs = [];
    length = 0;
  };
  for (const plan of toRepack) {
    checkpoint();
    const bytes = await store.get(packName(plan.id));
    let ok = sha256Hex(bytes) === plan.id;
    const moving: Array<{ blob: PackBlob; sealed: Buffer }> = [];
    for (const blob of ok ? plan.used : []) {
      const sealed = bytes.subarray(blob.offset, blob.offset + blob.length);
      try {
        if (codec.blobId(codec.open(sealed, AAD.blob(blob.id))) !== blob.id) ok = false;
      } catch (err) {
        if (!(err instanceof UnsealError)) throw err;
        ok = false;
      }
      moving.push({ blob, sealed });
    }
    if (!ok) continue; // a damaged pack is left for check/repair, never copied from
    for (const { blob, sealed } of moving) {
      if (length > 0 && length + sealed.length > repo.config.settings.packSize) await sealPack();
      blobs.push({ id: blob.id, type: blob.type, offset: length, length: sealed.length, rawLength: blob.rawLength });
      parts.push(Buffer.from(sealed));
      length += sealed.length;
    }
    repacked.push(plan);
  }
  await sealPack();

  // 7. The new index: every indexed pack that stays, the repacked ones' replacements, and
  //    unindexed packs that turned out to be needed. Written before anything is deleted.
  const gone = new Set([...deletions.map((d) => d.id), ...repacked.map((p) => p.id)]);
  const changed = gone.size > 0 || written.length > 0 || reindex.length > 0 || missingPacks > 0;
  if (changed) {
    const keep = [...indexedPacks.values()].filter((p) => stored.has(p.id) && !gone.has(p.id));
    const all = [...keep, ...reindex, ...written].sort((a, b) => (a.id < b.id ? -1 : 1));
    const newIds = new Set<string>();
    for (let i = 0; i < all.length; i += PACKS_PER_INDEX_FILE) {
      const file = encodeIndexFile(codec, all.slice(i, i + PACKS_PER_INDEX_FILE));
      checkpoint();
      await store.put(indexName(file.id), file.bytes);
      newIds.add(file.id);
      report.indexFiles.written++;
    }
    for (const old of indexFiles) {
      if (newIds.has(old)) continue;
      checkpoint();
      await store.delete(indexName(old));
      report.indexFiles.deleted++;
    }
    // 8. Only now the packs.
    for (const id of gone) {
      checkpoint();
      await store.delete(packName(id));
    }
  }
  report.packs.deleted = deletions.length;
  report.packs.repacked = repacked.length;
  report.packs.written = written.length;
  report.bytes.freed = deletions.reduce((n, p) => n + p.size, 0) + repacked.reduce((n, p) => n + p.size, 0) - report.bytes.rewritten;
  for (const id of gone) delete nextState.unreferencedSince[id];
  await store.put(PRUNE_STATE_NAME, Buffer.from(JSON.stringify(nextState)));
  return report;
}
