import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { Compressor, Decompressor } from 'zstd-napi';

/**
 * The encoding of every encrypted thing in a repository (blobs, pack headers, index files,
 * config, manifests):
 *
 *   sealed = nonce (12 random bytes) | AES-256-GCM(flag (1 byte) | payload) | tag (16 bytes)
 *
 * flag 0: payload is the plaintext; flag 1: payload is one zstd frame of the plaintext. The flag
 * sits inside the ciphertext so it is authenticated and reveals nothing. Compression is kept only
 * when it shrinks the data, so incompressible input (photos) costs one byte, never more.
 */

/** The master key material, unwrapped from a key file. Never stored in plaintext. */
export interface MasterKey {
  /** AES-256-GCM key for every encrypted byte in the repository. */
  readonly encryption: Buffer;
  /** HMAC-SHA-256 key for blob ids and manifest integrity hashes. */
  readonly mac: Buffer;
}

export const NONCE_LENGTH = 12;
export const TAG_LENGTH = 16;
/** nonce + flag + tag: what sealing adds to a payload. */
export const SEAL_OVERHEAD = NONCE_LENGTH + 1 + TAG_LENGTH;

const FLAG_RAW = 0;
const FLAG_ZSTD = 1;
const FLAG_BYTES = [Buffer.from([FLAG_RAW]), Buffer.from([FLAG_ZSTD])] as const;

export type CompressMode = 'auto' | 'never';

/** Raised when sealed bytes fail authentication or decoding; callers add which file/blob it was. */
export class UnsealError extends Error {
  override readonly name = 'UnsealError';
}

/** The sealed form as separate buffers, so a pack can gather them without an extra copy per blob. */
export interface SealedParts {
  parts: Buffer[];
  length: number;
}

/**
 * One codec per open repository. Not safe to share across worker threads (it reuses one zstd
 * context, which is what makes small-blob compression cheap).
 */
export class BlobCodec {
  private readonly compressor = new Compressor();
  private readonly decompressor = new Decompressor();

  constructor(
    private readonly key: MasterKey,
    compressionLevel: number,
  ) {
    // Frame content size is on by default: decompression then allocates the output exactly once.
    this.compressor.setParameters({ compressionLevel });
  }

  /** Blob id: HMAC-SHA-256(macKey, plaintext) as 64 hex digits. Keyed so ids leak nothing about content. */
  blobId(plaintext: Uint8Array): string {
    return createHmac('sha256', this.key.mac).update(plaintext).digest('hex');
  }

  /** HMAC-SHA-256 under the MAC key of arbitrary parts (manifest integrity hash). */
  mac(...parts: Uint8Array[]): Buffer {
    const hmac = createHmac('sha256', this.key.mac);
    for (const part of parts) hmac.update(part);
    return hmac.digest();
  }

  sealParts(plaintext: Uint8Array, aad: Uint8Array, compress: CompressMode = 'auto'): SealedParts {
    let payload: Uint8Array = plaintext;
    let flag: 0 | 1 = FLAG_RAW;
    // Tiny inputs never shrink enough to pay for a zstd frame header.
    if (compress === 'auto' && plaintext.length > 32) {
      const compressed = this.compressor.compress(plaintext);
      if (compressed.length < plaintext.length) {
        payload = compressed;
        flag = FLAG_ZSTD;
      }
    }
    const nonce = nextNonce();
    const cipher = createCipheriv('aes-256-gcm', this.key.encryption, nonce, { authTagLength: TAG_LENGTH });
    cipher.setAAD(aad);
    const parts = [nonce, cipher.update(FLAG_BYTES[flag]), cipher.update(payload)];
    const final = cipher.final();
    if (final.length > 0) parts.push(final);
    parts.push(cipher.getAuthTag());
    return { parts, length: SEAL_OVERHEAD + payload.length };
  }

  seal(plaintext: Uint8Array, aad: Uint8Array, compress: CompressMode = 'auto'): Buffer {
    const { parts, length } = this.sealParts(plaintext, aad, compress);
    return Buffer.concat(parts, length);
  }

  /** Decrypts and decompresses; throws UnsealError if the bytes were altered or sealed under another key/AAD. */
  open(sealed: Uint8Array, aad: Uint8Array): Buffer {
    if (sealed.length < SEAL_OVERHEAD) throw new UnsealError(`sealed data too short (${sealed.length} bytes)`);
    const bytes = Buffer.isBuffer(sealed) ? sealed : Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length);
    const nonce = bytes.subarray(0, NONCE_LENGTH);
    const tag = bytes.subarray(bytes.length - TAG_LENGTH);
    const decipher = createDecipheriv('aes-256-gcm', this.key.encryption, nonce, { authTagLength: TAG_LENGTH });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const body = decipher.update(bytes.subarray(NONCE_LENGTH, bytes.length - TAG_LENGTH));
    try {
      decipher.final();
    } catch (cause) {
      throw new UnsealError('authentication failed (data altered, or written under another key)', { cause });
    }
    const flag = body[0];
    const payload = body.subarray(1);
    if (flag === FLAG_RAW) return payload;
    if (flag === FLAG_ZSTD) {
      try {
        return this.decompressor.decompress(payload);
      } catch (cause) {
        throw new UnsealError('zstd frame cannot be decompressed', { cause });
      }
    }
    throw new UnsealError(`unknown encoding flag ${String(flag)}`);
  }
}

/** Random bytes drawn ahead for nonces: one CSPRNG call per 340 blobs instead of one per blob (a full backup seals tens of thousands). */
let noncePool = Buffer.alloc(0);
let nonceAt = 0;
const NONCE_POOL_BYTES = NONCE_LENGTH * 340;

/** A fresh random nonce in a buffer of its own (callers may keep it). */
function nextNonce(): Buffer {
  if (nonceAt + NONCE_LENGTH > noncePool.length) {
    noncePool = randomBytes(NONCE_POOL_BYTES);
    nonceAt = 0;
  }
  const nonce = Buffer.allocUnsafe(NONCE_LENGTH);
  noncePool.copy(nonce, 0, nonceAt, nonceAt + NONCE_LENGTH);
  // Each pool byte is handed out once: the next nonce starts where this one ends.
  nonceAt += NONCE_LENGTH;
  return nonce;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * True for formats that are already compressed (JPEG, PNG, GIF, WebP, HEIC/AVIF, zstd, gzip, zip):
 * trying zstd on them costs CPU on every photo and never shrinks them.
 */
export function looksCompressed(data: Uint8Array): boolean {
  if (data.length < 12) return false;
  const b = data;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return true; // JPEG
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return true; // PNG
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return true; // GIF
  if (b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45) return true; // RIFF/WEBP
  if (b[4] === 0x66 && b[5] === 0x74 && b[6] === 0x79 && b[7] === 0x70) return true; // ISO BMFF: HEIC, AVIF, MP4
  if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return true; // zstd
  if (b[0] === 0x1f && b[1] === 0x8b) return true; // gzip
  if (b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04) return true; // zip
  return false;
}
