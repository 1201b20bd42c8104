import type { Config } from '../contract/config.js';
import type { SchemaMap } from '../contract/schema-map.js';
import type { ApiServices } from '../api/services.js';
import type { Catalog } from '../catalog/catalog.js';
import type { AgentJobOptions } from '../jobs/runner-daemon.js';
import type { Logger } from '../logger.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { AgentReadCaches } from './read-caches.js';

export interface SchedulingDeps {
  config: Config;
  logger: Logger;
  map: SchemaMap;
  url: string;
  catalog: Catalog;
  repoStore: BlobStore;
  photoStore: BlobStore | null;
  /** AgentOptions.jobs: false/undefined → status, plan, settings and /metrics only. */
  jobs: boolean | AgentJobOptions | undefined;
  caches: AgentReadCaches;
  onClose(close: () => Promise<unknown>): void;
}

/**
 * Scheduling while the agent is connected (jobs/runner-daemon.ts, routes/status.ts): status,
 * plan, settings and /metrics always; with `jobs` also the scheduler, the job runner and the
 * nightly prune.
 *
 * Guarantees: status answers are shared through `caches.status` (see read-caches.ts); a settings
 * change or a cancelled job made here clears them, whether it succeeded or not, so this agent
 * reads its own change back at once. The daemon stops (registered first) before its catalog closes.
 */
export async function openScheduling(d: SchedulingDeps): Promise<NonNullable<ApiServices['backupStatus']>> {
  const { config, map, url } = d;
  const [{ openSchedulingCatalog }, { startAgentJobs }, { createMetrics }, { openBackupSource }] = await Promise.all([
    import('../catalog/queue-catalog.js'),
    import('../jobs/runner-daemon.js'),
    import('../api/metrics.js'),
    import('../source/backup-source.js'),
  ]);
  const scheduling = openSchedulingCatalog(url, map);
  d.onClose(() => scheduling.close());
  const agentJobs = await startAgentJobs({
    config,
    logger: d.logger,
    scheduling,
    catalog: d.catalog,
    repoStore: d.repoStore,
    photoStore: d.photoStore,
    map,
    options: d.jobs,
    openSource: (type) => openBackupSource(url, map, type === 'full' ? config.parallelism : 1, { lockTimeoutMs: config.lockTimeoutMs }),
    createMetrics: (status) => createMetrics({ status }),
  });
  d.onClose(() => agentJobs.close());
  const clearingStatus =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A) => {
      try {
        return await fn(...args);
      } finally {
        d.caches.statusChanged();
      }
    };
  return {
    ...agentJobs.services,
    status: (query) => d.caches.status.get(JSON.stringify(query), () => agentJobs.services.status(query)),
    updateSettings: clearingStatus(agentJobs.services.updateSettings),
    cancelJob: clearingStatus(agentJobs.services.cancelJob),
  };
}
