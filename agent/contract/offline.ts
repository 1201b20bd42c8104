import { z } from 'zod';
import { uuidSchema } from './api.js';

/**
 * Wedding-day data served from the local cache (tier 1 and offline operation, WS-337):
 *   GET /api/weddings/today          today's weddings in the cache, and the stream's state
 *   GET /api/weddings/:id/offline    one wedding's guests, timeline and vendors from the cache
 * Both answer with the database and S3 unreachable. Rows are generic (column → text value, as
 * PostgreSQL prints it) because a deployment's schema differs from the sample; the run sheet
 * (export) picks the columns it knows.
 */

/** Row values: column → PostgreSQL text output, null for NULL. */
export const RowValuesSchema = z.record(z.string(), z.string().nullable());
export type OfflineRow = z.infer<typeof RowValuesSchema>;

/** How the stream keeps the cache current. */
export const StreamModeSchema = z.enum([
  /** Logical replication (pgoutput): seconds behind. */
  'logical',
  /** wal_level is not logical: the change journal is polled every few seconds. */
  'polling',
  /** No wedding is in its high-priority period: no slot, nothing streamed. */
  'idle',
  /** The database cannot be reached: serving what the cache has. */
  'offline',
  /** Not started (CLI without an agent). */
  'stopped',
]);
export type StreamMode = z.infer<typeof StreamModeSchema>;

export const StreamStatusSchema = z.object({
  mode: StreamModeSchema,
  /** Why this mode (e.g. "wal_level is replica: polling the change journal every 2 s"). */
  detail: z.string(),
  slot: z.string().nullable(),
  /** Weddings streamed now. */
  weddings: z.number().int().nonnegative(),
  /** Commit time of the last change applied to the cache. */
  lastCommitAt: z.string().nullable(),
  /** When the cache last caught up with the database (nothing pending). */
  caughtUpAt: z.string().nullable(),
  /** WAL the server keeps for our slot (bytes), when known. */
  retainedWalBytes: z.number().nonnegative().nullable(),
  /** Problems a person should see (retained WAL past the alert level, slot dropped, …). */
  alerts: z.array(z.string()),
});
export type StreamStatus = z.infer<typeof StreamStatusSchema>;

/**
 * Whether the agent reaches its database (GET /healthz `database`, and the console's banner).
 * The agent starts and serves the cache, the console and the offline routes without it
 * ("degraded", not dead), and connects by itself when it answers (retried with backoff).
 */
export const DatabaseConnectivitySchema = z.object({
  state: z.enum(['connected', 'unreachable']),
  /** Since when it is in this state (ISO). */
  since: z.string(),
  /** The last connection error, while unreachable ("database unreachable: …"). */
  lastError: z.string().nullable(),
  /** When the agent tries again, while unreachable. */
  nextAttemptAt: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
});
export type DatabaseConnectivity = z.infer<typeof DatabaseConnectivitySchema>;

/** GET /healthz: the agent is alive; `degraded` while the database is unreachable. */
export const HealthResponseSchema = z.looseObject({
  ok: z.literal(true),
  degraded: z.boolean().optional(),
  database: DatabaseConnectivitySchema.optional(),
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

export const CacheStateSchema = z.enum(['pending', 'ready', 'kept']);

export const OfflineWeddingSummarySchema = z.object({
  weddingId: z.string(),
  coupleNames: z.string().nullable(),
  weddingDate: z.string().nullable(),
  venueName: z.string().nullable(),
  /** pending: rows not loaded yet · ready: kept current by the stream · kept: period over, rows kept. */
  state: CacheStateSchema,
  counts: z.object({ guests: z.number(), timeline: z.number(), vendors: z.number(), photos: z.number() }),
  baseSnapshotId: z.string().nullable(),
  baseAt: z.string().nullable(),
  lastChangeAt: z.string().nullable(),
});
export type OfflineWeddingSummary = z.infer<typeof OfflineWeddingSummarySchema>;

export const TodayQuerySchema = z
  .object({
    /** YYYY-MM-DD; default: today in the agent's time zone. */
    date: z.iso.date({ error: 'must be a date like 2026-06-01' }).optional(),
  })
  .strict();
export type TodayQuery = z.infer<typeof TodayQuerySchema>;

export const TodayResponseSchema = z.object({
  date: z.string(),
  /** Always "cache": these answers never need the database. */
  source: z.literal('cache'),
  stream: StreamStatusSchema,
  weddings: z.array(OfflineWeddingSummarySchema),
});
export type TodayResponse = z.infer<typeof TodayResponseSchema>;

export const OfflineWeddingParamsSchema = z.object({ id: uuidSchema }).strict();

export const OfflineWeddingSchema = z.object({
  weddingId: z.string(),
  /** The wedding's own row. */
  wedding: RowValuesSchema,
  /** Per data type, rows in run-sheet order (guests by name, timeline by start, vendors by category). */
  guests: z.array(RowValuesSchema),
  timeline: z.array(RowValuesSchema),
  vendors: z.array(RowValuesSchema),
  photos: z.array(RowValuesSchema),
  cache: z.object({
    state: CacheStateSchema,
    baseSnapshotId: z.string().nullable(),
    baseAt: z.string().nullable(),
    lastChangeAt: z.string().nullable(),
    /** How current the data is: the stream's state when read. */
    stream: StreamStatusSchema,
  }),
});
export type OfflineWedding = z.infer<typeof OfflineWeddingSchema>;

export const RunSheetFormatSchema = z.enum(['csv', 'json', 'pdf']);
export type RunSheetFormat = z.infer<typeof RunSheetFormatSchema>;

// ---------------------------------------------------------------------------------- change times

/**
 * Change log times are ISO instants with exactly six fractional digits ("…T10:00:00.123456Z"):
 * PostgreSQL commit times are microseconds, and a fixed width keeps text order equal to time
 * order (a plain toISOString "….123Z" would sort before "….123456Z").
 */
export function isoMicros(epochMicros: bigint): string {
  const ms = epochMicros / 1000n;
  const micro = Number(((epochMicros % 1_000_000n) + 1_000_000n) % 1_000_000n);
  return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${String(micro).padStart(6, '0')}Z`;
}

/** Any ISO date-time (with a zone) in the change log's fixed format; null when unparseable. */
export function toIsoMicros(iso: string): string | null {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/.exec(iso.trim());
  if (!m) return null;
  const whole = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(whole)) return null;
  const frac = BigInt((m[2] ?? '').padEnd(6, '0').slice(0, 6) || '0');
  return isoMicros(BigInt(whole) * 1000n + frac);
}
