import { WedsyncError } from '../contract/errors.js';

/** The errors every BlobStore raises in the same words, whatever the target. */

export function blobNotFound(location: string, name: string, cause?: unknown): WedsyncError {
  return new WedsyncError('BLOB_NOT_FOUND', `blob ${JSON.stringify(name)} not found in ${location}`, {
    cause,
    details: { name, location },
  });
}

/** A range that runs past the end of a blob: the caller's index and the data disagree. */
export function rangePastEnd(location: string, name: string, offset: number, length: number, size: number): WedsyncError {
  return new WedsyncError(
    'INTEGRITY',
    `blob ${JSON.stringify(name)} in ${location} is ${size} bytes, shorter than the requested range ${offset}+${length}`,
    { details: { name, location, offset, length, size } },
  );
}
