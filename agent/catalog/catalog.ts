import type pg from 'pg';
import { connect, mapDatabaseErrors } from '../source/db.js';
import * as backups from './backups.js';

export { INTERRUPTED_JOB_MESSAGE } from './backups.js';
export type { NewJob, NewSnapshot, SnapshotRow, SnapshotFilter, BackupType, JobStatus } from './backups.js';

/**
 * The catalog tables, behind methods: jobs and commands never see the driver. One connection;
 * every method maps driver errors to typed ones (DB_UNREACHABLE, …).
 */
export interface Catalog {
  startJob(job: backups.NewJob): Promise<string>;
  completeJob(jobId: string, progress?: Record<string, unknown>): Promise<void>;
  failJob(jobId: string, error: { code: string; message: string }): Promise<void>;
  insertSnapshot(snapshot: backups.NewSnapshot): Promise<void>;
  listSnapshots(filter?: backups.SnapshotFilter): Promise<backups.SnapshotRow[]>;
  getSnapshot(id: string): Promise<backups.SnapshotRow | null>;
  /** Marks failed the running jobs started outside the queue whose process is gone (backups.ts); returns their ids. */
  sweepInterrupted(): Promise<string[]>;
  close(): Promise<void>;
}

export async function openCatalog(url: string): Promise<Catalog> {
  const client: pg.Client = await connect(url, { applicationName: 'wedsync-backup catalog' });
  const mapped = mapDatabaseErrors(url);
  const wrap = <A extends unknown[], R>(fn: (db: pg.Client, ...args: A) => Promise<R>) => mapped((...args: A) => fn(client, ...args));
  // Opening the catalog (agent start, every CLI command that reads or writes jobs) records
  // earlier crashes: a job whose process was killed says failed, not running forever.
  await backups.sweepInterruptedJobs(client).catch(() => undefined);
  return {
    startJob: wrap(backups.startJob),
    completeJob: wrap(backups.completeJob),
    failJob: wrap(backups.failJob),
    insertSnapshot: wrap(backups.insertSnapshot),
    listSnapshots: wrap(backups.listSnapshots),
    getSnapshot: wrap(backups.getSnapshot),
    sweepInterrupted: wrap(backups.sweepInterruptedJobs),
    close: () => client.end().catch(() => undefined),
  };
}
