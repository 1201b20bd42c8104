import type { BackupHistoryPoint } from '../contract/console.js';
import { withClient } from '../source/db.js';

/**
 * The dashboard's history: per snapshot (not forgotten), the bytes it added and the wall time
 * of the job that made it (backup_jobs.started_at → completed_at), oldest first. Read-only.
 */
export async function backupHistory(url: string, limit: number): Promise<BackupHistoryPoint[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<BackupHistoryPoint>(
      `SELECT * FROM (
         SELECT s.id::text AS "snapshotId", to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
                s.snapshot_type AS "snapshotType", s.tier::int AS tier,
                s.backup_size_bytes::float8 AS "backupSizeBytes", s.bytes_new::float8 AS "bytesNew",
                CASE WHEN j.started_at IS NOT NULL AND j.completed_at IS NOT NULL
                     THEN round(extract(epoch FROM (j.completed_at - j.started_at)) * 1000)::float8 END AS "durationMs"
           FROM backup_snapshots s
           LEFT JOIN backup_jobs j ON j.id = s.backup_job_id
          WHERE s.forgotten_at IS NULL
          ORDER BY s.created_at DESC, s.id
          LIMIT $1) newest
       ORDER BY "createdAt", "snapshotId"`,
      [limit],
    );
    return rows;
  });
}
