/**
 * Names and constants of repository format version 1 (see the spec at the top of repository.ts).
 * Everything that decides where a file lives or what it is bound to (AAD) is here, so a later
 * format version can see at a glance what version 1 wrote.
 */

/**
 * The repository format version this code writes (config, index files, snapshot roots); it reads
 * versions <= this one. Version 2 added tree blobs: a snapshot is a small root under
 * `snapshots/<id>` plus per-bucket trees of weddings (repository/snapshot-tree.ts), instead of one
 * manifest listing every wedding. Packs, blobs and keys are unchanged from version 1.
 */
export const FORMAT_VERSION = 2;
/** Key files did not change in version 2: they stay version 1 so older programs still read them. */
export const KEY_FORMAT_VERSION = 1;

/** "tree" (format 2): a bucket of a snapshot's weddings, JSON (see snapshot-tree.ts). */
export type BlobType = 'segment' | 'photo' | 'tree';

/** Default target pack size: a few MiB, like restic/Kopia, small enough for cheap range reads. */
export const DEFAULT_PACK_SIZE = 4 * 1024 * 1024;
/** zstd level 3: zstd's default, a good speed/ratio balance for row text on the backup hot path. */
export const DEFAULT_COMPRESSION_LEVEL = 3;

export const CONFIG_NAME = 'config';
export const KEYS_PREFIX = 'keys/';
export const PACKS_PREFIX = 'packs/';
export const INDEX_PREFIX = 'index/';
export const SNAPSHOTS_PREFIX = 'snapshots/';

const HEX64 = /^[0-9a-f]{64}$/;

export function isHex64(value: string): boolean {
  return HEX64.test(value);
}

/** Packs are fanned out over 256 folders by the first two hex digits (keeps listings short on folders). */
export function packName(packId: string): string {
  return `${PACKS_PREFIX}${packId.slice(0, 2)}/${packId}`;
}

/** The pack id from a `packs/ab/abcd…` name, or null if the name is not a pack. */
export function packIdFromName(name: string): string | null {
  const match = /^packs\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(name);
  if (!match || !match[2]!.startsWith(match[1]!)) return null;
  return match[2]!;
}

export function indexName(indexId: string): string {
  return `${INDEX_PREFIX}${indexId}`;
}

export function snapshotName(snapshotId: string): string {
  return `${SNAPSHOTS_PREFIX}${snapshotId}`;
}

export function keyName(keyId: string): string {
  return `${KEYS_PREFIX}${keyId}`;
}

/**
 * Additional authenticated data for each kind of encrypted file. Binding the purpose (and, where
 * the name is known before encrypting, the name) into GCM means a file moved to another name or
 * role fails to decrypt instead of being silently misread.
 */
export const AAD = {
  config: Buffer.from('wedsync:config:v1'),
  index: Buffer.from('wedsync:index:v1'),
  packHeader: Buffer.from('wedsync:pack-header:v1'),
  snapshot: (snapshotId: string) => Buffer.from(`wedsync:snapshot:v1:${snapshotId}`),
  key: (keyId: string) => Buffer.from(`wedsync:key:v1:${keyId}`),
  /** Blobs use their raw 32-byte id: a blob cannot be served under another id. */
  blob: (blobId: string) => Buffer.from(blobId, 'hex'),
} as const;

/** Domain separation for the manifest integrity HMAC, so it can never collide with a blob id. */
export const MANIFEST_MAC_PREFIX = Buffer.from('wedsync:manifest:v1\n');
