import type { DataFinding, WeddingDataReport } from '../contract/validation-report.js';

/**
 * Rules for the live wedding data (performDataValidation), per wedding, on plain records the
 * source layer read. Pure: the photo files are checked by the job, which adds its findings.
 *
 * Rules and severities:
 *  - wedding: couple names present (error), date present (error);
 *  - guests: a first name (error); e-mail addresses unique within the wedding, compared
 *    case-insensitively (warning: families do share one); table number within
 *    [1, maxTableNumber] (error), and not above the wedding's guest count (warning: there
 *    cannot be more occupied tables than guests, so the number is probably a typo);
 *  - timeline: an event ends after it starts (error); starts and ends inside the wedding day
 *    (error; see weddingDayWindow); no two events at one location overlap in time (warning:
 *    it may be intended, but usually is a double booking); a vendor reference names an
 *    existing vendor (error) of the same wedding (error).
 */

export interface WeddingRecord {
  id: string;
  coupleNames: string | null;
  /** YYYY-MM-DD. */
  weddingDate: string | null;
  type: string | null;
}

export interface GuestRecord {
  id: string;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  tableNumber: number | null;
}

export interface TimelineRecord {
  id: string;
  title: string | null;
  location: string | null;
  /** Epoch milliseconds, or null when not scheduled. */
  startsAt: number | null;
  endsAt: number | null;
  vendorId: string | null;
  /** The wedding of the referenced vendor; null when the vendor does not exist. */
  vendorWeddingId: string | null;
}

export interface WeddingData {
  wedding: WeddingRecord;
  guests: GuestRecord[];
  timeline: TimelineRecord[];
  vendorCount: number;
  photoCount: number;
}

export interface WeddingRuleOptions {
  /** IANA zone the wedding day is measured in. */
  timeZone: string;
  /** Largest valid table number (the sample schema's CHECK allows 1..500). */
  maxTableNumber?: number;
  /** Qualified table names for the findings. */
  tables?: { weddings?: string; guests?: string; timeline?: string; photos?: string };
}

export const DEFAULT_MAX_TABLE_NUMBER = 500;
/** Receptions run past midnight: the wedding day ends at 04:00 the next morning. */
export const DAY_END_EXTRA_HOURS = 4;
/** How many overlapping pairs to report per wedding before summarising the rest. */
const MAX_OVERLAP_FINDINGS = 20;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// Creating an Intl.DateTimeFormat costs far more than using one: keep one per zone.
const offsetFormats = new Map<string, Intl.DateTimeFormat>();
const displayFormats = new Map<string, Intl.DateTimeFormat>();

function cached(map: Map<string, Intl.DateTimeFormat>, zone: string, make: () => Intl.DateTimeFormat): Intl.DateTimeFormat {
  let f = map.get(zone);
  if (!f) map.set(zone, (f = make()));
  return f;
}

/** The UTC offset (ms) of `zone` at instant `utcMs`. */
function zoneOffset(utcMs: number, zone: string): number {
  const format = cached(offsetFormats, zone, () =>
    new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }),
  );
  const parts = format.formatToParts(new Date(utcMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/** The instant local midnight starts `date` (YYYY-MM-DD) in `zone` (DST-safe). */
export function zonedMidnight(date: string, zone: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return Number.NaN;
  const guess = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  let t = guess - zoneOffset(guess, zone);
  // A second pass settles dates where the offset changes between the guess and the answer.
  t = guess - zoneOffset(t, zone);
  return t;
}

/**
 * The wedding day as [start, end) instants: local midnight of the wedding date to 04:00 the next
 * morning. Multi-day weddings (type multi_day) also take the day before and the day after.
 */
export function weddingDayWindow(weddingDate: string, type: string | null, zone: string): { start: number; end: number } {
  const multi = type === 'multi_day';
  const midnight = zonedMidnight(weddingDate, zone);
  const start = multi ? midnight - DAY : midnight;
  const end = midnight + (multi ? 2 : 1) * DAY + DAY_END_EXTRA_HOURS * HOUR;
  return { start, end };
}

const blank = (s: string | null | undefined) => s === null || s === undefined || s.trim() === '';

/** "2026-06-13 14:30" in `zone`, for messages. */
function iso(ms: number, zone: string): string {
  return cached(displayFormats, zone, () => new Intl.DateTimeFormat('sv-SE', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })).format(new Date(ms));
}

/** Every rule above on one wedding's records. Findings in rule order. */
export function validateWeddingData(data: WeddingData, opts: WeddingRuleOptions): DataFinding[] {
  const findings: DataFinding[] = [];
  const w = data.wedding;
  const t = {
    weddings: opts.tables?.weddings ?? 'public.weddings',
    guests: opts.tables?.guests ?? 'public.guests',
    timeline: opts.tables?.timeline ?? 'public.timeline_events',
  };
  const maxTable = opts.maxTableNumber ?? DEFAULT_MAX_TABLE_NUMBER;

  // Wedding: required fields.
  if (blank(w.coupleNames)) {
    findings.push({ severity: 'error', kind: 'missing-couple-names', weddingId: w.id, dataType: 'wedding', table: t.weddings, rowId: w.id, field: 'couple_names', message: 'the wedding has no couple names' });
  }
  if (blank(w.weddingDate)) {
    findings.push({ severity: 'error', kind: 'missing-wedding-date', weddingId: w.id, dataType: 'wedding', table: t.weddings, rowId: w.id, field: 'wedding_date', message: 'the wedding has no date' });
  }

  // Guests.
  const byEmail = new Map<string, string[]>();
  for (const g of data.guests) {
    if (blank(g.firstName)) {
      findings.push({ severity: 'error', kind: 'missing-guest-name', weddingId: w.id, dataType: 'guests', table: t.guests, rowId: g.id, field: 'first_name', message: `guest ${g.id} has no first name${blank(g.lastName) ? ' and no last name' : ` (last name ${g.lastName})`}` });
    }
    if (!blank(g.email)) {
      const key = g.email!.trim().toLowerCase();
      const list = byEmail.get(key);
      if (list) list.push(g.id);
      else byEmail.set(key, [g.id]);
    }
    if (g.tableNumber !== null) {
      if (!Number.isInteger(g.tableNumber) || g.tableNumber < 1 || g.tableNumber > maxTable) {
        findings.push({ severity: 'error', kind: 'table-number-out-of-range', weddingId: w.id, dataType: 'guests', table: t.guests, rowId: g.id, field: 'table_number', message: `guest ${g.id} is seated at table ${g.tableNumber}; table numbers run from 1 to ${maxTable}` });
      } else if (g.tableNumber > data.guests.length) {
        findings.push({ severity: 'warning', kind: 'table-number-out-of-range', weddingId: w.id, dataType: 'guests', table: t.guests, rowId: g.id, field: 'table_number', message: `guest ${g.id} is seated at table ${g.tableNumber}, but the wedding has only ${data.guests.length} guests` });
      }
    }
  }
  for (const [email, ids] of byEmail) {
    if (ids.length < 2) continue;
    findings.push({ severity: 'warning', kind: 'duplicate-guest-email', weddingId: w.id, dataType: 'guests', table: t.guests, rowId: ids[0]!, rowIds: ids, field: 'email', message: `${ids.length} guests share the e-mail address ${email}` });
  }

  // Timeline.
  const window = !blank(w.weddingDate) ? weddingDayWindow(w.weddingDate!, w.type, opts.timeZone) : null;
  const byLocation = new Map<string, TimelineRecord[]>();
  for (const e of data.timeline) {
    const label = e.title ? `"${e.title}" (${e.id})` : e.id;
    if (e.startsAt !== null && e.endsAt !== null && e.endsAt < e.startsAt) {
      findings.push({ severity: 'error', kind: 'event-ends-before-start', weddingId: w.id, dataType: 'timeline', table: t.timeline, rowId: e.id, field: 'ends_at', message: `event ${label} ends (${iso(e.endsAt, opts.timeZone)}) before it starts (${iso(e.startsAt, opts.timeZone)})` });
    }
    if (window && Number.isFinite(window.start)) {
      for (const [field, at] of [['starts_at', e.startsAt], ['ends_at', e.endsAt]] as const) {
        if (at === null) continue;
        // An end exactly at the window's end is still inside the day.
        const outside = at < window.start || at > window.end || (field === 'starts_at' && at === window.end);
        if (outside) {
          findings.push({ severity: 'error', kind: 'event-outside-wedding-day', weddingId: w.id, dataType: 'timeline', table: t.timeline, rowId: e.id, field, message: `event ${label} ${field === 'starts_at' ? 'starts' : 'ends'} at ${iso(at, opts.timeZone)} (${opts.timeZone}), outside the wedding day ${w.weddingDate}` });
          break;
        }
      }
    }
    if (e.vendorId) {
      if (e.vendorWeddingId === null) {
        findings.push({ severity: 'error', kind: 'vendor-missing', weddingId: w.id, dataType: 'timeline', table: t.timeline, rowId: e.id, field: 'vendor_id', message: `event ${label} names vendor ${e.vendorId}, which does not exist` });
      } else if (e.vendorWeddingId !== w.id) {
        findings.push({ severity: 'error', kind: 'vendor-other-wedding', weddingId: w.id, dataType: 'timeline', table: t.timeline, rowId: e.id, field: 'vendor_id', message: `event ${label} names vendor ${e.vendorId} of another wedding (${e.vendorWeddingId})` });
      }
    }
    if (!blank(e.location) && e.startsAt !== null && e.endsAt !== null && e.endsAt > e.startsAt) {
      const key = e.location!.trim().toLowerCase();
      const list = byLocation.get(key);
      if (list) list.push(e);
      else byLocation.set(key, [e]);
    }
  }
  let overlaps = 0;
  let unreported = 0;
  for (const events of byLocation.values()) {
    events.sort((a, b) => a.startsAt! - b.startsAt! || (a.id < b.id ? -1 : 1));
    for (let i = 0; i < events.length; i++) {
      const a = events[i]!;
      for (let j = i + 1; j < events.length && events[j]!.startsAt! < a.endsAt!; j++) {
        const b = events[j]!;
        overlaps++;
        if (overlaps > MAX_OVERLAP_FINDINGS) {
          unreported++;
          continue;
        }
        findings.push({
          severity: 'warning',
          kind: 'events-overlap',
          weddingId: w.id,
          dataType: 'timeline',
          table: t.timeline,
          rowId: a.id,
          rowIds: [a.id, b.id],
          field: 'starts_at',
          message: `events "${a.title ?? a.id}" (${iso(a.startsAt!, opts.timeZone)}–${iso(a.endsAt!, opts.timeZone)}) and "${b.title ?? b.id}" (${iso(b.startsAt!, opts.timeZone)}–${iso(b.endsAt!, opts.timeZone)}) overlap at ${a.location!.trim()}`,
        });
      }
    }
  }
  if (unreported > 0) {
    findings.push({ severity: 'warning', kind: 'events-overlap', weddingId: w.id, dataType: 'timeline', table: t.timeline, message: `and ${unreported} more overlapping pairs of events` });
  }
  return findings;
}

/** A wedding's report from its findings and what was checked. */
export function weddingReport(
  wedding: WeddingRecord,
  findings: DataFinding[],
  checked: WeddingDataReport['checked'],
): WeddingDataReport {
  let errors = 0;
  for (const f of findings) if (f.severity === 'error') errors++;
  const warnings = findings.length - errors;
  return {
    weddingId: wedding.id,
    coupleNames: wedding.coupleNames,
    weddingDate: wedding.weddingDate,
    status: errors > 0 ? 'errors' : warnings > 0 ? 'warnings' : 'valid',
    errors,
    warnings,
    checked,
    findings,
  };
}
