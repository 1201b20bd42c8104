import { performance } from 'node:perf_hooks';
import { WedsyncError } from '../contract/errors.js';
import type { BlobInfo, BlobStore } from './blob-store.js';

/** The one method we need from a logger (pino's shape), so storage does not depend on pino. */
export interface StoreLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
}

/** Wraps any BlobStore and logs every operation with its duration, size and outcome at debug level. */
export class LoggingBlobStore implements BlobStore {
  readonly location: string;
  readonly provider: BlobStore['provider'];

  constructor(
    private readonly inner: BlobStore,
    private readonly logger: StoreLogger,
  ) {
    this.location = inner.location;
    this.provider = inner.provider;
  }

  put(name: string, data: Buffer | Uint8Array): Promise<void> {
    return this.logged('put', { name, bytes: data.length }, () => this.inner.put(name, data));
  }

  get(name: string): Promise<Buffer> {
    return this.logged('get', { name }, () => this.inner.get(name), (b) => ({ bytes: b.length }));
  }

  getRange(name: string, offset: number, length: number): Promise<Buffer> {
    return this.logged('getRange', { name, offset, length }, () => this.inner.getRange(name, offset, length));
  }

  head(name: string): Promise<BlobInfo | null> {
    return this.logged('head', { name }, () => this.inner.head(name), (info) => ({ found: info !== null }));
  }

  list(prefix: string): Promise<BlobInfo[]> {
    return this.logged('list', { prefix }, () => this.inner.list(prefix), (blobs) => ({ count: blobs.length }));
  }

  delete(name: string): Promise<void> {
    return this.logged('delete', { name }, () => this.inner.delete(name));
  }

  close(): Promise<void> {
    return this.logged('close', {}, () => this.inner.close());
  }

  private async logged<T>(
    op: keyof BlobStore,
    fields: Record<string, unknown>,
    fn: () => Promise<T>,
    summarise?: (result: T) => Record<string, unknown>,
  ): Promise<T> {
    const start = performance.now();
    const base = { store: this.location, op, ...fields };
    try {
      const result = await fn();
      this.logger.debug({ ...base, ...summarise?.(result), durationMs: elapsed(start) }, `storage ${op}`);
      return result;
    } catch (err) {
      const code = err instanceof WedsyncError ? err.code : 'INTERNAL';
      this.logger.debug({ ...base, durationMs: elapsed(start), error: code }, `storage ${op} failed`);
      throw err;
    }
  }
}

const elapsed = (start: number): number => Math.round((performance.now() - start) * 10) / 10;

void (LoggingBlobStore satisfies new (inner: BlobStore, logger: StoreLogger) => BlobStore);
