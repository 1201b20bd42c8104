import { WedsyncError } from '../contract/errors.js';
import type { Repository } from '../repository/repository.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A snapshot id from what the user typed: a uuid, or `latest` (the newest complete snapshot of
 * this repository by the catalog, else by the manifests themselves).
 */
export async function resolveSnapshotId(ref: string, repo: Repository, databaseUrl?: string): Promise<string> {
  if (ref === 'latest') {
    if (databaseUrl) {
      const { openCatalog } = await import('../catalog/catalog.js');
      const catalog = await openCatalog(databaseUrl);
      try {
        const [latest] = await catalog.listSnapshots({ storageLocation: repo.location, types: ['full', 'incremental'], limit: 1, brief: true });
        if (latest) return latest.id;
      } finally {
        await catalog.close();
      }
    }
    throw new WedsyncError('NOT_FOUND', `no snapshot in the repository at ${repo.location} yet: run \`wedsync-backup backup\``);
  }
  if (!UUID.test(ref)) throw new WedsyncError('BAD_INPUT', `snapshot must be a snapshot id (uuid) or "latest" (got ${JSON.stringify(ref)})`);
  const id = ref.toLowerCase();
  const ids = await repo.listSnapshots();
  if (!ids.includes(id)) throw new WedsyncError('NOT_FOUND', `snapshot ${id} not found in the repository at ${repo.location}`);
  return id;
}
