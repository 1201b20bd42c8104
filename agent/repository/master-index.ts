import type { BlobType } from './format.js';
import type { IndexEntry, IndexedPack } from './index-file.js';

const ID_BYTES = 32;
const HEX64 = /^[0-9a-f]{64}$/;
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
 * builds it from every index file: ids as 32 binary bytes side by side in one buffer, the other
 * fields in typed arrays, and an open-addressing table of entry numbers keyed by the id's first
 * bytes (ids are HMAC-SHA-256 outputs: uniformly spread). About 50 bytes a blob, outside the JS
 * heap, against ~200 bytes of heap objects and strings in a Map of objects — and nothing for the
 * garbage collector to trace. Entries are read back as fresh IndexEntry objects.
 *
 * Guarantees, as for the Map it replaced: the first location seen for a blob id wins (a blob
 * stored twice by two agents is found in the pack indexed first); a pack is added once; lookups
 * of anything that is not a lower-case 64-digit hex id find nothing.
 */
export class MasterIndex {
  private capacity = 0;
  private count = 0;
  private ids = Buffer.alloc(0);
  private packOf = new Uint32Array(0);
  private offsets = new Uint32Array(0);
  private lengths = new Uint32Array(0);
  private rawLengths = new Uint32Array(0);
  private types = new Uint8Array(0);
  /** Open addressing, linear probing: entry number + 1, 0 = empty. At most half full. */
  private slots = new Uint32Array(0);
  private readonly key = Buffer.alloc(ID_BYTES);

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
      this.key.copy(this.ids, e * ID_BYTES);
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
    this.ids = Buffer.alloc(0);
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

  /** Puts the binary form of `hex` in `key`; false when it is not a 64-digit lower-case hex id. */
  private loadKey(hex: string): boolean {
    if (hex.length !== 2 * ID_BYTES || !HEX64.test(hex)) return false;
    this.key.write(hex, 0, ID_BYTES, 'hex');
    return true;
  }

  /** The slot holding `key`, or the empty slot where it would go. */
  private probe(): number {
    const mask = this.slots.length - 1;
    const first = this.key.readUInt32LE(0);
    for (let i = first & mask; ; i = (i + 1) & mask) {
      const s = this.slots[i]!;
      if (s === 0) return i;
      const at = (s - 1) * ID_BYTES;
      // The first word decides nearly every mismatch without a native call.
      if (this.ids.readUInt32LE(at) === first && this.key.compare(this.ids, at, at + ID_BYTES) === 0) return i;
    }
  }

  /** Room for `entries` entries; the slot table is rebuilt when it grows. */
  private reserve(entries: number): void {
    if (entries <= this.capacity) return;
    let capacity = Math.max(INITIAL_CAPACITY, this.capacity);
    while (capacity < entries) capacity *= 2;
    const grow = <T extends Uint32Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old.subarray(0, this.count));
      return next;
    };
    const ids = Buffer.alloc(capacity * ID_BYTES);
    this.ids.copy(ids, 0, 0, this.count * ID_BYTES);
    this.ids = ids;
    this.packOf = grow(this.packOf, (n) => new Uint32Array(n));
    this.offsets = grow(this.offsets, (n) => new Uint32Array(n));
    this.lengths = grow(this.lengths, (n) => new Uint32Array(n));
    this.rawLengths = grow(this.rawLengths, (n) => new Uint32Array(n));
    this.types = grow(this.types, (n) => new Uint8Array(n));
    this.capacity = capacity;
    this.slots = new Uint32Array(capacity * 2);
    const mask = this.slots.length - 1;
    for (let e = 0; e < this.count; e++) {
      let i = this.ids.readUInt32LE(e * ID_BYTES) & mask;
      while (this.slots[i] !== 0) i = (i + 1) & mask;
      this.slots[i] = e + 1;
    }
  }
}
