import { z } from 'zod';
import { uuidSchema } from './api.js';
import { RecoveryOperationSchema, RecoveryScopeSchema, RestoreCountsSchema, RestorePreviewSchema } from './restore.js';

/**
 * Restores queued while the database was unreachable (tier 1 / offline wedding day, WS-337).
 * A restore asked for in a barn is prepared from the local cache and repository and waits in the
 * cache's queue; once the database answers, a person previews it against the database as it is
 * then, and confirms it with that preview's token — the same plan → preview → confirm →
 * recovery point path as every restore. Items the person queued "confirmed" (`--yes`) run by
 * themselves when the database is back.
 *
 *   GET  /api/backup/queued-restores[?status=queued]    the queue, newest first, and whether the database answers
 *   POST /api/backup/queued-restores/:id/preview        preview against the live database now + a confirmation
 *                                                       token (503 DB_UNREACHABLE while it is still down)
 *   POST /api/backup/queued-restores/:id/confirm        { confirmationToken } → 202 { queued, operation }: runs it
 *   POST /api/backup/queued-restores/:id/cancel         → { queued } (status cancelled); only a queued item
 *
 * Errors: unknown id → 404; an item that is not `queued` (running, done, failed, cancelled) →
 * 409 CONFLICT naming its status; a token from another preview or expired → 400/409 as for
 * every restore.
 */

export const QueuedRestoreStatusSchema = z.enum(['queued', 'running', 'done', 'failed', 'cancelled']);
export type QueuedRestoreStatusName = z.infer<typeof QueuedRestoreStatusSchema>;

export const QueuedRestoreKindSchema = z.enum([
  /** A snapshot restore (`restore SNAPSHOT --scope …`). */
  'snapshot',
  /** A wedding as it was at `at` (`restore --wedding ID --at T`): the rows at T are already rebuilt. */
  'point-in-time',
]);

export const QueuedRestoreSchema = z.object({
  id: z.string(),
  kind: QueuedRestoreKindSchema,
  status: QueuedRestoreStatusSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Weddings it restores. */
  weddingIds: z.array(z.string()),
  /** Data types it restores; null: every data type of those weddings. */
  dataTypes: z.array(z.string()).nullable(),
  recoveryScope: RecoveryScopeSchema,
  /** Point in time: T as asked (µs ISO); null for a snapshot restore. */
  at: z.string().nullable(),
  /** The snapshot the restore reads (for point in time: the rows rebuilt as of T). */
  snapshotId: z.string().nullable(),
  /** The person said "yes, as soon as the database is back": it runs without another confirmation. */
  confirmed: z.boolean(),
  /** The agent previewed it once the database was back and waits for a person to confirm. */
  awaitingConfirmation: z.boolean(),
  initiatedByLabel: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
  /** Why the last attempt did not finish (database gone again, plan refused, …). */
  lastError: z.string().nullable(),
  /** The recovery operation that ran it (done, failed after it started). */
  operationId: z.string().nullable(),
  /** Counts of the last preview the agent computed, when it did. */
  lastPreview: z.object({ totals: RestoreCountsSchema, items: z.number().int().nonnegative(), notes: z.array(z.string()) }).nullable(),
});
export type QueuedRestoreView = z.infer<typeof QueuedRestoreSchema>;

export const QueuedRestoreListQuerySchema = z
  .object({
    status: QueuedRestoreStatusSchema.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();
export type QueuedRestoreListQuery = z.infer<typeof QueuedRestoreListQuerySchema>;

export const QueuedRestoreListResponseSchema = z.object({
  queued: z.array(QueuedRestoreSchema),
  /** Whether the agent reaches the database now: a preview needs it. */
  database: z.enum(['reachable', 'unreachable']),
});
export type QueuedRestoreListResponse = z.infer<typeof QueuedRestoreListResponseSchema>;

export const QueuedRestoreIdParamsSchema = z.object({ id: uuidSchema }).strict();

export const QueuedRestorePreviewResponseSchema = z.object({
  queued: QueuedRestoreSchema,
  /** Against the live database now; its confirmationToken confirms exactly this plan. */
  preview: RestorePreviewSchema,
});
export type QueuedRestorePreviewResponse = z.infer<typeof QueuedRestorePreviewResponseSchema>;

export const QueuedRestoreConfirmRequestSchema = z
  .object({ confirmationToken: z.string().min(1, { error: 'is required: get one from POST /api/backup/queued-restores/:id/preview' }) })
  .strict();
export type QueuedRestoreConfirmRequest = z.infer<typeof QueuedRestoreConfirmRequestSchema>;

export const QueuedRestoreConfirmResponseSchema = z.object({
  queued: QueuedRestoreSchema,
  /** The restore, running (poll GET /api/backup/recovery-operations/:id). */
  operation: RecoveryOperationSchema,
});
export type QueuedRestoreConfirmResponse = z.infer<typeof QueuedRestoreConfirmResponseSchema>;

export const QueuedRestoreResponseSchema = z.object({ queued: QueuedRestoreSchema });
