import { WedsyncError } from '../../contract/errors.js';
import { blobNotFound } from '../errors.js';

/** Whether the failed call was reading (a missing path means "no such blob") or writing. */
export type FsAccess = 'read' | 'write';

/** Error codes that mean "no blob by that name" when reading: the path or one of its folders is absent. */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);
/** The folder refuses writes; ENOTDIR/EEXIST: a file stands where a folder must be. */
const NOT_WRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'EISDIR']);
/** Pressure that passes by itself: retrying later may succeed. */
const TRANSIENT = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR', 'ETIMEDOUT']);

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a file stands where a folder is needed',
  EEXIST: 'a file stands where a folder is needed',
  EISDIR: 'a folder stands where a file is needed',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  ENOENT: 'no such file or folder',
};

/** "permission denied (EACCES)": the words a user understands, and the code support can search for. */
export function describeErrno(code: string): string {
  return `${REASONS[code] ?? 'file system error'} (${code})`;
}

/** The errno code ("ENOENT") of a Node system error; undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  if (err instanceof WedsyncError) return undefined;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Turns a Node fs error into the BlobStore error catalogue. `what` names the blob or folder in
 * the one-line message; errors that are not fs errors (bugs) pass through unchanged.
 */
export function mapFsError(err: unknown, access: FsAccess, location: string, what: { name?: string; path: string }): unknown {
  const code = errnoCode(err);
  if (code === undefined) return err;
  const subject = what.name === undefined ? `folder ${what.path}` : `blob ${JSON.stringify(what.name)} in ${location}`;
  const reason = describeErrno(code);

  if (access === 'read' && ABSENT.has(code) && what.name !== undefined) return blobNotFound(location, what.name, err);
  if (access === 'write' && NOT_WRITABLE.has(code)) {
    return new WedsyncError('STORAGE_NOT_WRITABLE', `cannot write ${subject}: ${reason}`, { cause: err, details: { path: what.path, errno: code } });
  }
  return new WedsyncError('STORAGE_UNAVAILABLE', `cannot ${access} ${subject}: ${reason}`, {
    cause: err,
    details: { path: what.path, errno: code, retryable: TRANSIENT.has(code) },
  });
}
