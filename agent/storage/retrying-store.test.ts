import { describe, expect, it } from 'vitest';
import { WedsyncError } from '../contract/errors.js';
import type { BlobInfo, BlobStore } from './blob-store.js';
import { MemoryBlobStore } from './memory/memory-store.js';
import { RetryingBlobStore, type RetryEvent } from './retrying-store.js';

/** A store whose next `failures` calls throw `error`, then behaves like the memory store it wraps. */
class FlakyStore implements BlobStore {
  readonly location = 'memory://flaky';
  readonly provider = 'memory' as const;
  calls = 0;
  constructor(
    private readonly inner: BlobStore,
    private failures: number,
    private readonly error: () => Error,
  ) {}
  private async fail(): Promise<void> {
    this.calls++;
    if (this.failures > 0) {
      this.failures--;
      throw this.error();
    }
  }
  async put(name: string, data: Buffer | Uint8Array): Promise<void> {
    await this.fail();
    return this.inner.put(name, data);
  }
  async get(name: string): Promise<Buffer> {
    await this.fail();
    return this.inner.get(name);
  }
  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    await this.fail();
    return this.inner.getRange(name, offset, length);
  }
  async head(name: string): Promise<BlobInfo | null> {
    await this.fail();
    return this.inner.head(name);
  }
  async list(prefix: string): Promise<BlobInfo[]> {
    await this.fail();
    return this.inner.list(prefix);
  }
  async delete(name: string): Promise<void> {
    await this.fail();
    return this.inner.delete(name);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const transient = (): WedsyncError => new WedsyncError('STORAGE_UNAVAILABLE', 'reset', { details: { retryable: true } });
const permanent = (): WedsyncError => new WedsyncError('STORAGE_UNAVAILABLE', 'disk full', { details: { retryable: false } });
const fast = { retries: 3, minDelayMs: 1, maxDelayMs: 5 };

describe('RetryingBlobStore', () => {
  it('retries a retryable failure until it succeeds, telling onRetry each time', async () => {
    const memory = new MemoryBlobStore();
    await memory.put('x', Buffer.from('data'));
    const flaky = new FlakyStore(memory, 2, transient);
    const events: RetryEvent[] = [];
    const store = new RetryingBlobStore(flaky, { ...fast, onRetry: (e) => events.push(e) });
    expect((await store.get('x')).toString()).toBe('data');
    expect(flaky.calls).toBe(3);
    expect(events.map((e) => [e.op, e.name, e.attempt, e.retriesLeft])).toEqual([
      ['get', 'x', 1, 3],
      ['get', 'x', 2, 2],
    ]);
    expect(events[0]?.error.code).toBe('STORAGE_UNAVAILABLE');
  });

  it('does not retry a non-retryable failure', async () => {
    const flaky = new FlakyStore(new MemoryBlobStore(), 1, permanent);
    const store = new RetryingBlobStore(flaky, fast);
    await expect(store.put('x', Buffer.from('1'))).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: 'disk full' });
    expect(flaky.calls).toBe(1);
  });

  it('does not retry errors without a retryable flag (not found, bugs)', async () => {
    const flaky = new FlakyStore(new MemoryBlobStore(), 0, transient);
    const store = new RetryingBlobStore(flaky, fast);
    await expect(store.get('missing')).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
    expect(flaky.calls).toBe(1);
    const buggy = new FlakyStore(new MemoryBlobStore(), 5, () => new Error('bug'));
    await expect(new RetryingBlobStore(buggy, fast).list('')).rejects.toThrow('bug');
    expect(buggy.calls).toBe(1);
  });

  it('gives up after `retries` retries with the last error', async () => {
    const flaky = new FlakyStore(new MemoryBlobStore(), 10, transient);
    const store = new RetryingBlobStore(flaky, { retries: 2, minDelayMs: 1, maxDelayMs: 2 });
    await expect(store.head('x')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { retryable: true } });
    expect(flaky.calls).toBe(3);
  });

  it('passes every operation through to the inner store', async () => {
    const store = new RetryingBlobStore(new MemoryBlobStore('inner'), fast);
    expect(store.location).toBe('memory://inner');
    expect(store.provider).toBe('memory');
    await store.put('a/b', Buffer.from('hello'));
    expect((await store.getRange('a/b', 1, 3)).toString()).toBe('ell');
    expect(await store.head('a/b')).toEqual({ name: 'a/b', size: 5 });
    expect(await store.list('a/')).toEqual([{ name: 'a/b', size: 5 }]);
    await store.delete('a/b');
    expect(await store.head('a/b')).toBeNull();
    await store.close();
  });

  it('ignores an onRetry callback that throws', async () => {
    const flaky = new FlakyStore(new MemoryBlobStore(), 1, transient);
    const store = new RetryingBlobStore(flaky, {
      ...fast,
      onRetry: () => {
        throw new Error('logger broke');
      },
    });
    await store.put('x', Buffer.from('1'));
    expect(flaky.calls).toBe(2);
  });
});
