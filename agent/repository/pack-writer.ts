import { WedsyncError } from '../contract/errors.js';
import type { BlobStore } from '../storage/blob-store.js';
import { type BlobCodec, looksCompressed, sha256Hex } from './codec.js';
import { AAD, type BlobType, indexName, packName } from './format.js';
import { type IndexedPack, type MasterIndex, encodeIndexFile } from './index-file.js';
import { MAX_BLOB_LENGTH, type PackBlob, assemblePack } from './pack.js';

export interface SaveBlobResult {
  /** HMAC-SHA-256(macKey, plaintext), 64 hex digits. */
  id: string;
  /** False when the repository (loaded index or this session) already had this content. */
  isNew: boolean;
  /** Plaintext length. */
  rawLength: number;
  /** Sealed (compressed + encrypted) length of the stored copy, new or existing. */
  storedLength: number;
  /** Photos only: plain SHA-256 of the bytes, to compare with photos.sha256. */
  sha256?: string;
}

/** Counters for one session (from open or the last flush to the next flush). */
export interface WriterStats {
  blobsNew: number;
  blobsReused: number;
  /** Plaintext bytes of every saveBlob call, new or reused. */
  bytesRaw: number;
  /** Plaintext bytes of the new blobs only. */
  bytesRawNew: number;
  /** Sealed bytes of every saved blob, reused ones counted at their stored size. */
  bytesStored: number;
  /** Sealed bytes of new blobs: what this session added to the repository (pack headers excluded). */
  bytesNew: number;
  packsWritten: number;
  /** Bytes of packs uploaded, headers included. */
  packBytesWritten: number;
}

export interface FlushResult {
  /** The index file written for this session's packs, or null when nothing new was stored. */
  indexId: string | null;
  packIds: string[];
  stats: WriterStats;
}

export interface PackWriterOptions {
  /** Target pack size in bytes. A pack is sealed before a blob would push it past this; a single larger blob gets a pack of its own. */
  packSize: number;
  /** Pack uploads in flight at once; further full packs wait (bounds memory to ~ (uploads + 1) × packSize). */
  uploadConcurrency: number;
}

/** A blob stored in this session but not yet in an index file. */
interface SessionBlob {
  type: BlobType;
  offset: number;
  length: number;
  rawLength: number;
  /** Set once its pack is sealed. */
  packId: string | null;
  /** The sealed bytes while its pack is still in memory, so it can be read back before upload. */
  sealed: Buffer[] | null;
}

interface OpenPack {
  parts: Buffer[];
  length: number;
  blobs: PackBlob[];
  entries: SessionBlob[];
}

function emptyStats(): WriterStats {
  return {
    blobsNew: 0,
    blobsReused: 0,
    bytesRaw: 0,
    bytesRawNew: 0,
    bytesStored: 0,
    bytesNew: 0,
    packsWritten: 0,
    packBytesWritten: 0,
  };
}

function emptyPack(): OpenPack {
  return { parts: [], length: 0, blobs: [], entries: [] };
}

/**
 * Turns a stream of blobs into packs and one index file per session.
 *
 * Guarantees:
 * - Dedup: content whose id is in the loaded index or already saved in this session is not stored
 *   again (`isNew: false`). Everything synchronous up to the first await, so concurrent callers
 *   never store the same blob twice within one writer.
 * - Bounded memory: `save` resolves once the blob is buffered and, if that filled a pack, the pack's
 *   upload has started; at most `uploadConcurrency` uploads run at once. Awaiting each `save`
 *   therefore caps memory at about (uploadConcurrency + 1) × packSize.
 * - Durability: nothing saved is durable until `flush` resolves (packs uploaded, then the index
 *   file). A crash before that leaves packs no index names; they cost space, never correctness.
 * - The first failed upload makes every later `save`/`flush` reject with that error, until `discard`.
 */
export class PackWriter {
  private open = emptyPack();
  private readonly session = new Map<string, SessionBlob>();
  private readonly inFlight = new Set<Promise<void>>();
  private uploaded: IndexedPack[] = [];
  private failure: { error: unknown } | null = null;
  private counters = emptyStats();
  /** Bumped by discard(), so a pack that was waiting for an upload slot is not uploaded after it. */
  private generation = 0;

  constructor(
    private readonly store: BlobStore,
    private readonly codec: BlobCodec,
    private readonly index: MasterIndex,
    private readonly options: PackWriterOptions,
  ) {}

  /** Live counters of the current session (for progress reporting). */
  get stats(): Readonly<WriterStats> {
    return this.counters;
  }

  /** True when the blob is stored, in the loaded index or this session. */
  has(blobId: string): boolean {
    return this.index.has(blobId) || this.session.has(blobId);
  }

  /** True while blobs are saved that no index file lists yet. */
  get hasUnflushed(): boolean {
    return this.session.size > 0;
  }

  /**
   * Where a blob saved in this (unflushed) session is: in memory, or in an uploaded pack. Lets a
   * session read back what it wrote before flush.
   */
  sessionBlob(blobId: string): { sealed: Buffer | null; packId: string | null; offset: number; length: number; rawLength: number } | undefined {
    const blob = this.session.get(blobId);
    if (!blob) return undefined;
    return {
      sealed: blob.sealed ? Buffer.concat(blob.sealed, blob.length) : null,
      packId: blob.packId,
      offset: blob.offset,
      length: blob.length,
      rawLength: blob.rawLength,
    };
  }

  save(type: BlobType, plaintext: Uint8Array): Promise<SaveBlobResult> {
    if (this.failure) return Promise.reject(this.failure.error);
    const id = this.codec.blobId(plaintext);
    const rawLength = plaintext.length;
    const sha256 = type === 'photo' ? sha256Hex(plaintext) : undefined;
    const stats = this.counters;
    stats.bytesRaw += rawLength;

    const known = this.index.get(id) ?? this.session.get(id);
    if (known) {
      stats.blobsReused++;
      stats.bytesStored += known.length;
      // A resolved promise, not an async function: the reuse path must stay cheap for the
      // second backup of unchanged data, where nearly every call lands here.
      return Promise.resolve({ id, isNew: false, rawLength, storedLength: known.length, ...(sha256 ? { sha256 } : {}) });
    }
    if (rawLength > MAX_BLOB_LENGTH - 64) {
      return Promise.reject(new WedsyncError('BAD_INPUT', `blob of ${rawLength} bytes is larger than a pack can describe`));
    }

    const compress = type === 'photo' && looksCompressed(plaintext) ? 'never' : 'auto';
    const { parts, length } = this.codec.sealParts(plaintext, AAD.blob(id), compress);

    let sealing: Promise<void> | null = null;
    // Seal the open pack first if this blob would push it past the target: packs stay near
    // packSize instead of growing by one large photo.
    if (this.open.length > 0 && this.open.length + length > this.options.packSize) sealing = this.sealOpenPack();

    const pack = this.open;
    const entry: SessionBlob = { type, offset: pack.length, length, rawLength, packId: null, sealed: parts };
    for (const part of parts) pack.parts.push(part);
    pack.blobs.push({ id, type, offset: pack.length, length, rawLength });
    pack.entries.push(entry);
    pack.length += length;
    this.session.set(id, entry);

    stats.blobsNew++;
    stats.bytesRawNew += rawLength;
    stats.bytesStored += length;
    stats.bytesNew += length;

    const result: SaveBlobResult = { id, isNew: true, rawLength, storedLength: length, ...(sha256 ? { sha256 } : {}) };
    if (pack.length >= this.options.packSize) {
      const second = this.sealOpenPack();
      sealing = sealing ? Promise.all([sealing, second]).then(() => undefined) : second;
    }
    return sealing ? sealing.then(() => result) : Promise.resolve(result);
  }

  /**
   * Uploads the open pack, waits for every upload, then writes one index file listing this
   * session's packs and merges it into the loaded index. Returns the session's stats and resets them.
   * Saves should not run concurrently with a flush: they are kept, but count in the next session.
   */
  async flush(): Promise<FlushResult> {
    if (this.open.blobs.length > 0) await this.sealOpenPack();
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    if (this.failure) throw this.failure.error;

    let indexId: string | null = null;
    const packs = this.uploaded;
    if (packs.length > 0) {
      const file = encodeIndexFile(this.codec, packs);
      await this.store.put(indexName(file.id), file.bytes);
      indexId = file.id;
      for (const pack of packs) this.index.addPack(pack);
      this.index.loadedFiles.add(file.id);
    }
    const result: FlushResult = { indexId, packIds: packs.map((p) => p.id), stats: this.counters };
    this.uploaded = [];
    // Forget only what the index file now covers: a save that raced with this flush stays in the session.
    for (const pack of packs) for (const blob of pack.blobs) this.session.delete(blob.id);
    this.counters = emptyStats();
    return result;
  }

  /**
   * Drops everything not yet flushed (after a failure or a cancelled backup). Waits for uploads in
   * flight so none lands after this resolves; packs already uploaded stay as unindexed garbage.
   */
  async discard(): Promise<void> {
    this.generation++;
    this.open = emptyPack();
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    this.uploaded = [];
    this.session.clear();
    this.counters = emptyStats();
    this.failure = null;
  }

  /**
   * Starts a new pack for the next saves (uploading the open one, if it holds anything): keeps
   * blobs of another kind (trees) in packs of their own, as restic keeps tree and data packs apart.
   */
  sealPack(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    return this.open.blobs.length > 0 ? this.sealOpenPack() : Promise.resolve();
  }

  /** Seals the open pack synchronously (so later saves go to a fresh one), then waits for an upload slot. */
  private sealOpenPack(): Promise<void> {
    const pack = this.open;
    this.open = emptyPack();
    const { id, bytes } = assemblePack(this.codec, pack.parts, pack.length, pack.blobs);
    for (const entry of pack.entries) entry.packId = id;
    return this.startUpload({ id, size: bytes.length, blobs: pack.blobs }, bytes, pack.entries);
  }

  private async startUpload(pack: IndexedPack, bytes: Buffer, entries: SessionBlob[]): Promise<void> {
    const generation = this.generation;
    while (this.inFlight.size >= this.options.uploadConcurrency) await Promise.race(this.inFlight);
    if (generation !== this.generation) return;
    if (this.failure) throw this.failure.error;
    const task = this.store.put(packName(pack.id), bytes).then(
      () => {
        this.uploaded.push(pack);
        this.counters.packsWritten++;
        this.counters.packBytesWritten += pack.size;
        // The store has it now: drop the in-memory copies so memory stays bounded.
        for (const entry of entries) entry.sealed = null;
      },
      (error: unknown) => {
        this.failure ??= { error };
      },
    );
    this.inFlight.add(task);
    void task.then(() => this.inFlight.delete(task));
  }
}
