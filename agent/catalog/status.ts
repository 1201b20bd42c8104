import { TIER_NAMES, type StatusJob, type StatusResponse, type StatusWedding } from '../contract/scheduling.js';
import type { SchemaMap } from '../contract/schema-map.js';
import { assessDataCriticality } from '../core/criticality.js';
import { nextRuns, type ScheduleConfig } from '../core/schedule.js';
import { databaseError } from '../source/db.js';
import { loadSchedulingWeddings, type Db } from './settings.js';
import { sweepInterruptedJobs } from './backups.js';

/**
 * The backup status the console and `wedsync-backup status` show: upcoming weddings with their
 * criticality and achieved RPO against the target, the newest snapshot and job outcome per tier,
 * the queue, failing jobs and the agents working it. Read-only; a handful of indexed queries.
 *
 * Achieved RPO of a wedding = minutes since the newest snapshot holding all of its data (a full,
 * an incremental, or an emergency backup of every data type) that is not known to be bad. It
 * meets the target while no older than the target plus RPO_SLACK_MINUTES (the time a backup
 * itself takes to run).
 */
export const RPO_SLACK_MINUTES = 10;
/** An agent not seen for this long is reported stale (it heartbeats every 30 s). */
export const AGENT_STALE_MS = 2 * 60_000;

export interface StatusOptions {
  db: Db;
  /** For error messages (the URL's host and database, never its password). */
  databaseUrl: string;
  map: SchemaMap;
  now: Date;
  schedule: ScheduleConfig;
  /** Weddings up to this many days ahead. */
  days: number;
}

interface SnapshotBrief {
  id: string;
  createdAt: Date;
  type: string;
  tier: number | null;
  validationStatus: string;
}

const brief = (s: SnapshotBrief | null | undefined) =>
  s && s.id ? { id: s.id, createdAt: s.createdAt.toISOString(), type: s.type, tier: s.tier, validationStatus: s.validationStatus } : null;

export async function buildStatus(opts: StatusOptions): Promise<StatusResponse> {
  try {
    return await build(opts);
  } catch (err) {
    throw databaseError(err, opts.databaseUrl);
  }
}

async function build(opts: StatusOptions): Promise<StatusResponse> {
  const { db, now, schedule } = opts;
  // A CLI backup killed mid-run would otherwise count as running forever.
  await sweepInterruptedJobs(db);
  const timeZone = schedule.timeZone;
  const horizon = new Date(now.getTime() + opts.days * 86_400_000);
  const all = await loadSchedulingWeddings(db, opts.map, { from: now, to: horizon });
  const upcoming = all
    .map((w) => ({ w, crit: assessDataCriticality(w.wedding, w.settings, now, { timeZone }) }))
    .filter(({ w, crit }) => w.wedding.status !== 'cancelled' && ((crit.daysToWedding >= 0 && crit.daysToWedding <= opts.days) || crit.highPriority.active));

  const ids = upcoming.map((u) => u.w.wedding.id);
  const last = new Map<string, SnapshotBrief>();
  if (ids.length > 0) {
    const { rows } = await db.query<SnapshotBrief & { weddingId: string }>(
      `SELECT w.id::text AS "weddingId", s.id, s.created_at AS "createdAt", s.snapshot_type AS type, s.tier, s.validation_status AS "validationStatus"
         FROM unnest($1::uuid[]) AS w(id)
         JOIN LATERAL (
           SELECT id, created_at, snapshot_type, tier, validation_status FROM backup_snapshots
            WHERE wedding_ids @> ARRAY[w.id] AND forgotten_at IS NULL AND validation_status NOT IN ('corrupted', 'incomplete')
              AND (snapshot_type IN ('full', 'incremental') OR (snapshot_type = 'emergency' AND data_types IS NULL))
            ORDER BY created_at DESC LIMIT 1) s ON true`,
      [ids],
    );
    for (const r of rows) last.set(r.weddingId, r);
  }

  const warnings: string[] = [];
  const weddings: StatusWedding[] = upcoming.map(({ w, crit }) => {
    const snap = last.get(w.wedding.id);
    const achieved = snap ? Math.max(0, Math.round((now.getTime() - snap.createdAt.getTime()) / 60_000)) : null;
    const rpoMet = achieved !== null && achieved <= crit.targetRpoMinutes + RPO_SLACK_MINUTES;
    if (!rpoMet && crit.active) {
      warnings.push(
        `wedding ${w.wedding.coupleNames ?? w.wedding.id} (${crit.level}) ${achieved === null ? 'has no snapshot yet' : `was last backed up ${achieved} min ago`}; target ${crit.targetRpoMinutes} min`,
      );
    }
    return { ...crit, coupleNames: w.wedding.coupleNames ?? null, lastSnapshot: brief(snap), achievedRpoMinutes: achieved, rpoMet };
  });

  const tierSnaps = await db.query<SnapshotBrief>(
    `SELECT DISTINCT ON (tier) tier, id, created_at AS "createdAt", snapshot_type AS type, validation_status AS "validationStatus"
       FROM backup_snapshots WHERE tier IS NOT NULL AND forgotten_at IS NULL ORDER BY tier, created_at DESC`,
  );
  // Tier 4 lives in the off-site repository: its newest snapshot is the newest one copied there.
  const offsite = await db.query<SnapshotBrief>(
    `SELECT s.id, s.created_at AS "createdAt", s.snapshot_type AS type, 4 AS tier, s.validation_status AS "validationStatus"
       FROM backup_snapshots s
      WHERE s.offsite_copies <> '[]'::jsonb AND EXISTS (SELECT 1 FROM jsonb_array_elements(s.offsite_copies) c WHERE NOT c ? 'forgottenAt')
      ORDER BY s.created_at DESC LIMIT 1`,
  );
  const tierJobs = await db.query<{ tier: number; lastSuccess: Date | null; lastFailure: Date | null }>(
    `SELECT tier, max(completed_at) FILTER (WHERE status = 'completed') AS "lastSuccess", max(completed_at) FILTER (WHERE status = 'failed') AS "lastFailure"
       FROM backup_jobs WHERE tier IS NOT NULL GROUP BY tier`,
  );
  const next = nextRuns({ now, hours: 24 * 8, weddings: all, config: schedule });
  const tiers = ([1, 2, 3, 4] as const).map((tier) => {
    const j = tierJobs.rows.find((r) => r.tier === tier);
    return {
      tier,
      name: TIER_NAMES[tier],
      lastSnapshot: brief(tier === 4 ? offsite.rows[0] : tierSnaps.rows.find((r) => r.tier === tier)),
      lastSuccessAt: j?.lastSuccess ? j.lastSuccess.toISOString() : null,
      lastFailureAt: j?.lastFailure ? j.lastFailure.toISOString() : null,
      nextRunAt: next[tier] ? next[tier]!.toISOString() : null,
    };
  });

  const counts = await db.query<{ pending: number; running: number; failed: number; retrying: number }>(
    `SELECT count(*) FILTER (WHERE status = 'pending' AND scheduled_at <= $1)::int AS pending,
            count(*) FILTER (WHERE status = 'running')::int AS running,
            count(*) FILTER (WHERE status = 'failed' AND completed_at > $1::timestamptz - interval '1 day')::int AS failed,
            count(*) FILTER (WHERE status = 'pending' AND attempts > 0)::int AS retrying
       FROM backup_jobs WHERE status IN ('pending', 'running') OR completed_at > $1::timestamptz - interval '1 day'`,
    [now],
  );
  const c = counts.rows[0] ?? { pending: 0, running: 0, failed: 0, retrying: 0 };

  const failing = await db.query<{
    id: string;
    backupType: string;
    tier: number | null;
    status: string;
    priority: number;
    attempts: number;
    maxAttempts: number;
    scheduledAt: Date;
    notBefore: Date | null;
    claimedBy: string | null;
    error: { code?: string; message?: string } | null;
    weddingIds: string[];
  }>(
    `SELECT id, backup_type AS "backupType", tier, status, priority_level AS priority, attempts, max_attempts AS "maxAttempts",
            scheduled_at AS "scheduledAt", not_before AS "notBefore", claimed_by AS "claimedBy", error_details AS error, target_weddings::text[] AS "weddingIds"
       FROM backup_jobs
      WHERE (status = 'failed' AND completed_at > $1::timestamptz - interval '7 days')
         OR (status = 'pending' AND attempts > 0)
         OR (status = 'running' AND lease_expires_at < $1)
      ORDER BY coalesce(completed_at, scheduled_at) DESC LIMIT 50`,
    [now],
  );
  const failingJobs: StatusJob[] = failing.rows.map((r) => ({
    id: r.id,
    backupType: r.backupType,
    tier: r.tier,
    status: r.status === 'running' ? 'running (lease expired)' : r.status === 'pending' ? 'retrying' : r.status,
    priority: r.priority,
    attempts: r.attempts,
    maxAttempts: r.maxAttempts,
    scheduledAt: r.scheduledAt.toISOString(),
    notBefore: r.notBefore ? r.notBefore.toISOString() : null,
    claimedBy: r.claimedBy,
    error: r.error ? { code: String(r.error.code ?? 'UNKNOWN'), message: String(r.error.message ?? '') } : null,
    weddingIds: r.weddingIds,
  }));

  const agentRows = await db.query<{ agentId: string; hostname: string; pid: number; startedAt: Date; lastSeenAt: Date }>(
    `SELECT agent_id AS "agentId", hostname, pid, started_at AS "startedAt", last_seen_at AS "lastSeenAt" FROM backup_agents
      WHERE stopped_at IS NULL AND last_seen_at > $1::timestamptz - interval '1 day' ORDER BY agent_id`,
    [now],
  );
  const agents = agentRows.rows.map((a) => ({
    agentId: a.agentId,
    hostname: a.hostname,
    pid: a.pid,
    startedAt: a.startedAt.toISOString(),
    lastSeenAt: a.lastSeenAt.toISOString(),
    stale: now.getTime() - a.lastSeenAt.getTime() > AGENT_STALE_MS,
  }));
  if (!agents.some((a) => !a.stale)) warnings.push('no agent is running the schedule (start `wedsync-backup agent`)');
  if (!schedule.offsiteConfigured && weddings.some((w) => w.offsiteRequired)) {
    warnings.push(`${weddings.filter((w) => w.offsiteRequired).length} weddings require an off-site copy but no off-site repository is configured (WEDSYNC_OFFSITE_REPO)`);
  }
  if (c.failed > 0) warnings.push(`${c.failed} job${c.failed === 1 ? '' : 's'} failed in the last day`);

  return {
    generatedAt: now.toISOString(),
    timeZone,
    healthy: weddings.every((w) => w.rpoMet || !w.active) && c.failed === 0,
    weddings,
    tiers,
    queue: { pending: c.pending, running: c.running, failedLastDay: c.failed, retrying: c.retrying },
    failingJobs,
    agents,
    warnings,
  };
}
