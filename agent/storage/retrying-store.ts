import pRetry from 'p-retry';
import { WedsyncError } from '../contract/errors.js';
import type { BlobInfo, BlobStore } from './blob-store.js';

export interface RetryEvent {
  op: keyof BlobStore;
  /** The blob or list prefix the operation was about. */
  name: string;
  /** The attempt that just failed (1 = the first try). */
  attempt: number;
  retriesLeft: number;
  error: WedsyncError;
}

export interface RetryOptions {
  /** Retries after the first attempt (0 = never retry). */
  retries: number;
  /** Delay before the first retry; it doubles each time, randomised ×1–2 so agents do not retry in step. */
  minDelayMs: number;
  /** Upper bound on any one delay. */
  maxDelayMs: number;
  /** Called before each retry, e.g. to log it. Exceptions from it are ignored. */
  onRetry?: (event: RetryEvent) => void;
}

/** Only failures the store itself marked retryable (timeouts, 5xx, resets): never bugs, 404s or refusals. */
export function isRetryableError(err: unknown): err is WedsyncError {
  return err instanceof WedsyncError && err.details?.retryable === true;
}

/**
 * Wraps any BlobStore and retries its retryable failures with bounded exponential backoff
 * (restic's backend_retry.go). Safe for every operation because puts are atomic whole-blob
 * replacements and deletes are idempotent.
 */
export class RetryingBlobStore implements BlobStore {
  readonly location: string;
  readonly provider: BlobStore['provider'];

  constructor(
    private readonly inner: BlobStore,
    private readonly options: RetryOptions,
  ) {
    this.location = inner.location;
    this.provider = inner.provider;
  }

  put(name: string, data: Buffer | Uint8Array): Promise<void> {
    return this.retry('put', name, () => this.inner.put(name, data));
  }

  get(name: string): Promise<Buffer> {
    return this.retry('get', name, () => this.inner.get(name));
  }

  getRange(name: string, offset: number, length: number): Promise<Buffer> {
    return this.retry('getRange', name, () => this.inner.getRange(name, offset, length));
  }

  head(name: string): Promise<BlobInfo | null> {
    return this.retry('head', name, () => this.inner.head(name));
  }

  list(prefix: string): Promise<BlobInfo[]> {
    return this.retry('list', prefix, () => this.inner.list(prefix));
  }

  delete(name: string): Promise<void> {
    return this.retry('delete', name, () => this.inner.delete(name));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private retry<T>(op: keyof BlobStore, name: string, fn: () => Promise<T>): Promise<T> {
    const { retries, minDelayMs, maxDelayMs, onRetry } = this.options;
    return pRetry(fn, {
      retries,
      minTimeout: minDelayMs,
      maxTimeout: maxDelayMs,
      factor: 2,
      randomize: true,
      shouldRetry: ({ error }) => isRetryableError(error),
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        if (!onRetry || retriesLeft === 0 || !isRetryableError(error)) return;
        try {
          onRetry({ op, name, attempt: attemptNumber, retriesLeft, error });
        } catch {
          // A failing log line must not turn a retry into a failure.
        }
      },
    });
  }
}

// Compile-time check that the wrapper builds a BlobStore from a BlobStore (restic's `var _ backend.Backend = &Backend{}`).
void (RetryingBlobStore satisfies new (inner: BlobStore, options: RetryOptions) => BlobStore);
