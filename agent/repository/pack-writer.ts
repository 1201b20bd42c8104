import { WedsyncError } from '../contract/errors.js';
import type { BlobStore } from '../storage/blob-store.js';
import { type BlobCodec, type MasterKey, looksCompressed, sha256Hex } from './codec.js';
import { type CodecPool, poolFor, codecThreadsPayOff } from './codec-pool.js';
import type { SealSpan } from './codec-tasks.js';
import { AAD, type BlobType, indexName, packName } from './format.js';
import { type IndexedPack, encodeIndexFile } from './index-file.js';
import type { MasterIndex } from './master-index.js';
import { MAX_BLOB_LENGTH, type PackBlob, finishPack, packOverhead } from './pack.js';

export interface SaveBlobResult {
  /** HMAC-SHA-256(macKey, plaintext), 64 hex digits. */
  id: string;
  /** False when the repository (loaded index or this session) already had this content. */
  isNew: boolean;
  /** Plaintext length. */
  rawLength: number;
  /**
   * Sealed (compressed + encrypted) length of the stored copy, new or existing; null while the
   * blob is still being sealed by a codec worker (big sessions) — the session stats count it
   * once it is.
   */
  storedLength: number | null;
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
  /** The key and zstd level, for sealing on the codec pool's worker threads (big sessions). */
  key: MasterKey;
  compressionLevel: number;
}

/** A blob stored in this session but not yet in an index file. */
interface SessionBlob {
  type: BlobType;
  offset: number;
  length: number;
  rawLength: number;
  /** Set once its pack is sealed. */
  packId: string | null;
  /**
   * The buffer of its pack while that is still in memory (open, or uploading), so the blob can be
   * read back before upload: its sealed bytes are at [offset, offset + length).
   */
  sealed: Buffer | null;
  /** True while a codec worker seals it: offset and length are not known yet. */
  pending: boolean;
  /** Saves of the same content while it was pending: counted in bytesStored once its length is known. */
  reusedWhilePending: number;
}

/** Blobs collected for one trip to a codec worker: plaintexts copied side by side into `buffer`. */
interface Batch {
  buffer: Buffer;
  used: number;
  spans: SealSpan[];
  blobs: Array<{ id: string; type: BlobType; entry: SessionBlob }>;
}

/**
 * New plaintext a session stores inline before it turns to the codec pool. Higher than a read's
 * threshold: starting a worker thread costs ~0.1 s of wall time and a core (more on a busy
 * machine), which an incremental of 1% of the weddings (1–4 MiB of rows and trees) would pay for
 * nothing, while sealing 8 MiB inline takes a full backup a few tens of milliseconds.
 */
const SESSION_OFFLOAD_BYTES = 8 * 1024 * 1024;
/** Plaintext bytes a batch collects before it goes to a worker (one round trip per ~MiB, not per blob). */
const BATCH_BYTES = 1024 * 1024;
/** A batch not full this long after its first blob goes anyway (the producer may be waiting on its source). */
const BATCH_WAIT_MS = 2;
/**
 * Plaintext batches saved but not yet placed in a pack, per codec thread, at most: save() waits
 * beyond it (backpressure). Two per thread keep every thread busy (the pool runs two batches per
 * thread at once); more only waited in memory for a slot.
 */
const PENDING_BATCHES_PER_THREAD = 2;
/** Spare batch buffers kept for reuse (handed back by the workers once sealed). */
const SPARE_BATCHES = 4;
/**
 * Saves that need no I/O resolve at once; after this long without giving the event loop a turn,
 * one resolves on the next turn instead, so a backup of unchanged data (nothing to seal, nearly
 * every save a dedup hit) never holds the loop: the agent keeps answering API requests.
 */
const YIELD_EVERY_MS = 8;

/**
 * The pack being filled. Its sealed blobs are copied side by side into one buffer as they are
 * placed, which then also takes the header: a pack of thousands of tiny segments (the weddings
 * table: one row per wedding) costs one buffer, not several Buffer objects per blob.
 */
interface OpenPack {
  /** Sealed blobs in [0, length); grown (copied) only for a blob larger than what is left. */
  buffer: Buffer;
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

/**
 * Blobs in one pack at most. Each blob of the open pack has a few objects of its own until the
 * pack is uploaded and indexed; the weddings table (one tiny segment per wedding) would otherwise
 * put ~20,000 of them in one 4 MiB pack at the end of a big export. Segments of the big tables
 * (~1 KiB sealed) fill a pack by size long before this.
 */
export const MAX_PACK_BLOBS = 4096;
/** Slack beyond packSize in a pack's buffer (the header is counted in packSize: see place()). */
const PACK_HEADROOM = 4 * 1024;

function emptyPack(): OpenPack {
  // Allocated on first use: a session that stores nothing new allocates no pack.
  return { buffer: Buffer.alloc(0), length: 0, blobs: [], entries: [] };
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
 *   therefore caps memory at about (uploadConcurrency + 1) × packSize, plus maxPendingBytes of
 *   plaintext waiting for a codec worker in big sessions (two batches per codec thread, and the
 *   one collecting). Batch buffers come back from the workers and are filled again.
 * - Off the caller's thread: once a session has stored SESSION_OFFLOAD_BYTES, new blobs are
 *   compressed and encrypted on the codec pool's worker threads (where codecThreadsPayOff allows:
 *   not on 2 cores by default), in batches; they are placed
 *   in packs in the order they were saved, exactly as inline sealing would place them. Small
 *   sessions (an emergency backup of one wedding) seal inline and never start a thread. The id
 *   (HMAC) is always computed at once, so dedup stays synchronous.
 * - The event loop gets a turn at least every YIELD_EVERY_MS of saves (see there).
 * - Durability: nothing saved is durable until `flush` resolves (packs uploaded, then the index
 *   file). A crash before that leaves packs no index names (or, past a checkpoint, indexed blobs
 *   no snapshot references); they cost space, never correctness.
 * - Bounded index memory: a long session writes an index file for its uploaded packs every
 *   CHECKPOINT_BLOBS blobs (restic writes index files as they fill), so flush never encodes the
 *   index of a whole large backup at once, and the session's own table of blobs stays small.
 * - The first failed upload (or codec worker failure) makes every later `save`/`flush` reject with
 *   that error, until `discard`.
 */
/** Uploaded blobs after which a session writes an index file without waiting for flush. */
export const CHECKPOINT_BLOBS = 8192;

export class PackWriter {
  private open = emptyPack();
  /** Blobs in `uploaded`, for the checkpoint. */
  private uploadedBlobs = 0;
  /** Index files and packs this session already indexed at checkpoints. */
  private checkpointed: { indexIds: string[]; packIds: string[] } = { indexIds: [], packIds: [] };
  /** Checkpoints run one after another. */
  private checkpointing: Promise<void> = Promise.resolve();
  private readonly session = new Map<string, SessionBlob>();
  private readonly inFlight = new Set<Promise<void>>();
  private uploaded: IndexedPack[] = [];
  private failure: { error: unknown } | null = null;
  private counters = emptyStats();
  /** Bumped by discard(), so a pack that was waiting for an upload slot is not uploaded after it. */
  private generation = 0;
  /** The codec pool, once this session stores enough to use it (null: seal inline). */
  private pool: CodecPool | null = null;
  private batch: Batch | null = null;
  private batchTimer: NodeJS.Timeout | null = null;
  /** Batches are placed one after another, in save order: the end of that chain (never rejects). */
  private placing: Promise<void> = Promise.resolve();
  private pendingBytes = 0;
  /** Whether this session may seal on the pool (codecThreadsPayOff), once known. */
  private poolAllowed: boolean | null = null;
  /** Batch buffers handed back by the workers, to fill again instead of allocating. */
  private spareBatches: Buffer[] = [];
  private pendingWaiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private lastTurn = performance.now();

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
    if (blob.pending) throw new WedsyncError('INTERNAL', `blob ${blobId} is still being sealed: settle() before reading it back`);
    return {
      sealed: blob.sealed ? Buffer.from(blob.sealed.subarray(blob.offset, blob.offset + blob.length)) : null,
      packId: blob.packId,
      offset: blob.offset,
      length: blob.length,
      rawLength: blob.rawLength,
    };
  }

  /** Sealed length of a blob saved in this session (undefined if not, or still at a codec worker): sessionBlob without copying it. */
  sessionLength(blobId: string): number | undefined {
    const blob = this.session.get(blobId);
    return blob && !blob.pending ? blob.length : undefined;
  }

  /** True while the blob is saved but still being sealed by a codec worker (settle() to read it back). */
  isPending(blobId: string): boolean {
    return this.session.get(blobId)?.pending === true;
  }

  save(type: BlobType, plaintext: Uint8Array): Promise<SaveBlobResult> {
    if (this.failure) return Promise.reject(this.failure.error);
    const id = this.codec.blobId(plaintext);
    const rawLength = plaintext.length;
    const sha256 = type === 'photo' ? sha256Hex(plaintext) : undefined;
    const stats = this.counters;
    stats.bytesRaw += rawLength;

    const indexed = this.index.storedLength(id);
    const known = indexed === undefined ? this.session.get(id) : undefined;
    if (indexed !== undefined || known) {
      stats.blobsReused++;
      const pending = known?.pending === true;
      const length = indexed ?? known!.length;
      if (pending) known!.reusedWhilePending++;
      else stats.bytesStored += length;
      // Not an async function: the reuse path must stay cheap for the second backup of
      // unchanged data, where nearly every call lands here.
      return this.resolved({ id, isNew: false, rawLength, storedLength: pending ? null : length, ...(sha256 ? { sha256 } : {}) });
    }
    if (rawLength > MAX_BLOB_LENGTH - 64) {
      return Promise.reject(new WedsyncError('BAD_INPUT', `blob of ${rawLength} bytes is larger than a pack can describe`));
    }

    const compress = type === 'photo' && looksCompressed(plaintext) ? 'never' : 'auto';
    stats.blobsNew++;
    stats.bytesRawNew += rawLength;
    // The session turns to the pool once it has stored enough (before that, the pipeline is empty,
    // so inline and pooled blobs never interleave out of order).
    if (this.pool === null) {
      // Whether threads may seal is settled once per session: reading the environment on every
      // save cost a full backup of 2000 weddings ~0.1 s of CPU.
      this.poolAllowed ??= codecThreadsPayOff();
      if (this.poolAllowed) this.pool = poolFor(stats.bytesRawNew, SESSION_OFFLOAD_BYTES);
    }
    if (this.pool) return this.saveLater(id, type, plaintext, compress, sha256);

    const { parts, length } = this.codec.sealParts(plaintext, AAD.blob(id), compress);
    const entry: SessionBlob = { type, offset: 0, length, rawLength, packId: null, sealed: null, pending: false, reusedWhilePending: 0 };
    this.session.set(id, entry);
    const sealing = this.place(id, entry, parts);
    const result: SaveBlobResult = { id, isNew: true, rawLength, storedLength: length, ...(sha256 ? { sha256 } : {}) };
    return sealing ? sealing.then(() => result) : this.resolved(result);
  }

  /** Queues a new blob for a codec worker; resolves at once unless too much is pending already. */
  private saveLater(id: string, type: BlobType, plaintext: Uint8Array, compress: SealSpan['compress'], sha256: string | undefined): Promise<SaveBlobResult> {
    const rawLength = plaintext.length;
    const entry: SessionBlob = { type, offset: -1, length: -1, rawLength, packId: null, sealed: null, pending: true, reusedWhilePending: 0 };
    this.session.set(id, entry);
    let batch = this.batch;
    if (batch && batch.used + rawLength > batch.buffer.length) {
      this.dispatch();
      batch = null;
    }
    if (!batch) {
      // A buffer of its own (never Node's shared pool), so it is handed to the worker, not copied.
      const spare = rawLength <= BATCH_BYTES ? this.spareBatches.pop() : undefined;
      batch = this.batch = { buffer: spare ?? Buffer.allocUnsafeSlow(Math.max(BATCH_BYTES, rawLength)), used: 0, spans: [], blobs: [] };
      this.batchTimer = setTimeout(() => this.dispatch(), BATCH_WAIT_MS);
    }
    // The one copy of the plaintext: the caller may reuse its buffer once this resolves.
    batch.buffer.set(plaintext, batch.used);
    batch.spans.push({ id, offset: batch.used, length: rawLength, compress });
    batch.blobs.push({ id, type, entry });
    batch.used += rawLength;
    this.pendingBytes += rawLength;
    if (batch.used >= BATCH_BYTES) this.dispatch();
    const result: SaveBlobResult = { id, isNew: true, rawLength, storedLength: null, ...(sha256 ? { sha256 } : {}) };
    if (this.pendingBytes <= this.maxPendingBytes) return this.resolved(result);
    this.dispatch();
    return new Promise((resolve, reject) => this.pendingWaiters.push({ resolve: () => resolve(result), reject }));
  }

  /** Sends the collecting batch to the pool; its blobs are placed (in order) once sealed. */
  private dispatch(): void {
    const batch = this.batch;
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = null;
    if (!batch || !this.pool) return;
    this.batch = null;
    const generation = this.generation;
    const sealing = this.pool.seal(this.options.key, this.options.compressionLevel, batch.buffer, batch.spans, true);
    sealing.catch(() => undefined); // observed below, in order
    this.placing = this.placing.then(async () => {
      try {
        const { sealed, lengths, input } = await sealing;
        if (input && input.length === BATCH_BYTES && this.spareBatches.length < SPARE_BATCHES) this.spareBatches.push(input);
        let pos = 0;
        for (const [i, { id, entry }] of batch.blobs.entries()) {
          const length = lengths[i]!;
          const parts = [sealed.subarray(pos, pos + length)];
          pos += length;
          if (generation !== this.generation || this.failure) return;
          entry.pending = false;
          // Waits for an upload slot when this filled a pack: the backpressure reaches save() through pendingBytes.
          await this.place(id, entry, parts);
          this.pendingBytes -= entry.rawLength;
        }
      } catch (error) {
        if (generation === this.generation) this.failure ??= { error };
      }
      this.releaseWaiters();
    });
  }

  /** Plaintext waiting for the pool at most before save() waits (see PENDING_BATCHES_PER_THREAD). */
  private get maxPendingBytes(): number {
    return ((this.pool?.threads ?? 1) * PENDING_BATCHES_PER_THREAD + 1) * BATCH_BYTES;
  }

  private releaseWaiters(): void {
    if (this.failure) {
      const waiters = this.pendingWaiters;
      this.pendingWaiters = [];
      for (const w of waiters) w.reject(this.failure.error);
      return;
    }
    while (this.pendingWaiters.length && this.pendingBytes <= this.maxPendingBytes) this.pendingWaiters.shift()!.resolve();
  }

  /**
   * Puts a sealed blob into the open pack (sealing the pack first if the blob would push it past
   * the target, and after if it is full). Returns the upload-slot wait of a pack it sealed, if any.
   */
  private place(id: string, entry: SessionBlob, parts: Buffer[]): Promise<void> | null {
    const length = parts.reduce((a, p) => a + p.length, 0);
    let sealing: Promise<void> | null = null;
    // Seal the open pack first if this blob would push it past the target: packs stay near
    // packSize instead of growing by one large photo.
    // The header counts: a pack of thousands of tiny blobs has a header of tens of KiB.
    if (this.open.length > 0 && this.open.length + length + packOverhead(this.open.blobs.length + 1) > this.options.packSize) sealing = this.sealOpenPack();
    else if (this.open.blobs.length >= MAX_PACK_BLOBS) sealing = this.sealOpenPack();

    const pack = this.open;
    if (pack.length + length > pack.buffer.length) {
      // Room for a full pack and its header from the start; more only for one blob larger than that.
      const grown = Buffer.allocUnsafeSlow(Math.max(this.options.packSize, pack.length + length + packOverhead(pack.blobs.length + 1)) + PACK_HEADROOM);
      pack.buffer.copy(grown, 0, 0, pack.length);
      pack.buffer = grown;
      for (const e of pack.entries) e.sealed = grown;
    }
    entry.offset = pack.length;
    entry.length = length;
    entry.sealed = pack.buffer;
    let at = pack.length;
    for (const part of parts) at += part.copy(pack.buffer, at);
    pack.blobs.push({ id, type: entry.type, offset: pack.length, length, rawLength: entry.rawLength });
    pack.entries.push(entry);
    pack.length += length;

    const stats = this.counters;
    stats.bytesStored += length * (1 + entry.reusedWhilePending);
    stats.bytesNew += length;

    if (pack.length + packOverhead(pack.blobs.length) >= this.options.packSize) {
      const second = this.sealOpenPack();
      sealing = sealing ? Promise.all([sealing, second]).then(() => undefined) : second;
    }
    return sealing;
  }

  /** `value` now, or on the event loop's next turn if it has not had one for YIELD_EVERY_MS. */
  private resolved<T>(value: T): Promise<T> {
    if (performance.now() - this.lastTurn < YIELD_EVERY_MS) return Promise.resolve(value);
    return new Promise((resolve) =>
      setImmediate(() => {
        this.lastTurn = performance.now();
        resolve(value);
      }),
    );
  }

  /**
   * Waits until every blob saved so far is sealed and placed in a pack (not necessarily
   * uploaded): then sessionBlob() knows where each is. Rejects with the session's failure.
   */
  async settle(): Promise<void> {
    this.dispatch();
    for (let placing = this.placing; ; placing = this.placing) {
      await placing;
      if (placing === this.placing) break;
    }
    if (this.failure) throw this.failure.error;
  }

  /**
   * Uploads the open pack, waits for every upload, then writes one index file listing this
   * session's packs and merges it into the loaded index. Returns the session's stats and resets them.
   * Saves should not run concurrently with a flush: they are kept, but count in the next session.
   */
  async flush(): Promise<FlushResult> {
    await this.settle();
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
    const { indexIds, packIds } = this.checkpointed;
    const result: FlushResult = { indexId: indexId ?? indexIds[indexIds.length - 1] ?? null, packIds: [...packIds, ...packs.map((p) => p.id)], stats: this.counters };
    this.uploaded = [];
    this.uploadedBlobs = 0;
    this.checkpointed = { indexIds: [], packIds: [] };
    // Forget only what the index file now covers: a save that raced with this flush stays in the session.
    for (const pack of packs) for (const blob of pack.blobs) this.session.delete(blob.id);
    this.counters = emptyStats();
    this.pool = null;
    this.poolAllowed = null;
    this.spareBatches = [];
    return result;
  }

  /**
   * Drops everything not yet flushed (after a failure or a cancelled backup). Waits for uploads in
   * flight so none lands after this resolves; packs already uploaded stay as unindexed garbage.
   */
  async discard(): Promise<void> {
    this.generation++;
    this.open = emptyPack();
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batch = null;
    this.batchTimer = null;
    // Batches still at a worker finish there, and are dropped (their generation is gone).
    await this.placing;
    this.pendingBytes = 0;
    for (const w of this.pendingWaiters.splice(0)) w.resolve();
    this.pool = null;
    this.poolAllowed = null;
    this.spareBatches = [];
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    this.uploaded = [];
    this.uploadedBlobs = 0;
    this.checkpointed = { indexIds: [], packIds: [] };
    this.session.clear();
    this.counters = emptyStats();
    this.failure = null;
  }

  /**
   * Writes an index file for the packs uploaded so far and moves their blobs from the session
   * table to the loaded index (dedup and reads find them there). Runs in the background, tracked
   * in inFlight so flush and discard wait for it; a failure fails the session like an upload's.
   */
  private checkpoint(): void {
    const packs = this.uploaded;
    this.uploaded = [];
    this.uploadedBlobs = 0;
    const generation = this.generation;
    const task = this.checkpointing
      .then(async () => {
        if (generation !== this.generation || this.failure) return;
        const file = encodeIndexFile(this.codec, packs);
        await this.store.put(indexName(file.id), file.bytes);
        // Durable now, whatever happens to the session: its packs are indexed from here on.
        for (const pack of packs) this.index.addPack(pack);
        this.index.loadedFiles.add(file.id);
        if (generation !== this.generation) return;
        this.checkpointed.indexIds.push(file.id);
        for (const pack of packs) {
          this.checkpointed.packIds.push(pack.id);
          for (const blob of pack.blobs) this.session.delete(blob.id);
        }
      })
      .catch((error: unknown) => {
        this.failure ??= { error };
      });
    this.checkpointing = task;
    this.inFlight.add(task);
    void task.then(() => this.inFlight.delete(task));
  }

  /**
   * Starts a new pack for the next saves (uploading the open one, if it holds anything): keeps
   * blobs of another kind (trees) in packs of their own, as restic keeps tree and data packs apart.
   */
  async sealPack(): Promise<void> {
    // Blobs still at a codec worker belong in the pack being closed: place them first.
    await this.settle();
    if (this.open.blobs.length > 0) await this.sealOpenPack();
  }

  /** Seals the open pack synchronously (so later saves go to a fresh one), then waits for an upload slot. */
  private sealOpenPack(): Promise<void> {
    const pack = this.open;
    this.open = emptyPack();
    const { id, bytes } = finishPack(this.codec, pack.buffer, pack.length, pack.blobs);
    for (const entry of pack.entries) entry.sealed = bytes;
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
        if (generation !== this.generation) return;
        this.uploaded.push(pack);
        this.uploadedBlobs += pack.blobs.length;
        this.counters.packsWritten++;
        this.counters.packBytesWritten += pack.size;
        // The store has it now: drop the in-memory copies so memory stays bounded.
        for (const entry of entries) entry.sealed = null;
        if (this.uploadedBlobs >= CHECKPOINT_BLOBS) this.checkpoint();
      },
      (error: unknown) => {
        this.failure ??= { error };
      },
    );
    this.inFlight.add(task);
    void task.then(() => this.inFlight.delete(task));
  }
}
