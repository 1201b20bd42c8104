import { hostname } from 'node:os';
import type pg from 'pg';
import { WedsyncError } from '../contract/errors.js';
import type { RecoveryOperation, RecoveryOperationListQuery, RecoveryOperationType, RecoveryScope } from '../contract/restore.js';
import { connect, databaseError } from '../source/db.js';

/**
 * `recovery_operations`: the audit trail of restores and undos. One row per operation, inserted
 * when a confirmed restore starts (status running) and closed as completed or failed.
 *
 * Single use of confirmation tokens across agents and processes: the row records the token's id
 * (data_restored.confirmationTokenId), and `begin` inserts it under a transaction-level advisory
 * lock on that id after checking no row has it yet — so of two agents presenting one token at
 * once, exactly one gets a row and the other CONFLICT.
 *
 * Interrupted operations (the process running it was killed, its machine lost power): `begin`
 * takes a session-level advisory lock on the operation's id in the same transaction that
 * inserts the row, and holds it on this catalog's connection until `complete`/`fail`. A row
 * still `running` whose lock nobody holds has no living owner — its session ended — and
 * `sweepInterrupted` marks it failed ("interrupted: …"). `get` and `list` sweep first, so every
 * reader (CLI restore/undo/status, the API's list, agent start) sees the truth. Into the live
 * database (where this catalog is) the restore records its outcome inside the apply
 * transaction (`completionStatement`), so an owner-less `running` row there means that
 * transaction rolled back: the data is unchanged.
 */
export interface NewRecoveryOperation {
  operationType: RecoveryOperationType;
  recoveryScope: RecoveryScope;
  backupSnapshotId: string | null;
  initiatedBy?: string | null;
  initiatedByLabel?: string | null;
  authorizedBy?: string | null;
  affectedWeddings: string[];
  dataTypes: string[] | null;
  /** Stored in data_restored until the restore replaces it with what changed (the id stays). */
  plan: Record<string, unknown>;
  estimatedDurationMs: number | null;
  targetDatabase: string | null;
  confirmationTokenId: string;
}

export interface RecoveryCatalog {
  /** Inserts a running operation claiming the token; CONFLICT if the token was used before. Returns the id. */
  begin(op: NewRecoveryOperation): Promise<string>;
  setRecoveryPoint(id: string, snapshotId: string): Promise<void>;
  complete(id: string, result: { dataRestored: Record<string, unknown>; successMetrics: Record<string, unknown>; actualDurationMs: number }): Promise<void>;
  fail(id: string, result: { errorDetails: Record<string, unknown>; successMetrics?: Record<string, unknown> | null; actualDurationMs: number }): Promise<void>;
  /** Sweeps interrupted operations first (see above). */
  get(id: string): Promise<RecoveryOperation | null>;
  /** Sweeps interrupted operations first (see above). */
  list(query: RecoveryOperationListQuery): Promise<RecoveryOperation[]>;
  /**
   * The statement that records `complete`'s outcome, for the caller to run inside its own
   * transaction on the catalog's database (the apply of a restore into the live database): the
   * outcome then commits — or rolls back — with the data. `complete` afterwards is still due
   * (it releases the owner lock and records the final duration).
   */
  completionStatement(id: string, result: CompletionResult): { text: string; values: unknown[] };
  /** Marks every `running` operation whose owner is gone as failed; returns their ids. */
  sweepInterrupted(): Promise<string[]>;
  close(): Promise<void>;
}

export interface CompletionResult {
  dataRestored: Record<string, unknown>;
  successMetrics: Record<string, unknown>;
  actualDurationMs: number;
}

/** What an owner-less running operation says when swept. */
export const INTERRUPTED_MESSAGE = 'interrupted: process ended before completion';

/** The advisory lock key of an operation (a key space of its own: 3371). */
const OWNER_KEY = `hashtextextended(id::text, 3371)`;

/**
 * Marks running operations with no owner as failed. The owner's lock is looked up in pg_locks
 * (any session, this database), not taken: taking it would succeed on the owner's own
 * connection (advisory locks are re-entrant) and sweep a living operation.
 */
export async function sweepInterruptedOperations(db: pg.ClientBase): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE recovery_operations SET status = 'failed', completed_at = now(),
            actual_duration_ms = coalesce(actual_duration_ms, (extract(epoch FROM now() - started_at) * 1000)::int),
            error_details = jsonb_build_object(
              'code', 'INTERRUPTED',
              'message', $1::text || CASE WHEN coalesce(data_restored->>'target', 'live') = 'live'
                THEN ' (nothing was changed: the apply transaction rolled back or never began)'
                ELSE ' (the restore into ' || coalesce(target_database, 'another database') || ' may or may not have been applied there: check that database)' END,
              'owner', data_restored->'owner',
              'recoveryPoint', pre_recovery_snapshot)
      WHERE status = 'running'
        AND NOT EXISTS (SELECT 1 FROM pg_locks l
                         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                           AND ((l.classid::bigint << 32) | l.objid::bigint) = ${OWNER_KEY})
      RETURNING id`,
    [INTERRUPTED_MESSAGE],
  );
  return rows.map((r) => r.id);
}

export function completionStatement(id: string, r: CompletionResult): { text: string; values: unknown[] } {
  // data_restored keeps the token id (|| merges objects): it is what makes the token single-use.
  return {
    text: `UPDATE recovery_operations SET status = 'completed', completed_at = now(), data_restored = coalesce(data_restored, '{}') || $2::jsonb, success_metrics = $3, actual_duration_ms = $4, error_details = NULL WHERE id = $1`,
    values: [id, JSON.stringify(r.dataRestored), JSON.stringify(r.successMetrics), Math.round(r.actualDurationMs)],
  };
}

interface Row {
  id: string;
  operation_type: RecoveryOperation['operationType'];
  recovery_scope: RecoveryScope;
  backup_snapshot_id: string | null;
  pre_recovery_snapshot: string | null;
  initiated_by: string | null;
  initiated_by_label: string | null;
  authorized_by: string | null;
  affected_weddings: string[];
  data_types: string[] | null;
  data_restored: unknown;
  estimated_duration_ms: number | null;
  actual_duration_ms: number | null;
  status: RecoveryOperation['status'];
  error_details: unknown;
  success_metrics: unknown;
  target_database: string | null;
  started_at: Date | null;
  completed_at: Date | null;
  created_at: Date;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toOperation(r: Row): RecoveryOperation {
  return {
    id: r.id,
    operationType: r.operation_type,
    recoveryScope: r.recovery_scope,
    backupSnapshotId: r.backup_snapshot_id,
    preRecoverySnapshot: r.pre_recovery_snapshot,
    initiatedBy: r.initiated_by,
    initiatedByLabel: r.initiated_by_label,
    authorizedBy: r.authorized_by,
    affectedWeddings: r.affected_weddings,
    dataTypes: r.data_types,
    dataRestored: r.data_restored,
    estimatedDurationMs: r.estimated_duration_ms,
    actualDurationMs: r.actual_duration_ms,
    status: r.status,
    errorDetails: r.error_details,
    successMetrics: r.success_metrics,
    targetDatabase: r.target_database,
    startedAt: iso(r.started_at),
    completedAt: iso(r.completed_at),
    createdAt: r.created_at.toISOString(),
  };
}

export async function beginOperation(db: pg.Client, op: NewRecoveryOperation): Promise<string> {
  await db.query('BEGIN');
  try {
    await db.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 337))`, [op.confirmationTokenId]);
    const used = await db.query<{ id: string }>(`SELECT id FROM recovery_operations WHERE data_restored->>'confirmationTokenId' = $1 LIMIT 1`, [op.confirmationTokenId]);
    if (used.rows.length) {
      throw new WedsyncError('CONFLICT', `this confirmation token was already used (operation ${used.rows[0]!.id}): preview again for a new one`);
    }
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO recovery_operations (operation_type, recovery_scope, backup_snapshot_id, initiated_by, initiated_by_label, authorized_by, affected_weddings, data_types,
          data_restored, estimated_duration_ms, status, target_database, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'running', $11, now()) RETURNING id`,
      [
        op.operationType,
        op.recoveryScope,
        op.backupSnapshotId,
        op.initiatedBy ?? null,
        op.initiatedByLabel ?? null,
        op.authorizedBy ?? null,
        op.affectedWeddings,
        op.dataTypes,
        JSON.stringify({ ...op.plan, confirmationTokenId: op.confirmationTokenId, owner: { host: hostname(), pid: process.pid } }),
        op.estimatedDurationMs,
        op.targetDatabase,
      ],
    );
    // Held by this session until complete/fail: while it is held, the operation has an owner.
    await db.query(`SELECT pg_advisory_lock(hashtextextended($1::text, 3371))`, [rows[0]!.id]);
    await db.query('COMMIT');
    return rows[0]!.id;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export async function openRecoveryCatalog(url: string): Promise<RecoveryCatalog> {
  const client: pg.Client = await connect(url, { applicationName: 'wedsync-backup recovery catalog' });
  // One connection, one call at a time: `begin` runs a transaction, and another call's statement
  // must never land inside it (a rollback would take that statement with it).
  let tail: Promise<unknown> = Promise.resolve();
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      const run = tail.then(async () => {
        try {
          return await fn(...args);
        } catch (err) {
          throw databaseError(err, url);
        }
      });
      tail = run.catch(() => undefined);
      return run;
    };
  const unlock = async (id: string) => {
    await client.query(`SELECT pg_advisory_unlock(hashtextextended($1::text, 3371))`, [id]);
  };
  // Agent start and every CLI command that opens this catalog: earlier crashes are recorded now.
  await sweepInterruptedOperations(client).catch(() => undefined);
  return {
    begin: wrap((op: NewRecoveryOperation) => beginOperation(client, op)),
    setRecoveryPoint: wrap(async (id: string, snapshotId: string) => {
      await client.query(`UPDATE recovery_operations SET pre_recovery_snapshot = $2 WHERE id = $1`, [id, snapshotId]);
    }),
    complete: wrap(async (id: string, r: CompletionResult) => {
      await client.query(completionStatement(id, r));
      await unlock(id);
    }),
    fail: wrap(async (id: string, r: { errorDetails: Record<string, unknown>; successMetrics?: Record<string, unknown> | null; actualDurationMs: number }) => {
      await client.query(`UPDATE recovery_operations SET status = 'failed', completed_at = now(), error_details = $2, success_metrics = $3, actual_duration_ms = $4 WHERE id = $1`, [
        id,
        JSON.stringify(r.errorDetails),
        r.successMetrics ? JSON.stringify(r.successMetrics) : null,
        Math.round(r.actualDurationMs),
      ]);
      await unlock(id);
    }),
    get: wrap(async (id: string) => {
      await sweepInterruptedOperations(client);
      const { rows } = await client.query<Row>(`SELECT * FROM recovery_operations WHERE id = $1`, [id]);
      return rows[0] ? toOperation(rows[0]) : null;
    }),
    list: wrap(async (q: RecoveryOperationListQuery) => {
      await sweepInterruptedOperations(client);
      const where: string[] = [];
      const params: unknown[] = [];
      if (q.weddingId) where.push(`affected_weddings @> ARRAY[$${params.push(q.weddingId)}]::uuid[]`);
      if (q.status) where.push(`status = $${params.push(q.status)}`);
      const { rows } = await client.query<Row>(
        `SELECT * FROM recovery_operations${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT $${params.push(q.limit)}`,
        params,
      );
      return rows.map(toOperation);
    }),
    completionStatement,
    sweepInterrupted: wrap(() => sweepInterruptedOperations(client)),
    close: () => client.end().catch(() => undefined),
  };
}
