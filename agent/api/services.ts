import type { EmergencyBackupRequest, SnapshotDetail, SnapshotListQuery, SnapshotSummary, BackupResultBody } from '../contract/api.js';
import type { BackupRunProgress } from '../contract/backup-run.js';
import type { BackupRuns } from './backup-runs.js';
import type { AccessCatalog } from '../catalog/rls.js';
import type { RestoreServices } from '../jobs/restore-service.js';
import type { ValidationServices } from '../jobs/verify-service.js';
import type { OfflineServices } from '../jobs/offline.js';
import type { QueuedRestoreServices } from '../jobs/queued-restore-service.js';
import type { BackupStatusServices } from '../jobs/scheduler-service.js';
import type { PointInTimeServices } from '../jobs/point-in-time-service.js';

/**
 * What the HTTP API needs from the rest of the agent. agent/main.ts builds the real one;
 * routes never open databases or repositories themselves. Each feature adds its own group.
 */
export interface SnapshotServices {
  list(query: SnapshotListQuery): Promise<SnapshotSummary[]>;
  /** NOT_FOUND when the snapshot is unknown. */
  get(id: string): Promise<SnapshotDetail>;
  /**
   * `onProgress`: the backup's progress as it runs (background runs, api/backup-runs.ts).
   * `signal`: aborting it stops the backup before its snapshot exists (CANCELLED, the signal's reason).
   */
  emergencyBackup(request: EmergencyBackupRequest, options?: { onProgress?: (p: BackupRunProgress) => void; signal?: AbortSignal }): Promise<BackupResultBody>;
}

export interface ApiServices {
  snapshots: SnapshotServices;
  /** Guided restore and the recovery_operations audit (routes/restore.ts). */
  restore?: RestoreServices;
  /** Snapshot validation runs and the live wedding data check (routes/validation.ts). */
  validation?: ValidationServices;
  /** Wedding-day data from the local cache, database not needed (routes/offline.ts). */
  offline?: OfflineServices;
  /** Restores queued while the database was unreachable: list, preview, confirm, cancel (routes/queued-restores.ts). */
  queuedRestores?: QueuedRestoreServices;
  /** Per-user tokens, RLS-scoped visibility, audit log, restore approvals (authz.ts, routes/access.ts); absent: only the agent token works. */
  access?: AccessCatalog;
  /** Backup status, plan, wedding backup settings, job cancel, /metrics (routes/status.ts). */
  backupStatus?: BackupStatusServices;
  /** A wedding restored as it was at a time within tier 1's window (routes/point-in-time.ts). */
  pointInTime?: PointInTimeServices;
  /** Emergency backups started in the background and watched as events (routes/backup-runs.ts). */
  backupRuns?: BackupRuns;
  /** Liveness details for GET /healthz. */
  health(): Promise<Record<string, unknown>>;
}
