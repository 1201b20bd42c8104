import type pg from 'pg';
import { DEFAULT_LOCK_TIMEOUT_MS } from '../contract/config.js';
import { connect, lockTimeoutError } from './db.js';

/**
 * One consistent point in time shared by several connections: the coordinator opens a
 * REPEATABLE READ, READ ONLY transaction and exports its snapshot; each worker imports it
 * (SET TRANSACTION SNAPSHOT), so parallel COPYs see exactly the same rows, like pg_dump -j.
 */
export interface SnapshotSession {
  readonly coordinator: pg.Client;
  readonly workers: pg.Client[];
  /** pg_current_snapshot() as text: what this backup saw, for the next incremental. */
  readonly journalSnapshot: string;
  readonly databaseName: string;
  readonly serverVersion: string;
  /** The snapshot given in the options, when the session imported one (else null). */
  readonly importedSnapshot: string | null;
  readonly url: string;
  /** The lock wait bound of every export transaction, for error messages. */
  readonly lockTimeoutMs: number;
  close(): Promise<void>;
}

export interface SnapshotSessionOptions {
  /** How long a COPY may wait for a lock another transaction holds on its table (default 2 minutes). */
  lockTimeoutMs?: number;
  /**
   * An exported snapshot (pg_export_snapshot) of another, still open, transaction to read in
   * instead of a new one: a restore's recovery point sees exactly the rows its apply
   * transaction locked and is about to overwrite.
   */
  snapshot?: string;
}

export const DEFAULT_EXPORT_LOCK_TIMEOUT_MS = DEFAULT_LOCK_TIMEOUT_MS;

/**
 * Every export transaction's own limits, whatever the database's or role's defaults are:
 *  - statement_timeout 0: a COPY of a big table legitimately runs long, and a server-wide
 *    timeout meant for the application would cancel every backup of it (pg_dump sets 0 too);
 *  - lock_timeout bounded: a table locked by a long transaction (a migration, VACUUM FULL, a
 *    forgotten LOCK TABLE) must not hang the backup — and with it its job lease and the
 *    repository lock — for as long as that transaction lives. The COPY gives up, the backup
 *    fails with CONFLICT saying so (db.ts), and the job queue retries it later.
 */
async function limitWaits(client: pg.Client, lockTimeoutMs: number): Promise<void> {
  await client.query(`SET LOCAL statement_timeout = 0`);
  await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
}

export async function openSnapshotSession(url: string, workers: number, options: SnapshotSessionOptions = {}): Promise<SnapshotSession> {
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_EXPORT_LOCK_TIMEOUT_MS;
  const coordinator = await connect(url, { applicationName: 'wedsync-backup export' });
  const opened: pg.Client[] = [];
  const close = async () => {
    await Promise.all([...opened, coordinator].map((c) => c.query('ROLLBACK').catch(() => undefined).then(() => c.end().catch(() => undefined))));
  };
  try {
    await coordinator.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const imported = options.snapshot ?? null;
    if (imported !== null) await coordinator.query(`SET TRANSACTION SNAPSHOT '${imported.replace(/'/g, '')}'`);
    await limitWaits(coordinator, lockTimeoutMs);
    const { rows } = await coordinator.query<{ snap: string; cur: string; db: string; ver: string }>(
      `SELECT ${imported !== null ? `'${imported.replace(/'/g, '')}'` : 'pg_export_snapshot()'} AS snap, pg_current_snapshot()::text AS cur, current_database() AS db, current_setting('server_version') AS ver`,
    );
    const info = rows[0]!;
    const clients = await Promise.all(Array.from({ length: Math.max(0, workers - 1) }, () => connect(url, { applicationName: 'wedsync-backup export worker' })));
    opened.push(...clients);
    await Promise.all(
      clients.map(async (c) => {
        await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        await c.query(`SET TRANSACTION SNAPSHOT '${info.snap.replace(/'/g, '')}'`);
        await limitWaits(c, lockTimeoutMs);
      }),
    );
    return {
      coordinator,
      // The coordinator also works: with one worker there is no second connection at all.
      workers: [coordinator, ...clients],
      journalSnapshot: info.cur,
      databaseName: info.db,
      serverVersion: info.ver,
      importedSnapshot: imported,
      url,
      lockTimeoutMs,
      close,
    };
  } catch (err) {
    await close();
    throw await lockTimeoutError(err, url, { step: 'opening the export snapshot' }, lockTimeoutMs);
  }
}
