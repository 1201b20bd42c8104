import type pg from 'pg';
import { WedsyncError } from '../contract/errors.js';
import { databaseError } from '../source/db.js';
import type { BackupType } from './backups.js';

/**
 * The job queue in backup_jobs, shared by every agent on the catalog.
 *
 * Guarantees:
 *  - A job is held by at most one agent at a time: `claim` picks the most urgent due job
 *    (priority_level DESC, then scheduled_at) with SELECT … FOR UPDATE SKIP LOCKED inside one
 *    UPDATE, so concurrent claims never return the same row.
 *  - A claim is a LEASE: the holder renews it while it works; a job whose lease expired (its agent
 *    died or lost the database) is claimed again by another agent. `attempts` counts claims and is
 *    the fencing token: renew/complete/fail/release only act on the row while the caller's claim is
 *    the current one, so an agent that was presumed dead can never overwrite its successor's result.
 *  - A failed attempt is retried after a backoff (not_before) until max_attempts, then the job is
 *    failed; so is a job whose agents died max_attempts times (expireLeases).
 *  - `cancel` sets status cancelled; the holder sees it at its next renewal and stops.
 *  - Planned jobs carry a slot key (unique): planning a slot twice, from any agent, inserts one job.
 *    A new slot of a tier supersedes the tier's older slots still pending (they are cancelled and
 *    their weddings merged in): a backlog never turns into a burst of stale backups.
 *
 * Time: every "now" is the database clock, unless a `clock` is given (tests run a fake one).
 * Agents on several machines then agree on lease expiry without trusting their own clocks.
 */

export interface QueueOptions {
  /** A fake clock for tests; default the database's now(). */
  clock?: () => Date;
}

export interface NewQueuedJob {
  backupType: BackupType;
  tier: number | null;
  priority: number;
  weddingIds?: string[];
  dataTypes?: string[] | null;
  scheduledAt?: Date;
  slotKey?: string | null;
  retentionUntil?: Date | null;
  maxAttempts?: number;
}

export interface QueuedJob {
  id: string;
  backupType: BackupType;
  tier: number | null;
  priority: number;
  weddingIds: string[];
  dataTypes: string[] | null;
  scheduledAt: Date;
  slotKey: string | null;
  status: 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
  attempts: number;
  maxAttempts: number;
  claimedBy: string | null;
  leaseExpiresAt: Date | null;
  notBefore: Date | null;
  retentionUntil: Date | null;
  errorDetails: { code: string; message: string } | null;
}

/** The caller's claim on a job: pass it back to renew/complete/fail/release. */
export interface ClaimedJob extends QueuedJob {
  claimedBy: string;
  leaseExpiresAt: Date;
}

export interface ClaimOptions {
  /** Job types this agent can run (others stay for agents that can). */
  types: readonly BackupType[];
  /** Only jobs at or above this priority (the urgent lane). */
  minPriority?: number;
  leaseMs: number;
}

export type RenewOutcome = 'ok' | 'cancelled' | 'lost';
export type FailOutcome = { outcome: 'retry'; notBefore: Date } | { outcome: 'failed' } | { outcome: 'lost' };

export interface Backoff {
  /** Delay after the first failed attempt. */
  baseMs: number;
  /** Each further attempt waits this many times longer. */
  factor: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 30_000, factor: 4, maxMs: 30 * 60_000 };

export function backoffDelay(attempt: number, backoff: Backoff = DEFAULT_BACKOFF): number {
  return Math.min(backoff.maxMs, backoff.baseMs * backoff.factor ** Math.max(0, attempt - 1));
}

function jobColumns(alias = ''): string {
  const a = alias ? `${alias}.` : '';
  return `${a}id, ${a}backup_type AS "backupType", ${a}tier, ${a}priority_level AS "priority", ${a}target_weddings AS "weddingIds",
    ${a}data_types AS "dataTypes", ${a}scheduled_at AS "scheduledAt", ${a}slot_key AS "slotKey", ${a}status, ${a}attempts,
    ${a}max_attempts AS "maxAttempts", ${a}claimed_by AS "claimedBy", ${a}lease_expires_at AS "leaseExpiresAt", ${a}not_before AS "notBefore",
    ${a}retention_until AS "retentionUntil", ${a}error_details AS "errorDetails"`;
}
const JOB_COLUMNS = jobColumns();

/** $1 in every statement: the fake clock's instant, or NULL for the database clock. */
const NOW = 'coalesce($1::timestamptz, now())';

function urlOf(pool: pg.Pool): string {
  return (pool.options as { connectionString?: string }).connectionString ?? 'postgres://(pool)';
}

export class JobQueue {
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: QueueOptions = {},
  ) {}

  private now(): Date | null {
    return this.options.clock ? this.options.clock() : null;
  }

  /** Runs `sql` with $1 = now (see NOW) and `params` from $2 on. */
  private query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    return this.raw<R>(sql, [this.now(), ...params]);
  }

  private async raw<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      throw databaseError(err, urlOf(this.pool));
    }
  }

  /**
   * Inserts a job. With a slot key: nothing happens when the slot already has a job
   * (`created: false`, id of the existing one); otherwise older pending jobs of the same tier and
   * type are superseded by this one (see the top of this file). One transaction.
   */
  async enqueue(job: NewQueuedJob): Promise<{ id: string; created: boolean; superseded: number }> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw databaseError(err, urlOf(this.pool));
    }
    try {
      await client.query('BEGIN');
      const params = [
        this.now(),
        job.backupType,
        job.tier,
        job.priority,
        job.weddingIds ?? [],
        job.dataTypes ?? null,
        job.scheduledAt ?? null,
        job.slotKey ?? null,
        job.retentionUntil ?? null,
        job.maxAttempts ?? 3,
      ];
      const inserted = await client.query<{ id: string }>(
        `INSERT INTO backup_jobs (backup_type, tier, status, priority_level, target_weddings, data_types, scheduled_at, slot_key, retention_until, max_attempts, created_at)
         VALUES ($2, $3, 'pending', $4, $5::uuid[], $6, coalesce($7::timestamptz, ${NOW}), $8, $9, $10, ${NOW})
         ON CONFLICT (slot_key) WHERE slot_key IS NOT NULL DO NOTHING
         RETURNING id`,
        params,
      );
      let superseded = 0;
      const created = inserted.rows[0] !== undefined;
      const id = inserted.rows[0]?.id ?? (await client.query<{ id: string }>('SELECT id FROM backup_jobs WHERE slot_key = $1', [job.slotKey])).rows[0]?.id;
      if (!id) throw new WedsyncError('INTERNAL', `slot ${job.slotKey} conflicts but has no job`);
      if (created && job.slotKey && job.tier !== null && job.tier !== 1) {
        const old = await client.query<{ n: number }>(
          `WITH old AS (
             UPDATE backup_jobs SET status = 'cancelled', completed_at = ${NOW}, not_before = NULL,
                    error_details = jsonb_build_object('code', 'SUPERSEDED', 'message', 'superseded by the newer slot ' || $3::text)
              WHERE tier = $4 AND backup_type = $5 AND status = 'pending' AND slot_key IS NOT NULL AND id <> $2
                AND scheduled_at <= (SELECT scheduled_at FROM backup_jobs WHERE id = $2)
             RETURNING target_weddings, priority_level)
           UPDATE backup_jobs j
              SET target_weddings = ARRAY(SELECT DISTINCT w FROM unnest(j.target_weddings || coalesce((SELECT array_agg(w) FROM old, unnest(old.target_weddings) w), '{}')) w ORDER BY w),
                  priority_level = greatest(j.priority_level, coalesce((SELECT max(priority_level) FROM old), 1))
            WHERE j.id = $2
           RETURNING (SELECT count(*) FROM old)::int AS n`,
          [this.now(), id, job.slotKey, job.tier, job.backupType],
        );
        superseded = old.rows[0]?.n ?? 0;
      }
      await client.query('COMMIT');
      return { id, created, superseded };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw databaseError(err, urlOf(this.pool));
    } finally {
      client.release();
    }
  }

  /** The most urgent due job this agent can run, now held by `agentId`; null when none. */
  async claim(agentId: string, opts: ClaimOptions): Promise<ClaimedJob | null> {
    const { rows } = await this.query<QueuedJob>(
      `WITH next AS (
         SELECT id FROM backup_jobs
          WHERE status IN ('pending', 'running')
            AND backup_type = ANY($2::text[])
            AND priority_level >= $3
            AND scheduled_at <= ${NOW}
            AND ((status = 'pending' AND (not_before IS NULL OR not_before <= ${NOW}))
              OR (status = 'running' AND lease_expires_at < ${NOW} AND attempts < max_attempts))
          ORDER BY priority_level DESC, scheduled_at, id
          LIMIT 1
          FOR UPDATE SKIP LOCKED)
       UPDATE backup_jobs j
          SET status = 'running', claimed_by = $4, attempts = j.attempts + 1, not_before = NULL,
              lease_expires_at = ${NOW} + $5 * interval '1 millisecond', started_at = ${NOW}, completed_at = NULL
         FROM next WHERE j.id = next.id
       RETURNING ${jobColumns('j')}`,
      [opts.types, opts.minPriority ?? 1, agentId, opts.leaseMs],
    );
    return (rows[0] as ClaimedJob | undefined) ?? null;
  }

  /** Extends the lease. 'cancelled' when someone cancelled the job; 'lost' when another claim replaced ours. */
  async renew(job: ClaimedJob, leaseMs: number): Promise<RenewOutcome> {
    const { rows } = await this.query<{ lease: Date }>(
      `UPDATE backup_jobs SET lease_expires_at = ${NOW} + $5 * interval '1 millisecond'
        WHERE id = $2 AND claimed_by = $3 AND attempts = $4 AND status = 'running'
       RETURNING lease_expires_at AS lease`,
      [job.id, job.claimedBy, job.attempts, leaseMs],
    );
    if (rows[0]) {
      job.leaseExpiresAt = rows[0].lease;
      return 'ok';
    }
    const current = await this.get(job.id);
    return current?.status === 'cancelled' ? 'cancelled' : 'lost';
  }

  /** Records progress (jsonb) while the claim is current. */
  async progress(job: ClaimedJob, progress: Record<string, unknown>): Promise<void> {
    await this.raw(`UPDATE backup_jobs SET progress = $4 WHERE id = $1 AND claimed_by = $2 AND attempts = $3 AND status = 'running'`, [
      job.id,
      job.claimedBy,
      job.attempts,
      JSON.stringify(progress),
    ]);
  }

  /** Marks the job completed. False when our claim is no longer current (nothing changed then). */
  async complete(job: ClaimedJob, result: { progress?: Record<string, unknown>; retentionUntil?: Date | null } = {}): Promise<boolean> {
    const { rowCount } = await this.query(
      `UPDATE backup_jobs SET status = 'completed', completed_at = ${NOW}, lease_expires_at = NULL, not_before = NULL, error_details = NULL,
              progress = coalesce($5::jsonb, progress), retention_until = coalesce($6::timestamptz, retention_until)
        WHERE id = $2 AND claimed_by = $3 AND attempts = $4 AND status = 'running'`,
      [job.id, job.claimedBy, job.attempts, result.progress ? JSON.stringify(result.progress) : null, result.retentionUntil ?? null],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * Records a failed attempt: back to pending after a backoff while attempts remain and the error
   * is `retryable`, else failed for good. 'lost' when our claim is no longer current.
   */
  async fail(job: ClaimedJob, error: { code: string; message: string }, opts: { retryable: boolean; backoff?: Backoff }): Promise<FailOutcome> {
    const delay = backoffDelay(job.attempts, opts.backoff);
    const { rows } = await this.query<{ status: string; notBefore: Date | null }>(
      `UPDATE backup_jobs
          SET status = CASE WHEN $5 AND attempts < max_attempts THEN 'pending' ELSE 'failed' END,
              not_before = CASE WHEN $5 AND attempts < max_attempts THEN ${NOW} + $6 * interval '1 millisecond' END,
              completed_at = CASE WHEN $5 AND attempts < max_attempts THEN NULL ELSE ${NOW} END,
              claimed_by = CASE WHEN $5 AND attempts < max_attempts THEN NULL ELSE claimed_by END,
              lease_expires_at = NULL,
              error_details = $7
        WHERE id = $2 AND claimed_by = $3 AND attempts = $4 AND status = 'running'
       RETURNING status, not_before AS "notBefore"`,
      [job.id, job.claimedBy, job.attempts, opts.retryable, delay, JSON.stringify({ ...error, attempt: job.attempts })],
    );
    const row = rows[0];
    if (!row) return { outcome: 'lost' };
    return row.status === 'pending' ? { outcome: 'retry', notBefore: row.notBefore! } : { outcome: 'failed' };
  }

  /**
   * Gives the job back untouched (graceful stop): pending again, claimable at once, and this
   * attempt not counted — stopping an agent is not the job's failure.
   */
  async release(job: ClaimedJob): Promise<boolean> {
    const { rowCount } = await this.raw(
      `UPDATE backup_jobs SET status = 'pending', claimed_by = NULL, lease_expires_at = NULL, not_before = NULL, started_at = NULL,
              attempts = greatest(attempts - 1, 0)
        WHERE id = $1 AND claimed_by = $2 AND attempts = $3 AND status = 'running'`,
      [job.id, job.claimedBy, job.attempts],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * Cancels a pending or running job (a running one stops at its next safe point, when its
   * agent renews the lease). NOT_FOUND for an unknown id.
   */
  async cancel(jobId: string, by = 'an operator'): Promise<'cancelled' | 'already-finished'> {
    const { rows } = await this.query<{ id: string }>(
      `UPDATE backup_jobs SET status = 'cancelled', completed_at = ${NOW}, not_before = NULL,
              error_details = jsonb_build_object('code', 'CANCELLED', 'message', 'cancelled by ' || $3::text)
        WHERE id = $2 AND status IN ('pending', 'running') RETURNING id`,
      [jobId, by],
    );
    if (rows[0]) return 'cancelled';
    if (!(await this.get(jobId))) throw new WedsyncError('NOT_FOUND', `job ${jobId} not found`, { details: { jobId } });
    return 'already-finished';
  }

  /** Running jobs whose agents died as many times as they may: failed for good, returned. */
  async expireLeases(): Promise<QueuedJob[]> {
    const { rows } = await this.query<QueuedJob>(
      `UPDATE backup_jobs SET status = 'failed', completed_at = ${NOW}, lease_expires_at = NULL,
              error_details = jsonb_build_object('code', 'AGENT_LOST',
                'message', format('agent %s stopped renewing its lease; attempt %s of %s', claimed_by, attempts, max_attempts))
        WHERE status = 'running' AND lease_expires_at < ${NOW} AND attempts >= max_attempts
       RETURNING ${JOB_COLUMNS}`,
      [],
    );
    return rows;
  }

  async get(jobId: string): Promise<QueuedJob | null> {
    const { rows } = await this.raw<QueuedJob>(`SELECT ${JOB_COLUMNS} FROM backup_jobs WHERE id = $1`, [jobId]);
    return rows[0] ?? null;
  }

  /** Per tier, the newest planned slot (scheduled_at of a job with a slot key). */
  async lastPlannedSlots(): Promise<Partial<Record<1 | 2 | 3 | 4, Date>>> {
    const { rows } = await this.raw<{ tier: number; at: Date }>(
      `SELECT tier, max(scheduled_at) AS at FROM backup_jobs WHERE slot_key IS NOT NULL AND tier IS NOT NULL GROUP BY tier`,
      [],
    );
    const out: Partial<Record<1 | 2 | 3 | 4, Date>> = {};
    for (const r of rows) out[r.tier as 1 | 2 | 3 | 4] = r.at;
    return out;
  }

  /** Records that an agent is alive (and what it runs). */
  async heartbeat(agent: { agentId: string; hostname: string; pid: number; version?: string; info?: Record<string, unknown> }): Promise<void> {
    await this.query(
      `INSERT INTO backup_agents (agent_id, hostname, pid, version, info, started_at, last_seen_at)
       VALUES ($2, $3, $4, $5, $6, ${NOW}, ${NOW})
       ON CONFLICT (agent_id) DO UPDATE SET last_seen_at = ${NOW}, stopped_at = NULL, info = EXCLUDED.info`,
      [agent.agentId, agent.hostname, agent.pid, agent.version ?? null, JSON.stringify(agent.info ?? {})],
    );
  }

  async agentStopped(agentId: string): Promise<void> {
    await this.query(`UPDATE backup_agents SET stopped_at = ${NOW}, last_seen_at = ${NOW} WHERE agent_id = $2`, [agentId]);
  }

  /**
   * Claims a once-per-slot maintenance task (prune): true for exactly one caller per (task, slot).
   */
  async claimMaintenance(task: 'prune' | 'prune-offsite', slotKey: string, agentId: string): Promise<boolean> {
    const { rows } = await this.query<{ task: string }>(
      `INSERT INTO backup_maintenance_runs (task, slot_key, claimed_by, started_at) VALUES ($2, $3, $4, ${NOW})
       ON CONFLICT DO NOTHING RETURNING task`,
      [task, slotKey, agentId],
    );
    return rows.length > 0;
  }

  async finishMaintenance(task: 'prune' | 'prune-offsite', slotKey: string, outcome: Record<string, unknown>): Promise<void> {
    await this.query(`UPDATE backup_maintenance_runs SET completed_at = ${NOW}, outcome = $4 WHERE task = $2 AND slot_key = $3`, [task, slotKey, JSON.stringify(outcome)]);
  }

  /** The newest maintenance slot claimed for a task, or null. */
  async lastMaintenance(task: 'prune' | 'prune-offsite'): Promise<{ slotKey: string; startedAt: Date; completedAt: Date | null; outcome: unknown } | null> {
    const { rows } = await this.raw<{ slotKey: string; startedAt: Date; completedAt: Date | null; outcome: unknown }>(
      `SELECT slot_key AS "slotKey", started_at AS "startedAt", completed_at AS "completedAt", outcome FROM backup_maintenance_runs
        WHERE task = $1 ORDER BY started_at DESC LIMIT 1`,
      [task],
    );
    return rows[0] ?? null;
  }
}
