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
