import type { ApiServices } from '../api/services.js';
import type { EventHub } from '../api/event-hub.js';
import type { Catalog } from '../catalog/catalog.js';
import type { AgentJobOptions } from '../jobs/runner-daemon.js';
import type { Repository } from '../repository/repository.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { AgentParts } from './agent-parts.js';
import { openRestoreGroup } from './online-restore.js';
import { openScheduling } from './online-scheduling.js';

export interface OnlineDeps extends AgentParts {
  hub: EventHub;
  jobs: boolean | AgentJobOptions | undefined;
}

/** Everything that needs the database (and the main repository). */
export interface Online {
  repo: Repository;
  catalog: Catalog;
  photoStore: BlobStore | null;
  restore: NonNullable<ApiServices['restore']>;
  pointInTime: NonNullable<ApiServices['pointInTime']>;
  validation: NonNullable<ApiServices['validation']>;
  backupStatus: NonNullable<ApiServices['backupStatus']>;
  access: NonNullable<ApiServices['access']>;
  /** Closes everything, last opened first: jobs and running restores/validations end before their catalogs close. */
  close(): Promise<void>;
}

/**
 * Opens the agent's database-backed services: the main repository, the backup catalog, the photo
 * store, restores and point in time (online-restore.ts), integrity validation, scheduling
 * (online-scheduling.ts) and per-user access (tokens, RLS scope, audit log, approvals).
 *
 * Guarantees: all or nothing — when any part fails to open, everything opened so far is closed
 * and the error is thrown as is (DB_UNREACHABLE/STORAGE_UNAVAILABLE for "not reachable now").
 */
export async function connectOnline(d: OnlineDeps): Promise<Online> {
  const { config, logger, map, url } = d;
  const opened: Array<() => Promise<unknown>> = [];
  const onClose = (c: () => Promise<unknown>) => {
    opened.push(c);
  };
  const closeAll = async () => {
    for (const c of opened.reverse()) await c().catch(() => undefined);
  };
  try {
    const [{ openRepo }, { openCatalog }, { openPhotoStore }] = await Promise.all([import('../cli/repo.js'), import('../catalog/catalog.js'), import('../cli/services.js')]);
    const repo = await openRepo(config.repo, d.passphrase, logger);
    onClose(() => repo.store.close());
    const catalog = await openCatalog(url);
    onClose(() => catalog.close());
    const photoStore = await openPhotoStore(config, logger);
    onClose(async () => photoStore?.close());
    const { restore, pointInTime } = await openRestoreGroup({ config, logger, map, url, repo, localRepo: d.localRepo, store: d.store, catalog, photoStore, backups: d.backups, hub: d.hub, onClose });
    // Integrity validation (routes/validation.ts): snapshot validations in the background, one at
    // a time, results in the catalog; one wedding's live data on request.
    const [{ createValidationServices }, { openValidationCatalog }, { openWeddingDataSource }] = await Promise.all([
      import('../jobs/verify-service.js'),
      import('../catalog/validation.js'),
      import('../source/data-validation.js'),
    ]);
    const validationCatalog = await openValidationCatalog(url);
    onClose(() => validationCatalog.close());
    const validation = createValidationServices({ repo, map, logger, catalog: validationCatalog, openDataSource: () => openWeddingDataSource(url, map), photoStore, onChange: (id) => d.hub.publish(`validation:${id}`) });
    onClose(() => validation.idle());
    const backupStatus = await openScheduling({ config, logger, map, url, catalog, repoStore: repo.store, photoStore, jobs: d.jobs, caches: d.caches, onClose });
    // Per-user tokens, RLS-scoped visibility, the audit log and restore approvals (api/authz.ts).
    const { openAccessCatalog } = await import('../catalog/rls.js');
    const access = await openAccessCatalog(url, map);
    onClose(() => access.close());
    return { repo, catalog, photoStore, restore, pointInTime, validation, backupStatus, access, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
