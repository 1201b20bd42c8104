import { describe, expect, it } from 'vitest';
import { WedsyncError } from '../../contract/errors.js';
import { mapS3Error } from './s3-errors.js';

const ctx = { op: 'get', location: 's3://b/p', name: 'packs/x' };
const sdkError = (name: string, status?: number, extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(`${name} happened`), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}), ...extra });
const map = (err: unknown, c: { op: string; location: string; name?: string } = ctx): WedsyncError => {
  const mapped = mapS3Error(err, c);
  expect(mapped).toBeInstanceOf(WedsyncError);
  expect((mapped as WedsyncError).message).not.toMatch(/\n/);
  return mapped as WedsyncError;
};

describe('mapS3Error', () => {
  it('maps NoSuchKey and bare 404s to BLOB_NOT_FOUND', () => {
    expect(map(sdkError('NoSuchKey', 404)).code).toBe('BLOB_NOT_FOUND');
    expect(map(sdkError('NotFound', 404)).code).toBe('BLOB_NOT_FOUND');
    expect(map(sdkError('Unknown', 404)).code).toBe('BLOB_NOT_FOUND');
  });

  it('maps a missing bucket to STORAGE_UNAVAILABLE, not to a missing blob', () => {
    const err = map(sdkError('NoSuchBucket', 404));
    expect(err.code).toBe('STORAGE_UNAVAILABLE');
    expect(err.details?.retryable).toBe(false);
  });

  it.each([
    ['AccessDenied', 403],
    ['InvalidAccessKeyId', 403],
    ['SignatureDoesNotMatch', 403],
    ['Forbidden', 403],
  ])('maps %s (%d) to STORAGE_NOT_WRITABLE', (name, status) => {
    expect(map(sdkError(name, status)).code).toBe('STORAGE_NOT_WRITABLE');
  });

  it.each([
    ['a 500', sdkError('InternalError', 500)],
    ['a 503', sdkError('ServiceUnavailable', 503)],
    ['throttling', sdkError('SlowDown', 503)],
    ['a timeout', sdkError('TimeoutError')],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' })],
    [
      'a refused dual-stack connection',
      Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), { name: 'AggregateError' }),
    ],
  ])('maps %s to retryable STORAGE_UNAVAILABLE', (_label, error) => {
    const err = map(error);
    expect(err.code).toBe('STORAGE_UNAVAILABLE');
    expect(err.details?.retryable).toBe(true);
  });

  it('maps a 400 to non-retryable STORAGE_UNAVAILABLE', () => {
    const err = map(sdkError('InvalidArgument', 400));
    expect(err.code).toBe('STORAGE_UNAVAILABLE');
    expect(err.details?.retryable).toBe(false);
  });

  it('builds the message from name, code and status only, never from server text', () => {
    const err = map(sdkError('SignatureDoesNotMatch', 403, { message: 'secret AKIAEXAMPLE wJalrXUtnFEMI\nline two' }));
    expect(err.message).toBe('S3 refused get of blob "packs/x" in s3://b/p: SignatureDoesNotMatch, HTTP 403');
    expect(map(Object.assign(new Error('boom'), { code: 'ECONNREFUSED' }), { op: 'list', location: 's3://b/p' }).message).toBe(
      'S3 list of s3://b/p failed: ECONNREFUSED',
    );
  });

  it('passes WedsyncErrors and non-objects through', () => {
    const ours = new WedsyncError('INTEGRITY', 'x');
    expect(mapS3Error(ours, ctx)).toBe(ours);
    expect(mapS3Error('weird', ctx)).toBe('weird');
  });
});
