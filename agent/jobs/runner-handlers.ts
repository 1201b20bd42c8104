import type { Catalog } from '../catalog/catalog.js';
import { WedsyncError } from '../contract/errors.js';
import type { SchemaMap } from '../contract/schema-map.js';
import { TIER_RETENTION_DAYS } from '../core/schedule.js';
import type { Logger } from '../logger.js';
import { withLock } from '../repository/lock.js';
import type { Repository } from '../repository/repository.js';
import type { BackupSource } from '../source/backup-source.js';
import type { BlobStore } from '../storage/blob-store.js';
import { runBackup, type BackupType } from './backup.js';
import { copySnapshot, type CopyDeps } from './copy.js';
import type { JobContext, JobHandler, JobOutcome } from './runner.js';

/**
 * What each job type does when the runner hands it over.
 *
 * Backups (full, incremental, emergency) run the backup task (backup.ts, unchanged) with:
 *  - a repository opened afresh for the job: its index is read now, so it never deduplicates
 *    against a pack an earlier prune deleted (a long-lived Repository would);
 *  - the repository's SHARED lock held for the whole job, so prune's GC never runs meanwhile;
 *  - the catalog bound to the claimed job: the backup records its snapshot against that job row
 *    instead of inserting a row of its own, and leaves the job's final status to the runner
 *    (which retries, completes or fails it through the queue).
 * Off-site jobs copy the newest complete snapshot to the off-site repository (copy.ts); if the
 * repository has none yet, they take a full first.
 */

export interface BackupHandlerDeps {
  /** A fresh Repository for each job (same store; the index is read anew). */
  openRepository: () => Promise<Repository>;
  catalog: Catalog;
  openSource: (type: BackupType) => Promise<BackupSource>;
  photoStore: BlobStore | null;
  map: SchemaMap;
  logger: Logger;
  agentName: string;
  /** How long a backup waits for a prune's exclusive lock (default 10 minutes). */
  lockWaitMs?: number;
}

export interface OffsiteHandlerDeps extends BackupHandlerDeps {
  passphrase: string;
  /** null when no off-site repository is configured: the job fails with BAD_INPUT. */
  openTarget: (() => Promise<BlobStore>) | null;
  newestCompleteSnapshot: (storageLocation: string) => Promise<{ id: string } | null>;
  recordCopy: NonNullable<CopyDeps['recordCopy']>;
}

/** The catalog as seen by one claimed job: see the top of this file. */
export function catalogForJob(catalog: Catalog, jobId: string, progress: (p: Record<string, unknown>) => void): Catalog {
  return {
    ...catalog,
    startJob: async () => jobId,
    completeJob: async (_id, p) => progress(p ?? {}),
    failJob: async () => undefined,
    close: async () => undefined,
  };
}

function retentionDays(tier: number | null): number {
  return tier === 2 || tier === 3 || tier === 4 ? TIER_RETENTION_DAYS[tier] : 30;
}

async function backup(deps: BackupHandlerDeps, ctx: JobContext, type: BackupType, tier: number | null): Promise<JobOutcome> {
  const { job } = ctx;
  if (type === 'emergency' && job.weddingIds.length === 0) throw new WedsyncError('BAD_INPUT', `emergency job ${job.id} names no wedding`);
  const repo = await deps.openRepository();
  return withLock(
    repo.store,
    { kind: 'shared', purpose: `${type} backup (job ${job.id})`, agent: deps.agentName, waitMs: deps.lockWaitMs ?? 10 * 60_000, signal: ctx.signal },
    async (lock) => {
      let recorded: Record<string, unknown> = {};
      const days = retentionDays(tier);
      const result = await runBackup(
        {
          openSource: () => deps.openSource(type),
          catalog: catalogForJob(deps.catalog, job.id, (p) => (recorded = p)),
          repo,
          photoStore: deps.photoStore,
          map: deps.map,
          logger: ctx.logger,
          agentName: deps.agentName,
          signal: ctx.signal,
          // The lock is held around the whole job (above), from before the source opens.
          takeLock: false,
          heldLock: lock,
        },
        {
          type,
          tier,
          priority: job.priority,
          retentionDays: days,
          ...(type === 'emergency' ? { weddingIds: job.weddingIds, ...(job.dataTypes ? { dataTypes: job.dataTypes as never } : {}) } : {}),
        },
      );
      return {
        snapshotId: result.snapshotId,
        bytes: result.bytesNew,
        retentionUntil: new Date(Date.now() + days * 86_400_000),
        summary: {
          type: result.type,
          ...(result.note ? { note: result.note } : {}),
          weddings: result.weddingCount,
          rows: result.rowCount,
          bytesNew: result.bytesNew,
          phase: recorded['phase'] ?? 'finish',
        },
      };
    },
  );
}

/** Handlers for full, incremental and emergency jobs. */
export function backupHandlers(deps: BackupHandlerDeps): Record<'full' | 'incremental' | 'emergency', JobHandler> {
  return {
    full: (ctx) => backup(deps, ctx, 'full', ctx.job.tier),
    incremental: (ctx) => backup(deps, ctx, 'incremental', ctx.job.tier),
    emergency: (ctx) => backup(deps, ctx, 'emergency', ctx.job.tier),
  };
}

/** Handler for tier 4 off-site jobs. */
export function offsiteHandler(deps: OffsiteHandlerDeps): JobHandler {
  return async (ctx) => {
    if (!deps.openTarget) throw new WedsyncError('BAD_INPUT', 'no off-site repository configured (set WEDSYNC_OFFSITE_REPO)');
    const source = await deps.openRepository();
    let snapshot = await deps.newestCompleteSnapshot(source.location);
    let took: JobOutcome | null = null;
    if (!snapshot) {
      took = await backup(deps, ctx, 'full', 4);
      snapshot = { id: took.snapshotId! };
    }
    const target = await deps.openTarget();
    try {
      const report = await copySnapshot(
        { source, targetStore: target, passphrase: deps.passphrase, logger: ctx.logger, agentName: deps.agentName, recordCopy: deps.recordCopy },
        snapshot.id,
        { signal: ctx.signal },
      );
      return {
        snapshotId: snapshot.id,
        bytes: report.bytesCopied,
        retentionUntil: new Date(Date.now() + TIER_RETENTION_DAYS[4] * 86_400_000),
        summary: { target: report.target, blobsCopied: report.blobs.copied, blobsPresent: report.blobs.present, verified: true, ...(took ? { tookFull: took.snapshotId } : {}) },
      };
    } finally {
      await target.close().catch(() => undefined);
    }
  };
}
