import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WedsyncError, type ErrorCode } from '../contract/errors.js';
import type { BlobInfo, BlobStore } from './blob-store.js';

/**
 * The one test suite every BlobStore must pass (after restic's internal/backend/test/tests.go):
 * each guarantee written in blob-store.ts is checked here, against a fresh, empty store per
 * test from `factory`. Call it inside a test file, once per implementation.
 */
export type BlobStoreFactory = () => BlobStore | Promise<BlobStore>;

export interface ContractOptions {
  /**
   * Check that racing puts of one name leave one whole version (default true). Only for test
   * doubles that cannot: s3rver writes objects in place, while real S3 PUTs are atomic.
   */
  atomicOverwrite?: boolean;
}

const MIB = 1024 * 1024;
const INVALID_NAMES = ['../x', 'a/../x', '/abs', 'a//b', '', 'a/', './a', 'a/./b', 'a b', 'a\\b', 'ü'];

/** Resolves to the WedsyncError the promise rejected with, after checking its code and one-line message. */
async function expectError(promise: Promise<unknown>, code: ErrorCode): Promise<WedsyncError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a ${code} error`).toBeInstanceOf(WedsyncError);
  const wedsync = err as WedsyncError;
  expect(wedsync.code).toBe(code);
  expect(wedsync.message).not.toMatch(/[\r\n]/);
  return wedsync;
}

/** Buffers compared with equals(): a 20 MiB diff in a failure message helps nobody. */
function expectBytes(actual: Buffer, expected: Uint8Array): void {
  expect(Buffer.isBuffer(actual)).toBe(true);
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected)).toBe(true);
}

const byName = (a: BlobInfo, b: BlobInfo): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

async function listed(store: BlobStore, prefix: string): Promise<BlobInfo[]> {
  return (await store.list(prefix)).sort(byName);
}

export function blobStoreContract(name: string, factory: BlobStoreFactory, options: ContractOptions = {}): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;

    beforeEach(async () => {
      store = await factory();
    });

    afterEach(async () => {
      await store.close();
    });

    it('describes itself', () => {
      expect(['local', 's3', 'memory']).toContain(store.provider);
      expect(store.location).not.toBe('');
    });

    it('starts empty', async () => {
      expect(await store.list('')).toEqual([]);
    });

    describe('put and get', () => {
      it.each([
        ['an empty blob', 0],
        ['a 1-byte blob', 1],
        ['a 64 KiB blob', 64 * 1024],
      ])('round-trips %s', async (_label, size) => {
        const data = randomBytes(size);
        await store.put('data/blob', data);
        expectBytes(await store.get('data/blob'), data);
        expect(await store.head('data/blob')).toEqual({ name: 'data/blob', size });
      });

      it('round-trips a 20 MiB random blob (multipart on S3)', async () => {
        const data = randomBytes(20 * MIB);
        await store.put('packs/big', data);
        expectBytes(await store.get('packs/big'), data);
        expect(await store.head('packs/big')).toEqual({ name: 'packs/big', size: data.length });
        expectBytes(await store.getRange('packs/big', 16 * MIB - 3, 7), data.subarray(16 * MIB - 3, 16 * MIB + 4));
        expectBytes(await store.getRange('packs/big', 20 * MIB - 5, 5), data.subarray(20 * MIB - 5));
      });

      it('accepts a plain Uint8Array', async () => {
        const data = new Uint8Array([1, 2, 3, 250]);
        await store.put('u8', data);
        expectBytes(await store.get('u8'), data);
      });

      it('accepts every allowed name character and deep names', async () => {
        const names = ['AZaz09._-', 'snapshots/2025/06/01/abc-DEF_1.json', '.hidden', 'x/..y/z..'];
        for (const n of names) await store.put(n, Buffer.from(n));
        for (const n of names) expect((await store.get(n)).toString()).toBe(n);
      });

      it('keeps its own copy: changing the buffers put or got does not change the blob', async () => {
        const data = Buffer.from('original');
        await store.put('copy', data);
        data.fill(0);
        const got = await store.get('copy');
        got.fill(0);
        expect((await store.get('copy')).toString()).toBe('original');
      });

      it('replaces a blob whole on overwrite', async () => {
        await store.put('over', Buffer.from('a much longer first version'));
        await store.put('over', Buffer.from('short'));
        expect((await store.get('over')).toString()).toBe('short');
        expect(await store.head('over')).toEqual({ name: 'over', size: 5 });
        expect(await store.list('')).toEqual([{ name: 'over', size: 5 }]);
      });

      it('fails with BLOB_NOT_FOUND for a missing blob', async () => {
        const err = await expectError(store.get('missing/blob'), 'BLOB_NOT_FOUND');
        expect(err.message).toContain('missing/blob');
      });

      it('does not treat a folder-like prefix of other names as a blob', async () => {
        await store.put('dir/child', Buffer.from('x'));
        await expectError(store.get('dir'), 'BLOB_NOT_FOUND');
        await expectError(store.get('dir/child/deeper'), 'BLOB_NOT_FOUND');
        expect(await store.head('dir')).toBeNull();
        expect(await store.head('dir/child/deeper')).toBeNull();
      });
    });

    describe('getRange', () => {
      const data = Buffer.from('0123456789abcdef');
      beforeEach(async () => {
        await store.put('r/blob', data);
      });

      it.each([
        ['the start', 0, 4],
        ['the middle', 5, 6],
        ['the end', 12, 4],
        ['the whole blob', 0, 16],
        ['nothing at the start', 0, 0],
        ['nothing at the very end', 16, 0],
      ])('reads %s', async (_label, offset, length) => {
        expectBytes(await store.getRange('r/blob', offset, length), data.subarray(offset, offset + length));
      });

      it.each([
        ['running past the end', 12, 5],
        ['starting at the end', 16, 1],
        ['starting past the end', 100, 1],
        ['empty, past the end', 17, 0],
      ])('fails with INTEGRITY for a range %s', async (_label, offset, length) => {
        await expectError(store.getRange('r/blob', offset, length), 'INTEGRITY');
      });

      it('reads ranges of an empty blob', async () => {
        await store.put('r/empty', Buffer.alloc(0));
        expect((await store.getRange('r/empty', 0, 0)).length).toBe(0);
        await expectError(store.getRange('r/empty', 0, 1), 'INTEGRITY');
      });

      it('fails with BLOB_NOT_FOUND for a missing blob', async () => {
        await expectError(store.getRange('r/missing', 0, 1), 'BLOB_NOT_FOUND');
        await expectError(store.getRange('r/missing', 0, 0), 'BLOB_NOT_FOUND');
      });

      it.each([
        [-1, 1],
        [0, -1],
        [1.5, 1],
        [0, Number.NaN],
      ])('rejects offset %d length %d with BAD_INPUT', async (offset, length) => {
        await expectError(store.getRange('r/blob', offset, length), 'BAD_INPUT');
      });
    });

    describe('head', () => {
      it('gives the size of a blob', async () => {
        await store.put('h/one', Buffer.from('abc'));
        expect(await store.head('h/one')).toEqual({ name: 'h/one', size: 3 });
      });

      it('gives null for a missing blob', async () => {
        expect(await store.head('h/missing')).toBeNull();
      });
    });

    describe('list', () => {
      const names = ['index/0001', 'index/0002', 'packs/ab/ab01', 'packs/ab/ab02', 'packs/abc/abc1', 'packs/cd/cd01', 'config'];
      beforeEach(async () => {
        await Promise.all(names.map((n, i) => store.put(n, Buffer.alloc(i + 1, 7))));
      });

      it('lists everything with names and sizes for ""', async () => {
        const expected = names.map((n, i) => ({ name: n, size: i + 1 })).sort(byName);
        expect(await listed(store, '')).toEqual(expected);
      });

      it.each([
        ['index/', ['index/0001', 'index/0002']],
        ['packs/ab/', ['packs/ab/ab01', 'packs/ab/ab02']],
        ['packs/ab', ['packs/ab/ab01', 'packs/ab/ab02', 'packs/abc/abc1']],
        ['packs/a', ['packs/ab/ab01', 'packs/ab/ab02', 'packs/abc/abc1']],
        ['packs/ab/ab0', ['packs/ab/ab01', 'packs/ab/ab02']],
        ['packs/ab/ab01', ['packs/ab/ab01']],
        ['conf', ['config']],
        ['nothing/', []],
        ['packs/zz/', []],
        ['config/', []],
      ])('lists only names starting with %j', async (prefix, expected) => {
        expect((await listed(store, prefix)).map((b) => b.name)).toEqual(expected);
      });

      it.each(['../', '/abs', 'a//', './', 'a b'])('rejects the prefix %j with BAD_INPUT', async (prefix) => {
        await expectError(store.list(prefix), 'BAD_INPUT');
      });
    });

    describe('delete', () => {
      it('removes a blob from get, head and list', async () => {
        await store.put('d/gone', Buffer.from('x'));
        await store.put('d/kept', Buffer.from('y'));
        await store.delete('d/gone');
        await expectError(store.get('d/gone'), 'BLOB_NOT_FOUND');
        expect(await store.head('d/gone')).toBeNull();
        expect(await listed(store, '')).toEqual([{ name: 'd/kept', size: 1 }]);
      });

      it('is idempotent', async () => {
        await store.put('d/twice', Buffer.from('x'));
        await store.delete('d/twice');
        await store.delete('d/twice');
        await store.delete('d/never/existed');
      });

      it('lets a deleted name be put again', async () => {
        await store.put('d/again', Buffer.from('one'));
        await store.delete('d/again');
        await store.put('d/again', Buffer.from('two'));
        expect((await store.get('d/again')).toString()).toBe('two');
      });
    });

    describe('names', () => {
      it.each(INVALID_NAMES)('rejects %j with BAD_INPUT in every operation', async (bad) => {
        await expectError(store.put(bad, Buffer.from('x')), 'BAD_INPUT');
        await expectError(store.get(bad), 'BAD_INPUT');
        await expectError(store.getRange(bad, 0, 1), 'BAD_INPUT');
        await expectError(store.head(bad), 'BAD_INPUT');
        await expectError(store.delete(bad), 'BAD_INPUT');
      });

      it('writes nothing for a rejected name', async () => {
        await store.put('../escape', Buffer.from('x')).catch(() => undefined);
        await store.put('/abs', Buffer.from('x')).catch(() => undefined);
        expect(await store.list('')).toEqual([]);
      });
    });

    describe('concurrency and visibility', () => {
      it('handles concurrent puts of different names', async () => {
        const blobs = Array.from({ length: 24 }, (_, i) => ({ name: `c/${i % 3}/blob-${i}`, data: randomBytes(1000 + i) }));
        await Promise.all(blobs.map((b) => store.put(b.name, b.data)));
        for (const b of blobs) expectBytes(await store.get(b.name), b.data);
        expect((await listed(store, 'c/')).map((b) => b.name)).toEqual(blobs.map((b) => b.name).sort());
      });

      it.runIf(options.atomicOverwrite ?? true)('leaves one whole version after concurrent puts of the same name', async () => {
        const versions = Array.from({ length: 6 }, (_, i) => Buffer.alloc(64 * 1024 + i, i + 1));
        await Promise.all(versions.map((v) => store.put('same', v)));
        const got = await store.get('same');
        expect(versions.some((v) => v.equals(got))).toBe(true);
        expect(await store.list('')).toEqual([{ name: 'same', size: got.length }]);
      });

      it('reads its own writes at once', async () => {
        for (let i = 0; i < 5; i++) {
          const data = Buffer.from(`version ${i}`);
          await store.put('raw/blob', data);
          expectBytes(await store.get('raw/blob'), data);
          expect(await store.head('raw/blob')).toEqual({ name: 'raw/blob', size: data.length });
          expect(await store.list('raw/')).toEqual([{ name: 'raw/blob', size: data.length }]);
        }
        await store.delete('raw/blob');
        expect(await store.head('raw/blob')).toBeNull();
        expect(await store.list('raw/')).toEqual([]);
      });
    });
  });
}
