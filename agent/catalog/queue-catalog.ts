import type { NotificationPreferences, StatusResponse, WeddingBackupSettings, WeddingBackupSettingsPatch } from '../contract/scheduling.js';
import type { SchemaMap } from '../contract/schema-map.js';
import type { ScheduleConfig, SchedulingWedding } from '../core/schedule.js';
import { createPool, mapDatabaseErrors } from '../source/db.js';
import { JobQueue, type QueueOptions } from './queue.js';
import { newestCompleteSnapshot, pruneCatalog, recordOffsiteCopy, type OffsiteCopy, type RetentionCatalog } from './retention.js';
import { getWeddingSettings, loadAllWeddings, loadNotificationPreferences, loadSchedulingWeddings, updateWeddingSettings } from './settings.js';
import { buildStatus } from './status.js';

/**
 * Everything the scheduler, the runner, prune, copy, status and settings need from the catalog,
 * over one small connection pool: the agent's one door to these tables. Every method maps
 * driver errors to typed ones (DB_UNREACHABLE when the database is away), and a dropped
 * connection is replaced by the pool on the next call, so an outage heals by itself.
 */
export interface SchedulingCatalog {
  readonly queue: JobQueue;
  loadSchedulingWeddings(window: { from: Date; to: Date }): Promise<SchedulingWedding[]>;
  loadAllWeddings(): Promise<SchedulingWedding[]>;
  loadNotificationPreferences(weddingIds: readonly string[]): Promise<Map<string, NotificationPreferences>>;
  status(opts: { now: Date; schedule: ScheduleConfig; days: number }): Promise<StatusResponse>;
  getSettings(weddingId: string): Promise<{ stored: boolean; settings: WeddingBackupSettings }>;
  updateSettings(weddingId: string, patch: WeddingBackupSettingsPatch, updatedBy?: string | null): Promise<WeddingBackupSettings>;
  pruneCatalog(location: string, target: 'primary' | 'offsite'): RetentionCatalog;
  recordOffsiteCopy(snapshotId: string, copy: OffsiteCopy): Promise<boolean>;
  newestCompleteSnapshot(storageLocation: string): Promise<{ id: string; createdAt: Date } | null>;
  close(): Promise<void>;
}

export function openSchedulingCatalog(url: string, map: SchemaMap, options: QueueOptions & { max?: number } = {}): SchedulingCatalog {
  const pool = createPool({ connectionString: url, max: options.max ?? 4, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000, application_name: 'wedsync-backup scheduler' });
  const mapped = mapDatabaseErrors(url);
  const retention = (location: string, target: 'primary' | 'offsite'): RetentionCatalog => {
    const inner = pruneCatalog(pool, map, location, target);
    return { listSnapshots: mapped(inner.listSnapshots), markForgotten: mapped(inner.markForgotten), loadWeddings: mapped(inner.loadWeddings) };
  };
  return {
    queue: new JobQueue(pool, options),
    loadSchedulingWeddings: mapped((window) => loadSchedulingWeddings(pool, map, window)),
    loadAllWeddings: mapped(() => loadAllWeddings(pool, map)),
    loadNotificationPreferences: mapped((ids) => loadNotificationPreferences(pool, ids)),
    status: (opts) => buildStatus({ db: pool, databaseUrl: url, map, ...opts }),
    getSettings: mapped((weddingId) => getWeddingSettings(pool, map, weddingId)),
    updateSettings: mapped((weddingId, patch, updatedBy) => updateWeddingSettings(pool, map, weddingId, patch, updatedBy ?? null)),
    pruneCatalog: retention,
    recordOffsiteCopy: mapped((snapshotId, copy) => recordOffsiteCopy(pool, snapshotId, copy)),
    newestCompleteSnapshot: mapped((location) => newestCompleteSnapshot(pool, location)),
    close: () => pool.end().catch(() => undefined),
  };
}
