import { hostname } from 'node:os';
import type pg from 'pg';

/**
 * The backup catalog in PostgreSQL (backup_jobs, backup_snapshots). The repository's manifests
 * are the truth about what a snapshot holds; the catalog is what people and agents query:
 * status, sizes, validation results. A catalog row is written only after its manifest exists.
 */
export type BackupType = 'full' | 'incremental' | 'emergency' | 'offsite' | 'realtime' | 'recovery-point';
export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface NewJob {
  backupType: BackupType;
  tier?: number | null;
  priorityLevel?: number;
  targetWeddings?: string[];
  dataTypes?: string[] | null;
  claimedBy?: string;
  retentionUntil?: Date | null;
}

/** The advisory lock key of a job run outside the queue (a key space of its own: 3372). */
const OWNER_KEY = (idExpr: string) => `hashtextextended(${idExpr}::text, 3372)`;

/** What a job whose process ended mid-run says once swept. */
export const INTERRUPTED_JOB_MESSAGE = 'interrupted: process ended before completion';

/**
 * Inserts a job already running (for commands run now, outside the scheduler). The job is owned
 * by this session: the same statement takes a session-level advisory lock on its id, held until
 * completeJob/failJob (or until the session ends — a process killed, a machine gone). Queue jobs
 * have leases instead (queue.ts); these have none, so the lock is how a sweep tells a running
 * job from an orphan.
 */
export async function startJob(db: pg.ClientBase, job: NewJob): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `WITH job AS (
       INSERT INTO backup_jobs (id, backup_type, tier, status, priority_level, target_weddings, data_types, scheduled_at, started_at, claimed_by, attempts, retention_until, progress)
       VALUES (gen_random_uuid(), $1, $2, 'running', $3, $4, $5, now(), now(), $6, 1, $7, $8) RETURNING id)
     SELECT id, pg_advisory_lock(${OWNER_KEY('id')}) FROM job`,
    [
      job.backupType,
      job.tier ?? null,
      job.priorityLevel ?? 5,
      job.targetWeddings ?? [],
      job.dataTypes ?? null,
      job.claimedBy ?? null,
      job.retentionUntil ?? null,
      JSON.stringify({ owner: { host: hostname(), pid: process.pid } }),
    ],
  );
  return rows[0]!.id;
}

/** Releases startJob's owner lock (a no-op, with a server notice, for jobs this session does not own). */
async function release(db: pg.ClientBase, jobId: string): Promise<void> {
  await db.query(`SELECT pg_advisory_unlock(${OWNER_KEY('$1')}) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = ${OWNER_KEY('$1')}`, [jobId]);
}

/**
 * Marks failed every running job started outside the queue (no lease) whose owner lock nobody
 * holds: its process ended mid-run. Looks the lock up in pg_locks rather than taking it (taking
 * it would succeed on the owner's own, re-entrant, session). Returns the ids.
 */
export async function sweepInterruptedJobs(db: Pick<pg.ClientBase, 'query'>): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE backup_jobs SET status = 'failed', completed_at = now(),
            error_details = jsonb_build_object('code', 'INTERRUPTED', 'message', $1::text, 'owner', progress->'owner')
      WHERE status = 'running' AND lease_expires_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM pg_locks l
                         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                           AND ((l.classid::bigint << 32) | l.objid::bigint) = ${OWNER_KEY('backup_jobs.id')})
      RETURNING id`,
    [INTERRUPTED_JOB_MESSAGE],
  );
  return rows.map((r) => r.id);
}

export async function completeJob(db: pg.ClientBase, jobId: string, progress?: Record<string, unknown>): Promise<void> {
  await db.query(`UPDATE backup_jobs SET status = 'completed', completed_at = now(), progress = coalesce($2, progress), lease_expires_at = NULL WHERE id = $1`, [jobId, progress ? JSON.stringify(progress) : null]);
  await release(db, jobId);
}

export async function failJob(db: pg.ClientBase, jobId: string, error: { code: string; message: string }): Promise<void> {
  await db.query(`UPDATE backup_jobs SET status = 'failed', completed_at = now(), error_details = $2, lease_expires_at = NULL WHERE id = $1`, [jobId, JSON.stringify(error)]);
  await release(db, jobId);
}

export interface SnapshotRow {
  id: string;
  backupJobId: string | null;
  snapshotType: 'full' | 'incremental' | 'emergency' | 'recovery-point' | 'point-in-time';
  tier: number | null;
  parentSnapshotId: string | null;
  weddingIds: string[];
  organizationIds: string[];
  dataTypes: string[] | null;
  tableCount: number;
  weddingCount: number;
  rowCount: number;
  photoCount: number;
  photoProblems: number;
  backupSizeBytes: number;
  bytesNew: number;
  compressionRatio: number | null;
  dataIntegrityHash: string;
  encryptionKeyId: string;
  storageLocation: string;
  storageProvider: 'local' | 's3' | 'memory';
  validationStatus: 'pending' | 'valid' | 'corrupted' | 'incomplete';
  validationCompletedAt: string | null;
  validationDetails: unknown;
  retentionUntil: string | null;
  createdAt: string;
  completedAt: string | null;
}

export type NewSnapshot = Omit<SnapshotRow, 'validationStatus' | 'validationCompletedAt' | 'validationDetails' | 'completedAt' | 'retentionUntil'> & { retentionUntil?: Date | null };

export async function insertSnapshot(db: pg.ClientBase, s: NewSnapshot): Promise<void> {
  await db.query(
    `INSERT INTO backup_snapshots (id, backup_job_id, snapshot_type, tier, parent_snapshot_id, wedding_ids, organization_ids, data_types, table_count, wedding_count,
        row_count, photo_count, photo_problems, backup_size_bytes, bytes_new, compression_ratio, data_integrity_hash, encryption_key_id, storage_location, storage_provider,
        retention_until, created_at, completed_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22, now())
     ON CONFLICT (id) DO NOTHING`,
    [
      s.id, s.backupJobId, s.snapshotType, s.tier, s.parentSnapshotId, s.weddingIds, s.organizationIds, s.dataTypes, s.tableCount, s.weddingCount,
      s.rowCount, s.photoCount, s.photoProblems, s.backupSizeBytes, s.bytesNew, s.compressionRatio, s.dataIntegrityHash, s.encryptionKeyId, s.storageLocation, s.storageProvider,
      s.retentionUntil ?? null, s.createdAt,
    ],
  );
}

const ID_ARRAYS = `wedding_ids AS "weddingIds", organization_ids AS "organizationIds"`;
/** Instead of ID_ARRAYS when the caller does not need them: for 2000 weddings they dominate the row. */
const NO_ID_ARRAYS = `'{}'::uuid[] AS "weddingIds", '{}'::uuid[] AS "organizationIds"`;
const snapshotColumns = (idArrays: string) => `id, backup_job_id AS "backupJobId", snapshot_type AS "snapshotType", tier, parent_snapshot_id AS "parentSnapshotId",
  ${idArrays}, data_types AS "dataTypes", table_count AS "tableCount", wedding_count AS "weddingCount",
  row_count::float8 AS "rowCount", photo_count AS "photoCount", photo_problems AS "photoProblems", backup_size_bytes::float8 AS "backupSizeBytes",
  bytes_new::float8 AS "bytesNew", compression_ratio::float8 AS "compressionRatio", data_integrity_hash AS "dataIntegrityHash",
  encryption_key_id AS "encryptionKeyId", storage_location AS "storageLocation", storage_provider AS "storageProvider",
  validation_status AS "validationStatus", validation_completed_at AS "validationCompletedAt", validation_details AS "validationDetails",
  retention_until AS "retentionUntil", created_at AS "createdAt", completed_at AS "completedAt"`;
const SNAPSHOT_COLUMNS = snapshotColumns(ID_ARRAYS);

function normalise(row: SnapshotRow): SnapshotRow {
  const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : (v as string | null));
  return { ...row, createdAt: iso(row.createdAt)!, completedAt: iso(row.completedAt), validationCompletedAt: iso(row.validationCompletedAt), retentionUntil: iso(row.retentionUntil) };
}

export interface SnapshotFilter {
  weddingId?: string;
  storageLocation?: string;
  type?: SnapshotRow['snapshotType'];
  types?: SnapshotRow['snapshotType'][];
  limit?: number;
  /** Skip the per-snapshot wedding and organization id arrays (they are large). */
  brief?: boolean;
  /** Only these snapshots (e.g. the id arrays of snapshots a brief list named). */
  ids?: string[];
  includeForgotten?: boolean;
}

/** Newest first. */
export async function listSnapshots(db: pg.ClientBase, filter: SnapshotFilter = {}): Promise<SnapshotRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (!filter.includeForgotten) where.push('forgotten_at IS NULL');
  if (filter.weddingId) {
    params.push([filter.weddingId]);
    where.push(`wedding_ids @> $${params.length}::uuid[]`);
  }
  if (filter.storageLocation) {
    params.push(filter.storageLocation);
    where.push(`storage_location = $${params.length}`);
  }
  if (filter.type) {
    params.push(filter.type);
    where.push(`snapshot_type = $${params.length}`);
  }
  if (filter.types) {
    params.push(filter.types);
    where.push(`snapshot_type = ANY($${params.length})`);
  }
  if (filter.ids) {
    params.push(filter.ids);
    where.push(`id = ANY($${params.length}::uuid[])`);
  }
  params.push(filter.limit ?? 1000);
  const columns = snapshotColumns(filter.brief ? NO_ID_ARRAYS : ID_ARRAYS);
  const { rows } = await db.query<SnapshotRow>(
    `SELECT ${columns} FROM backup_snapshots ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT $${params.length}`,
    params,
  );
  return rows.map(normalise);
}

export async function getSnapshot(db: pg.ClientBase, id: string): Promise<SnapshotRow | null> {
  const { rows } = await db.query<SnapshotRow>(`SELECT ${SNAPSHOT_COLUMNS} FROM backup_snapshots WHERE id = $1`, [id]);
  return rows[0] ? normalise(rows[0]) : null;
}
