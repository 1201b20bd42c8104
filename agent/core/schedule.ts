import { TIER_NAMES, type Criticality, type PlanEntry, type PlanResponse, type PlannedBackupType, type WeddingBackupSettings } from '../contract/scheduling.js';
import { PRIORITY, activeInterval, assessDataCriticality, highPriorityWindow, laneFor, type WeddingInput } from './criticality.js';
import { DAY_MS, MINUTE_MS, addDays, ceilTo, localDate, startOfLocalDay } from './schedule-time.js';

/**
 * The schedule of the four backup tiers (DESIGN.md "Backup tiers"), as pure functions of the
 * weddings, their settings and an instant — so `wedsync-backup plan --now X` always prints the
 * same thing, and the scheduler's decisions can be tested without a clock.
 *
 *  tier 1 real-time    one entry per wedding per high-priority period (realtime enabled): the
 *                      stream itself is another component's; this marks when it must run.
 *  tier 2 incremental  for each ACTIVE wedding (criticality.ts), at every multiple of its
 *                      frequency counted from the Unix epoch (so 15/30/60-minute weddings share
 *                      slots); weddings due at the same instant share ONE job.
 *  tier 3 full         daily, on a cron pattern (croner, in the agent's time zone).
 *  tier 4 off-site     weekly, on a cron pattern: copy the newest full to the off-site repository.
 *
 * Every slot has a stable key (`t2:<instant>`, `t1:<wedding>:<period start>`…). backup_jobs has a
 * unique index on it, so agents that plan the same slot insert one job between them.
 *
 * Catch-up (dueJobs): all slots of a tier missed since its last planned slot collapse into ONE
 * job at the newest missed slot, holding every wedding any of them was for. Two days of downtime
 * therefore cost one job per tier, not one per missed slot.
 */

/** A cron pattern evaluated in a time zone (agent/jobs/scheduler-cron.ts adapts croner). */
export interface CronSchedule {
  /** The pattern and zone, for messages: "0 2 * * * (UTC)". */
  readonly description: string;
  /** The first run strictly after `instant`, or null when there is none. */
  nextAfter(instant: Date): Date | null;
  /** The last run at or before `instant`, or null. */
  latestAtOrBefore(instant: Date): Date | null;
}

export interface ScheduleConfig {
  timeZone: string;
  dailyFull: CronSchedule;
  weeklyOffsite: CronSchedule;
  /** False when no off-site repository is configured: tier 4 entries are listed as skipped. */
  offsiteConfigured: boolean;
}

export interface SchedulingWedding {
  wedding: WeddingInput;
  /** null: no settings row (the table defaults apply). */
  settings: WeddingBackupSettings | null;
}

/** Snapshot retention each tier's jobs ask for (retention.ts applies the same rules). */
export const TIER_RETENTION_DAYS: Record<1 | 2 | 3 | 4, number> = { 1: 30, 2: 30, 3: 30, 4: 365 };

const BACKUP_TYPE: Record<1 | 2 | 3 | 4, PlannedBackupType> = { 1: 'realtime', 2: 'incremental', 3: 'full', 4: 'offsite' };

/** A job the scheduler should insert now. */
export interface DueJob {
  tier: 1 | 2 | 3 | 4;
  backupType: PlannedBackupType;
  slotKey: string;
  scheduledAt: Date;
  priority: number;
  weddingIds: string[];
  reason: string;
  /** How many slots this one job stands for (> 1 after downtime). */
  collapsedSlots: number;
  retentionDays: number;
}

export interface DueJobsInput {
  now: Date;
  /** Per tier, the newest slot already planned (backup_jobs), or null if none ever was. */
  since: Partial<Record<2 | 3 | 4, Date | null>>;
  weddings: readonly SchedulingWedding[];
  config: ScheduleConfig;
  /** Missed tier 2 slots older than this are not looked at (default two days). */
  lookbackMs?: number;
}

export interface PlanInput {
  now: Date;
  /** Length of the plan from `now`. */
  hours: number;
  weddings: readonly SchedulingWedding[];
  config: ScheduleConfig;
}

export function slotKey(tier: 2 | 3 | 4, at: Date): string {
  return `t${tier}:${at.toISOString()}`;
}

export function realtimeSlotKey(weddingId: string, periodStart: Date): string {
  return `t1:${weddingId}:${periodStart.toISOString()}`;
}

interface Tier2Hit {
  weddingId: string;
  label: string;
  crit: Criticality;
}

function label(w: WeddingInput): string {
  return w.coupleNames ? `${w.coupleNames} (${w.id.slice(0, 8)})` : w.id;
}

/**
 * Tier 2 slots in [from, to): instant → the weddings due then. Criticality only changes at local
 * midnights and at high-priority boundaries, so each wedding's interval is cut there and every
 * piece is walked at one frequency.
 */
export function tier2Slots(weddings: readonly SchedulingWedding[], from: Date, to: Date, timeZone: string): Map<number, Tier2Hit[]> {
  const slots = new Map<number, Tier2Hit[]>();
  walkTier2(weddings, from, to, timeZone, (t, hit) => {
    let list = slots.get(t);
    if (!list) slots.set(t, (list = []));
    list.push(hit);
    return true;
  });
  return slots;
}

/**
 * The earliest tier 2 slot in [from, to), or null: what tier2Slots' smallest key would be,
 * without building every slot of every wedding (status asks for it on each refresh: at 2000
 * weddings the whole map was most of a status's CPU).
 */
export function firstTier2Slot(weddings: readonly SchedulingWedding[], from: Date, to: Date, timeZone: string): number | null {
  let first: number | null = null;
  walkTier2(weddings, from, to, timeZone, (t) => {
    if (first === null || t < first) first = t;
    // A wedding's slots come in time order: its first one is all that can matter.
    return false;
  });
  return first;
}

/**
 * Calls `visit` with each wedding's tier 2 slots in [from, to), in time order per wedding; the
 * wedding's remaining slots are skipped once `visit` returns false.
 */
function walkTier2(weddings: readonly SchedulingWedding[], from: Date, to: Date, timeZone: string, visit: (t: number, hit: Tier2Hit) => boolean): void {
  for (const { wedding, settings } of weddings) {
    if (wedding.status === 'cancelled') continue;
    const interval = activeInterval(wedding, settings, timeZone);
    const lo = Math.max(from.getTime(), interval.start.getTime());
    const hi = Math.min(to.getTime(), interval.end.getTime());
    if (lo >= hi) continue;
    const hp = highPriorityWindow(wedding, settings, timeZone);
    const cuts = new Set<number>([lo, hi]);
    for (const b of [hp.start.getTime(), hp.end.getTime()]) if (b > lo && b < hi) cuts.add(b);
    for (let day = localDate(new Date(lo), timeZone); ; day = addDays(day, 1)) {
      const midnight = startOfLocalDay(day, timeZone).getTime();
      if (midnight >= hi) break;
      if (midnight > lo) cuts.add(midnight);
    }
    const bounds = [...cuts].sort((a, b) => a - b);
    pieces: for (let i = 0; i + 1 < bounds.length; i++) {
      const a = bounds[i]!;
      const b = bounds[i + 1]!;
      const crit = assessDataCriticality(wedding, settings, new Date(a), { timeZone });
      if (!crit.active || crit.frequencyMinutes === null) continue;
      const step = crit.frequencyMinutes * MINUTE_MS;
      for (let t = ceilTo(a, step); t < b; t += step) {
        if (!visit(t, { weddingId: wedding.id, label: label(wedding), crit })) break pieces;
      }
    }
  }
}

function describeTier2(hits: Tier2Hit[]): string {
  const sorted = [...hits].sort((a, b) => b.crit.priority - a.crit.priority || a.weddingId.localeCompare(b.weddingId));
  const shown = sorted.slice(0, 3).map((h) => `${h.label}: ${h.crit.level}, every ${h.crit.frequencyMinutes} min`);
  const more = sorted.length > 3 ? `; and ${sorted.length - 3} more` : '';
  return `incremental for ${hits.length} active wedding${hits.length === 1 ? '' : 's'} (${shown.join('; ')}${more})`;
}

/** Cron runs in [from, to). */
function cronSlots(cron: CronSchedule, from: Date, to: Date): Date[] {
  const out: Date[] = [];
  const first = cron.latestAtOrBefore(from);
  let next: Date | null = first && first.getTime() === from.getTime() ? first : cron.nextAfter(from);
  while (next && next.getTime() < to.getTime()) {
    out.push(next);
    next = cron.nextAfter(next);
  }
  return out;
}

function offsiteReason(weddings: readonly SchedulingWedding[], at: Date, timeZone: string): string {
  let required = 0;
  for (const { wedding, settings } of weddings) {
    if (assessDataCriticality(wedding, settings, at, { timeZone }).offsiteRequired) required++;
  }
  return `weekly off-site copy of the newest full snapshot${required ? `; ${required} wedding${required === 1 ? '' : 's'} within 30 days require one` : ''}`;
}

/** High-priority periods with real-time on that overlap [from, to). */
function realtimePeriods(weddings: readonly SchedulingWedding[], from: Date, to: Date, timeZone: string) {
  const out: Array<{ wedding: WeddingInput; start: Date; end: Date; crit: Criticality }> = [];
  for (const { wedding, settings } of weddings) {
    if (wedding.status === 'cancelled') continue;
    if (settings && !settings.realtimeEnabled) continue;
    const hp = highPriorityWindow(wedding, settings, timeZone);
    if (hp.end.getTime() <= from.getTime() || hp.start.getTime() >= to.getTime()) continue;
    const at = new Date(Math.max(hp.start.getTime(), from.getTime()));
    out.push({ wedding, start: hp.start, end: hp.end, crit: assessDataCriticality(wedding, settings, at, { timeZone }) });
  }
  return out;
}

/**
 * What will run in [now, now + hours), when and why. Entries are ordered by time, then tier.
 * `weddings` lists the criticality (at `now`) of every wedding given, most urgent first (callers
 * pass the weddings near their dates: settings.ts loadSchedulingWeddings).
 */
export function planSchedule(input: PlanInput): PlanResponse {
  const { now, config } = input;
  const { timeZone } = config;
  const until = new Date(now.getTime() + input.hours * 3_600_000);
  const entries: PlanEntry[] = [];

  for (const p of realtimePeriods(input.weddings, now, until, timeZone)) {
    const at = new Date(Math.max(p.start.getTime(), now.getTime()));
    entries.push({
      at: at.toISOString(),
      until: p.end.toISOString(),
      tier: 1,
      backupType: 'realtime',
      priority: p.crit.priority,
      lane: laneFor(p.crit.priority),
      weddingIds: [p.wedding.id],
      slotKey: realtimeSlotKey(p.wedding.id, p.start),
      reason: `real-time change stream for ${label(p.wedding)} during its high-priority period ${p.start.toISOString()} – ${p.end.toISOString()}`,
    });
  }

  const tier2 = tier2Slots(input.weddings, now, until, timeZone);
  for (const [t, hits] of tier2) {
    const priority = Math.max(...hits.map((h) => h.crit.priority));
    entries.push({
      at: new Date(t).toISOString(),
      tier: 2,
      backupType: 'incremental',
      priority,
      lane: laneFor(priority),
      weddingIds: hits.map((h) => h.weddingId).sort(),
      slotKey: slotKey(2, new Date(t)),
      reason: describeTier2(hits),
    });
  }

  for (const at of cronSlots(config.dailyFull, now, until)) {
    entries.push({
      at: at.toISOString(),
      tier: 3,
      backupType: 'full',
      priority: PRIORITY.routineFull,
      lane: laneFor(PRIORITY.routineFull),
      weddingIds: [],
      slotKey: slotKey(3, at),
      reason: `daily full of the whole database and photos (cron ${config.dailyFull.description})`,
    });
  }

  for (const at of cronSlots(config.weeklyOffsite, now, until)) {
    entries.push({
      at: at.toISOString(),
      tier: 4,
      backupType: 'offsite',
      priority: PRIORITY.offsiteCopy,
      lane: laneFor(PRIORITY.offsiteCopy),
      weddingIds: [],
      slotKey: slotKey(4, at),
      reason: `${offsiteReason(input.weddings, at, timeZone)} (cron ${config.weeklyOffsite.description})`,
      ...(config.offsiteConfigured ? {} : { skipped: 'no off-site repository configured (set WEDSYNC_OFFSITE_REPO)' }),
    });
  }

  entries.sort((a, b) => a.at.localeCompare(b.at) || a.tier - b.tier || a.slotKey.localeCompare(b.slotKey));

  const weddings: Criticality[] = input.weddings.map(({ wedding, settings }) => assessDataCriticality(wedding, settings, now, { timeZone }));
  weddings.sort((a, b) => b.priority - a.priority || a.daysToWedding - b.daysToWedding || a.weddingId.localeCompare(b.weddingId));

  return { now: now.toISOString(), until: until.toISOString(), timeZone, entries, weddings };
}

/**
 * The jobs to insert at `now`: for each tier, every slot in (since, now] collapsed into one job
 * at the newest of them (see the top of this file); tier 1 for each wedding whose high-priority
 * period is running now. Deterministic; inserting the result twice changes nothing (slot keys).
 */
export function dueJobs(input: DueJobsInput): DueJob[] {
  const { now, config } = input;
  const { timeZone } = config;
  const lookback = input.lookbackMs ?? 2 * DAY_MS;
  const out: DueJob[] = [];
  const nowPlus = new Date(now.getTime() + 1);

  for (const p of realtimePeriods(input.weddings, now, nowPlus, timeZone)) {
    out.push({
      tier: 1,
      backupType: 'realtime',
      slotKey: realtimeSlotKey(p.wedding.id, p.start),
      scheduledAt: p.start,
      priority: p.crit.priority,
      weddingIds: [p.wedding.id],
      reason: `real-time change stream until ${p.end.toISOString()}`,
      collapsedSlots: 1,
      retentionDays: TIER_RETENTION_DAYS[1],
    });
  }

  // Tier 2: (since, now], bounded by the lookback.
  const since2 = input.since[2] ?? null;
  const from2 = new Date(Math.max(since2 ? since2.getTime() + 1 : 0, now.getTime() - lookback));
  const slots = tier2Slots(input.weddings, from2, nowPlus, timeZone);
  if (slots.size > 0) {
    const times = [...slots.keys()].sort((a, b) => a - b);
    const latest = times[times.length - 1]!;
    // Per wedding, its most recent hit decides its priority: what matters now, not two days ago.
    const newest = new Map<string, Tier2Hit>();
    for (const t of times) for (const hit of slots.get(t)!) newest.set(hit.weddingId, hit);
    const hits = [...newest.values()];
    const priority = Math.max(...hits.map((h) => h.crit.priority));
    const collapsed = times.length;
    out.push({
      tier: 2,
      backupType: 'incremental',
      slotKey: slotKey(2, new Date(latest)),
      scheduledAt: new Date(latest),
      priority,
      weddingIds: hits.map((h) => h.weddingId).sort(),
      reason: `${describeTier2(hits)}${collapsed > 1 ? `; catch-up: ${collapsed} missed slots since ${new Date(times[0]!).toISOString()} run once` : ''}`,
      collapsedSlots: collapsed,
      retentionDays: TIER_RETENTION_DAYS[2],
    });
  }

  const cronTiers: Array<{ tier: 3 | 4; cron: CronSchedule; priority: number; reason: () => string }> = [
    { tier: 3, cron: config.dailyFull, priority: PRIORITY.routineFull, reason: () => `daily full (cron ${config.dailyFull.description})` },
  ];
  if (config.offsiteConfigured) {
    cronTiers.push({ tier: 4, cron: config.weeklyOffsite, priority: PRIORITY.offsiteCopy, reason: () => offsiteReason(input.weddings, now, timeZone) });
  }
  for (const { tier, cron, priority, reason } of cronTiers) {
    const latest = cron.latestAtOrBefore(now);
    if (!latest) continue;
    const since = input.since[tier] ?? null;
    if (since && latest.getTime() <= since.getTime()) continue;
    let collapsed = 1;
    if (since) {
      // Count the missed runs (bounded: the count is for the log line only).
      for (let t = cron.nextAfter(since); t && t.getTime() < latest.getTime() && collapsed < 1000; t = cron.nextAfter(t)) collapsed++;
    }
    out.push({
      tier,
      backupType: BACKUP_TYPE[tier],
      slotKey: slotKey(tier, latest),
      scheduledAt: latest,
      priority,
      weddingIds: [],
      reason: `${reason()}${collapsed > 1 ? `; catch-up: ${collapsed} missed ${TIER_NAMES[tier]} slots run once` : ''}`,
      collapsedSlots: collapsed,
      retentionDays: TIER_RETENTION_DAYS[tier],
    });
  }
  return out;
}

/**
 * The next slot of each tier at or after `now` (for status), or null when none falls within
 * `hours`. Cheaper than a whole plan: tier 2 is looked for one day ahead at most.
 */
export function nextRuns(input: PlanInput): Record<1 | 2 | 3 | 4, Date | null> {
  const { now, config } = input;
  const until = new Date(now.getTime() + input.hours * 3_600_000);
  const within = (d: Date | null | undefined) => (d && d.getTime() < until.getTime() ? d : null);
  const periods = realtimePeriods(input.weddings, now, until, config.timeZone);
  const t1 = periods.length ? new Date(Math.min(...periods.map((p) => Math.max(p.start.getTime(), now.getTime())))) : null;
  const first2 = firstTier2Slot(input.weddings, now, new Date(Math.min(until.getTime(), now.getTime() + DAY_MS)), config.timeZone);
  const t2 = first2 === null ? null : new Date(first2);
  return {
    1: t1,
    2: t2,
    3: within(cronSlots(config.dailyFull, now, until)[0]),
    4: config.offsiteConfigured ? within(cronSlots(config.weeklyOffsite, now, until)[0]) : null,
  };
}
