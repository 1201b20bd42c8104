import type { RetentionRow } from '../catalog/retention.js';
import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import { manifestBlobIds } from '../contract/manifest.js';
import { decideRetention, type RetentionDecision, type RetentionTarget, type RetentionWedding } from '../core/retention.js';
import type { Logger } from '../logger.js';
import { acquireLock, type RepositoryLock } from '../repository/lock.js';
import { collectGarbage, type GcReport } from '../repository/prune.js';
import type { Repository } from '../repository/repository.js';

/**
 * The prune task: forget the snapshots the retention policy (core/retention.ts) no longer
 * keeps, then collect the packs nothing needs any more (repository/prune.ts).
 *
 *  1. Decide, from the catalog rows of this repository whose manifest still exists (a row
 *     without its manifest is nobody's "last valid snapshot": its data is gone).
 *  2. Take the repository's exclusive lock (waiting up to `lockWaitMs` for backups holding
 *     shared locks to finish). Without it, prune still forgets (deleting a manifest is safe
 *     while others write) but leaves the packs for the next run: `gcSkipped` says why.
 *  3. Forget: mark forgotten_at in the catalog first, then delete the manifest. A crash in
 *     between leaves a forgotten row with a manifest, which the next run deletes.
 *  4. GC under the lock, with the forgotten snapshots' blob ids (packs holding only those are
 *     old by construction and go at once; other unreferenced packs wait out the grace period).
 *
 * `dryRun` writes nothing, takes no lock, and reports what a real run would do.
 * Manifests with no catalog row are kept untouched (another catalog's, or a backup between
 * its manifest and its catalog insert).
 */

export interface PruneCatalog {
  /** Rows of this repository (forgotten ones too): backup_snapshots or off-site copies. */
  listSnapshots(): Promise<RetentionRow[]>;
  markForgotten(snapshotIds: string[], at: Date): Promise<void>;
  /** Weddings with settings (final-state archives). */
  loadWeddings(): Promise<RetentionWedding[]>;
}

export interface PruneDeps {
  repo: Repository;
  passphrase: string;
  catalog: PruneCatalog;
  logger: Logger;
  timeZone: string;
  clock?: () => Date;
  agentName?: string | null;
}

export interface PruneOptions {
  dryRun?: boolean;
  target?: RetentionTarget;
  graceMs?: number;
  repackThreshold?: number;
  /** How long to wait for backups to release their shared locks (default 60 s). */
  lockWaitMs?: number;
  /** Skip pack collection: forget only. */
  forgetOnly?: boolean;
  signal?: AbortSignal;
}

export interface PruneReport {
  repository: string;
  target: RetentionTarget;
  dryRun: boolean;
  now: string;
  snapshots: {
    /** Catalog rows with a manifest, not forgotten before this run. */
    considered: number;
    kept: number;
    forgotten: Array<{ id: string; type: string; tier: number | null; createdAt: string }>;
    /** Forgotten earlier, manifest deleted now (a crash between the two last time). */
    cleanedUp: number;
    /** Catalog rows whose manifest is gone from the repository. */
    withoutManifest: string[];
    /** Manifests with no catalog row (kept). */
    withoutRow: number;
  };
  /** Why each snapshot is kept (newest first, at most 50). */
  kept: Array<{ id: string; reasons: string[] }>;
  gc: GcReport | null;
  gcSkipped?: string;
  durationMs: number;
}

export async function runPrune(deps: PruneDeps, options: PruneOptions = {}): Promise<PruneReport> {
  const started = Date.now();
  const clock = deps.clock ?? (() => new Date());
  const now = clock();
  const target = options.target ?? 'primary';
  const dryRun = options.dryRun ?? false;
  const { repo, logger } = deps;

  const [rows, manifests, weddings] = await Promise.all([deps.catalog.listSnapshots(), repo.listSnapshots(), deps.catalog.loadWeddings()]);
  const present = new Set(manifests);
  const live = rows.filter((r) => r.forgottenAt === null && present.has(r.id));
  const withoutManifest = rows.filter((r) => r.forgottenAt === null && !present.has(r.id)).map((r) => r.id);
  const zombies = rows.filter((r) => r.forgottenAt !== null && present.has(r.id)).map((r) => r.id);
  const known = new Set(rows.map((r) => r.id));
  const decisions: RetentionDecision[] = decideRetention({ now, target, snapshots: live, weddings, timeZone: deps.timeZone });
  const forget = decisions.filter((d) => !d.keep).map((d) => d.snapshotId);
  const byId = new Map(live.map((r) => [r.id, r]));

  const report: PruneReport = {
    repository: repo.location,
    target,
    dryRun,
    now: now.toISOString(),
    snapshots: {
      considered: live.length,
      kept: live.length - forget.length,
      forgotten: forget.map((id) => {
        const r = byId.get(id)!;
        return { id, type: r.type, tier: r.tier, createdAt: r.createdAt.toISOString() };
      }),
      cleanedUp: dryRun ? 0 : zombies.length,
      withoutManifest,
      withoutRow: manifests.filter((id) => !known.has(id)).length,
    },
    kept: decisions.filter((d) => d.keep).slice(0, 50).map((d) => ({ id: d.snapshotId, reasons: d.reasons })),
    gc: null,
    durationMs: 0,
  };
  if (withoutManifest.length) logger.warn({ snapshots: withoutManifest.slice(0, 10), count: withoutManifest.length }, 'catalog rows whose manifest is missing from the repository');

  // Blob ids of what is forgotten now: read before the manifests go.
  const forgottenBlobIds = new Set<string>();
  for (const id of [...forget, ...zombies]) {
    try {
      for (const b of manifestBlobIds(await repo.loadManifest(id))) forgottenBlobIds.add(b);
    } catch (err) {
      // Unreadable: it is being forgotten anyway; its packs then simply wait out the grace period.
      if (!isWedsyncError(err, 'INTEGRITY') && !isWedsyncError(err, 'NOT_FOUND')) throw err;
    }
  }

  if (dryRun) {
    if (!options.forgetOnly) {
      report.gc = await collectGarbage(repo, {
        passphrase: deps.passphrase,
        now,
        dryRun: true,
        forgottenBlobIds,
        ignoreSnapshots: new Set([...forget, ...zombies]),
        ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
        ...(options.repackThreshold !== undefined ? { repackThreshold: options.repackThreshold } : {}),
      });
    }
    report.durationMs = Date.now() - started;
    return report;
  }

  let lock: RepositoryLock | null = null;
  if (!options.forgetOnly) {
    try {
      lock = await acquireLock(repo.store, {
        kind: 'exclusive',
        purpose: `prune (${target})`,
        agent: deps.agentName ?? null,
        clock,
        waitMs: options.lockWaitMs ?? 60_000,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      if (!isWedsyncError(err, 'CONFLICT')) throw err;
      report.gcSkipped = `${err.message}; snapshots are forgotten, packs are left for the next prune`;
      logger.warn({ err: err.message }, 'prune: repository in use, skipping pack collection');
    }
  }
  try {
    if (forget.length > 0) {
      await deps.catalog.markForgotten(forget, now);
      for (const id of forget) await repo.deleteManifest(id);
      logger.info({ forgotten: forget.length, repository: repo.location }, 'prune: snapshots forgotten');
    }
    for (const id of zombies) await repo.deleteManifest(id);
    if (lock) {
      report.gc = await collectGarbage(repo, {
        passphrase: deps.passphrase,
        now,
        forgottenBlobIds,
        assertLocked: () => lock!.assertHeld(),
        ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
        ...(options.repackThreshold !== undefined ? { repackThreshold: options.repackThreshold } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      logger.info({ ...report.gc.packs, freed: report.gc.bytes.freed }, 'prune: packs collected');
    }
  } finally {
    await lock?.release().catch(() => undefined);
  }
  report.durationMs = Date.now() - started;
  return report;
}

/** One line per fact, for the CLI. */
export function describePrune(r: PruneReport): string {
  const lines = [
    `${r.dryRun ? 'would prune' : 'pruned'} ${r.target} repository ${r.repository}`,
    `  snapshots: ${r.snapshots.considered} considered, ${r.snapshots.kept} kept, ${r.snapshots.forgotten.length} ${r.dryRun ? 'to forget' : 'forgotten'}${r.snapshots.withoutRow ? `, ${r.snapshots.withoutRow} without catalog row (kept)` : ''}`,
  ];
  for (const f of r.snapshots.forgotten.slice(0, 20)) lines.push(`    - ${f.id} ${f.type}${f.tier ? ` tier ${f.tier}` : ''} ${f.createdAt}`);
  if (r.snapshots.forgotten.length > 20) lines.push(`    … and ${r.snapshots.forgotten.length - 20} more`);
  if (r.snapshots.withoutManifest.length) lines.push(`  warning: ${r.snapshots.withoutManifest.length} catalog rows have no manifest in the repository`);
  if (r.gc) {
    const g = r.gc;
    lines.push(
      `  packs: ${g.packs.total} total, ${g.packs.deleted} ${r.dryRun ? 'to delete' : 'deleted'}, ${g.packs.repacked} ${r.dryRun ? 'to repack' : 'repacked'}${g.packs.young ? `, ${g.packs.young} unreferenced but within the grace period` : ''}${g.packs.unindexed ? `, ${g.packs.unindexed} not indexed yet` : ''}`,
      `  space: ${g.bytes.freed} bytes ${r.dryRun ? 'to free' : 'freed'} of ${g.bytes.before}${g.bytes.rewritten ? ` (${g.bytes.rewritten} rewritten)` : ''}`,
    );
    if (g.blobs.missing.length) lines.push(`  warning: ${g.blobs.missing.length} blobs referenced by manifests are in no pack (run verify)`);
  }
  if (r.gcSkipped) lines.push(`  packs not collected: ${r.gcSkipped}`);
  return lines.join('\n');
}

/** Guards what prune is pointed at: a snapshot id list from the catalog must not be empty by mistake. */
export function assertTarget(target: string): RetentionTarget {
  if (target !== 'primary' && target !== 'offsite') throw new WedsyncError('BAD_INPUT', `prune target must be primary or offsite (got ${JSON.stringify(target)})`);
  return target;
}
