import { WedsyncError } from '../contract/errors.js';

/**
 * BlobStore: the one interface every repository target implements (local folder, S3, memory).
 * Modelled on restic's backend.Backend and Kopia's blob.Storage: a flat namespace of
 * immutable, named byte strings. The repository layer builds everything else on top.
 *
 * Names are relative, '/'-separated paths of [A-Za-z0-9._-] segments (e.g. "packs/ab/abcd…").
 * A name that contains "..", starts with "/", or has other characters is rejected with BAD_INPUT.
 * A name must not also be the folder of another ("a" and "a/b"): a folder store cannot hold
 * both, so it refuses the second put with STORAGE_NOT_WRITABLE. Repository names never clash.
 *
 * Every method reports failure by rejecting its promise, never by throwing synchronously.
 *
 * Errors are WedsyncError with code:
 *  - BLOB_NOT_FOUND       the named blob does not exist (get, head, getRange)
 *  - STORAGE_UNAVAILABLE  transient or permanent failure talking to the target; `details.retryable`
 *                         is true when retrying may help (timeouts, 5xx, connection resets)
 *  - STORAGE_NOT_WRITABLE the target refuses writes (EACCES, EROFS, 403)
 *  - INTEGRITY            getRange asked for bytes past the end of the blob
 *  - BAD_INPUT            an invalid name, list prefix, or range (a caller bug, never retried)
 *
 * agent/storage/contract.ts checks every guarantee here against every implementation.
 */
export interface BlobInfo {
  name: string;
  size: number;
}

export interface BlobStore {
  /** Human-readable location, e.g. "/var/lib/wedsync/repo" or "s3://bucket/prefix". */
  readonly location: string;
  /** "local" | "s3" | "memory": recorded as backup_snapshots.storage_provider. */
  readonly provider: 'local' | 's3' | 'memory';

  /**
   * Store `data` under `name`. Atomic: readers see either nothing or the whole blob, never a
   * prefix, even if the process dies mid-write. Durable once the promise resolves (fsync for
   * folders, completed PUT/multipart for S3). Overwriting an existing name replaces it whole.
   */
  put(name: string, data: Buffer | Uint8Array): Promise<void>;

  /** The whole blob. Read-after-write: a put that resolved is visible to every later get. */
  get(name: string): Promise<Buffer>;

  /**
   * `length` bytes from `offset` (non-negative integers, else BAD_INPUT). Fails with INTEGRITY
   * if the blob is shorter than asked; a zero-length read at the very end is fine.
   */
  getRange(name: string, offset: number, length: number): Promise<Buffer>;

  /** Size of the blob, or null when it does not exist. */
  head(name: string): Promise<BlobInfo | null>;

  /**
   * Every blob whose name starts with `prefix` ("" for all), in no particular order. The prefix
   * may end mid-segment ("packs/ab" matches "packs/abc/x"); one with "..", "." or empty
   * segments, or a leading "/", is BAD_INPUT. Blobs put before the call started are listed;
   * in-progress puts (and a crashed put's leftovers) are not.
   */
  list(prefix: string): Promise<BlobInfo[]>;

  /** Remove the blob. Deleting a name that does not exist is not an error (idempotent). */
  delete(name: string): Promise<void>;

  /** Release connections and handles. The store must not be used afterwards. */
  close(): Promise<void>;
}

const NAME_PATTERN = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** Throws BAD_INPUT for names that could escape the store (path traversal) or are malformed. */
export function assertValidBlobName(name: string): void {
  if (!NAME_PATTERN.test(name) || name.split('/').some((part) => part === '.' || part === '..')) {
    throw new BlobNameError(name);
  }
}


class BlobNameError extends WedsyncError {
  constructor(name: string) {
    super('BAD_INPUT', `invalid blob name ${JSON.stringify(name)}: use '/'-separated [A-Za-z0-9._-] segments`);
  }
}
