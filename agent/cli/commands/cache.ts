import type { CacheStore } from '../../cache/store.js';
import type { OfflineWedding } from '../../contract/offline.js';
import type { CommandContext } from '../context.js';
import { table, type CommandResult } from '../output.js';

/**
 * `wedsync-backup cache [--date YYYY-MM-DD] [--wedding ID]`: what the local cache holds, with no
 * database: today's (or that day's) weddings, or one wedding's guests, timeline and vendors.
 * Also run without commander, zod or the logger by cli/fast-cache.ts (a fresh process opening a
 * wedding offline), so this file imports nothing heavy at its top.
 */
export function timeZoneOf(opts: Record<string, unknown> = {}): string {
  return (opts.timeZone as string | undefined) ?? process.env.WEDSYNC_TIME_ZONE ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
}

type Rebuilt = { reason: string; movedTo: string; weddings: number } | null;

/** One wedding's run sheet as the command prints it. */
export function weddingResult(w: OfflineWedding, rebuilt: Rebuilt): CommandResult {
  const text = [
    `${w.wedding.couple_names ?? w.weddingId}  ${w.wedding.wedding_date ?? ''}  ${w.wedding.venue_name ?? ''}  (cache: ${w.cache.state}, data as of ${w.cache.lastChangeAt ?? w.cache.baseAt})`,
    '',
    `TIMELINE (${w.timeline.length})`,
    table(['START', 'WHAT', 'WHERE'], w.timeline.map((t) => [t.starts_at, t.title, t.location])),
    '',
    `VENDORS (${w.vendors.length})`,
    table(['CATEGORY', 'NAME', 'CONTACT', 'PHONE'], w.vendors.map((v) => [v.category, v.name, v.contact_name, v.phone])),
    '',
    `GUESTS (${w.guests.length})`,
    table(['NAME', 'RSVP', 'TABLE', 'DIETARY'], w.guests.map((g) => [[g.first_name, g.last_name].filter(Boolean).join(' '), g.rsvp_status, g.table_number, g.dietary_requirements])),
  ].join('\n');
  return { json: { ok: true, ...w, ...(rebuilt ? { cacheRebuilt: rebuilt } : {}) }, text };
}

/** The weddings of one day, and what the cache holds. */
export async function dayResult(store: CacheStore, date: string, rebuilt: Rebuilt): Promise<CommandResult> {
  const { readToday } = await import('../../jobs/offline.js');
  const today = readToday(store, date);
  const stats = store.stats();
  const text = [
    `local cache ${store.location}: ${stats.weddings} weddings, ${stats.rows} rows, ${stats.changes} logged changes, ${stats.queuedRestores} queued restores`,
    '',
    today.weddings.length
      ? table(['WEDDING', 'COUPLE', 'VENUE', 'STATE', 'GUESTS', 'TIMELINE', 'VENDORS', 'DATA AS OF'], today.weddings.map((w) => [w.weddingId, w.coupleNames, w.venueName, w.state, w.counts.guests, w.counts.timeline, w.counts.vendors, w.lastChangeAt ?? w.baseAt]))
      : `no cached wedding on ${date}`,
  ].join('\n');
  return { json: { ok: true, ...today, stats, ...(rebuilt ? { cacheRebuilt: rebuilt } : {}) }, text };
}

export async function run(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const [{ openLocalCache }, { readOfflineWedding, localDate }] = await Promise.all([import('./stream.js'), import('../../jobs/offline.js')]);
  const { store, rebuilt } = await openLocalCache(ctx.config, ctx.logger);
  try {
    const weddingId = opts.wedding as string | undefined;
    if (weddingId) return weddingResult(readOfflineWedding(store, weddingId), rebuilt);
    return await dayResult(store, (opts.date as string | undefined) ?? localDate(new Date(), timeZoneOf(opts)), rebuilt);
  } finally {
    store.close();
  }
}
