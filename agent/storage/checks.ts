import { WedsyncError } from '../contract/errors.js';
import { assertValidBlobName } from './blob-store.js';

/**
 * Argument checks every BlobStore runs before touching its target, so all implementations
 * reject the same inputs with the same error (the contract suite holds them to it).
 */

const PREFIX_CHARS = /^[A-Za-z0-9._/-]*$/;

/**
 * A list prefix is "" or a name cut anywhere: its complete segments (before the last '/') must
 * be valid name segments, the trailing partial segment may be empty. Rejects what could escape
 * a folder store ("../", "/abs", "a//") with BAD_INPUT.
 */
export function assertValidBlobPrefix(prefix: string): void {
  if (prefix === '') return;
  const cut = prefix.lastIndexOf('/');
  const complete = cut === -1 ? '' : prefix.slice(0, cut);
  const ok =
    PREFIX_CHARS.test(prefix) &&
    (cut === -1 || (complete !== '' && isValidBlobName(complete)));
  if (!ok) {
    throw new WedsyncError('BAD_INPUT', `invalid blob prefix ${JSON.stringify(prefix)}: use '/'-separated [A-Za-z0-9._-] segments`);
  }
}

/** offset and length must be non-negative safe integers; anything else is a caller bug. */
export function assertValidRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new WedsyncError('BAD_INPUT', `invalid blob range offset=${offset} length=${length}: both must be non-negative integers`);
  }
}

/** The boolean form of assertValidBlobName, for filtering what a listing finds. */
export function isValidBlobName(name: string): boolean {
  try {
    assertValidBlobName(name);
    return true;
  } catch {
    return false;
  }
}
