import { WedsyncError } from '../contract/errors.js';
import type { BlobStore } from '../storage/blob-store.js';
import { type BlobCodec, SEAL_OVERHEAD, UnsealError, sha256Hex } from './codec.js';
import { AAD, type BlobType } from './format.js';

/**
 * Pack files (`packs/<first 2 hex>/<packId>`), packId = SHA-256 of the whole pack:
 *
 *   pack   = blob_0 | blob_1 | … | blob_n-1 | sealedHeader | headerLength (u32 LE, of sealedHeader)
 *   blob_i = a sealed blob (see codec.ts), AAD = its 32-byte id
 *   header = sealed (AAD "wedsync:pack-header:v1", never compressed) binary:
 *            "WSPH" | version u8 = 1 | count u32 LE | count × (type u8 | length u32 LE | rawLength u32 LE | id 32 bytes)
 *
 * Blob offsets are implied: blob_0 starts at 0 and each starts where the previous ended. The
 * header makes every pack self-describing, so the index can always be rebuilt from packs alone.
 */

export interface PackBlob {
  id: string;
  type: BlobType;
  /** Byte offset of the sealed blob inside the pack. */
  offset: number;
  /** Length of the sealed blob (what a range read fetches). */
  length: number;
  /** Length of the plaintext. */
  rawLength: number;
}

const MAGIC = Buffer.from('WSPH');
const HEADER_VERSION = 1;
const ENTRY_LENGTH = 1 + 4 + 4 + 32;
const TYPE_CODES: Record<BlobType, number> = { segment: 0, photo: 1, tree: 2 };
const TYPES_BY_CODE: readonly BlobType[] = ['segment', 'photo', 'tree'];
/** Bytes a pack of `blobs` blobs spends beyond the blobs themselves: its sealed header and the header's length. */
export function packOverhead(blobs: number): number {
  return SEAL_OVERHEAD + MAGIC.length + 1 + 4 + blobs * ENTRY_LENGTH + 4;
}

/** Blob and raw lengths are u32 in the header. */
export const MAX_BLOB_LENGTH = 0xffff_ffff;
/** First guess at how much of a pack's tail to read for its header: one round trip for typical packs. */
const TAIL_GUESS = 64 * 1024;

export function encodePackHeader(blobs: readonly PackBlob[]): Buffer {
  const out = Buffer.allocUnsafe(MAGIC.length + 1 + 4 + blobs.length * ENTRY_LENGTH);
  MAGIC.copy(out, 0);
  out.writeUInt8(HEADER_VERSION, 4);
  out.writeUInt32LE(blobs.length, 5);
  let pos = 9;
  for (const blob of blobs) {
    out.writeUInt8(TYPE_CODES[blob.type], pos);
    out.writeUInt32LE(blob.length, pos + 1);
    out.writeUInt32LE(blob.rawLength, pos + 5);
    out.write(blob.id, pos + 9, 32, 'hex');
    pos += ENTRY_LENGTH;
  }
  return out;
}

/** Decodes a header whose blobs occupy the first `bodyLength` bytes of the pack; throws Error on any inconsistency. */
export function decodePackHeader(plain: Buffer, bodyLength: number): PackBlob[] {
  if (plain.length < 9 || !plain.subarray(0, 4).equals(MAGIC)) throw new Error('bad pack header magic');
  const version = plain.readUInt8(4);
  if (version !== HEADER_VERSION) throw new Error(`unsupported pack header version ${version}`);
  const count = plain.readUInt32LE(5);
  if (plain.length !== 9 + count * ENTRY_LENGTH) throw new Error('pack header length does not match its entry count');
  const blobs: PackBlob[] = [];
  let offset = 0;
  for (let i = 0, pos = 9; i < count; i++, pos += ENTRY_LENGTH) {
    const type = TYPES_BY_CODE[plain.readUInt8(pos)];
    if (type === undefined) throw new Error(`unknown blob type code ${plain.readUInt8(pos)}`);
    const length = plain.readUInt32LE(pos + 1);
    blobs.push({
      id: plain.toString('hex', pos + 9, pos + 9 + 32),
      type,
      offset,
      length,
      rawLength: plain.readUInt32LE(pos + 5),
    });
    offset += length;
  }
  if (offset !== bodyLength) throw new Error(`pack header describes ${offset} bytes of blobs, pack holds ${bodyLength}`);
  return blobs;
}

/** Appends the sealed header and its length to the blob parts; returns the pack bytes and id. */
export function assemblePack(
  codec: BlobCodec,
  parts: Buffer[],
  bodyLength: number,
  blobs: readonly PackBlob[],
): { id: string; bytes: Buffer } {
  const header = codec.seal(encodePackHeader(blobs), AAD.packHeader, 'never');
  const trailer = Buffer.allocUnsafe(4);
  trailer.writeUInt32LE(header.length, 0);
  // The one copy of a pack's bytes: BlobStore.put takes a single buffer.
  const bytes = Buffer.concat([...parts, header, trailer], bodyLength + header.length + 4);
  return { id: sha256Hex(bytes), bytes };
}

/**
 * Like assemblePack, for a pack whose blobs already lie side by side in `buffer` [0, bodyLength):
 * the header and its length are written right after them when the buffer has room (no copy of
 * the body), else into a new buffer. The returned bytes may share memory with `buffer`.
 */
export function finishPack(codec: BlobCodec, buffer: Buffer, bodyLength: number, blobs: readonly PackBlob[]): { id: string; bytes: Buffer } {
  const header = codec.seal(encodePackHeader(blobs), AAD.packHeader, 'never');
  const total = bodyLength + header.length + 4;
  const bytes = total <= buffer.length ? buffer.subarray(0, total) : Buffer.concat([buffer.subarray(0, bodyLength)], total);
  header.copy(bytes, bodyLength);
  bytes.writeUInt32LE(header.length, bodyLength + header.length);
  return { id: sha256Hex(bytes), bytes };
}

function packError(packName: string, reason: string, cause?: unknown): WedsyncError {
  return new WedsyncError('INTEGRITY', `pack ${packName} is damaged: ${reason}`, {
    cause,
    details: { pack: packName },
  });
}

/** Parses the header out of a pack's last `tail.length` bytes (the whole pack when tail.length === packSize). */
function headerFromTail(codec: BlobCodec, packName: string, tail: Buffer, packSize: number): PackBlob[] | number {
  if (packSize < 4 || tail.length < 4) throw packError(packName, `${packSize} bytes is too short for a pack`);
  const headerLength = tail.readUInt32LE(tail.length - 4);
  if (headerLength + 4 > packSize) throw packError(packName, `header length ${headerLength} exceeds the pack`);
  // Not enough tail read yet: tell the caller how much to read.
  if (headerLength + 4 > tail.length) return headerLength + 4;
  const sealed = tail.subarray(tail.length - 4 - headerLength, tail.length - 4);
  let plain: Buffer;
  try {
    plain = codec.open(sealed, AAD.packHeader);
  } catch (err) {
    if (err instanceof UnsealError) throw packError(packName, `header ${err.message}`, err);
    throw err;
  }
  try {
    return decodePackHeader(plain, packSize - 4 - headerLength);
  } catch (err) {
    throw packError(packName, (err as Error).message, err);
  }
}

/** Reads and authenticates a stored pack's header with range reads (usually one). */
export async function readPackHeader(
  store: BlobStore,
  codec: BlobCodec,
  packName: string,
  packSize: number,
): Promise<PackBlob[]> {
  const guess = Math.min(packSize, TAIL_GUESS);
  const tail = await store.getRange(packName, packSize - guess, guess);
  const result = headerFromTail(codec, packName, tail, packSize);
  if (typeof result !== 'number') return result;
  const fullTail = await store.getRange(packName, packSize - result, result);
  const second = headerFromTail(codec, packName, fullTail, packSize);
  if (typeof second === 'number') throw packError(packName, 'header length changed between reads');
  return second;
}

/** Parses the header of a pack held whole in memory. */
export function parsePack(codec: BlobCodec, packName: string, bytes: Buffer): PackBlob[] {
  const result = headerFromTail(codec, packName, bytes, bytes.length);
  if (typeof result === 'number') throw packError(packName, 'header longer than the pack');
  return result;
}
