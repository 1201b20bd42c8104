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
