import { z } from 'zod';
import { uuidSchema } from './api.js';
import { RestorePreviewSchema } from './restore.js';
import { DataTypeSchema } from './schema-map.js';

/**
 * "Restore a wedding as it was at a time" over HTTP (the console's guided restore; the CLI's
 * `restore --wedding ID --at T`), within tier 1's window for that wedding:
 *
 *   GET  /api/backup/point-in-time/:weddingId/window   the window [from, to] T may be picked in (null: not streamed)
 *   POST /api/backup/point-in-time/preview             { weddingId, at, dataTypes? } → the rows at T rebuilt from the
 *                                                      local cache and repository (a snapshot of kind point-in-time),
 *                                                      and the usual preview of restoring them, with its token
 *   POST /api/backup/point-in-time/restore             { weddingId, snapshotId, dataTypes?, confirmationToken }
 *                                                      → 202 { operation } of type point-in-time (progress: events)
 *
 * The restore, its recovery point and its undo use the local repository; undo goes through the
 * usual `POST /api/backup/recovery-operations/:id/undo(-preview)`. Errors: T unparsable, in the
 * future or outside the window → 400 naming `at` and the window; a wedding tier 1 does not
 * stream → 404; a snapshotId this agent did not prepare for that wedding → 400.
 */
export const PointInTimeWindowParamsSchema = z.object({ weddingId: uuidSchema }).strict();

export const PointInTimeWindowSchema = z.object({ from: z.string(), to: z.string() });

export const PointInTimeWindowResponseSchema = z.object({
  weddingId: z.string(),
  /** null: the wedding is not in the local cache with a base snapshot (tier 1 does not stream it, or not yet). */
  window: PointInTimeWindowSchema.nullable(),
  /** Why there is no window. */
  reason: z.string().nullable(),
});
export type PointInTimeWindowResponse = z.infer<typeof PointInTimeWindowResponseSchema>;

const isoWithZone = z
  .string()
  .max(64, { error: 'must be an ISO date-time' })
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/, { error: 'must be an ISO date-time with a zone, like 2026-06-01T14:00:00Z' });

export const PointInTimePreviewRequestSchema = z
  .object({
    weddingId: uuidSchema,
    at: isoWithZone,
    /** Only these data types (a selective restore); absent: everything of the wedding (wedding-only). */
    dataTypes: z.array(DataTypeSchema).min(1, { error: 'must list at least one data type' }).optional(),
  })
  .strict();
export type PointInTimePreviewRequest = z.infer<typeof PointInTimePreviewRequestSchema>;

export const PointInTimeSchema = z.object({
  weddingId: z.string(),
  /** T as the change log has it (µs, UTC). */
  at: z.string(),
  /** The snapshot (kind point-in-time, local repository) holding the wedding's rows at T. */
  snapshotId: z.string(),
  baseSnapshotId: z.string(),
  changesApplied: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
  window: PointInTimeWindowSchema,
  photos: z.object({ files: z.number().int().nonnegative(), withoutFile: z.number().int().nonnegative() }),
});
export type PointInTimeBody = z.infer<typeof PointInTimeSchema>;

export const PointInTimePreviewResponseSchema = z.object({ pointInTime: PointInTimeSchema, preview: RestorePreviewSchema });
export type PointInTimePreviewResponse = z.infer<typeof PointInTimePreviewResponseSchema>;

export const PointInTimeRestoreRequestSchema = z
  .object({
    weddingId: uuidSchema,
    snapshotId: uuidSchema,
    dataTypes: z.array(DataTypeSchema).min(1, { error: 'must list at least one data type' }).optional(),
    confirmationToken: z.string().min(1, { error: 'is required: get one from POST /api/backup/point-in-time/preview' }),
  })
  .strict();
export type PointInTimeRestoreRequest = z.infer<typeof PointInTimeRestoreRequestSchema>;
