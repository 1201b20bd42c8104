import { z } from 'zod';
import { uuidSchema } from './api.js';
import { postgresUrl } from './config.js';
import { DataTypeSchema } from './schema-map.js';

/**
 * Guided restore (WS-337): plan → preview → confirm → recovery point → apply → verify → audit.
 * These are the shapes the API parses and returns and the CLI prints with --json.
 *
 * Scopes:
 *  - `complete`: every table of the snapshot, whole database (no weddingIds, no dataTypes).
 *  - `wedding-only`: every data type of the given weddings, the wedding row itself included
 *    (weddingIds required, no dataTypes: use `selective` to pick data types).
 *  - `selective`: the given data types (required), of the given weddings or, without weddingIds,
 *    of every wedding in the snapshot.
 */
export const RecoveryScopeSchema = z.enum(['complete', 'selective', 'wedding-only']);
export type RecoveryScope = z.infer<typeof RecoveryScopeSchema>;

export const RecoveryOperationTypeSchema = z.enum(['full-restore', 'selective-restore', 'emergency-restore', 'point-in-time', 'undo']);
export type RecoveryOperationType = z.infer<typeof RecoveryOperationTypeSchema>;

export const RecoveryStatusSchema = z.enum(['pending', 'awaiting-approval', 'running', 'completed', 'failed', 'cancelled']);
export type RecoveryStatus = z.infer<typeof RecoveryStatusSchema>;

/** A data type as a restore item reports it: the four of the schema map, `wedding` (the wedding row) or null (tables outside the map, or mapped without a type). */
export const RestoreItemDataTypeSchema = z.enum(['wedding', 'guests', 'timeline', 'photos', 'vendors']).nullable();

/**
 * Where photo files of a restore into another database go: a folder path, file://…, s3://bucket/prefix
 * or memory://name (tests). The store itself checks the rest when it opens.
 */
const photoStoreLocation = z
  .string()
  .min(1, { error: 'must be a folder path or s3://bucket/prefix' })
  .max(4096, { error: 'is too long' })
  .refine((v) => !v.includes('\0'), { error: 'must not contain NUL bytes' })
  .refine((v) => {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(v)?.[1]?.toLowerCase();
    return scheme === undefined || scheme === 's3' || scheme === 'file' || scheme === 'memory';
  }, { error: 'must be a folder path, file://… or s3://bucket/prefix' });

const planFields = {
  backupId: uuidSchema,
  recoveryScope: RecoveryScopeSchema,
  weddingIds: z.array(uuidSchema).min(1, { error: 'must list at least one wedding' }).optional(),
  dataTypes: z.array(DataTypeSchema).min(1, { error: 'must list at least one data type' }).optional(),
  /**
   * Restore into this database instead of the live one (the CLI's --target-url), e.g. an empty
   * one for inspection (a complete restore recreates the schema there). Admins only.
   */
  targetUrl: postgresUrl.optional(),
  /**
   * With targetUrl: the photo store the photo files in scope are written to (the CLI's
   * --target-photo-store). Without it a restore into another database writes no photo file and
   * says so. Admins only.
   */
  targetPhotoStore: photoStoreLocation.optional(),
};

/** The scope rules above, reported on the field that is wrong. */
function checkScope(v: { recoveryScope: RecoveryScope; weddingIds?: string[] | undefined; dataTypes?: string[] | undefined }, ctx: z.core.$RefinementCtx): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (v.recoveryScope === 'complete') {
    if (v.weddingIds) issue('weddingIds', 'a complete restore takes no weddingIds (use recoveryScope wedding-only or selective)');
    if (v.dataTypes) issue('dataTypes', 'a complete restore takes no dataTypes (use recoveryScope selective)');
  } else if (v.recoveryScope === 'wedding-only') {
    if (!v.weddingIds) issue('weddingIds', 'a wedding-only restore needs weddingIds');
    if (v.dataTypes) issue('dataTypes', 'a wedding-only restore restores every data type; to pick data types use recoveryScope selective');
  } else if (!v.dataTypes) {
    issue('dataTypes', 'a selective restore needs dataTypes');
  }
}

/** targetPhotoStore only goes with targetUrl: into the live database photo files go to the agent's photo store. */
function checkTarget(v: { targetUrl?: string | undefined; targetPhotoStore?: string | undefined }, ctx: z.core.$RefinementCtx): void {
  if (v.targetPhotoStore !== undefined && v.targetUrl === undefined) {
    ctx.addIssue({ code: 'custom', path: ['targetPhotoStore'], message: "needs targetUrl: a restore into the live database writes photo files to the agent's photo store" });
  }
}

function checkPlan(v: Parameters<typeof checkScope>[0] & Parameters<typeof checkTarget>[0], ctx: z.core.$RefinementCtx): void {
  checkScope(v, ctx);
  checkTarget(v, ctx);
}

/** What to restore: the body of the preview call (and the emergency restore, less its token). */
export const RestorePlanRequestSchema = z.object(planFields).strict().superRefine(checkPlan);
export type RestorePlanRequest = z.infer<typeof RestorePlanRequestSchema>;

/** `POST /api/backup/emergency-restore`, exactly as the WS-337 spec's emergency-restore endpoint. */
export const EmergencyRestoreRequestSchema = z
  .object({ ...planFields, confirmationToken: z.string().min(1, { error: 'is required: get one from POST /api/backup/restore/preview' }) })
  .strict()
  .superRefine(checkPlan);
export type EmergencyRestoreRequest = z.infer<typeof EmergencyRestoreRequestSchema>;

const count = z.number().int().nonnegative();

/** Row changes a restore makes: to turn the live rows into the snapshot's. */
export const RestoreCountsSchema = z.object({
  inserted: count,
  updated: count,
  deleted: count,
  unchanged: count,
});
export type RestoreCounts = z.infer<typeof RestoreCountsSchema>;

/** One (wedding, table) of the plan: null weddingId for tables (or rows) that belong to no wedding. */
export const RestorePreviewItemSchema = RestoreCountsSchema.extend({
  weddingId: z.string().nullable(),
  dataType: RestoreItemDataTypeSchema,
  table: z.string(),
  snapshotRows: count,
  liveRows: count,
  segments: count,
});
export type RestorePreviewItem = z.infer<typeof RestorePreviewItemSchema>;

export const RestorePlanSummarySchema = z.object({
  snapshotId: z.string(),
  snapshotType: z.string(),
  snapshotCreatedAt: z.string(),
  recoveryScope: RecoveryScopeSchema,
  /** Weddings restored (complete: every wedding of the snapshot). */
  weddingIds: z.array(z.string()),
  dataTypes: z.array(z.string()),
  /** Qualified tables touched, parents before children. */
  tables: z.array(z.string()),
  /** Where the rows go: "live" or host:port/db of --target-url. */
  target: z.string(),
  /** True when the target holds none of the snapshot's tables: the schema is recreated first. */
  emptyTarget: z.boolean(),
  segments: count,
  snapshotRows: count,
  photos: count,
});
export type RestorePlanSummary = z.infer<typeof RestorePlanSummarySchema>;

export const RestorePreviewSchema = z.object({
  plan: RestorePlanSummarySchema,
  totals: RestoreCountsSchema,
  /** Per wedding and table; dataType groups tables the way a coordinator thinks. */
  items: z.array(RestorePreviewItemSchema),
  /** Photo files the restore writes back (missing or different in the photo store). */
  photos: z.object({ inScope: count, toWrite: count, skipped: z.string().optional() }),
  notes: z.array(z.string()),
  estimatedDurationMs: count,
  /** Bound to this exact plan and the live rows it was computed from; single use. */
  confirmationToken: z.string(),
  expiresAt: z.string(),
});
export type RestorePreview = z.infer<typeof RestorePreviewSchema>;

/** The rows behind a preview item, paged: `POST /api/backup/restore/preview/rows`. */
export const RestoreDiffRowsRequestSchema = z
  .object({
    ...planFields,
    /** The wedding of the item; omit for rows that belong to no wedding. */
    weddingId: uuidSchema.optional(),
    table: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/, { error: 'must be schema.table' }),
    change: z.enum(['inserted', 'updated', 'deleted']).optional(),
    offset: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  .strict()
  .superRefine(checkPlan);
export type RestoreDiffRowsRequest = z.infer<typeof RestoreDiffRowsRequestSchema>;

const rowValues = z.record(z.string(), z.string().nullable());
export const RestoreDiffRowSchema = z.object({
  change: z.enum(['inserted', 'updated', 'deleted']),
  /** Primary key columns → values (text as PostgreSQL prints them). */
  key: rowValues,
  /** The live row (updated, deleted). */
  before: rowValues.nullable(),
  /** The snapshot's row (inserted, updated). */
  after: rowValues.nullable(),
});
export type RestoreDiffRow = z.infer<typeof RestoreDiffRowSchema>;

export const RestoreDiffRowsResponseSchema = z.object({
  table: z.string(),
  weddingId: z.string().nullable(),
  total: count,
  offset: count,
  rows: z.array(RestoreDiffRowSchema),
});
export type RestoreDiffRowsResponse = z.infer<typeof RestoreDiffRowsResponseSchema>;

export const RestoreProgressSchema = z.object({
  phase: z.enum(['plan', 'load', 'recovery-point', 'apply', 'verify', 'photos', 'commit', 'done']),
  done: count,
  total: count,
});
export type RestoreProgress = z.infer<typeof RestoreProgressSchema>;

/** A `recovery_operations` row: the audit record of one restore or undo. */
export const RecoveryOperationSchema = z.object({
  id: z.string(),
  operationType: RecoveryOperationTypeSchema,
  recoveryScope: RecoveryScopeSchema,
  backupSnapshotId: z.string().nullable(),
  /** The recovery point taken before anything changed: what `undo` restores. */
  preRecoverySnapshot: z.string().nullable(),
  initiatedBy: z.string().nullable(),
  initiatedByLabel: z.string().nullable(),
  authorizedBy: z.string().nullable(),
  affectedWeddings: z.array(z.string()),
  dataTypes: z.array(z.string()).nullable(),
  /** What changed: counts per table and data type, the plan, the confirmation token id. */
  dataRestored: z.unknown().nullable(),
  estimatedDurationMs: z.number().nullable(),
  actualDurationMs: z.number().nullable(),
  status: RecoveryStatusSchema,
  errorDetails: z.unknown().nullable(),
  /** Verification: per (wedding, table) rows and hashes compared with the snapshot. */
  successMetrics: z.unknown().nullable(),
  targetDatabase: z.string().nullable(),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  createdAt: z.string(),
  /** Live progress while this agent runs it (absent otherwise). */
  progress: RestoreProgressSchema.optional(),
});
export type RecoveryOperation = z.infer<typeof RecoveryOperationSchema>;

export const RecoveryOperationListQuerySchema = z
  .object({
    weddingId: uuidSchema.optional(),
    status: RecoveryStatusSchema.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(50),
  })
  .strict();
export type RecoveryOperationListQuery = z.infer<typeof RecoveryOperationListQuerySchema>;

export const RecoveryOperationListResponseSchema = z.object({ operations: z.array(RecoveryOperationSchema) });
export const RecoveryOperationIdParamsSchema = z.object({ id: uuidSchema }).strict();
export const RecoveryOperationResponseSchema = z.object({ operation: RecoveryOperationSchema });

/** `POST /api/backup/recovery-operations/:id/undo`: confirms an undo with the token its undo preview issued. */
export const UndoRequestSchema = z.object({ confirmationToken: z.string().min(1, { error: 'is required: get one from POST /api/backup/recovery-operations/:id/undo-preview' }) }).strict();
export type UndoRequest = z.infer<typeof UndoRequestSchema>;
