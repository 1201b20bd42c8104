import type { Repository } from '../repository/repository.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { Logger } from '../logger.js';

/**
 * Opening the configured repository: the BlobStore for the location (with retries for
 * transient storage errors), then the repository with the passphrase.
 */
export async function openStore(location: string, opts: { create?: boolean; logger?: Logger } = {}): Promise<BlobStore> {
  const { openBlobStore } = await import('../storage/open.js');
  const { RetryingBlobStore } = await import('../storage/retrying-store.js');
  const inner = await openBlobStore(location, { create: opts.create ?? false });
  return new RetryingBlobStore(inner, {
    retries: 5,
    minDelayMs: 100,
    maxDelayMs: 5_000,
    onRetry: (e) => opts.logger?.warn({ op: e.op, name: e.name, attempt: e.attempt, err: e.error.message }, 'storage operation failed; retrying'),
  });
}

export async function openRepo(location: string, passphrase: string, logger?: Logger): Promise<Repository> {
  const { openRepository } = await import('../repository/repository.js');
  const store = await openStore(location, { logger });
  try {
    return await openRepository(store, passphrase);
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** Creates the repository if the location holds none yet; returns whether it was created. */
export async function ensureRepository(location: string, passphrase: string, logger?: Logger): Promise<{ created: boolean; id: string; keyId: string }> {
  const { initRepository, isRepository, openRepository } = await import('../repository/repository.js');
  const store = await openStore(location, { create: true, logger });
  try {
    const exists = await isRepository(store);
    const repo = exists ? await openRepository(store, passphrase) : await initRepository(store, passphrase);
    return { created: !exists, id: repo.id, keyId: repo.keyId };
  } finally {
    await store.close();
  }
}
