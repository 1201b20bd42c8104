import { z } from 'zod';
import { BackupResultSchema, EmergencyBackupRequestSchema, uuidSchema } from './api.js';

/**
 * An emergency backup started in the background (POST /api/backup/emergency-backups → 202),
 * watched through its event stream (GET /api/events/backups/:id, agent/contract/events.ts) or
 * polled (GET /api/backup/emergency-backups/:id). The synchronous POST /api/backup/emergency-backup
 * (201 with the result) is unchanged for API clients that simply wait.
 *
 * A run is held in the agent's memory (the snapshot and its job are in the catalog as always):
 * an agent restart forgets runs, and finished ones are kept for 15 minutes (at most 100). An admin
 * may cancel a running one (POST /api/backup/emergency-backups/:id/cancel): it then ends `failed`
 * with error code CANCELLED, its message naming who cancelled it and why.
 */
export const BackupRunProgressSchema = z.object({
  phase: z.enum(['export', 'photos', 'finish']),
  rows: z.number().int().nonnegative(),
  /** Rows expected (planner statistics), 0 when unknown. */
  rowsEstimate: z.number().nonnegative(),
  bytes: z.number().nonnegative(),
  weddingsDone: z.number().int().nonnegative(),
  itemsDone: z.number().int().nonnegative(),
  itemsTotal: z.number().int().nonnegative(),
  photosDone: z.number().int().nonnegative(),
  photosTotal: z.number().int().nonnegative(),
});
export type BackupRunProgress = z.infer<typeof BackupRunProgressSchema>;

export const BackupRunSchema = z.object({
  id: uuidSchema,
  weddingId: uuidSchema,
  state: z.enum(['running', 'completed', 'failed']),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  progress: BackupRunProgressSchema.nullable(),
  result: BackupResultSchema.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type BackupRun = z.infer<typeof BackupRunSchema>;

export const StartBackupRunRequestSchema = EmergencyBackupRequestSchema;
export const BackupRunResponseSchema = z.object({ backup: BackupRunSchema });
export type BackupRunResponse = z.infer<typeof BackupRunResponseSchema>;
export const BackupRunParamsSchema = z.object({ id: uuidSchema }).strict();
/** POST /api/backup/emergency-backups/:id/cancel (admins): the body is optional; `reason` goes into the run's and the job's error. */
export const CancelBackupRunRequestSchema = z.object({ reason: z.string().trim().min(1).max(500).optional() }).strict();
export type CancelBackupRunRequest = z.infer<typeof CancelBackupRunRequestSchema>;
