import type { BlobType } from './format.js';
import type { IndexEntry, IndexedPack } from './index-file.js';

const ID_BYTES = 32;
/** An id as eight 32-bit words: compared and hashed word by word, in JavaScript, without native calls. */
const ID_WORDS = ID_BYTES / 4;
const TYPE_CODES: Readonly<Record<BlobType, number>> = { segment: 0, photo: 1, tree: 2 };
const TYPES_BY_CODE: readonly BlobType[] = ['segment', 'photo', 'tree'];
/** Entries the arrays hold before their first growth. */
const INITIAL_CAPACITY = 1024;

/**
 * The merged, in-memory view of every index file loaded so far: blob id → where it is stored.
 * Only ever grows while the repository is open (packs are immutable; pruning is a separate job
 * that reopens the repository), except through clear().
 *
 * Kept compact, because a backup holds it whole (every blob of the repository) and a restore
 * builds it from every index file: ids as 32 binary bytes side by side in one typed array, the other
 * fields in typed arrays, and an open-addressing table of entry numbers keyed by the id's first
 * bytes (ids are HMAC-SHA-256 outputs: uniformly spread). About 50 bytes a blob, outside the JS
 * heap, against ~200 bytes of heap objects and strings in a Map of objects — and nothing for the
 * garbage collector to trace. Entries are read back as fresh IndexEntry objects.
 *
 * Guarantees, as for the Map it replaced: the first location seen for a blob id wins (a blob
 * stored twice by two agents is found in the pack indexed first); a pack is added once; lookups
 * of anything that is not a 64-digit hex id find nothing.
 */
export class MasterIndex {
  private capacity = 0;
  private count = 0;
  /** Entry e's id in words [e * ID_WORDS, (e + 1) * ID_WORDS). */
  private ids = new Uint32Array(0);
  private packOf = new Uint32Array(0);
  private offsets = new Uint32Array(0);
  private lengths = new Uint32Array(0);
  private rawLengths = new Uint32Array(0);
  private types = new Uint8Array(0);
  /** Open addressing, linear probing: entry number + 1, 0 = empty. At most half full. */
  private slots = new Uint32Array(0);
  /** The id being looked up or added: its bytes, and the same memory as words. */
  private readonly keyBytes = Buffer.alloc(ID_BYTES);
  private readonly keyWords = new Uint32Array(this.keyBytes.buffer, this.keyBytes.byteOffset, ID_WORDS);

  private readonly packIds: string[] = [];
  private readonly packSizes: number[] = [];
  private readonly packBlobCounts: number[] = [];
  private readonly packNumbers = new Map<string, number>();

  /** Index file ids already merged, so a reload reads only new ones. */
  readonly loadedFiles = new Set<string>();

  addPack(pack: IndexedPack): void {
    if (this.packNumbers.has(pack.id)) return;
    const p = this.packIds.length;
    this.packIds.push(pack.id);
    this.packSizes.push(pack.size);
    this.packBlobCounts.push(pack.blobs.length);
    this.packNumbers.set(pack.id, p);
    this.reserve(this.count + pack.blobs.length);
    for (const blob of pack.blobs) {
      if (!this.loadKey(blob.id)) continue; // not an id: never findable, so not worth a place
      const slot = this.probe();
      if (this.slots[slot] !== 0) continue; // first seen wins
      const e = this.count++;
      this.ids.set(this.keyWords, e * ID_WORDS);
      this.packOf[e] = p;
      this.offsets[e] = blob.offset;
      this.lengths[e] = blob.length;
      this.rawLengths[e] = blob.rawLength;
      this.types[e] = TYPE_CODES[blob.type];
      this.slots[slot] = e + 1;
    }
  }

  get(blobId: string): IndexEntry | undefined {
    const e = this.find(blobId);
    if (e < 0) return undefined;
    return {
      packId: this.packIds[this.packOf[e]!]!,
      type: TYPES_BY_CODE[this.types[e]!]!,
      offset: this.offsets[e]!,
      length: this.lengths[e]!,
      rawLength: this.rawLengths[e]!,
    };
  }

  /** Sealed (stored) length of a blob, or undefined: get(id)?.length without the object. */
  storedLength(blobId: string): number | undefined {
    const e = this.find(blobId);
    return e < 0 ? undefined : this.lengths[e];
  }

  has(blobId: string): boolean {
    return this.find(blobId) >= 0;
  }

  hasPack(packId: string): boolean {
    return this.packNumbers.has(packId);
  }

  get blobCount(): number {
    return this.count;
  }

  get packCount(): number {
    return this.packIds.length;
  }

  /** Every indexed pack: id, size and how many blobs its index entry lists. */
  packList(): Array<{ id: string; size: number; blobCount: number }> {
    return this.packIds.map((id, i) => ({ id, size: this.packSizes[i]!, blobCount: this.packBlobCounts[i]! }));
  }

  /** Sum of the sizes of all indexed packs. */
  get packBytes(): number {
    let total = 0;
    for (const size of this.packSizes) total += size;
    return total;
  }

  clear(): void {
    this.capacity = 0;
    this.count = 0;
    this.ids = new Uint32Array(0);
    this.packOf = new Uint32Array(0);
    this.offsets = new Uint32Array(0);
    this.lengths = new Uint32Array(0);
    this.rawLengths = new Uint32Array(0);
    this.types = new Uint8Array(0);
    this.slots = new Uint32Array(0);
    this.packIds.length = 0;
    this.packSizes.length = 0;
    this.packBlobCounts.length = 0;
    this.packNumbers.clear();
    this.loadedFiles.clear();
  }

  /** Entry number of `blobId`, or -1. */
  private find(blobId: string): number {
    if (this.count === 0 || !this.loadKey(blobId)) return -1;
    const s = this.slots[this.probe()]!;
    return s - 1;
  }

  /**
   * Puts the binary form of `hex` in the key; false when it is not a 64-digit hex id (Buffer's
   * hex decoding stops at the first character that is not a hex digit). Upper-case digits name
   * the same id: ids are written in lower case everywhere, and a lookup only ever finds bytes
   * that some index file recorded.
   */
  private loadKey(hex: string): boolean {
    return hex.length === 2 * ID_BYTES && this.keyBytes.write(hex, 0, ID_BYTES, 'hex') === ID_BYTES;
  }

  /** The slot holding the key, or the empty slot where it would go. */
  private probe(): number {
    const mask = this.slots.length - 1;
    const key = this.keyWords;
    const ids = this.ids;
    for (let i = key[0]! & mask; ; i = (i + 1) & mask) {
      const s = this.slots[i]!;
      if (s === 0) return i;
      const at = (s - 1) * ID_WORDS;
      let k = 0;
      while (k < ID_WORDS && ids[at + k] === key[k]) k++;
      if (k === ID_WORDS) return i;
    }
  }

  /** Room for `entries` entries; the slot table is rebuilt when it grows. */
  private reserve(entries: number): void {
    if (entries <= this.capacity) return;
    let capacity = Math.max(INITIAL_CAPACITY, this.capacity);
    while (capacity < entries) capacity *= 2;
    const grow = <T extends Uint32Array | Uint8Array>(old: T, make: (n: number) => T, width = 1): T => {
      const next = make(capacity);
      next.set(old.subarray(0, this.count * width));
      return next;
    };
    this.ids = grow(this.ids, (n) => new Uint32Array(n * ID_WORDS), ID_WORDS);
    this.packOf = grow(this.packOf, (n) => new Uint32Array(n));
    this.offsets = grow(this.offsets, (n) => new Uint32Array(n));
    this.lengths = grow(this.lengths, (n) => new Uint32Array(n));
    this.rawLengths = grow(this.rawLengths, (n) => new Uint32Array(n));
    this.types = grow(this.types, (n) => new Uint8Array(n));
    this.capacity = capacity;
    this.slots = new Uint32Array(capacity * 2);
    const mask = this.slots.length - 1;
    for (let e = 0; e < this.count; e++) {
      let i = this.ids[e * ID_WORDS]! & mask;
      while (this.slots[i] !== 0) i = (i + 1) & mask;
      this.slots[i] = e + 1;
    }
  }
}

