import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3StoreConfig, startS3Server, type S3TestServer } from '../../test-support/s3.js';
import { WedsyncError } from '../contract/errors.js';
import { openBlobStore, parseStoreLocation } from './open.js';

function badInput(location: string): WedsyncError {
  try {
    parseStoreLocation(location);
  } catch (err) {
    expect(err).toBeInstanceOf(WedsyncError);
    expect((err as WedsyncError).code).toBe('BAD_INPUT');
    expect((err as WedsyncError).message).not.toMatch(/\n/);
    return err as WedsyncError;
  }
  throw new Error(`expected ${JSON.stringify(location)} to be rejected`);
}

describe('parseStoreLocation', () => {
  it.each([
    ['/var/lib/wedsync/repo', '/var/lib/wedsync/repo'],
    ['./repo', './repo'],
    ['repo', 'repo'],
    ['~/backups', '~/backups'],
    ['C:\\backups\\repo', 'C:\\backups\\repo'],
    ['file:///srv/repo', '/srv/repo'],
  ])('reads %j as a folder', (location, path) => {
    expect(parseStoreLocation(location)).toEqual({ kind: 'local', path });
  });

  it.each([
    ['s3://my-bucket/wedsync/prod', 'my-bucket', 'wedsync/prod'],
    ['s3://my-bucket/wedsync/', 'my-bucket', 'wedsync'],
    ['s3://my-bucket', 'my-bucket', ''],
    ['s3://my-bucket/', 'my-bucket', ''],
    ['S3://my.bucket.eu/x', 'my.bucket.eu', 'x'],
  ])('reads %j as bucket %j, prefix %j', (location, bucket, prefix) => {
    expect(parseStoreLocation(location)).toEqual({ kind: 's3', bucket, prefix });
  });

  it('reads memory://name', () => {
    expect(parseStoreLocation('memory://unit-test_1')).toEqual({ kind: 'memory', name: 'unit-test_1' });
  });

  it.each([
    '',
    '   ',
    'http://example.com/repo',
    'gs://bucket/x',
    's3:bucket',
    's3://',
    's3://Bad_Bucket/x',
    's3://b/x',
    's3://bucket/../x',
    's3://bucket//x',
    's3://bucket/a b',
    'memory://',
    'memory://a/b',
    'ftp://host',
    'a\0b',
  ])('rejects %j with BAD_INPUT naming it', (location) => {
    const err = badInput(location);
    if (location.trim() !== '') expect(err.message).toContain(JSON.stringify(location).slice(1, -1));
  });

  it('does not echo credentials pasted into a URL', () => {
    const err = badInput('s3://AKIAKEY:SECRETVALUE@bucket/x');
    expect(err.message).not.toContain('SECRETVALUE');
    expect(err.message).not.toContain('AKIAKEY');
  });
});

describe('openBlobStore', () => {
  let dir: string;
  let server: S3TestServer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wedsync-open-'));
    server = await startS3Server();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await server.stop();
  });

  it('opens a folder, creating it only when asked', async () => {
    const path = join(dir, 'repo');
    await expect(openBlobStore(path)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    const store = await openBlobStore(path, { create: true });
    expect(store.provider).toBe('local');
    expect(store.location).toBe(path);
    await store.put('x', Buffer.from('1'));
    expect((await (await openBlobStore(path)).get('x')).toString()).toBe('1');
  });

  it('expands ~ to the home folder', async () => {
    // A missing folder without create: the error names the expanded path and nothing is written.
    const err = await openBlobStore('~/wedsync-test-missing-folder').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect((err as WedsyncError).message).toContain(join(homedir(), 'wedsync-test-missing-folder'));
  });

  it('shares memory stores by name', async () => {
    const a = await openBlobStore('memory://open-test');
    const b = await openBlobStore('memory://open-test');
    const other = await openBlobStore('memory://open-test-other');
    await a.put('k', Buffer.from('v'));
    expect((await b.get('k')).toString()).toBe('v');
    expect(await other.head('k')).toBeNull();
    expect(a.provider).toBe('memory');
    expect(a.location).toBe('memory://open-test');
  });

  it('opens s3:// with the given connection settings', async () => {
    const { bucket: _b, prefix: _p, ...s3 } = s3StoreConfig(server);
    const store = await openBlobStore(`s3://${server.bucket}/open-test`, { s3 });
    expect(store.provider).toBe('s3');
    expect(store.location).toBe(`s3://${server.bucket}/open-test`);
    await store.put('a/b', Buffer.from('s3'));
    expect(await store.list('a/')).toEqual([{ name: 'a/b', size: 2 }]);
    await store.close();
  });

  it('rejects unknown locations with BAD_INPUT', async () => {
    await expect(openBlobStore('ftp://x')).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});
