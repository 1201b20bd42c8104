import { describe, expect, it } from 'vitest';
import { WedsyncError } from '../../contract/errors.js';
import { mapFsError } from './fs-errors.js';

const sysError = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: boom`), { code, syscall: 'open' });
const map = (code: string, access: 'read' | 'write', name?: string): WedsyncError => {
  const mapped = mapFsError(sysError(code), access, '/repo', { path: '/repo/x', ...(name ? { name } : {}) });
  expect(mapped).toBeInstanceOf(WedsyncError);
  return mapped as WedsyncError;
};

describe('mapFsError', () => {
  it.each(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR'])('maps %s on write to STORAGE_NOT_WRITABLE', (code) => {
    const err = map(code, 'write', 'x');
    expect(err.code).toBe('STORAGE_NOT_WRITABLE');
    expect(err.message.startsWith('cannot write blob "x" in /repo: ')).toBe(true);
    expect(err.message).toContain(code);
  });

  it('maps ENOSPC to STORAGE_UNAVAILABLE that retrying will not fix', () => {
    const err = map('ENOSPC', 'write', 'x');
    expect(err.code).toBe('STORAGE_UNAVAILABLE');
    expect(err.details?.retryable).toBe(false);
    expect(err.message).toContain('no space left on device');
  });

  it('marks passing pressure (EMFILE, EBUSY) retryable', () => {
    expect(map('EMFILE', 'read', 'x').details?.retryable).toBe(true);
    expect(map('EBUSY', 'write', 'x').details?.retryable).toBe(true);
  });

  it.each(['ENOENT', 'ENOTDIR', 'EISDIR'])('maps %s on read of a blob to BLOB_NOT_FOUND', (code) => {
    expect(map(code, 'read', 'x').code).toBe('BLOB_NOT_FOUND');
  });

  it('names the folder when no blob is involved', () => {
    expect(map('EACCES', 'write').message).toBe('cannot write folder /repo/x: permission denied (EACCES)');
  });

  it('passes non-fs errors (bugs) and WedsyncErrors through unchanged', () => {
    const bug = new TypeError('x is undefined');
    expect(mapFsError(bug, 'read', '/repo', { path: '/repo' })).toBe(bug);
    const ours = new WedsyncError('INTEGRITY', 'short');
    expect(mapFsError(ours, 'read', '/repo', { path: '/repo' })).toBe(ours);
  });
});
