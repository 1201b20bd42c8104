import type { CacheStore, CachedWedding, RowValues } from '../cache/store.js';
import { WedsyncError } from '../contract/errors.js';
import type { OfflineWedding, OfflineWeddingSummary, StreamStatus, TodayResponse } from '../contract/offline.js';
import type { StatusResponse } from '../contract/scheduling.js';

/**
 * Wedding-day reads from the local cache only: never the database, never S3, so they answer in
 * a barn with no signal. What the API (GET /api/weddings/today, /api/weddings/:id/offline), the
 * CLI (`export`) and the console show.
 */
export interface OfflineServices {
  today(query: { date?: string | undefined }): Promise<TodayResponse>;
  /** NOT_FOUND when the wedding is not in the cache. */
  wedding(weddingId: string): Promise<OfflineWedding>;
}

export const OFFLINE_STATUS: StreamStatus = {
  mode: 'stopped',
  detail: 'no tier 1 stream in this process: data as last cached',
  slot: null,
  weddings: 0,
  lastCommitAt: null,
  caughtUpAt: null,
  retainedWalBytes: null,
  alerts: [],
};

/** YYYY-MM-DD of `now` in `timeZone`. */
export function localDate(now: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

type Grouped = Record<'wedding' | 'guests' | 'timeline' | 'vendors' | 'photos', RowValues[]>;

function grouped(store: CacheStore, weddingId: string): Grouped {
  const byTable = new Map(store.listTableMeta().map((m) => [m.table, m.dataType]));
  const out: Grouped = { wedding: [], guests: [], timeline: [], vendors: [], photos: [] };
  for (const r of store.weddingRows(weddingId)) {
    const type = byTable.get(r.table);
    if (type === 'wedding' || type === 'guests' || type === 'timeline' || type === 'vendors' || type === 'photos') out[type].push(r.values);
  }
  return out;
}

const text = (v: string | null | undefined) => (v ?? '').toLowerCase();
const byKeys =
  (...cols: string[]) =>
  (a: RowValues, b: RowValues) => {
    for (const c of cols) {
      const x = text(a[c]);
      const y = text(b[c]);
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };
const byNumber = (col: string) => (a: RowValues, b: RowValues) => Number(a[col] ?? 0) - Number(b[col] ?? 0);

function summary(store: CacheStore, w: CachedWedding): OfflineWeddingSummary {
  const g = grouped(store, w.weddingId);
  return {
    weddingId: w.weddingId,
    coupleNames: g.wedding[0]?.couple_names ?? w.coupleNames,
    weddingDate: w.weddingDate,
    venueName: g.wedding[0]?.venue_name ?? w.venueName,
    state: w.state,
    counts: { guests: g.guests.length, timeline: g.timeline.length, vendors: g.vendors.length, photos: g.photos.length },
    baseSnapshotId: w.baseSnapshotId,
    baseAt: w.baseAt,
    lastChangeAt: w.lastChangeAt,
  };
}

/** One cached wedding in run-sheet order (guests by name, timeline by start, vendors by category). */
export function readOfflineWedding(store: CacheStore, weddingId: string, stream: StreamStatus = OFFLINE_STATUS): OfflineWedding {
  const w = store.getWedding(weddingId);
  if (!w) throw new WedsyncError('NOT_FOUND', `wedding ${weddingId} is not in the local cache (only weddings in their high-priority period are cached)`);
  if (w.state === 'pending') throw new WedsyncError('NOT_FOUND', `wedding ${weddingId} is being loaded into the local cache: try again in a moment`);
  const g = grouped(store, weddingId);
  const timelineOrder = (a: RowValues, b: RowValues) => byKeys('starts_at')(a, b) || byNumber('sort_order')(a, b) || byKeys('title')(a, b);
  return {
    weddingId,
    wedding: g.wedding[0] ?? { id: weddingId },
    guests: g.guests.sort(byKeys('last_name', 'first_name', 'id')),
    timeline: g.timeline.sort(timelineOrder),
    vendors: g.vendors.sort(byKeys('category', 'name', 'id')),
    photos: g.photos.sort(byKeys('taken_at', 'id')),
    cache: { state: w.state, baseSnapshotId: w.baseSnapshotId, baseAt: w.baseAt, lastChangeAt: w.lastChangeAt, stream },
  };
}

export function readToday(store: CacheStore, date: string, stream: StreamStatus = OFFLINE_STATUS): TodayResponse {
  const weddings = store.listWeddings({ date, states: ['ready', 'kept'] }).map((w) => summary(store, w));
  return { date, source: 'cache', stream, weddings };
}

export function createOfflineServices(deps: { store: CacheStore; timeZone: string; status?: () => StreamStatus; now?: () => Date }): OfflineServices {
  const status = () => deps.status?.() ?? OFFLINE_STATUS;
  return {
    async today(query) {
      return readToday(deps.store, query.date ?? localDate(deps.now?.() ?? new Date(), deps.timeZone), status());
    },
    async wedding(weddingId) {
      return readOfflineWedding(deps.store, weddingId, status());
    },
  };
}

/** A catalog snapshot row as the mirror needs it (catalog/backups.ts SnapshotRow). */
export interface MirroredSnapshotRow {
  id: string;
  snapshotType: string;
  weddingIds: string[];
  storageLocation: string | null;
  validationStatus: string;
  validationCompletedAt: string | null;
  createdAt: string;
  [field: string]: unknown;
}

/**
 * Replaces the cache's snapshot mirror (and validation results) with the catalog's current rows,
 * so the console can browse snapshots with the database gone. `rows` is the whole list.
 */
export function refreshSnapshotMirror(store: CacheStore, rows: MirroredSnapshotRow[]): number {
  store.transaction(() => {
    store.putSnapshots(
      rows.map((r) => {
        const { organizationIds: _o, validationDetails: _v, ...summary } = r;
        return { id: r.id, createdAt: r.createdAt, snapshotType: r.snapshotType, storageLocation: r.storageLocation, weddingIds: r.weddingIds, summary };
      }),
    );
    store.retainSnapshots(rows.map((r) => r.id));
    for (const r of rows) {
      if (r.validationStatus !== 'pending') store.putValidation({ snapshotId: r.id, status: r.validationStatus, completedAt: r.validationCompletedAt, details: r.validationDetails ?? null });
    }
    store.setCheckpoint('snapshots.refreshedAt', new Date().toISOString());
  });
  return rows.length;
}

/**
 * GET /api/backup/status while the agent cannot reach its database: degraded, not dead. Nothing
 * is claimed about RPOs or jobs (they live in the database); the warning says why and what still
 * works, and the tier 1 stream's state is named.
 */
export function offlineStatusResponse(input: { timeZone: string; reason: string; stream: StreamStatus | null; now?: Date }): StatusResponse {
  const reason = input.reason.replace(/^database unreachable:?\s*/i, '');
  const warnings = [`database unreachable: ${reason}; serving the local cache (today's weddings, run sheets, queued restores) and reconnecting by itself`];
  if (input.stream) warnings.push(`tier 1 stream: ${input.stream.mode} (${input.stream.detail})`);
  return {
    generatedAt: (input.now ?? new Date()).toISOString(),
    timeZone: input.timeZone,
    healthy: false,
    weddings: [],
    tiers: [],
    queue: { pending: 0, running: 0, failedLastDay: 0, retrying: 0 },
    failingJobs: [],
    agents: [],
    warnings,
  };
}
