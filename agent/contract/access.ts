import { z } from 'zod';
import { uuidSchema } from './api.js';

/**
 * Access control over HTTP (WS-337): who am I, the audit trail, restore approvals.
 *   GET  /api/me                                       the caller: the agent (service) or a user with role and organization
 *   GET  /api/audit                                    the audit log, newest first (admins: their organization)
 *   POST /api/backup/recovery-operations/:id/approve   a second user (admin) approves a pending restore: body { confirmationToken } from their own preview of the same plan
 *   POST /api/backup/recovery-operations/:id/reject    … or rejects it: body { reason? }
 */
export const RoleSchema = z.enum(['admin', 'coordinator', 'viewer']);

export const MeResponseSchema = z.object({
  kind: z.enum(['service', 'user']),
  /** How the caller appears in audit rows: "agent-token" or "user:<email>". */
  label: z.string(),
  user: z
    .object({ id: z.string(), email: z.string(), role: RoleSchema, organizationId: z.string(), tokenId: z.string() })
    .nullable(),
});
export type MeResponse = z.infer<typeof MeResponseSchema>;

export const AuditListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    action: z
      .string()
      .regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/, { error: 'must be an action name like restore.start' })
      .max(100)
      .optional(),
  })
  .strict();
export type AuditListQuery = z.infer<typeof AuditListQuerySchema>;

export const AuditEntrySchema = z.object({
  seq: z.number(),
  occurredAt: z.string(),
  action: z.string(),
  outcome: z.enum(['succeeded', 'failed', 'denied', 'requested']),
  actorUserId: z.string().nullable(),
  actorLabel: z.string(),
  organizationId: z.string().nullable(),
  weddingIds: z.array(z.string()),
  target: z.string().nullable(),
  flags: z.array(z.string()),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  rowHash: z.string(),
});
export type AuditEntryBody = z.infer<typeof AuditEntrySchema>;

export const AuditListResponseSchema = z.object({ entries: z.array(AuditEntrySchema) });

export const ApproveRestoreRequestSchema = z
  .object({ confirmationToken: z.string().min(1, { error: 'is required: preview the same plan (POST /api/backup/restore/preview) and send its token' }).max(4096) })
  .strict();
export type ApproveRestoreRequest = z.infer<typeof ApproveRestoreRequestSchema>;

export const RejectRestoreRequestSchema = z.object({ reason: z.string().max(1000).optional() }).strict();
export type RejectRestoreRequest = z.infer<typeof RejectRestoreRequestSchema>;

export const OperationIdParamsSchema = z.object({ id: uuidSchema }).strict();
