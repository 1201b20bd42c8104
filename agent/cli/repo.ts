import type { Repository } from '../repository/repository.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { Logger } from '../logger.js';
import type { UnlockingRepository } from '../jobs/backup.js';

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

/**
 * Opens the store and STARTS unlocking the repository: the passphrase's key derivation (scrypt,
 * on libuv's thread pool) runs while the caller goes on loading code and connecting. `opened`
 * rejects as openRepo would (WRONG_PASSPHRASE, REPO_NOT_INITIALISED…); the caller closes `store`.
 */
export async function unlockRepo(location: string, passphrase: string, logger?: Logger): Promise<UnlockingRepository> {
  const [{ openRepository }, store] = await Promise.all([import('../repository/repository.js'), openStore(location, { logger })]);
  const opened = openRepository(store, passphrase);
  opened.catch(() => undefined); // awaited by whoever needs the key
  return { store, opened };
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
