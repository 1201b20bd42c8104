import type { SchemaMap } from '../contract/schema-map.js';
import type { RetentionSnapshot } from '../core/retention.js';
import type { RetentionWedding } from '../core/retention.js';
import { loadAllWeddings, type Db } from './settings.js';

/**
 * The catalog side of retention and off-site copies (backup_snapshots):
 *  - forgotten_at marks a snapshot prune removed from the primary repository (the row stays for
 *    the audit trail; recovery_operations may still name it);
 *  - offsite_copies (jsonb array) lists where a snapshot was copied: one entry per off-site
 *    repository { location, repositoryId, copiedAt, verified, blobsCopied, bytesCopied,
 *    forgottenAt? }; forgottenAt is set when prune removes the copy there.
 * Prune marks the catalog BEFORE deleting a manifest: a crash in between leaves a forgotten row
 * whose manifest still exists, which the next prune deletes — never a live row without data.
 */

export interface RetentionRow extends RetentionSnapshot {
  forgottenAt: Date | null;
}

export interface OffsiteCopy {
  location: string;
  repositoryId: string;
  copiedAt: string;
  verified: boolean;
  blobsCopied: number;
  bytesCopied: number;
  forgottenAt?: string;
}

const COLUMNS = `s.id::text AS id, s.snapshot_type AS type, s.tier, s.created_at AS "createdAt", s.wedding_ids::text[] AS "weddingIds",
  s.validation_status AS "validationStatus", s.retention_until AS "retentionUntil", s.forgotten_at AS "forgottenAt",
  (SELECT max(o.created_at) FROM recovery_operations o WHERE o.pre_recovery_snapshot = s.id OR o.backup_snapshot_id = s.id) AS "operationAt"`;

/** Every snapshot row of the repository at `storageLocation`, forgotten ones included. */
export async function listRetentionSnapshots(db: Db, storageLocation: string): Promise<RetentionRow[]> {
  const { rows } = await db.query<RetentionRow>(`SELECT ${COLUMNS} FROM backup_snapshots s WHERE s.storage_location = $1 ORDER BY s.created_at`, [storageLocation]);
  return rows;
}

/**
 * Snapshots with a copy in the off-site repository at `location`; forgottenAt is the COPY's.
 * validationStatus is the original's: a copy verified at copy time is as good as its source.
 */
export async function listOffsiteSnapshots(db: Db, location: string): Promise<RetentionRow[]> {
  const { rows } = await db.query<RetentionRow & { copyForgottenAt: string | null }>(
    `SELECT ${COLUMNS}, c->>'forgottenAt' AS "copyForgottenAt"
       FROM backup_snapshots s, jsonb_array_elements(s.offsite_copies) c
      WHERE c->>'location' = $1 ORDER BY s.created_at`,
    [location],
  );
  return rows.map(({ copyForgottenAt, ...r }) => ({ ...r, tier: 4, forgottenAt: copyForgottenAt ? new Date(copyForgottenAt) : null }));
}

/** Sets forgotten_at on the rows not yet forgotten; returns how many changed. */
export async function markForgotten(db: Db, snapshotIds: readonly string[], at: Date): Promise<number> {
  if (snapshotIds.length === 0) return 0;
  const { rowCount } = await db.query(`UPDATE backup_snapshots SET forgotten_at = $2 WHERE id = ANY($1::uuid[]) AND forgotten_at IS NULL`, [snapshotIds, at]);
  return rowCount ?? 0;
}

/** Sets forgottenAt on these snapshots' copies at `location`. */
export async function markOffsiteForgotten(db: Db, snapshotIds: readonly string[], location: string, at: Date): Promise<number> {
  if (snapshotIds.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE backup_snapshots
        SET offsite_copies = (SELECT coalesce(jsonb_agg(CASE WHEN c->>'location' = $2 AND NOT c ? 'forgottenAt' THEN c || jsonb_build_object('forgottenAt', $3::text) ELSE c END), '[]'::jsonb)
                                FROM jsonb_array_elements(offsite_copies) c)
      WHERE id = ANY($1::uuid[])`,
    [snapshotIds, location, at.toISOString()],
  );
  return rowCount ?? 0;
}

/** Records (or replaces) the copy of a snapshot at `copy.location`. False when the snapshot has no catalog row. */
export async function recordOffsiteCopy(db: Db, snapshotId: string, copy: OffsiteCopy): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE backup_snapshots
        SET offsite_copies = (SELECT coalesce(jsonb_agg(c), '[]'::jsonb) FROM jsonb_array_elements(offsite_copies) c WHERE c->>'location' <> $2) || jsonb_build_array($3::jsonb)
      WHERE id = $1`,
    [snapshotId, copy.location, JSON.stringify(copy)],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * What tier 4 copies: the newest complete snapshot of a repository (full or incremental — every
 * complete snapshot is logically full, so the newest is the best off-site copy), or null.
 */
export async function newestCompleteSnapshot(db: Db, storageLocation: string): Promise<{ id: string; createdAt: Date } | null> {
  const { rows } = await db.query<{ id: string; createdAt: Date }>(
    `SELECT id::text AS id, created_at AS "createdAt" FROM backup_snapshots
      WHERE storage_location = $1 AND snapshot_type IN ('full', 'incremental') AND forgotten_at IS NULL AND validation_status NOT IN ('corrupted', 'incomplete')
      ORDER BY created_at DESC LIMIT 1`,
    [storageLocation],
  );
  return rows[0] ?? null;
}

/** What prune needs from the catalog (jobs/prune.ts PruneCatalog has this shape). */
export interface RetentionCatalog {
  listSnapshots(): Promise<RetentionRow[]>;
  markForgotten(snapshotIds: string[], at: Date): Promise<void>;
  loadWeddings(): Promise<RetentionWedding[]>;
}

/**
 * The catalog as prune needs it, for the primary repository at `location` or for the off-site
 * repository at `location` (then "forgotten" is per copy).
 */
export function pruneCatalog(db: Db, map: SchemaMap, location: string, target: 'primary' | 'offsite'): RetentionCatalog {
  return {
    listSnapshots: () => (target === 'primary' ? listRetentionSnapshots(db, location) : listOffsiteSnapshots(db, location)),
    markForgotten: async (ids, at) => {
      if (target === 'primary') await markForgotten(db, ids, at);
      else await markOffsiteForgotten(db, ids, location, at);
    },
    loadWeddings: () => loadAllWeddings(db, map),
  };
}
