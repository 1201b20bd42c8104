import { z } from 'zod';
import { WedsyncError } from '../contract/errors.js';
import { type BlobCodec, UnsealError, sha256Hex } from './codec.js';
import { AAD, FORMAT_VERSION, type BlobType } from './format.js';
import type { PackBlob } from './pack.js';

/**
 * Index files (`index/<indexId>`, indexId = SHA-256 of the stored bytes): sealed JSON
 *
 *   { "formatVersion": 1, "packs": [ { "id": packId, "size": bytes,
 *       "blobs": [ { "id", "type": "segment"|"photo", "offset", "length", "rawLength" } ] } ] }
 *
 * Each backup session writes one for the packs it uploaded. They are a cache of the pack
 * headers: losing or corrupting them loses nothing (rebuildIndexFromPacks), so a blob listed in
 * several index files (two agents stored the same content) is fine and the first seen wins.
 */

export interface IndexEntry {
  packId: string;
  type: BlobType;
  offset: number;
  length: number;
  rawLength: number;
}

export interface IndexedPack {
  id: string;
  size: number;
  blobs: PackBlob[];
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const count = z.number().int().nonnegative();

const indexFileSchema = z.object({
  formatVersion: z.number().int().positive(),
  packs: z.array(
    z.object({
      id: hex64,
      size: count,
      blobs: z.array(
        z.object({ id: hex64, type: z.enum(['segment', 'photo', 'tree']), offset: count, length: count, rawLength: count }),
      ),
    }),
  ),
});

export function encodeIndexFile(codec: BlobCodec, packs: readonly IndexedPack[]): { id: string; bytes: Buffer } {
  const json = JSON.stringify({ formatVersion: FORMAT_VERSION, packs });
  // Index JSON is mostly repeated keys and hex: zstd shrinks it to well under half.
  const bytes = codec.seal(Buffer.from(json), AAD.index);
  return { id: sha256Hex(bytes), bytes };
}

/** Decodes `index/<indexId>`; INTEGRITY if its bytes do not hash to its name or fail to decrypt. */
export function decodeIndexFile(codec: BlobCodec, indexId: string, bytes: Buffer): IndexedPack[] {
  const name = `index/${indexId}`;
  const fail = (reason: string, cause?: unknown) =>
    new WedsyncError('INTEGRITY', `index file ${name} is damaged: ${reason}`, { cause, details: { index: indexId } });
  if (sha256Hex(bytes) !== indexId) throw fail('its content does not match its name (SHA-256)');
  let plain: Buffer;
  try {
    plain = codec.open(bytes, AAD.index);
  } catch (err) {
    if (err instanceof UnsealError) throw fail(err.message, err);
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(plain.toString('utf8'));
  } catch (err) {
    throw fail('not JSON', err);
  }
  const version = (json as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === 'number' && version > FORMAT_VERSION) {
    throw new WedsyncError(
      'REPO_VERSION_UNSUPPORTED',
      `index file ${name} has format version ${version}; this program reads up to ${FORMAT_VERSION}`,
    );
  }
  // Checked by hand, not with zod: an index lists every blob of the repository (tens of
  // thousands), and a one-wedding restore reads it whole; the zod parse was most of that cost.
  const problem = indexShapeProblem(json);
  if (problem !== null) {
    // Let zod name the first problem in its usual words when the fast check finds one.
    const parsed = indexFileSchema.safeParse(json);
    throw fail(parsed.success ? problem : (parsed.error.issues[0]?.message ?? problem));
  }
  return (json as { packs: IndexedPack[] }).packs;
}

const HEX64 = /^[0-9a-f]{64}$/;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const BLOB_TYPES: ReadonlySet<unknown> = new Set(['segment', 'photo', 'tree']);

/** What indexFileSchema checks, without allocating a copy: null when the shape is right. */
function indexShapeProblem(json: unknown): string | null {
  if (json === null || typeof json !== 'object') return 'not an object';
  const { formatVersion, packs } = json as Record<string, unknown>;
  if (typeof formatVersion !== 'number' || !Number.isInteger(formatVersion) || formatVersion < 1) return 'formatVersion';
  if (!Array.isArray(packs)) return 'packs';
  for (const pack of packs as unknown[]) {
    if (pack === null || typeof pack !== 'object') return 'pack';
    const p = pack as Record<string, unknown>;
    if (typeof p['id'] !== 'string' || !HEX64.test(p['id']) || !isCount(p['size']) || !Array.isArray(p['blobs'])) return 'pack fields';
    for (const blob of p['blobs'] as unknown[]) {
      if (blob === null || typeof blob !== 'object') return 'blob';
      const b = blob as Record<string, unknown>;
      if (typeof b['id'] !== 'string' || b['id'].length !== 64 || !HEX64.test(b['id'])) return 'blob id';
      if (!BLOB_TYPES.has(b['type']) || !isCount(b['offset']) || !isCount(b['length']) || !isCount(b['rawLength'])) return 'blob fields';
    }
  }
  return null;
}

/**
 * The merged, in-memory view of every index file loaded so far: blob id → where it is stored.
 * Only ever grows while the repository is open (packs are immutable; pruning is a separate job
 * that reopens the repository).
 */
export class MasterIndex {
  private readonly blobs = new Map<string, IndexEntry>();
  private readonly packs = new Map<string, { size: number; blobCount: number }>();
  /** Index file ids already merged, so a reload reads only new ones. */
  readonly loadedFiles = new Set<string>();

  addPack(pack: IndexedPack): void {
    if (this.packs.has(pack.id)) return;
    this.packs.set(pack.id, { size: pack.size, blobCount: pack.blobs.length });
    for (const blob of pack.blobs) {
      if (this.blobs.has(blob.id)) continue;
      this.blobs.set(blob.id, {
        packId: pack.id,
        type: blob.type,
        offset: blob.offset,
        length: blob.length,
        rawLength: blob.rawLength,
      });
    }
  }

  get(blobId: string): IndexEntry | undefined {
    return this.blobs.get(blobId);
  }

  has(blobId: string): boolean {
    return this.blobs.has(blobId);
  }

  hasPack(packId: string): boolean {
    return this.packs.has(packId);
  }

  get blobCount(): number {
    return this.blobs.size;
  }

  get packCount(): number {
    return this.packs.size;
  }

  /** Every indexed pack: id, size and how many blobs its index entry lists. */
  packList(): Array<{ id: string; size: number; blobCount: number }> {
    return [...this.packs].map(([id, p]) => ({ id, size: p.size, blobCount: p.blobCount }));
  }

  /** Sum of the sizes of all indexed packs. */
  get packBytes(): number {
    let total = 0;
    for (const pack of this.packs.values()) total += pack.size;
    return total;
  }

  clear(): void {
    this.blobs.clear();
    this.packs.clear();
    this.loadedFiles.clear();
  }
}
