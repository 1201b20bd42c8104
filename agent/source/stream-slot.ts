import { createHash } from 'node:crypto';
import type pg from 'pg';
import { quoteIdent, quoteQualified } from './introspect.js';

/**
 * The server side of tier 1: the publication (which tables are streamed), this agent's logical
 * replication slot (how far it has read), and what the slot costs the server (retained WAL).
 * Plain SQL on an ordinary connection; the stream itself is in stream-replication.ts.
 *
 * Order matters: pgoutput reads the publication in the catalog AS OF each change, so the
 * publication is created (and its tables set) before the slot, or early changes would fail.
 */
export const PUBLICATION = 'wedsync_tier1';

/**
 * One slot per agent and database: several agents may share a database, and each must advance
 * only its own position. Derived from the agent's home folder so a restarted agent finds it.
 */
export function slotNameFor(home: string, database: string): string {
  return `wedsync_t1_${createHash('sha256').update(`${home}\0${database}`).digest('hex').slice(0, 16)}`;
}

export async function walLevel(client: pg.ClientBase): Promise<string> {
  const { rows } = await client.query<{ wal_level: string }>('SHOW wal_level');
  return rows[0]?.wal_level ?? 'unknown';
}

/** Creates the publication for `tables` (qualified names) or sets its table list to exactly them. */
export async function ensurePublication(client: pg.ClientBase, tables: string[]): Promise<void> {
  const list = [...new Set(tables)].sort().map(quoteQualified).join(', ');
  const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_publication WHERE pubname = $1', [PUBLICATION]);
  if (!rows[0]?.n) {
    // Two agents may race here; the loser's "already exists" is fine.
    await client.query(`CREATE PUBLICATION ${quoteIdent(PUBLICATION)} FOR TABLE ${list}`).catch((err: { code?: string }) => {
      if (err.code !== '42710') throw err;
    });
    return;
  }
  const { rows: have } = await client.query<{ t: string }>(`SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`, [PUBLICATION]);
  const current = have.map((r) => r.t).join(',');
  if (current !== [...new Set(tables)].sort().join(',')) await client.query(`ALTER PUBLICATION ${quoteIdent(PUBLICATION)} SET TABLE ${list}`);
}

export interface SlotInfo {
  name: string;
  active: boolean;
  /** Where the server will resume decoding from (what it keeps WAL for). */
  restartLsn: string | null;
  confirmedFlushLsn: string | null;
  /** Bytes of WAL the server keeps because of this slot. */
  retainedBytes: number;
  /** 'lost' once the server invalidated it (max_slot_wal_keep_size). */
  walStatus: string | null;
}

export async function slotInfo(client: pg.ClientBase, slot: string): Promise<SlotInfo | null> {
  const { rows } = await client.query<{ active: boolean; restart: string | null; confirmed: string | null; retained: string | null; wal_status: string | null }>(
    `SELECT active, restart_lsn::text AS restart, confirmed_flush_lsn::text AS confirmed,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained, wal_status
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const r = rows[0];
  if (!r) return null;
  return { name: slot, active: r.active, restartLsn: r.restart, confirmedFlushLsn: r.confirmed, retainedBytes: Number(r.retained ?? 0), walStatus: r.wal_status };
}

/** Creates the slot if it does not exist; returns whether it was created now. */
export async function ensureSlot(client: pg.ClientBase, slot: string): Promise<boolean> {
  if (await slotInfo(client, slot)) return false;
  try {
    await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '42710') return false;
    throw err;
  }
}

/**
 * Drops the slot (the server frees its WAL). An active slot (its stream still connected, e.g.
 * a previous agent process the server has not noticed is gone) is terminated first.
 */
export async function dropSlot(client: pg.ClientBase, slot: string): Promise<boolean> {
  const info = await slotInfo(client, slot);
  if (!info) return false;
  if (info.active) {
    await client.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, [slot]);
    for (let i = 0; i < 50; i++) {
      const again = await slotInfo(client, slot);
      if (!again?.active) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await client.query('SELECT pg_drop_replication_slot($1)', [slot]).catch((err: { code?: string }) => {
    if (err.code !== '42704') throw err;
  });
  return true;
}
