import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WedsyncError, type ErrorCode } from '../../contract/errors.js';
import { LocalBlobStore } from './local-store.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'wedsync-local-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>, code: ErrorCode): Promise<WedsyncError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WedsyncError);
  expect((err as WedsyncError).code).toBe(code);
  expect((err as WedsyncError).message).not.toMatch(/\n/);
  return err as WedsyncError;
}

describe('LocalBlobStore.open', () => {
  // Tests run as root, where chmod does not stop writes: a path under a regular file fails for anyone (ENOTDIR).
  it('fails with STORAGE_NOT_WRITABLE naming the path when the folder cannot be created', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'not a folder');
    const target = join(file, 'repo');
    const err = await failure(LocalBlobStore.open(target, { create: true }), 'STORAGE_NOT_WRITABLE');
    expect(err.message).toContain(target);
  });

  it('fails with STORAGE_NOT_WRITABLE when the location is a file', async () => {
    const file = join(root, 'plain-file');
    await writeFile(file, 'x');
    const err = await failure(LocalBlobStore.open(file), 'STORAGE_NOT_WRITABLE');
    expect(err.message).toContain(file);
  });

  it('fails with STORAGE_NOT_WRITABLE where the kernel refuses files (/proc)', async () => {
    if (process.platform !== 'linux') return;
    const err = await failure(LocalBlobStore.open('/proc'), 'STORAGE_NOT_WRITABLE');
    expect(err.message).toContain('/proc');
  });

  it('fails with STORAGE_UNAVAILABLE for a missing folder unless asked to create it', async () => {
    const missing = join(root, 'missing', 'repo');
    const err = await failure(LocalBlobStore.open(missing), 'STORAGE_UNAVAILABLE');
    expect(err.message).toContain(missing);
    expect(err.details?.retryable).toBe(false);
    const store = await LocalBlobStore.open(missing, { create: true });
    expect(store.location).toBe(missing);
    expect(await readdir(missing)).toEqual([]); // the write probe cleaned up after itself
  });

  it('resolves relative paths into an absolute location', async () => {
    const store = new LocalBlobStore('relative/repo');
    expect(store.location).toBe(join(process.cwd(), 'relative/repo'));
  });
});

describe('LocalBlobStore writes', () => {
  it('fails with STORAGE_NOT_WRITABLE when the root is under a file', async () => {
    const file = join(root, 'blocker');
    await writeFile(file, 'x');
    const store = new LocalBlobStore(join(file, 'repo'));
    const err = await failure(store.put('a/b', Buffer.from('x')), 'STORAGE_NOT_WRITABLE');
    expect(err.message).toContain('"a/b"');
  });

  it('fails with STORAGE_NOT_WRITABLE when a blob stands where a folder is needed', async () => {
    const store = await LocalBlobStore.open(join(root, 'clash'), { create: true });
    await store.put('a', Buffer.from('x'));
    await failure(store.put('a/b', Buffer.from('y')), 'STORAGE_NOT_WRITABLE');
    expect(await store.list('')).toEqual([{ name: 'a', size: 1 }]);
  });

  it('leaves no temp files behind and creates subfolders on demand', async () => {
    const dir = join(root, 'clean');
    const store = await LocalBlobStore.open(dir, { create: true });
    await Promise.all([store.put('p/q/r', Buffer.from('1')), store.put('p/s', Buffer.from('22')), store.put('t', Buffer.from('333'))]);
    expect((await readdir(dir, { recursive: true })).sort()).toEqual(['p', 'p/q', 'p/q/r', 'p/s', 't']);
  });

  it('never lists temp files left by a crash, nor files that are not blob names', async () => {
    const dir = join(root, 'crashed');
    const store = await LocalBlobStore.open(dir, { create: true });
    await store.put('packs/ab/ab01', Buffer.from('whole'));
    // What a crash between write and rename leaves: a temp file next to where the blob would be.
    await writeFile(join(dir, 'packs', 'ab', '~tmp-0123456789abcdef'), 'half a bl');
    await writeFile(join(dir, '~tmp-feedfacefeedface'), '');
    await writeFile(join(dir, 'notes about this.txt'), 'foreign file');
    await mkdir(join(dir, '~odd folder'));
    await writeFile(join(dir, '~odd folder', 'inside'), 'x');
    expect(await store.list('')).toEqual([{ name: 'packs/ab/ab01', size: 5 }]);
    expect(await store.list('packs/ab/')).toEqual([{ name: 'packs/ab/ab01', size: 5 }]);
  });
});
