import { Cron } from 'croner';
import { WedsyncError } from '../contract/errors.js';
import type { CronSchedule } from '../core/schedule.js';

/** Defaults: the daily full at 02:00 and the weekly off-site copy on Sunday 03:00, agent time zone. */
export const DEFAULT_DAILY_FULL_CRON = '0 2 * * *';
export const DEFAULT_WEEKLY_OFFSITE_CRON = '0 3 * * 0';

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
