import type { FastifyInstance } from 'fastify';
import {
  ApproveRestoreRequestSchema,
  AuditListQuerySchema,
  AuditListResponseSchema,
  MeResponseSchema,
  OperationIdParamsSchema,
  RejectRestoreRequestSchema,
} from '../../contract/access.js';
import { WedsyncError } from '../../contract/errors.js';
import { EmergencyRestoreRequestSchema, RecoveryOperationResponseSchema } from '../../contract/restore.js';
import type { AccessCatalog } from '../../catalog/rls.js';
import { principalLabel, principalOf } from '../auth.js';
import { parse, send } from '../http.js';
import type { ApiServices } from '../services.js';

/**
 * Access control over HTTP (shapes: agent/contract/access.ts; who may call each: authz.ts):
 *   GET  /api/me                                       the caller
 *   GET  /api/audit                                    the audit log (admins: their organization's rows, by RLS)
 *   POST /api/backup/recovery-operations/:id/approve   a second user approves a pending restore → 202 the restore that now runs
 *   POST /api/backup/recovery-operations/:id/reject    … or rejects it → the closed request
 * Approving needs the approver's own confirmation token, from a preview of the same plan: they
 * see what will change before anything does, and the engine checks the token against the plan.
 */
export function registerAccessRoutes(app: FastifyInstance, services: ApiServices): void {
  const access = (): AccessCatalog => {
    if (!services.access) throw new WedsyncError('NOT_FOUND', 'access control is not available in this agent');
    return services.access;
  };
  const restore = () => {
    if (!services.restore) throw new WedsyncError('NOT_FOUND', 'restore is not available in this agent');
    return services.restore;
  };

  app.get('/api/me', async (req, reply) => {
    const p = principalOf(req);
    return send(reply, MeResponseSchema, {
      kind: p.kind,
      label: principalLabel(p),
      user: p.kind === 'user' ? { id: p.userId, email: p.email, role: p.role, organizationId: p.organizationId, tokenId: p.tokenId } : null,
    });
  });

  app.get('/api/audit', async (req, reply) => {
    const q = parse(AuditListQuerySchema, req.query, 'query');
    const p = principalOf(req);
    return send(reply, AuditListResponseSchema, { entries: await access().listAudit(p.kind === 'user' ? p : null, { limit: q.limit, ...(q.action ? { action: q.action } : {}) }) });
  });

  app.post('/api/backup/recovery-operations/:id/approve', async (req, reply) => {
    const { id } = parse(OperationIdParamsSchema, req.params, 'params');
    const { confirmationToken } = parse(ApproveRestoreRequestSchema, req.body, 'body');
    const p = principalOf(req);
    const pending = await access().pendingRestore(id);
    if (!pending) throw new WedsyncError('NOT_FOUND', `recovery operation ${id} not found`);
    if (pending.status !== 'awaiting-approval' || !pending.request) throw new WedsyncError('CONFLICT', `recovery operation ${id} is not awaiting approval (status ${pending.status})`);
    const approver = { userId: p.kind === 'user' ? p.userId : null, label: principalLabel(p) };
    await access().claimPending(id);
    let operation;
    try {
      // Parsed like a request: the stored plan goes through the same checks as one sent by a client.
      operation = await restore().emergencyRestore(parse(EmergencyRestoreRequestSchema, { ...pending.request, confirmationToken }, 'body'));
    } catch (err) {
      await access().releasePending(id);
      throw err;
    }
    const who = { initiatedBy: pending.initiatedBy, initiatedByLabel: pending.initiatedByLabel ?? 'unknown', authorizedBy: approver.userId };
    await access().setInitiator(operation.id, who);
    await access().resolvePending(id, { state: 'approved', by: approver.label, byUserId: approver.userId, operationId: operation.id });
    await access().audit({
      action: 'restore.approve',
      outcome: 'succeeded',
      actor: approver,
      organizationId: p.kind === 'user' ? p.organizationId : null,
      weddingIds: operation.affectedWeddings,
      target: `recovery_operation:${operation.id}`,
      details: { request: id, requestedBy: pending.initiatedByLabel, snapshotId: operation.backupSnapshotId, recoveryScope: operation.recoveryScope, dataTypes: operation.dataTypes },
    });
    return send(reply, RecoveryOperationResponseSchema, { operation: { ...operation, ...who } }, 202);
  });

  app.post('/api/backup/recovery-operations/:id/reject', async (req, reply) => {
    const { id } = parse(OperationIdParamsSchema, req.params, 'params');
    const { reason } = parse(RejectRestoreRequestSchema, req.body, 'body');
    const p = principalOf(req);
    const pending = await access().pendingRestore(id);
    if (!pending) throw new WedsyncError('NOT_FOUND', `recovery operation ${id} not found`);
    const by = { userId: p.kind === 'user' ? p.userId : null, label: principalLabel(p) };
    await access().resolvePending(id, { state: 'rejected', by: by.label, byUserId: by.userId, ...(reason ? { note: reason } : {}) });
    await access().audit({
      action: 'restore.reject',
      outcome: 'succeeded',
      actor: by,
      organizationId: p.kind === 'user' ? p.organizationId : null,
      weddingIds: pending.affectedWeddings,
      target: `recovery_operation:${id}`,
      details: { requestedBy: pending.initiatedByLabel, reason: reason ?? null },
    });
    return send(reply, RecoveryOperationResponseSchema, { operation: await restore().getOperation(id) });
  });
}
