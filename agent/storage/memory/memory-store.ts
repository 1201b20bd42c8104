import type { BlobInfo, BlobStore } from '../blob-store.js';
import { assertValidBlobName } from '../blob-store.js';
import { assertValidBlobPrefix, assertValidRange } from '../checks.js';
import { blobNotFound, rangePastEnd } from '../errors.js';

/** Named in-process "buckets", so two opens of memory://x see the same blobs (as two opens of a folder do). */
const sharedBuckets = new Map<string, Map<string, Buffer>>();

/**
 * BlobStore in a Map, for fast unit tests. Buffers are copied in and out so a caller mutating
 * its buffer after put, or the one get returned, cannot change what the store holds.
 */
export class MemoryBlobStore implements BlobStore {
  readonly provider = 'memory' as const;
  readonly location: string;
  private readonly blobs: Map<string, Buffer>;

  /** A private store; `name` only labels it (location "memory://name"). */
  constructor(name = 'default', blobs: Map<string, Buffer> = new Map()) {
    this.location = `memory://${name}`;
    this.blobs = blobs;
  }

  /** The process-wide store called `name`: every call with the same name shares the blobs. */
  static shared(name: string): MemoryBlobStore {
    let blobs = sharedBuckets.get(name);
    if (!blobs) {
      blobs = new Map();
      sharedBuckets.set(name, blobs);
    }
    return new MemoryBlobStore(name, blobs);
  }

  async put(name: string, data: Buffer | Uint8Array): Promise<void> {
    assertValidBlobName(name);
    this.blobs.set(name, Buffer.from(data));
  }

  async get(name: string): Promise<Buffer> {
    return Buffer.from(this.find(name));
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    assertValidRange(offset, length);
    const blob = this.find(name);
    if (offset + length > blob.length) throw rangePastEnd(this.location, name, offset, length, blob.length);
    return Buffer.from(blob.subarray(offset, offset + length));
  }

  async head(name: string): Promise<BlobInfo | null> {
    assertValidBlobName(name);
    const blob = this.blobs.get(name);
    return blob ? { name, size: blob.length } : null;
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    assertValidBlobPrefix(prefix);
    const out: BlobInfo[] = [];
    for (const [name, blob] of this.blobs) {
      if (name.startsWith(prefix)) out.push({ name, size: blob.length });
    }
    return out;
  }

  async delete(name: string): Promise<void> {
    assertValidBlobName(name);
    this.blobs.delete(name);
  }

  /** Nothing to release; shared blobs outlive the handle, like files outlive a closed folder store. */
  async close(): Promise<void> {}

  private find(name: string): Buffer {
    assertValidBlobName(name);
    const blob = this.blobs.get(name);
    if (!blob) throw blobNotFound(this.location, name);
    return blob;
  }
}
