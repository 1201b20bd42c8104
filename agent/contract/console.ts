import { z } from 'zod';

/**
 * Shapes the desktop console needs beyond the feature APIs: a directory of weddings to pick
 * from by couple names or date (the restore wizard, settings, filters). Read-only.
 */
export const WeddingListQuerySchema = z
  .object({
    /** Matches couple names (case-insensitive substring), an ISO date (YYYY-MM-DD) or an id prefix. */
    q: z.string().trim().max(200, { error: 'must be at most 200 characters' }).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();
export type WeddingListQuery = z.infer<typeof WeddingListQuerySchema>;

export const WeddingListItemSchema = z.object({
  id: z.string(),
  coupleNames: z.string().nullable(),
  weddingDate: z.string().nullable(),
  venueName: z.string().nullable(),
  status: z.string().nullable(),
});
export type WeddingListItem = z.infer<typeof WeddingListItemSchema>;

export const WeddingListResponseSchema = z.object({ weddings: z.array(WeddingListItemSchema) });
export type WeddingListResponse = z.infer<typeof WeddingListResponseSchema>;

/** One snapshot on the dashboard's history chart: what it added to the repository and how long its job took. */
export const BackupHistoryPointSchema = z.object({
  snapshotId: z.string(),
  createdAt: z.string(),
  snapshotType: z.string(),
  tier: z.number().nullable(),
  /** Logical size of the snapshot. */
  backupSizeBytes: z.number().nullable(),
  /** Bytes this snapshot added to the repository (deduplicated, compressed). */
  bytesNew: z.number().nullable(),
  /** Wall time of the backup job (started → completed); null when the job row is gone or unfinished. */
  durationMs: z.number().nullable(),
});
export type BackupHistoryPoint = z.infer<typeof BackupHistoryPointSchema>;

export const BackupHistoryQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(2000).default(500) }).strict();
export type BackupHistoryQuery = z.infer<typeof BackupHistoryQuerySchema>;

/** Oldest first. */
export const BackupHistoryResponseSchema = z.object({ points: z.array(BackupHistoryPointSchema) });

/**
 * One wedding compared between two snapshots (GET /api/console/snapshots/:id/weddings/:weddingId/diff?against=OTHER):
 * per table, the rows added, removed and changed going from `against` (older) to `:id`, matched
 * by primary key, with the first changed rows decoded.
 */
export const WeddingDiffParamsSchema = z.object({ id: z.uuid({ error: 'must be a UUID' }), weddingId: z.uuid({ error: 'must be a UUID' }) }).strict();
export const WeddingDiffQuerySchema = z
  .object({
    against: z.uuid({ error: 'must be a UUID' }),
    /** Changed rows listed per table (counts are always complete). */
    rows: z.coerce.number().int().min(0).max(200).default(20),
  })
  .strict();
export type WeddingDiffQuery = z.infer<typeof WeddingDiffQuerySchema>;

const diffRowValues = z.record(z.string(), z.string().nullable());
export const WeddingDiffTableSchema = z.object({
  table: z.string(),
  dataType: z.string().nullable(),
  /** both: compared · only-from / only-to: the table is in one snapshot's scope only (not compared). */
  presence: z.enum(['both', 'only-from', 'only-to']),
  added: z.number().int().nonnegative(),
  removed: z.number().int().nonnegative(),
  changed: z.number().int().nonnegative(),
  unchanged: z.number().int().nonnegative(),
  rows: z.array(z.object({ change: z.enum(['added', 'removed', 'changed']), before: diffRowValues.nullable(), after: diffRowValues.nullable() })),
});
export type WeddingDiffTable = z.infer<typeof WeddingDiffTableSchema>;

export const WeddingDiffResponseSchema = z.object({
  weddingId: z.string(),
  /** The older side. */
  from: z.object({ snapshotId: z.string(), createdAt: z.string(), inSnapshot: z.boolean() }),
  to: z.object({ snapshotId: z.string(), createdAt: z.string(), inSnapshot: z.boolean() }),
  tables: z.array(WeddingDiffTableSchema),
});
export type WeddingDiffResponse = z.infer<typeof WeddingDiffResponseSchema>;
