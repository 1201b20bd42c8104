import type pg from 'pg';
import { connect, databaseError } from './db.js';

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
  close(): Promise<void>;
}

export async function openSnapshotSession(url: string, workers: number): Promise<SnapshotSession> {
  const coordinator = await connect(url, { applicationName: 'wedsync-backup export' });
  const opened: pg.Client[] = [];
  const close = async () => {
    await Promise.all([...opened, coordinator].map((c) => c.query('ROLLBACK').catch(() => undefined).then(() => c.end().catch(() => undefined))));
  };
  try {
    await coordinator.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const { rows } = await coordinator.query<{ snap: string; cur: string; db: string; ver: string }>(
      `SELECT pg_export_snapshot() AS snap, pg_current_snapshot()::text AS cur, current_database() AS db, current_setting('server_version') AS ver`,
    );
    const info = rows[0]!;
    const clients = await Promise.all(Array.from({ length: Math.max(0, workers - 1) }, () => connect(url, { applicationName: 'wedsync-backup export worker' })));
    opened.push(...clients);
    await Promise.all(
      clients.map(async (c) => {
        await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        await c.query(`SET TRANSACTION SNAPSHOT '${info.snap.replace(/'/g, '')}'`);
      }),
    );
    return {
      coordinator,
      // The coordinator also works: with one worker there is no second connection at all.
      workers: [coordinator, ...clients],
      journalSnapshot: info.cur,
      databaseName: info.db,
      serverVersion: info.ver,
      close,
    };
  } catch (err) {
    await close();
    throw databaseError(err, url);
  }
}
