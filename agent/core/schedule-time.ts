/**
 * Calendar maths in a named IANA time zone, without I/O: what date it is "today" for the
 * venue, and which instant a local midnight is. Weddings are dates (no time); whether a wedding
 * is "today" depends on where the agent's operators are, so every function takes the zone.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is a zone this runtime knows (e.g. "UTC", "Europe/London"). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface Parts {
  readonly y: number;
  readonly m: number;
  readonly d: number;
  readonly h: number;
  readonly min: number;
  readonly s: number;
}

/**
 * formatToParts costs microseconds and a status of 2000 weddings calls it thousands of times,
 * mostly for the same instants (each wedding day's midnight) as the previous status: the same
 * instant in the same zone always has the same parts, so they are remembered (bounded).
 */
const partsMemo = new Map<string, Parts>();
const PARTS_MEMO_MAX = 50_000;

function parts(instant: Date, timeZone: string): Parts {
  const key = `${timeZone}|${instant.getTime()}`;
  const hit = partsMemo.get(key);
  if (hit) return hit;
  const out: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(instant)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  const result: Parts = { y: out.year!, m: out.month!, d: out.day!, h: out.hour!, min: out.minute!, s: out.second! };
  if (partsMemo.size >= PARTS_MEMO_MAX) partsMemo.clear();
  partsMemo.set(key, result);
  return result;
}

/** The local calendar date of `instant` in `timeZone`, as YYYY-MM-DD. */
export function localDate(instant: Date, timeZone: string): string {
  const p = parts(instant, timeZone);
  return `${String(p.y).padStart(4, '0')}-${String(p.m).padStart(2, '0')}-${String(p.d).padStart(2, '0')}`;
}

/** Offset of `timeZone` from UTC at `instant`, in milliseconds (local = utc + offset). */
function offsetMs(instant: Date, timeZone: string): number {
  const p = parts(instant, timeZone);
  const asUtc = Date.UTC(p.y, p.m - 1, p.d, p.h, p.min, p.s);
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

function parseDate(date: string): { y: number; m: number; d: number } {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) throw new RangeError(`not a YYYY-MM-DD date: ${JSON.stringify(date)}`);
  return { y: Number(match[1]), m: Number(match[2]), d: Number(match[3]) };
}

/**
 * Local days and their midnights are asked for again and again with the same arguments (each
 * wedding's days, on every status refresh): answers are remembered, bounded like `partsMemo`.
 */
const dayMemo = new Map<string, string | number>();
const DAY_MEMO_MAX = 50_000;

function remember<T extends string | number>(key: string, compute: () => T): T {
  const hit = dayMemo.get(key);
  if (hit !== undefined) return hit as T;
  const value = compute();
  if (dayMemo.size >= DAY_MEMO_MAX) dayMemo.clear();
  dayMemo.set(key, value);
  return value;
}

/** `date` plus `days` (may be negative), as YYYY-MM-DD. */
export function addDays(date: string, days: number): string {
  return remember(`+|${date}|${days}`, () => {
    const { y, m, d } = parseDate(date);
    return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
  });
}

/** Whole days from `from` to `to` (both YYYY-MM-DD). */
export function daysBetween(from: string, to: string): number {
  const a = parseDate(from);
  const b = parseDate(to);
  return Math.round((Date.UTC(b.y, b.m - 1, b.d) - Date.UTC(a.y, a.m - 1, a.d)) / DAY_MS);
}

/**
 * The instant local midnight starts `date` in `timeZone`. On a day whose midnight does not
 * exist (a DST gap at 00:00), the first instant of that day.
 */
export function startOfLocalDay(date: string, timeZone: string): Date {
  return new Date(remember(`0|${timeZone}|${date}`, () => computeStartOfLocalDay(date, timeZone)));
}

function computeStartOfLocalDay(date: string, timeZone: string): number {
  const { y, m, d } = parseDate(date);
  const guess = Date.UTC(y, m - 1, d);
  // Two rounds settle it: the offset at the guess may differ from the offset at the answer.
  let instant = guess - offsetMs(new Date(guess), timeZone);
  instant = guess - offsetMs(new Date(instant), timeZone);
  if (localDate(new Date(instant), timeZone) !== date) {
    // DST gap swallowed midnight: step forward to the first hour that is on `date`.
    while (localDate(new Date(instant), timeZone) < date) instant += HOUR_MS;
  }
  return instant;
}

/** The first multiple of `stepMs` (counted from the Unix epoch) that is >= `instant`. */
export function ceilTo(instant: number, stepMs: number): number {
  return Math.ceil(instant / stepMs) * stepMs;
}

/** The last multiple of `stepMs` (from the epoch) that is <= `instant`. */
export function floorTo(instant: number, stepMs: number): number {
  return Math.floor(instant / stepMs) * stepMs;
}
