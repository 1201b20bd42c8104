/**
 * WedSync snapshot repository, FORMAT VERSION 2 (reads 1). This comment is the spec later versions must read.
 *
 * Version 2 changed only how a snapshot is stored (the rest is as in version 1 below):
 *   snapshots/<uuid>    sealed JSON ROOT (same AAD): contract SnapshotRoot = every manifest field
 *                       but `weddings`, plus trees: { bucketCount, entries: [{ bucket, id,
 *                       weddingIds, organizationIds, tableRows, segmentCount, photoCount,
 *                       bytesRaw, bytesStored }] }, integrityHash over all of it (tree ids too).
 *   blobs of type "tree" (pack type code 2), in packs holding only trees: JSON { kind:
 *                       "wedsync-tree", formatVersion: 2, bucket, weddings: [ManifestWedding…] },
 *                       the weddings whose id hashes into the bucket (snapshot-tree.ts), sorted.
 *   index files and config carry formatVersion 2; key files stay version 1.
 * A version-1 snapshot (one manifest with every wedding) is still read; both kinds may sit in one
 * repository. Unchanged trees deduplicate like any blob: an incremental writes only the trees of
 * buckets it touched. The root is still written last.
 *
 * Version 1:
 *
 * A repository is a flat namespace of immutable blobs in a BlobStore (folder, S3, memory):
 *
 *   keys/<keyId>        plaintext JSON, one per passphrase (keys.ts):
 *                         { formatVersion: 1, id: 32 hex, label, created: ISO,
 *                           kdf: { name: "scrypt", N, r, p, salt: base64 (32 bytes) },
 *                           wrap: { alg: "aes-256-gcm", nonce, ciphertext, tag: base64 } }
 *                       wrap = AES-256-GCM under scrypt(NFC(passphrase), salt) → 32 bytes,
 *                       AAD "wedsync:key:v1:<keyId>", of encryptionKey (32) | macKey (32).
 *   config              sealed JSON (AAD "wedsync:config:v1"): { formatVersion: 1, repositoryId,
 *                       created, settings: { packSize, compressionLevel } }. Written last by init:
 *                       its existence makes the place a repository.
 *   packs/<xx>/<packId> pack files, packId = hex SHA-256 of the pack bytes, xx = its first 2 digits
 *                       (pack.ts): sealed blobs | sealed binary header | u32 LE header length.
 *   index/<indexId>     sealed JSON (AAD "wedsync:index:v1"), indexId = hex SHA-256 of the stored
 *                       bytes: { formatVersion: 1, packs: [{ id, size, blobs: [{ id, type, offset,
 *                       length, rawLength }] }] } (index-file.ts). A cache of the pack headers.
 *   snapshots/<uuid>    sealed JSON manifest (AAD "wedsync:snapshot:v1:<uuid>"), contract
 *                       Manifest with integrityHash (manifest-codec.ts). Written LAST: a snapshot
 *                       exists only once its manifest is stored.
 *
 * "sealed" (codec.ts): nonce (12 random bytes) | AES-256-GCM(flag | payload) | tag (16 bytes),
 * flag 0 = payload is the plaintext, 1 = payload is one zstd frame of it (kept only if smaller).
 * Blobs: type "segment" (rows of one table for one wedding, or a key-ordered run) or "photo";
 * blob id = hex HMAC-SHA-256(macKey, plaintext); a blob is sealed with AAD = its 32-byte id.
 * Equal content → equal id → stored once, across all snapshots of the repository.
 *
 * Write order in a backup: packs (data, then trees), then one index file, then the manifest/root. A crash at any point
 * leaves either a complete snapshot or none (plus unreferenced packs for prune to collect).
 */
import { randomUUID } from 'node:crypto';
import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import {
  type Manifest,
  type ManifestDraft,
  type ManifestWedding,
  type SnapshotRoot,
  type TreeEntry,
  manifestBlobIds,
  manifestDraftSchema,
  snapshotRootSchema,
} from '../contract/manifest.js';
import type { BlobStore } from '../storage/blob-store.js';
import { BlobCodec, type MasterKey, sha256Hex } from './codec.js';
import { readPoolFor } from './codec-pool.js';
import { openChecked } from './codec-tasks.js';
import { type RepositoryConfig, configSchema, openConfig, sealConfig } from './config.js';
import {
  CONFIG_NAME,
  DEFAULT_COMPRESSION_LEVEL,
  DEFAULT_PACK_SIZE,
  FORMAT_VERSION,
  INDEX_PREFIX,
  KEYS_PREFIX,
  PACKS_PREFIX,
  SNAPSHOTS_PREFIX,
  type BlobType,
  indexName,
  keyName,
  packIdFromName,
  packName,
  snapshotName,
} from './format.js';
import { type IndexEntry, type IndexedPack, decodeIndexFile, encodeIndexFile } from './index-file.js';
import { MasterIndex } from './master-index.js';
import {
  type KdfParams,
  type KeyFile,
  type KeyInfo,
  keyInfo,
  newMasterKey,
  parseKeyFile,
  serializeKeyFile,
  unwrapMasterKey,
  wrapMasterKey,
} from './keys.js';
import { integrityHash, openManifest, sealManifest } from './manifest-codec.js';
import { type PackBlob, parsePack, readPackHeader } from './pack.js';
import { type FlushResult, PackWriter, type SaveBlobResult, type WriterStats } from './pack-writer.js';
import { mapLimit } from './concurrency.js';
import { defaultBucketCount, encodeTree, groupByBucket, treeEntryOf } from './snapshot-tree.js';
import { SnapshotView } from './snapshot-view.js';

export type { BlobType } from './format.js';
export type { KdfParams, KeyInfo } from './keys.js';
export type { FlushResult, SaveBlobResult, WriterStats } from './pack-writer.js';
export type { RepositoryConfig } from './config.js';
export { SnapshotView } from './snapshot-view.js';

/** What a backup hands to saveSnapshotRoot: the root without the fields the repository fills in. */
export type SnapshotRootDraft = Omit<SnapshotRoot, 'formatVersion' | 'repositoryId' | 'encryptionKeyId' | 'integrityHash'>;

export interface InitOptions {
  /** Label of the first key (who or what it is for). */
  label?: string;
  /** scrypt cost; tests pass a small N. Default N=2^15, r=8, p=1. */
  kdf?: KdfParams;
  /** Target pack size in bytes (default 4 MiB). Fixed in the config. */
  packSize?: number;
  /** zstd level (default 3). Fixed in the config. */
  compressionLevel?: number;
  uploadConcurrency?: number;
}

export interface OpenOptions {
  /** Pack uploads in flight at once (default 3). */
  uploadConcurrency?: number;
  /** scrypt cost for keys this session adds or rewrites (addKey, changePassphrase). */
  kdf?: KdfParams;
}

/** Shape of the repository at a glance (for `describe` / the console). */
export interface RepositoryStats {
  location: string;
  provider: BlobStore['provider'];
  repositoryId: string;
  formatVersion: number;
  created: string;
  encryptionKeyId: string;
  settings: RepositoryConfig['settings'];
  keyCount: number;
  snapshotCount: number;
  indexFileCount: number;
  packCount: number;
  packBytes: number;
  /** Blobs in the loaded index. */
  blobCount: number;
  /** Packs present in the store that no loaded index file lists (crash leftovers, or another agent's session in progress). */
  unindexedPackCount: number;
}

export interface IndexLoadResult {
  indexFiles: number;
  packs: number;
  blobs: number;
}

export interface RebuildIndexOptions {
  /** Write the rebuilt index and delete the index files it replaces (default true). */
  write?: boolean;
  /** Also read each pack whole and check it hashes to its name (slow; default false). */
  verifyPackHashes?: boolean;
  /** @internal with write: false, return the packs read (`collected`). */
  collect?: boolean;
}

export interface RebuildIndexResult {
  packs: number;
  blobs: number;
  /** Packs whose header could not be read or authenticated; their blobs are not in the index. */
  damaged: Array<{ packId: string; reason: string }>;
  indexId: string | null;
  removedIndexFiles: string[];
  /** @internal see RebuildIndexOptions.collect */
  collected?: IndexedPack[];
}

export interface PackCheckResult {
  packId: string;
  blobs: number;
  size: number;
}

const DEFAULT_UPLOAD_CONCURRENCY = 3;
/** Parallel reads for index files, pack headers and blob ranges. */
const READ_CONCURRENCY = 4;
/** Blobs of one pack closer than this are fetched in one range read: a round trip costs more. */
const RANGE_MERGE_GAP = 256 * 1024;
/**
 * A merged range read grows to this many bytes at most: its plaintext (several times larger) is
 * one buffer once decoded, alive until its last blob is consumed, so ranges in flight bound memory.
 */
const RANGE_MAX_BYTES = 1024 * 1024;
const SNAPSHOT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY_ID = /^[0-9a-f]{32}$/;

function requirePassphrase(passphrase: string): void {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new WedsyncError('PASSPHRASE_REQUIRED', 'a repository passphrase is required');
  }
}

async function getOrNull(store: BlobStore, name: string): Promise<Buffer | null> {
  try {
    return await store.get(name);
  } catch (err) {
    if (isWedsyncError(err, 'BLOB_NOT_FOUND')) return null;
    throw err;
  }
}

/** True when `store` holds a repository (a config blob). */
export async function isRepository(store: BlobStore): Promise<boolean> {
  return (await store.head(CONFIG_NAME)) !== null;
}

/**
 * Creates a repository: a fresh master key, its first key file, then the config.
 * CONFLICT if a config already exists (nothing is written then). Key files left by an init that
 * crashed before writing the config are removed first: without a config they open nothing.
 */
export async function initRepository(store: BlobStore, passphrase: string, opts: InitOptions = {}): Promise<Repository> {
  requirePassphrase(passphrase);
  const master = newMasterKey();
  const created = new Date().toISOString();
  const checked = configSchema.safeParse({
    formatVersion: FORMAT_VERSION,
    repositoryId: randomUUID(),
    created,
    settings: {
      packSize: opts.packSize ?? DEFAULT_PACK_SIZE,
      compressionLevel: opts.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL,
    },
  });
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new WedsyncError('BAD_INPUT', `invalid repository setting ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'bad value'}`);
  }
  const config: RepositoryConfig = checked.data;
  if (await isRepository(store)) {
    throw new WedsyncError('CONFLICT', `a repository already exists at ${store.location}`);
  }
  for (const stale of await store.list(KEYS_PREFIX)) await store.delete(stale.name);
  const keyFile = await wrapMasterKey(master, passphrase, {
    label: opts.label ?? 'initial key',
    created,
    ...(opts.kdf ? { kdf: opts.kdf } : {}),
  });
  const codec = new BlobCodec(master, config.settings.compressionLevel);
  await store.put(keyName(keyFile.id), serializeKeyFile(keyFile));
  await store.put(CONFIG_NAME, sealConfig(codec, config));
  const repo = new Repository(store, config, master, codec, keyFile.id, {
    uploadConcurrency: opts.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
    ...(opts.kdf ? { kdf: opts.kdf } : {}),
  });
  // A new repository has no index files: mark the (empty) index as loaded so saves start at once.
  repo.markIndexLoaded();
  return repo;
}

/**
 * Opens a repository by trying `passphrase` on each key file. Writes nothing.
 * REPO_NOT_INITIALISED: no config. WRONG_PASSPHRASE: no key file opens with it.
 * REPO_VERSION_UNSUPPORTED: the config, or every key that might match, is from a newer format.
 * INTEGRITY: a key opens but the config does not decrypt under it, or key files are unreadable.
 */
export async function openRepository(store: BlobStore, passphrase: string, opts: OpenOptions = {}): Promise<Repository> {
  requirePassphrase(passphrase);
  const configBytes = await getOrNull(store, CONFIG_NAME);
  if (!configBytes) {
    throw new WedsyncError('REPO_NOT_INITIALISED', `no repository at ${store.location} (run init first)`);
  }
  const keyNames = (await store.list(KEYS_PREFIX)).map((b) => b.name).sort();
  if (keyNames.length === 0) {
    throw new WedsyncError('INTEGRITY', `repository at ${store.location} has no key files`);
  }

  let newerKeys = 0;
  let invalidKeys = 0;
  let configError: unknown = null;
  // One at a time: each try is a deliberately slow scrypt, and the first match usually wins.
  for (const name of keyNames) {
    const keyId = name.slice(KEYS_PREFIX.length);
    const bytes = await getOrNull(store, name);
    if (!bytes) continue; // removed since the listing
    const parsed = parseKeyFile(bytes, keyId);
    if (parsed.kind === 'newer') {
      newerKeys++;
      continue;
    }
    if (parsed.kind === 'invalid') {
      invalidKeys++;
      continue;
    }
    const master = await unwrapMasterKey(parsed.file, passphrase);
    if (!master) continue;
    // Pack size and level come from the config, so a provisional codec decrypts it.
    const probe = new BlobCodec(master, DEFAULT_COMPRESSION_LEVEL);
    let config: RepositoryConfig;
    try {
      config = openConfig(probe, configBytes, store.location);
    } catch (err) {
      if (isWedsyncError(err, 'INTEGRITY')) {
        // A key of another master key (e.g. copied from elsewhere): keep trying the others.
        configError = err;
        continue;
      }
      throw err;
    }
    const codec = new BlobCodec(master, config.settings.compressionLevel);
    return new Repository(store, config, master, codec, keyId, {
      uploadConcurrency: opts.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
      ...(opts.kdf ? { kdf: opts.kdf } : {}),
    });
  }
  if (configError) throw configError;
  if (newerKeys > 0) {
    throw new WedsyncError(
      'REPO_VERSION_UNSUPPORTED',
      `repository at ${store.location}: no key opens with this passphrase, and ${newerKeys} key file(s) use a format newer than ${FORMAT_VERSION}`,
    );
  }
  if (invalidKeys === keyNames.length) {
    throw new WedsyncError('INTEGRITY', `repository at ${store.location}: every key file is unreadable`);
  }
  throw new WedsyncError('WRONG_PASSPHRASE', `wrong passphrase for repository at ${store.location}`);
}

/**
 * An open repository: the unwrapped master key plus the loaded index.
 *
 * Guarantees:
 * - Blobs are content-addressed (HMAC id) and stored once; `loadBlob` returns exactly the bytes
 *   saved under that id or throws INTEGRITY.
 * - Nothing is durable before `flush()`; a manifest is accepted only once every blob it references
 *   is in a stored index file, so a stored manifest never points at data that may be missing.
 * - Single writer per Repository object. Several agents may write one repository at once: packs
 *   and index files never collide (content-named), at worst content is stored twice.
 */
export class Repository {
  private readonly index = new MasterIndex();
  private readonly writer: PackWriter;
  private indexLoad: Promise<IndexLoadResult> | null = null;
  private indexLoaded = false;
  /** True while the open pack takes trees: trees and data never share a pack (see saveTree). */
  private treePacks = false;
  /** Blob locations read from every pack header, for trees no readable index lists (see forEachBlob). */
  private packScan: Promise<Map<string, IndexEntry>> | null = null;

  /** @internal use initRepository / openRepository. */
  constructor(
    readonly store: BlobStore,
    readonly config: RepositoryConfig,
    private readonly master: MasterKey,
    private readonly codec: BlobCodec,
    /** Id of the key file this repository was opened with: a snapshot's encryption_key_id. */
    readonly keyId: string,
    private readonly options: { uploadConcurrency: number; kdf?: KdfParams },
  ) {
    this.writer = new PackWriter(store, codec, this.index, {
      packSize: config.settings.packSize,
      uploadConcurrency: Math.max(1, Math.floor(options.uploadConcurrency)),
      key: master,
      compressionLevel: config.settings.compressionLevel,
    });
  }

  get id(): string {
    return this.config.repositoryId;
  }

  get location(): string {
    return this.store.location;
  }

  /**
   * A new Repository over the same store and the master key this one already unwrapped, with
   * its own writer and an index read afresh on first use — what a long-running process (the
   * agent) takes per job instead of deriving the key from the passphrase again (scrypt costs
   * ~0.1 s and a core each time). Nothing secret is written anywhere. null when the key file
   * this one was opened with is gone (removed: that passphrase no longer opens the repository;
   * the caller opens with the passphrase again, which fails or finds another key).
   */
  async reopen(): Promise<Repository | null> {
    if (!(await this.store.head(keyName(this.keyId)))) return null;
    const repo = new Repository(this.store, this.config, this.master, new BlobCodec(this.master, this.config.settings.compressionLevel), this.keyId, this.options);
    return repo;
  }

  /** @internal */
  markIndexLoaded(): void {
    this.indexLoaded = true;
  }

  // ---------------------------------------------------------------- blobs

  /**
   * Stores `plaintext` as a blob of `type` unless the repository already has it (`isNew: false`).
   * Resolves once the blob is buffered (and any full pack's upload has started): await it for
   * bounded memory. Durable only after `flush()`. The first call loads the index if needed.
   * `plaintext` is not retained (it is compressed/encrypted into new buffers before this returns,
   * once the index is loaded), so the caller may reuse its buffer as soon as the promise resolves.
   */
  saveBlob(type: BlobType, plaintext: Uint8Array): Promise<SaveBlobResult> {
    if (!this.indexLoaded) return this.loadIndex().then(() => this.saveBlob(type, plaintext));
    // Trees go to packs of their own: a snapshot's structure is read without its data (a
    // one-wedding restore, prune, check), and losing a data pack never costs a tree.
    if (this.treePacks !== (type === 'tree') && !this.writer.has(this.codec.blobId(plaintext))) {
      this.treePacks = type === 'tree';
      return this.writer.sealPack().then(() => this.writer.save(type, plaintext));
    }
    return this.writer.save(type, plaintext);
  }

  /** True when a blob with this id is stored (loaded index or this unflushed session). */
  hasBlob(blobId: string): boolean {
    return this.writer.has(blobId);
  }

  /** Where a stored blob lives (loaded index only; undefined for unknown or unflushed blobs). */
  blobEntry(blobId: string): IndexEntry | undefined {
    return this.index.get(blobId);
  }

  /** Every pack the loaded index lists, with the size the index records for it. */
  indexedPacks(): Array<{ id: string; size: number; blobCount: number }> {
    return this.index.packList();
  }

  /**
   * Decrypts one sealed blob the caller read itself (e.g. out of a whole pack) and checks it
   * against its id, exactly as loadBlob does. INTEGRITY (naming blob and `where`) if damaged.
   */
  openBlob(blobId: string, sealed: Buffer, where: string): Buffer {
    return this.decodeBlob(blobId, sealed, where);
  }

  /** Counters of the current (unflushed) session. */
  get sessionStats(): Readonly<WriterStats> {
    return this.writer.stats;
  }

  /** True while blobs are saved that no stored index file lists yet (flush() pending). */
  get hasUnflushed(): boolean {
    return this.writer.hasUnflushed;
  }

  /** Uploads buffered blobs, then one index file for this session's packs. See PackWriter.flush. */
  flush(): Promise<FlushResult> {
    this.treePacks = false;
    return this.writer.flush();
  }

  /** Forgets everything saved since the last flush (cancelled or failed backup). */
  discardUnflushed(): Promise<void> {
    this.treePacks = false;
    return this.writer.discard();
  }

  /**
   * The plaintext of blob `blobId`, decrypted, decompressed and checked against its id.
   * BLOB_NOT_FOUND if no index lists it; INTEGRITY (naming blob and pack) if the bytes are damaged.
   */
  async loadBlob(blobId: string): Promise<Buffer> {
    await this.ensureIndex();
    if (this.writer.isPending(blobId)) await this.writer.settle();
    const pending = this.writer.sessionBlob(blobId);
    if (pending?.sealed) return this.decodeBlob(blobId, pending.sealed, 'an unflushed pack');
    const entry: IndexEntry | { packId: string; offset: number; length: number } | undefined =
      pending?.packId ? { packId: pending.packId, offset: pending.offset, length: pending.length } : await this.findBlob(blobId);
    if (!entry) throw this.blobNotFound(blobId);
    const name = packName(entry.packId);
    const sealed = await this.store.getRange(name, entry.offset, entry.length);
    return this.decodeBlob(blobId, sealed, name);
  }

  /**
   * Several blobs at once, read pack by pack with merged range reads (blobs of one pack that lie
   * close together come in one request). `onBlob` is called once per distinct id, in no
   * particular order; the plaintext buffer is the caller's. Errors as for loadBlob.
   */
  async forEachBlob(
    blobIds: Iterable<string>,
    onBlob: (blobId: string, plaintext: Buffer) => void | Promise<void>,
    opts: { scanPacksOnMiss?: boolean } = {},
  ): Promise<void> {
    await this.ensureIndex();
    const byPack = new Map<string, Array<{ id: string; offset: number; length: number }>>();
    const inMemory: string[] = [];
    const wanted = new Set(blobIds);
    // Blobs of this session still at a codec worker: wait until they are placed in packs.
    for (const id of wanted) {
      if (!this.writer.isPending(id)) continue;
      await this.writer.settle();
      break;
    }
    for (const id of wanted) {
      const pending = this.writer.sessionBlob(id);
      if (pending?.sealed) {
        inMemory.push(id);
        continue;
      }
      const entry = pending?.packId
        ? { packId: pending.packId, offset: pending.offset, length: pending.length }
        : opts.scanPacksOnMiss
          ? await this.findBlobOrScan(id)
          : await this.findBlob(id);
      if (!entry) throw this.blobNotFound(id);
      let list = byPack.get(entry.packId);
      if (!list) byPack.set(entry.packId, (list = []));
      list.push({ id, offset: entry.offset, length: entry.length });
    }
    for (const id of inMemory) await onBlob(id, await this.loadBlob(id));

    // One unit of work per merged range, so a single big pack still reads in parallel pieces.
    const ranges: Array<{ packId: string; start: number; end: number; blobs: Array<{ id: string; offset: number; length: number }> }> = [];
    for (const [packId, blobs] of byPack) {
      blobs.sort((a, b) => a.offset - b.offset);
      let current: (typeof ranges)[number] | null = null;
      for (const blob of blobs) {
        if (current && blob.offset - current.end <= RANGE_MERGE_GAP && blob.offset + blob.length - current.start <= RANGE_MAX_BYTES) {
          current.end = Math.max(current.end, blob.offset + blob.length);
          current.blobs.push(blob);
        } else {
          current = { packId, start: blob.offset, end: blob.offset + blob.length, blobs: [blob] };
          ranges.push(current);
        }
      }
    }
    // Much to decode (a complete restore): worker threads decode while the next ranges are read
    // and the caller consumes; a little (one wedding): inline, no thread start-up.
    const pool = readPoolFor(ranges.reduce((a, r) => a + (r.end - r.start), 0));
    await mapLimit(ranges, READ_CONCURRENCY, async (range) => {
      const name = packName(range.packId);
      const bytes = await this.store.getRange(name, range.start, range.end - range.start);
      if (pool) {
        const spans = range.blobs.map((b) => ({ id: b.id, offset: b.offset - range.start, length: b.length }));
        // The range buffer is ours alone: handed over to the worker, not copied.
        const { plain, results } = await pool.open(this.master, this.config.settings.compressionLevel, bytes, spans, true);
        for (const [i, blob] of range.blobs.entries()) {
          const r = results[i]!;
          if ('error' in r) throw this.damagedBlob(blob.id, name, r.error);
          await onBlob(blob.id, plain.subarray(r.offset, r.offset + r.length));
        }
        return;
      }
      for (const blob of range.blobs) {
        const sealed = bytes.subarray(blob.offset - range.start, blob.offset - range.start + blob.length);
        await onBlob(blob.id, this.decodeBlob(blob.id, sealed, name));
      }
    });
  }

  /** findBlob, falling back to the pack headers when no readable index lists the blob. */
  private async findBlobOrScan(blobId: string): Promise<IndexEntry | undefined> {
    try {
      const entry = await this.findBlob(blobId);
      if (entry) return entry;
    } catch (err) {
      // A damaged index file (re-read on the miss) must not hide the blob: its pack still says where it is.
      if (!isWedsyncError(err, 'INTEGRITY')) throw err;
    }
    return (await this.scanPacks()).get(blobId);
  }

  /**
   * Where every blob is according to the pack headers (read once per Repository object). Only for
   * reading trees no readable index lists — a damaged index file must not hide which weddings a
   * snapshot holds (check and verify then name what the index lost).
   */
  private scanPacks(): Promise<Map<string, IndexEntry>> {
    this.packScan ??= this.rebuildIndexFromPacks({ write: false, collect: true }).then((r) => {
      const found = new Map<string, IndexEntry>();
      for (const pack of r.collected ?? []) for (const b of pack.blobs) if (!found.has(b.id)) found.set(b.id, { packId: pack.id, type: b.type, offset: b.offset, length: b.length, rawLength: b.rawLength });
      return found;
    });
    return this.packScan;
  }

  /** Like forEachBlob, collected into a map (holds every plaintext in memory at once). */
  async loadBlobs(blobIds: Iterable<string>): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    await this.forEachBlob(blobIds, (id, plaintext) => {
      out.set(id, plaintext);
    });
    return out;
  }

  private decodeBlob(blobId: string, sealed: Buffer, where: string): Buffer {
    const opened = openChecked(this.codec, blobId, sealed);
    if ('error' in opened) throw this.damagedBlob(blobId, where, opened.error);
    return opened.plain;
  }

  /** The one error for a blob that does not decrypt, decompress or match its id, inline or from a worker. */
  private damagedBlob(blobId: string, where: string, reason: string): WedsyncError {
    return new WedsyncError('INTEGRITY', `blob ${blobId} in ${where} is damaged: ${reason}`, { details: { blobId, pack: where } });
  }

  private blobNotFound(blobId: string): WedsyncError {
    return new WedsyncError('BLOB_NOT_FOUND', `blob ${blobId} is not in any index of the repository at ${this.location}`, {
      details: { blobId },
    });
  }

  /** Index lookup, re-reading index files once on a miss (another agent may have added it). */
  private async findBlob(blobId: string): Promise<IndexEntry | undefined> {
    const entry = this.index.get(blobId);
    if (entry) return entry;
    await this.loadIndex();
    return this.index.get(blobId);
  }

  // ---------------------------------------------------------------- index

  private async ensureIndex(): Promise<void> {
    if (!this.indexLoaded) await this.loadIndex();
  }

  /**
   * Reads every index file not read yet and merges it into the in-memory index (cached for the
   * life of this object); when an index file read before has been removed (prune rewrote the
   * index), reads the whole index again instead. Concurrent calls share one load.
   */
  loadIndex(): Promise<IndexLoadResult> {
    if (!this.indexLoad) {
      this.indexLoad = this.readNewIndexFiles().finally(() => {
        this.indexLoad = null;
      });
    }
    return this.indexLoad;
  }

  private async readNewIndexFiles(): Promise<IndexLoadResult> {
    const listed = new Set((await this.store.list(INDEX_PREFIX)).map((b) => b.name.slice(INDEX_PREFIX.length)));
    // An index file read earlier is gone: prune (or an index rebuild) replaced the index, and the
    // packs only the old files listed may be deleted. Start over from the files there now, so an
    // object kept open for long (the agent's) never deduplicates against, or vouches for, a
    // deleted pack. The new entries are swapped in at once, never leaving the index half empty.
    const replaced = [...this.index.loadedFiles].some((id) => !listed.has(id));
    const fresh = [...listed].filter((id) => replaced || !this.index.loadedFiles.has(id));
    const read: Array<{ indexId: string; packs: IndexedPack[] }> = [];
    await mapLimit(fresh, READ_CONCURRENCY, async (indexId) => {
      const bytes = await getOrNull(this.store, indexName(indexId));
      if (!bytes) return; // replaced by a rebuild since the listing
      read.push({ indexId, packs: decodeIndexFile(this.codec, indexId, bytes) });
    });
    if (replaced) this.index.clear();
    for (const { indexId, packs } of read) {
      for (const pack of packs) this.index.addPack(pack);
      this.index.loadedFiles.add(indexId);
    }
    this.indexLoaded = true;
    return { indexFiles: this.index.loadedFiles.size, packs: this.index.packCount, blobs: this.index.blobCount };
  }

  /**
   * Like loadIndex, but an index file that cannot be read, authenticated or parsed is skipped
   * and reported instead of failing the whole load: verify and check must see past one damaged
   * file. The index is then marked loaded with what could be read (a later loadIndex() tries
   * the skipped files again and throws as before). Storage errors still throw.
   */
  async loadIndexReportingDamage(): Promise<IndexLoadResult & { damaged: Array<{ indexId: string; reason: string }> }> {
    const listed = await this.store.list(INDEX_PREFIX);
    const fresh = listed.map((b) => b.name.slice(INDEX_PREFIX.length)).filter((id) => !this.index.loadedFiles.has(id));
    const damaged: Array<{ indexId: string; reason: string }> = [];
    await mapLimit(fresh, READ_CONCURRENCY, async (indexId) => {
      const bytes = await getOrNull(this.store, indexName(indexId));
      if (!bytes) return;
      let packs: IndexedPack[];
      try {
        packs = decodeIndexFile(this.codec, indexId, bytes);
      } catch (err) {
        if (!isWedsyncError(err, 'INTEGRITY') && !isWedsyncError(err, 'REPO_VERSION_UNSUPPORTED')) throw err;
        damaged.push({ indexId, reason: err.message });
        return;
      }
      for (const pack of packs) this.index.addPack(pack);
      this.index.loadedFiles.add(indexId);
    });
    this.indexLoaded = true;
    damaged.sort((a, b) => (a.indexId < b.indexId ? -1 : 1));
    return { indexFiles: this.index.loadedFiles.size, packs: this.index.packCount, blobs: this.index.blobCount, damaged };
  }

  /**
   * Rebuilds the index from the pack headers alone (after index files were lost or damaged, or to
   * pick up packs of a crashed session). With `write` (default) stores one new index file, then
   * deletes the index files that existed before, and replaces the in-memory index.
   * Damaged packs are reported, not fatal.
   */
  async rebuildIndexFromPacks(opts: RebuildIndexOptions = {}): Promise<RebuildIndexResult> {
    const write = opts.write ?? true;
    const oldIndexFiles = (await this.store.list(INDEX_PREFIX)).map((b) => b.name);
    const packs = await this.store.list(PACKS_PREFIX);
    const rebuilt: IndexedPack[] = [];
    const damaged: RebuildIndexResult['damaged'] = [];
    await mapLimit(packs, READ_CONCURRENCY, async ({ name, size }) => {
      const packId = packIdFromName(name);
      if (!packId) {
        damaged.push({ packId: name, reason: 'not a pack name' });
        return;
      }
      try {
        let blobs: PackBlob[];
        if (opts.verifyPackHashes) {
          blobs = (await this.readWholePack(packId)).blobs;
        } else {
          blobs = await readPackHeader(this.store, this.codec, name, size);
        }
        rebuilt.push({ id: packId, size, blobs });
      } catch (err) {
        if (!isWedsyncError(err, 'INTEGRITY')) throw err;
        damaged.push({ packId, reason: err.message });
      }
    });
    rebuilt.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const blobCount = rebuilt.reduce((n, p) => n + p.blobs.length, 0);
    if (!write) return { packs: rebuilt.length, blobs: blobCount, damaged, indexId: null, removedIndexFiles: [], ...(opts.collect ? { collected: rebuilt } : {}) };

    const file = encodeIndexFile(this.codec, rebuilt);
    await this.store.put(indexName(file.id), file.bytes);
    // Only after the new index is durable: a crash in between leaves duplicates, never a gap.
    const removed = oldIndexFiles.filter((name) => name !== indexName(file.id));
    for (const name of removed) await this.store.delete(name);
    this.index.clear();
    for (const pack of rebuilt) this.index.addPack(pack);
    this.index.loadedFiles.add(file.id);
    this.indexLoaded = true;
    return {
      packs: rebuilt.length,
      blobs: blobCount,
      damaged,
      indexId: file.id,
      removedIndexFiles: removed.map((name) => name.slice(INDEX_PREFIX.length)),
    };
  }

  /**
   * Reads a whole pack and checks everything: its bytes hash to its name, its header
   * authenticates, and every blob decrypts to content matching its id. INTEGRITY on the first problem.
   */
  async checkPack(packId: string): Promise<PackCheckResult> {
    const { bytes, blobs } = await this.readWholePack(packId);
    const name = packName(packId);
    for (const blob of blobs) this.decodeBlob(blob.id, bytes.subarray(blob.offset, blob.offset + blob.length), name);
    return { packId, blobs: blobs.length, size: bytes.length };
  }

  private async readWholePack(packId: string): Promise<{ bytes: Buffer; blobs: PackBlob[] }> {
    const name = packName(packId);
    const bytes = await this.store.get(name);
    if (sha256Hex(bytes) !== packId) {
      throw new WedsyncError('INTEGRITY', `pack ${name} is damaged: its content does not hash to its name`, {
        details: { pack: name },
      });
    }
    return { bytes, blobs: parsePack(this.codec, name, bytes) };
  }

  // ---------------------------------------------------------------- manifests

  /** Stored (sealed) length of a blob held in the index or saved in this session; 0 if unknown. */
  blobStoredLength(blobId: string): number {
    return this.index.storedLength(blobId) ?? this.writer.sessionLength(blobId) ?? 0;
  }

  /**
   * Saves the tree of `bucket` holding `weddings` (sorted by id, as snapshot-tree.ts groups them)
   * as a blob of type "tree", and returns its root entry. Like saveBlob, durable only after
   * flush(). BAD_INPUT if a wedding references a blob the repository does not hold (saved in this
   * session counts), so a tree never points at nothing.
   */
  async saveTree(bucket: number, weddings: readonly ManifestWedding[]): Promise<TreeEntry> {
    await this.ensureIndex();
    for (const w of weddings) {
      for (const refs of Object.values(w.tables)) for (const r of refs) if (!this.writer.has(r.id)) throw this.missingReference(r.id);
      for (const p of w.photos) if (!this.writer.has(p.blobId)) throw this.missingReference(p.blobId);
    }
    const saved = await this.saveBlob('tree', encodeTree(bucket, weddings));
    // Stored lengths of what it references: every blob of this session placed in a pack first.
    await this.writer.settle();
    return treeEntryOf(bucket, saved.id, weddings, (id) => this.blobStoredLength(id));
  }

  /**
   * Stores a format-2 snapshot root: fills in repositoryId, encryptionKeyId and formatVersion,
   * computes integrityHash, and writes `snapshots/<snapshotId>` — the last write of a backup, so
   * a snapshot exists only once its root does. Every tree and run segment it names must be in a
   * stored index file (flush() first: INTERNAL otherwise; BAD_INPUT if not held at all).
   * CONFLICT if the snapshot already exists.
   */
  async saveSnapshotRoot(draft: SnapshotRootDraft): Promise<SnapshotRoot> {
    const { trees, ...rest } = draft;
    const body: Omit<SnapshotRoot, 'integrityHash'> = {
      ...rest,
      formatVersion: 2,
      repositoryId: this.id,
      encryptionKeyId: this.keyId,
      trees,
    };
    const parsed = snapshotRootSchema.safeParse({ ...body, integrityHash: '0'.repeat(64) });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new WedsyncError('BAD_INPUT', `invalid snapshot root: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'bad shape'}`);
    }
    await this.ensureIndex();
    const referenced = [...trees.entries.map((t) => t.id), ...rest.schema.tables.flatMap((t) => t.segments.map((s) => s.id))];
    await this.assertIndexed(referenced);
    const name = snapshotName(rest.snapshotId);
    if (await this.store.head(name)) {
      throw new WedsyncError('CONFLICT', `snapshot ${rest.snapshotId} already exists`, { details: { snapshotId: rest.snapshotId } });
    }
    const root: SnapshotRoot = { ...body, integrityHash: integrityHash(this.codec, body) };
    await this.store.put(name, sealManifest(this.codec, root));
    return root;
  }

  /**
   * Stores a whole snapshot from one manifest draft (every wedding listed): splits its weddings
   * into trees, saves them, flushes, then writes the root (saveSnapshotRoot) — the last write.
   * Returns the manifest as loadManifest would. BAD_INPUT if the draft does not match the schema
   * or names another repository, or a referenced blob is not stored; INTERNAL if referenced blobs
   * are saved but not flushed yet; CONFLICT if the snapshot already exists (snapshots are immutable).
   */
  async saveManifest(draft: ManifestDraft): Promise<Manifest> {
    const parsed = manifestDraftSchema.safeParse(draft);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new WedsyncError('BAD_INPUT', `invalid manifest: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'bad shape'}`);
    }
    // A draft made from a loaded manifest may carry its trees: they are rebuilt from `weddings`.
    const { weddings, trees: _trees, formatVersion: _v, encryptionKeyId: _k, repositoryId, ...data } = parsed.data;
    if (repositoryId !== undefined && repositoryId !== this.id) {
      throw new WedsyncError('BAD_INPUT', `manifest names repository ${repositoryId}, this is ${this.id}`);
    }
    await this.ensureIndex();
    await this.assertIndexed(manifestBlobIds({ schema: data.schema, weddings }));
    if (await this.store.head(snapshotName(data.snapshotId))) {
      throw new WedsyncError('CONFLICT', `snapshot ${data.snapshotId} already exists`, { details: { snapshotId: data.snapshotId } });
    }
    const bucketCount = defaultBucketCount(weddings.length);
    const entries: TreeEntry[] = [];
    for (const [bucket, list] of groupByBucket(weddings, bucketCount)) entries.push(await this.saveTree(bucket, list));
    await this.flush();
    const root = await this.saveSnapshotRoot({ ...data, trees: { bucketCount, entries } });
    const { integrityHash: hash, ...header } = root;
    return { ...header, weddings: [...weddings].sort((a, b) => (a.weddingId < b.weddingId ? -1 : 1)), integrityHash: hash };
  }

  /** INTERNAL for blobs saved but not flushed; BAD_INPUT for blobs not held at all. */
  private async assertIndexed(blobIds: Iterable<string>): Promise<void> {
    for (const blobId of blobIds) {
      if (this.index.has(blobId)) continue;
      if (this.writer.has(blobId)) {
        throw new WedsyncError('INTERNAL', `manifest references blob ${blobId} that is not flushed yet: call flush() before saveManifest()`);
      }
      if (!(await this.findBlob(blobId))) throw this.missingReference(blobId);
    }
  }

  private missingReference(blobId: string): WedsyncError {
    return new WedsyncError('BAD_INPUT', `manifest references blob ${blobId}, which the repository does not hold`, { details: { blobId } });
  }

  /**
   * Opens a snapshot lazily: reads, decrypts and authenticates `snapshots/<snapshotId>` (a
   * format-2 root, or a whole format-1 manifest) and returns a view that reads wedding trees
   * only when asked. NOT_FOUND if there is no such snapshot; INTEGRITY if it was edited, renamed,
   * or comes from another repository; REPO_VERSION_UNSUPPORTED if it is from a newer format.
   */
  async openSnapshot(snapshotId: string): Promise<SnapshotView> {
    this.assertSnapshotId(snapshotId);
    const bytes = await getOrNull(this.store, snapshotName(snapshotId));
    if (!bytes) {
      throw new WedsyncError('NOT_FOUND', `snapshot ${snapshotId} not found in repository at ${this.location}`, {
        details: { snapshotId },
      });
    }
    const opened = openManifest(this.codec, snapshotId, bytes, this.id);
    if (opened.formatVersion === 2) return new SnapshotView(this, opened as SnapshotRoot, null);
    const { weddings, ...header } = opened as Manifest;
    return new SnapshotView(this, header, weddings);
  }

  /**
   * Reads a whole snapshot as one Manifest (root and every tree). NOT_FOUND if there is no such
   * snapshot; INTEGRITY if it (or one of its trees, named by its weddings) was edited, renamed,
   * or comes from another repository. Prefer openSnapshot when only some weddings are needed.
   */
  async loadManifest(snapshotId: string): Promise<Manifest> {
    return (await this.openSnapshot(snapshotId)).manifest();
  }

  /** Ids of every stored snapshot (only those whose manifest is written), sorted. */
  async listSnapshots(): Promise<string[]> {
    const listed = await this.store.list(SNAPSHOTS_PREFIX);
    return listed
      .map((b) => b.name.slice(SNAPSHOTS_PREFIX.length))
      .filter((id) => SNAPSHOT_ID.test(id))
      .sort();
  }

  /** Removes a snapshot's manifest (its blobs stay until prune). Idempotent. */
  async deleteManifest(snapshotId: string): Promise<void> {
    this.assertSnapshotId(snapshotId);
    await this.store.delete(snapshotName(snapshotId));
  }

  private assertSnapshotId(snapshotId: string): void {
    if (!SNAPSHOT_ID.test(snapshotId)) throw new WedsyncError('BAD_INPUT', `not a snapshot id: ${JSON.stringify(snapshotId)}`);
  }

  // ---------------------------------------------------------------- keys

  /** Adds a key file wrapping this repository's master key under `passphrase`. */
  async addKey(passphrase: string, opts: { label?: string; kdf?: KdfParams } = {}): Promise<KeyInfo> {
    requirePassphrase(passphrase);
    const kdf = opts.kdf ?? this.options.kdf;
    const file = await wrapMasterKey(this.master, passphrase, { label: opts.label ?? '', ...(kdf ? { kdf } : {}) });
    await this.store.put(keyName(file.id), serializeKeyFile(file));
    return keyInfo(file, this.keyId);
  }

  /** Every readable key file, oldest first. No secrets. */
  async listKeys(): Promise<KeyInfo[]> {
    return (await this.readKeyFiles()).map((file) => keyInfo(file, this.keyId));
  }

  /**
   * Deletes key file `keyId`. NOT_FOUND if absent; CONFLICT for the key this repository was opened
   * with (so the last key can never go, and the session's own key stays valid).
   */
  async removeKey(keyId: string): Promise<void> {
    if (!KEY_ID.test(keyId)) throw new WedsyncError('BAD_INPUT', `not a key id: ${JSON.stringify(keyId)}`);
    const files = await this.readKeyFiles();
    if (!files.some((f) => f.id === keyId)) throw new WedsyncError('NOT_FOUND', `no key ${keyId} in repository at ${this.location}`);
    if (files.length <= 1) throw new WedsyncError('CONFLICT', `key ${keyId} is the repository's last key`);
    if (keyId === this.keyId) {
      throw new WedsyncError('CONFLICT', `key ${keyId} is the one in use; open the repository with another key to remove it`);
    }
    await this.store.delete(keyName(keyId));
  }

  /**
   * Re-wraps the key this repository was opened with under `newPassphrase`, in place: same key
   * id (snapshots' encryption_key_id stays valid), new salt. The store's atomic put means the key
   * file holds either the old or the new wrap, never neither.
   */
  async changePassphrase(newPassphrase: string, opts: { kdf?: KdfParams } = {}): Promise<KeyInfo> {
    requirePassphrase(newPassphrase);
    const current = (await this.readKeyFiles()).find((f) => f.id === this.keyId);
    const kdf = opts.kdf ?? this.options.kdf;
    const file = await wrapMasterKey(this.master, newPassphrase, {
      id: this.keyId,
      label: current?.label ?? '',
      ...(current ? { created: current.created } : {}),
      ...(kdf ? { kdf } : {}),
    });
    await this.store.put(keyName(file.id), serializeKeyFile(file));
    return keyInfo(file, this.keyId);
  }

  private async readKeyFiles(): Promise<KeyFile[]> {
    const listed = await this.store.list(KEYS_PREFIX);
    const files: KeyFile[] = [];
    for (const { name } of listed) {
      const bytes = await getOrNull(this.store, name);
      if (!bytes) continue;
      const parsed = parseKeyFile(bytes, name.slice(KEYS_PREFIX.length));
      if (parsed.kind === 'ok') files.push(parsed.file);
    }
    return files.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.id < b.id ? -1 : 1));
  }

  // ---------------------------------------------------------------- overview

  async describe(): Promise<RepositoryStats> {
    await this.loadIndex();
    const [keys, snapshots, indexFiles, packs] = await Promise.all([
      this.store.list(KEYS_PREFIX),
      this.listSnapshots(),
      this.store.list(INDEX_PREFIX),
      this.store.list(PACKS_PREFIX),
    ]);
    let unindexed = 0;
    let packBytes = 0;
    for (const pack of packs) {
      packBytes += pack.size;
      const id = packIdFromName(pack.name);
      if (!id || !this.index.hasPack(id)) unindexed++;
    }
    return {
      location: this.location,
      provider: this.store.provider,
      repositoryId: this.id,
      formatVersion: this.config.formatVersion,
      created: this.config.created,
      encryptionKeyId: this.keyId,
      settings: this.config.settings,
      keyCount: keys.length,
      snapshotCount: snapshots.length,
      indexFileCount: indexFiles.length,
      packCount: packs.length,
      packBytes,
      blobCount: this.index.blobCount,
      unindexedPackCount: unindexed,
    };
  }
}

/** The repository at a glance: ids, settings, counts of keys, snapshots, packs, blobs. */
export function describeRepository(repo: Repository): Promise<RepositoryStats> {
  return repo.describe();
}
