import type pg from 'pg';
import type { SnapshotValidationReport } from '../contract/validation-report.js';
import { connect, mapDatabaseErrors } from '../source/db.js';

/**
 * Validation results in the catalog: backup_snapshots.validation_status (valid | corrupted |
 * incomplete; pending until the first validation), validation_completed_at, and
 * validation_details (the report, findings capped) for the console.
 *
 * Guarantee: a weaker check never hides a stronger one's bad news. A structure-level "valid"
 * does not overwrite a read-data result that found the snapshot corrupted or incomplete
 * (structure cannot see damage inside packs); every other result replaces the stored one.
 */

/** Findings kept in validation_details; the rest are counted in findingsOmitted. */
export const MAX_STORED_FINDINGS = 200;

export type RecordOutcome = 'recorded' | 'kept-stronger-result' | 'no-catalog-row';

export interface StoredValidation {
  validationStatus: 'pending' | 'valid' | 'corrupted' | 'incomplete';
  validationCompletedAt: string | null;
  details: unknown;
  /** The weddings the snapshot holds (backup_snapshots.wedding_ids). */
  weddingIds: string[];
}

/** The report as stored: findings capped at MAX_STORED_FINDINGS (errors come first in a report). */
export function storedDetails(report: SnapshotValidationReport): SnapshotValidationReport {
  if (report.findings.length <= MAX_STORED_FINDINGS) return report;
  return { ...report, findings: report.findings.slice(0, MAX_STORED_FINDINGS), findingsOmitted: report.findings.length - MAX_STORED_FINDINGS + (report.findingsOmitted ?? 0) };
}

export async function recordSnapshotValidation(db: pg.ClientBase, report: SnapshotValidationReport): Promise<RecordOutcome> {
  const { rowCount } = await db.query(
    `UPDATE backup_snapshots
        SET validation_status = $2, validation_completed_at = $3, validation_details = $4
      WHERE id = $1
        AND NOT ($5 = 'structure' AND $2 = 'valid'
                 AND validation_status IN ('corrupted', 'incomplete')
                 AND coalesce(validation_details->>'level', '') = 'read-data')`,
    [report.snapshotId, report.status, report.completedAt, JSON.stringify(storedDetails(report)), report.level],
  );
  if (rowCount) return 'recorded';
  const { rowCount: exists } = await db.query('SELECT 1 FROM backup_snapshots WHERE id = $1', [report.snapshotId]);
  return exists ? 'kept-stronger-result' : 'no-catalog-row';
}

export async function getSnapshotValidation(db: pg.ClientBase, snapshotId: string): Promise<StoredValidation | null> {
  const { rows } = await db.query<{ status: StoredValidation['validationStatus']; completed: Date | null; details: unknown; weddings: string[] }>(
    `SELECT validation_status AS status, validation_completed_at AS completed, validation_details AS details, wedding_ids::text[] AS weddings FROM backup_snapshots WHERE id = $1`,
    [snapshotId],
  );
  const row = rows[0];
  if (!row) return null;
  return { validationStatus: row.status, validationCompletedAt: row.completed ? row.completed.toISOString() : null, details: row.details ?? null, weddingIds: row.weddings ?? [] };
}

/** The validation columns behind methods, on one connection; driver errors become typed ones. */
export interface ValidationCatalog {
  record(report: SnapshotValidationReport): Promise<RecordOutcome>;
  get(snapshotId: string): Promise<StoredValidation | null>;
  close(): Promise<void>;
}

export async function openValidationCatalog(url: string): Promise<ValidationCatalog> {
  const client = await connect(url, { applicationName: 'wedsync-backup validation' });
  const mapped = mapDatabaseErrors(url);
  const wrap = <A extends unknown[], R>(fn: (db: pg.Client, ...args: A) => Promise<R>) => mapped((...args: A) => fn(client, ...args));
  return {
    record: wrap(recordSnapshotValidation),
    get: wrap(getSnapshotValidation),
    close: () => client.end().catch(() => undefined),
  };
}
