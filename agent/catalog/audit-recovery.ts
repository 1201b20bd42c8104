import type { AuditEntry, AuditLog } from './audit.js';
import type { NewRecoveryOperation, RecoveryCatalog } from './recovery.js';

/**
 * A RecoveryCatalog that also writes the audit log: `begin` records restore.start (or
 * undo.start), `complete`/`fail` record restore.complete/restore.fail, each naming the operation
 * and its weddings. For restores that do not go through the API (the CLI's restore, undo and
 * restore-at): the API records its own rows (agent/api/authz.ts), so the agent must not wrap
 * its catalog with this too.
 *
 * Audit failures never fail the restore (it is already claimed or done); they go to `onError`.
 * The audit row of `begin` is written after the operation row exists, so it can name it.
 */
export function auditingRecoveryCatalog(inner: RecoveryCatalog, audit: Pick<AuditLog, 'record'>, actorLabel: string, onError: (err: unknown, entry: AuditEntry) => void = () => undefined): RecoveryCatalog {
  const started = new Map<string, NewRecoveryOperation>();
  const record = async (entry: AuditEntry) => {
    try {
      await audit.record(entry);
    } catch (err) {
      onError(err, entry);
    }
  };
  const base = (op: NewRecoveryOperation | undefined, id: string) => ({
    actor: { userId: op?.initiatedBy ?? null, label: op?.initiatedByLabel ?? actorLabel },
    weddingIds: op?.affectedWeddings ?? [],
    target: `recovery_operation:${id}`,
  });
  const verb = (op: NewRecoveryOperation | undefined) => (op?.operationType === 'undo' ? 'undo' : 'restore');
  // Every method listed, none spread: a method added to RecoveryCatalog fails to compile here until decided.
  const wrapped: RecoveryCatalog = {
    setRecoveryPoint: (id, snapshotId) => inner.setRecoveryPoint(id, snapshotId),
    get: (id) => inner.get(id),
    list: (query) => inner.list(query),
    completionStatement: (id, result) => inner.completionStatement(id, result),
    sweepInterrupted: () => inner.sweepInterrupted(),
    close: () => inner.close(),
    async begin(op) {
      const id = await inner.begin(op);
      started.set(id, op);
      await record({ action: `${verb(op)}.start`, outcome: 'succeeded', ...base(op, id), details: { snapshotId: op.backupSnapshotId, recoveryScope: op.recoveryScope, operationType: op.operationType, dataTypes: op.dataTypes } });
      return id;
    },
    async complete(id, result) {
      await inner.complete(id, result);
      const op = started.get(id);
      started.delete(id);
      await record({ action: `${verb(op)}.complete`, outcome: 'succeeded', ...base(op, id), details: { actualDurationMs: Math.round(result.actualDurationMs) } });
    },
    async fail(id, result) {
      await inner.fail(id, result);
      const op = started.get(id);
      started.delete(id);
      await record({ action: `${verb(op)}.complete`, outcome: 'failed', ...base(op, id), details: { actualDurationMs: Math.round(result.actualDurationMs), error: (result.errorDetails as { code?: unknown }).code ?? null } });
    },
  };
  return wrapped;
}
