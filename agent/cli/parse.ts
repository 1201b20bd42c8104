import { InvalidArgumentError } from 'commander';
import { WedsyncError } from '../contract/errors.js';

/** Commander argument parsers that reject bad values with a reason naming what is wrong. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`must be a positive integer (got ${JSON.stringify(value)})`);
  }
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`must be a non-negative integer (got ${JSON.stringify(value)})`);
  }
  return n;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function uuid(value: string): string {
  if (!UUID.test(value)) throw new InvalidArgumentError(`must be a UUID (got ${JSON.stringify(value)})`);
  return value.toLowerCase();
}

/**
 * A snapshot argument: a snapshot id (uuid) or one of `keywords` ("latest", "all"). Checked when
 * the command line is parsed, before any repository or database is opened: a mistyped id is
 * reported as such (exit 2), whatever state the storage is in. Long junk is shown cut short.
 */
export function snapshotRef(...keywords: string[]): (value: string) => string {
  return (value) => {
    if (UUID.test(value)) return value.toLowerCase();
    if (keywords.includes(value)) return value;
    const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
    const allowed = keywords.map((k, i) => `${i === keywords.length - 1 ? ' or' : ','} "${k}"`).join('');
    // A WedsyncError passes through commander as is: the same words the commands used to say.
    throw new WedsyncError('BAD_INPUT', `snapshot must be a snapshot id (uuid)${allowed} (got ${JSON.stringify(shown)})`);
  };
}

/** For repeatable options: `--wedding A --wedding B`. */
export function collectUuid(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), uuid(value)];
}

export const DATA_TYPES = ['guests', 'timeline', 'photos', 'vendors'] as const;
export type DataTypeName = (typeof DATA_TYPES)[number];

export function dataTypes(value: string): DataTypeName[] {
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new InvalidArgumentError('must list at least one of guests,timeline,photos,vendors');
  for (const p of parts) {
    if (!(DATA_TYPES as readonly string[]).includes(p)) {
      throw new InvalidArgumentError(`unknown data type ${JSON.stringify(p)} (expected guests, timeline, photos or vendors)`);
    }
  }
  return [...new Set(parts)] as DataTypeName[];
}

export function isoTime(value: string): Date {
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(d.getTime())) {
    throw new InvalidArgumentError(`must be an ISO date-time like 2026-06-01T14:00:00Z (got ${JSON.stringify(value)})`);
  }
  return d;
}

/** "10%" or "0.1" → 0.1 */
export function fraction(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(%)?$/.exec(value.trim());
  const n = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError(`must be a percentage in (0%, 100%] like 10% (got ${JSON.stringify(value)})`);
  return n;
}

/**
 * An instant with its zone, kept as text (a point in time is compared with change-log times to
 * the microsecond, which a Date would round): "2026-06-01T14:00:00Z", "…T14:00:00.123456+02:00";
 * seconds may be left out ("…T14:00Z"). A time without a zone is refused: on a wedding day in
 * another zone it would silently mean the wrong hour.
 */
export function isoInstant(value: string): string {
  const v = value.trim();
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i.exec(v);
  if (!m || Number.isNaN(Date.parse(`${m[1]}${m[2] ?? ':00'}${m[3]!.toUpperCase()}`))) {
    throw new InvalidArgumentError(`must be an ISO date-time with a zone, like 2026-06-01T14:00:00Z (got ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)})`);
  }
  return `${m[1]}${m[2] ?? ':00'}${m[3]!.toUpperCase()}`;
}
