import { Cron } from 'croner';
import { WedsyncError } from '../contract/errors.js';
import type { CronSchedule, ScheduleConfig } from '../core/schedule.js';
import { isValidTimeZone } from '../core/schedule-time.js';

/** Defaults: the daily full at 02:00 and the weekly off-site copy on Sunday 03:00, agent time zone. */
export const DEFAULT_DAILY_FULL_CRON = '0 2 * * *';
export const DEFAULT_WEEKLY_OFFSITE_CRON = '0 3 * * 0';
/** Nightly prune at 04:30, after the daily full. */
export const DEFAULT_PRUNE_CRON = '30 4 * * *';

/**
 * A croner pattern as the pure planner's CronSchedule. croner evaluates it in `timeZone`
 * (DST-aware); the job is created paused, so nothing is ever scheduled on a timer here.
 * BAD_INPUT naming the pattern when croner rejects it.
 */
export function cronSchedule(pattern: string, timeZone: string, what = 'cron pattern'): CronSchedule {
  let cron: Cron;
  try {
    cron = new Cron(pattern, { timezone: timeZone, paused: true });
  } catch (err) {
    throw new WedsyncError('BAD_INPUT', `${what} ${JSON.stringify(pattern)} is invalid: ${(err as Error).message}`);
  }
  return {
    description: `${pattern} (${timeZone})`,
    nextAfter: (instant) => cron.nextRun(instant),
    // previousRuns is strictly before its reference: one millisecond later makes it "at or before".
    latestAtOrBefore: (instant) => cron.previousRuns(1, new Date(instant.getTime() + 1))[0] ?? null,
  };
}

/** What the agent's scheduling is configured with (flags / env of the `agent`, `plan`, `status` commands). */
export interface ScheduleSettings {
  /** IANA zone "today" and cron patterns are read in (default: this machine's). */
  timeZone?: string;
  fullCron?: string;
  offsiteCron?: string;
  offsiteConfigured: boolean;
}

/** The machine's IANA zone. */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** ScheduleConfig from settings; BAD_INPUT naming the bad zone or pattern. */
export function scheduleConfig(s: ScheduleSettings): ScheduleConfig {
  const timeZone = s.timeZone ?? systemTimeZone();
  if (!isValidTimeZone(timeZone)) throw new WedsyncError('BAD_INPUT', `time zone ${JSON.stringify(timeZone)} is not an IANA zone like Europe/London or UTC`);
  return {
    timeZone,
    dailyFull: cronSchedule(s.fullCron ?? DEFAULT_DAILY_FULL_CRON, timeZone, 'daily full cron'),
    weeklyOffsite: cronSchedule(s.offsiteCron ?? DEFAULT_WEEKLY_OFFSITE_CRON, timeZone, 'weekly off-site cron'),
    offsiteConfigured: s.offsiteConfigured,
  };
}
