import { z } from 'zod';
import { DataTypeSchema } from './schema-map.js';

/**
 * HTTP API shapes. Every request body, query and params object is parsed with these schemas
 * (a bad one is a 400 naming each bad field); the console and other clients import the types.
 */
export const uuidSchema = z.uuid({ error: 'must be a UUID' });

/** The error body of every 4xx/5xx: `{ error: { code, message, fields? } }`. */
export const ApiErrorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  }),
});
export type ApiError = z.infer<typeof ApiErrorSchema>;

export const SnapshotListQuerySchema = z
  .object({
    weddingId: uuidSchema.optional(),
    type: z.enum(['full', 'incremental', 'emergency', 'recovery-point', 'point-in-time']).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .strict();
export type SnapshotListQuery = z.infer<typeof SnapshotListQuerySchema>;

export const SnapshotSummarySchema = z.object({
  id: z.string(),
  backupJobId: z.string().nullable(),
  snapshotType: z.string(),
  tier: z.number().nullable(),
  parentSnapshotId: z.string().nullable(),
  weddingIds: z.array(z.string()),
  dataTypes: z.array(z.string()).nullable(),
  tableCount: z.number().nullable(),
  weddingCount: z.number().nullable(),
  rowCount: z.number().nullable(),
  photoCount: z.number().nullable(),
  photoProblems: z.number().nullable(),
  backupSizeBytes: z.number().nullable(),
  bytesNew: z.number().nullable(),
  compressionRatio: z.number().nullable(),
  dataIntegrityHash: z.string().nullable(),
  encryptionKeyId: z.string().nullable(),
  storageLocation: z.string().nullable(),
  storageProvider: z.string().nullable(),
  validationStatus: z.string(),
  validationCompletedAt: z.string().nullable(),
  retentionUntil: z.string().nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
});
export type SnapshotSummary = z.infer<typeof SnapshotSummarySchema>;

export const SnapshotListResponseSchema = z.object({ snapshots: z.array(SnapshotSummarySchema) });

export const SnapshotIdParamsSchema = z.object({ id: uuidSchema }).strict();

export const SnapshotWeddingSchema = z.object({
  weddingId: z.string(),
  weddingDate: z.string().nullable(),
  organizationId: z.string().nullable(),
  rowCounts: z.record(z.string(), z.number()),
  photos: z.number(),
  segments: z.number(),
  rawBytes: z.number(),
});

export const SnapshotDetailResponseSchema = z.object({
  snapshot: SnapshotSummarySchema,
  scope: z.object({ kind: z.string(), weddingIds: z.array(z.string()).optional(), dataTypes: z.array(z.string()).optional() }),
  tables: z.array(z.object({ table: z.string(), dataType: z.string().nullable(), rows: z.number() })),
  weddings: z.array(SnapshotWeddingSchema),
  photoProblems: z.array(z.object({ weddingId: z.string(), photoId: z.string(), storageKey: z.string(), problem: z.string(), detail: z.string() })),
});
export type SnapshotDetail = z.infer<typeof SnapshotDetailResponseSchema>;

/** performEmergencyBackup of the WS-337 spec. */
export const EmergencyBackupRequestSchema = z
  .object({
    weddingId: uuidSchema,
    dataTypes: z.array(DataTypeSchema).min(1).optional(),
  })
  .strict();
export type EmergencyBackupRequest = z.infer<typeof EmergencyBackupRequestSchema>;

export const BackupResultSchema = z.object({
  snapshotId: z.string(),
  jobId: z.string(),
  type: z.string(),
  weddingCount: z.number(),
  rowCount: z.number(),
  bytesNew: z.number(),
  bytesTotal: z.number(),
  durationMs: z.number(),
});
export type BackupResultBody = z.infer<typeof BackupResultSchema>;
