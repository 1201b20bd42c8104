import {
  DEFAULT_WEDDING_BACKUP_SETTINGS,
  type Criticality,
  type CriticalityLevel,
  type RetentionPolicy,
  type WeddingBackupSettings,
} from '../contract/scheduling.js';
import { addDays, daysBetween, localDate, startOfLocalDay } from './schedule-time.js';

/**
 * assessDataCriticality: how much a wedding's data matters right now, and what that means for
 * its backups. Pure: the same wedding, settings, instant and zone always give the same answer.
 *
 * Level, from whole days to the wedding in the agent's time zone:
 *   0 → wedding-day · 1..7 → this-week · 8..30 → this-month · > 30 → later · < 0 → past
 *
 * Priority (backup_jobs.priority_level, 1..10, HIGHER FIRST — emergency backups already use 10):
 *   10 emergency (asked for by a person) · 9 wedding day · 8 inside the high-priority period
 *   7 this week · 6 this month · 4 later · 3 routine daily full · 2 past, cancelled, off-site copy
 * Jobs of priority >= URGENT_PRIORITY run in the runner's urgent lane, which never takes routine
 * work, so a wedding-day job never queues behind a long full backup.
 *
 * Tier 2 (incremental) frequency: a wedding is ACTIVE when it is within 30 days or inside its
 * high-priority period, and not cancelled. Active weddings are backed up every
 * `backup_frequency_minutes` (never below 15), but never less often than their level allows:
 * at most 15 min on the wedding day, 30 min in the week before, 60 min in the month before and
 * anywhere in the high-priority period ("hourly or faster"). So settings can make backups more
 * frequent, and the schedule tightens by itself as the wedding nears. Inactive weddings are
 * covered by the daily full (target RPO one day).
 *
 * High-priority period: the settings' explicit start/end; by default from local midnight 7 days
 * before the wedding to the end of the day after it. Inside it tier 1 (real-time) runs when
 * `realtime_enabled`. If only one end is set, the other is the default's; if that leaves the end
 * at or before the start, the default period is used whole.
 *
 * Off-site copy required: within 30 days of the wedding (or inside its high-priority period),
 * unless the settings' offsite_backup_required is false.
 *
 * Retention of the wedding's final state (its last snapshot taken before its high-priority period
 * ended), counted from the wedding date: minimal 30 days; standard 1 year (2 for luxury,
 * destination and multi-day weddings, which people come back to); extended 3 years (5 for
 * those types); permanent forever. Routine snapshots follow the per-tier rules of retention.ts.
 */

export interface WeddingInput {
  id: string;
  /** YYYY-MM-DD */
  weddingDate: string;
  /** weddings.type (standard, destination, elopement, luxury, multi_day); null when unknown. */
  type?: string | null;
  /** weddings.status (planning, confirmed, completed, cancelled); null when unknown. */
  status?: string | null;
  coupleNames?: string | null;
}

export interface CriticalityOptions {
  /** IANA zone "today" is judged in (the agent's operators' zone). */
  timeZone: string;
}

export const PRIORITY = {
  emergency: 10,
  weddingDay: 9,
  highPriorityPeriod: 8,
  thisWeek: 7,
  thisMonth: 6,
  later: 4,
  routineFull: 3,
  past: 2,
  offsiteCopy: 2,
} as const;

/** Jobs at or above this priority go to the urgent lane. */
export const URGENT_PRIORITY = 7;

export function laneFor(priority: number): 'urgent' | 'routine' {
  return priority >= URGENT_PRIORITY ? 'urgent' : 'routine';
}

/** The most a level lets the tier 2 interval be, in minutes (null: tier 2 off unless in the high-priority period). */
const FREQUENCY_CAP: Record<CriticalityLevel, number | null> = {
  'wedding-day': 15,
  'this-week': 30,
  'this-month': 60,
  later: null,
  past: null,
};
const HIGH_PRIORITY_FREQUENCY_CAP = 60;
const DAILY_MINUTES = 24 * 60;

const LONG_LIVED_TYPES = new Set(['luxury', 'destination', 'multi_day']);

/** Days after the wedding its final state is kept; null = forever. */
export function archiveRetentionDays(policy: RetentionPolicy, weddingType?: string | null): number | null {
  const longLived = LONG_LIVED_TYPES.has(weddingType ?? '');
  switch (policy) {
    case 'minimal':
      return 30;
    case 'standard':
      return longLived ? 730 : 365;
    case 'extended':
      return longLived ? 1825 : 1095;
    case 'permanent':
      return null;
  }
}

export function levelFor(daysToWedding: number): CriticalityLevel {
  if (daysToWedding === 0) return 'wedding-day';
  if (daysToWedding < 0) return 'past';
  if (daysToWedding <= 7) return 'this-week';
  if (daysToWedding <= 30) return 'this-month';
  return 'later';
}

export interface HighPriorityWindow {
  start: Date;
  end: Date;
  source: 'settings' | 'default';
}

/** The wedding's high-priority period (see the top of this file). */
export function highPriorityWindow(wedding: WeddingInput, settings: WeddingBackupSettings | null, timeZone: string): HighPriorityWindow {
  const defaultStart = startOfLocalDay(addDays(wedding.weddingDate, -7), timeZone);
  const defaultEnd = startOfLocalDay(addDays(wedding.weddingDate, 2), timeZone);
  const start = settings?.highPriorityStart ? new Date(settings.highPriorityStart) : null;
  const end = settings?.highPriorityEnd ? new Date(settings.highPriorityEnd) : null;
  if (!start && !end) return { start: defaultStart, end: defaultEnd, source: 'default' };
  const s = start ?? defaultStart;
  const e = end ?? defaultEnd;
  if (e.getTime() <= s.getTime()) return { start: defaultStart, end: defaultEnd, source: 'default' };
  return { start: s, end: e, source: 'settings' };
}

/**
 * The first and last instant a wedding can be active (tier 2): from the earlier of "30 days to
 * go" and its high-priority start, to the later of "the day after" and its high-priority end.
 * Outside this interval the wedding never needs tier 1 or tier 2, so planners can skip it.
 */
export function activeInterval(wedding: WeddingInput, settings: WeddingBackupSettings | null, timeZone: string): { start: Date; end: Date } {
  const hp = highPriorityWindow(wedding, settings, timeZone);
  const monthBefore = startOfLocalDay(addDays(wedding.weddingDate, -30), timeZone);
  const dayAfter = startOfLocalDay(addDays(wedding.weddingDate, 1), timeZone);
  return {
    start: new Date(Math.min(monthBefore.getTime(), hp.start.getTime())),
    end: new Date(Math.max(dayAfter.getTime(), hp.end.getTime())),
  };
}

export function assessDataCriticality(
  wedding: WeddingInput,
  settings: WeddingBackupSettings | null,
  now: Date,
  options: CriticalityOptions,
): Criticality {
  const { timeZone } = options;
  const s = settings ?? DEFAULT_WEDDING_BACKUP_SETTINGS;
  const daysToWedding = daysBetween(localDate(now, timeZone), wedding.weddingDate);
  const level = levelFor(daysToWedding);
  const hp = highPriorityWindow(wedding, settings, timeZone);
  const hpActive = hp.start.getTime() <= now.getTime() && now.getTime() < hp.end.getTime();
  const cancelled = wedding.status === 'cancelled';
  const withinMonth = daysToWedding >= 0 && daysToWedding <= 30;
  const active = !cancelled && (withinMonth || hpActive);

  let frequencyMinutes: number | null = null;
  let frequencyWhy = 'covered by the daily full';
  if (active) {
    const caps = [FREQUENCY_CAP[level], hpActive ? HIGH_PRIORITY_FREQUENCY_CAP : null].filter((c): c is number => c !== null);
    const cap = Math.min(...caps);
    frequencyMinutes = Math.min(s.backupFrequencyMinutes, cap);
    frequencyWhy =
      frequencyMinutes < s.backupFrequencyMinutes
        ? `incremental every ${frequencyMinutes} min (settings say ${s.backupFrequencyMinutes}, at most ${cap} ${hpActive && cap === HIGH_PRIORITY_FREQUENCY_CAP ? 'in the high-priority period' : `when ${level}`})`
        : `incremental every ${frequencyMinutes} min (settings)`;
  } else if (cancelled) {
    frequencyWhy = 'cancelled: covered by the daily full';
  }

  let priority: number;
  if (cancelled) priority = PRIORITY.past;
  else if (level === 'wedding-day') priority = PRIORITY.weddingDay;
  else if (hpActive) priority = PRIORITY.highPriorityPeriod;
  else if (level === 'this-week') priority = PRIORITY.thisWeek;
  else if (level === 'this-month') priority = PRIORITY.thisMonth;
  else if (level === 'later') priority = PRIORITY.later;
  else priority = PRIORITY.past;

  const realtime = !cancelled && hpActive && s.realtimeEnabled;
  const offsiteRequired = !cancelled && s.offsiteBackupRequired && (withinMonth || hpActive);
  const when =
    daysToWedding === 0 ? 'wedding today' : daysToWedding > 0 ? `wedding in ${daysToWedding} day${daysToWedding === 1 ? '' : 's'}` : `wedding ${-daysToWedding} day${daysToWedding === -1 ? '' : 's'} ago`;
  const reason = [
    `${when} (${level})`,
    hpActive ? `high-priority period until ${hp.end.toISOString()}${realtime ? ', real-time on' : ''}` : null,
    frequencyWhy,
    `priority ${priority}`,
  ]
    .filter(Boolean)
    .join('; ');

  return {
    weddingId: wedding.id,
    weddingDate: wedding.weddingDate,
    daysToWedding,
    level,
    priority,
    active,
    frequencyMinutes,
    targetRpoMinutes: frequencyMinutes ?? DAILY_MINUTES,
    retentionPolicy: s.retentionPolicy,
    archiveRetentionDays: archiveRetentionDays(s.retentionPolicy, wedding.type),
    offsiteRequired,
    realtime,
    highPriority: { start: hp.start.toISOString(), end: hp.end.toISOString(), active: hpActive, source: hp.source },
    reason,
  };
}
