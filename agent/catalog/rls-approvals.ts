import type pg from 'pg';
import { WedsyncError } from '../contract/errors.js';
import type { UserPrincipal } from '../core/authz.js';
import { withActingUser } from './rls-scope.js';

/**
 * Restores waiting for a second user's approval, in recovery_operations itself (status
 * 'awaiting-approval'), so the console lists them with every other operation.
 *
 *  - `requestApproval` inserts the pending row AS THE REQUESTING USER under RLS: the database's
 *    own policy (005_rls.sql: a coordinator may insert other scopes only as awaiting-approval,
 *    for their organization's weddings, as themselves) must agree with the API's decision.
 *    data_restored.request keeps what was asked for (snapshot, scope, weddings, data types).
 *  - `resolvePending` closes it once: approved (the restore then runs as a new operation that
 *    names both users) or rejected. Its status becomes 'cancelled' — this row never runs
 *    itself — and error_details says why, pointing at the operation that ran. A row that is no
 *    longer awaiting approval is CONFLICT.
 *  - `setInitiator` records who asked and who authorised on an operation the restore engine
 *    created (the engine's API takes no user).
 */
export interface RestoreRequestShape {
  backupId: string;
  recoveryScope: 'complete' | 'selective' | 'wedding-only';
  weddingIds?: string[] | undefined;
  dataTypes?: string[] | undefined;
}

export interface PendingRestore {
  id: string;
  status: string;
  initiatedBy: string | null;
  initiatedByLabel: string | null;
  affectedWeddings: string[];
  request: RestoreRequestShape | null;
}

const OPERATION_TYPE = { complete: 'full-restore', selective: 'selective-restore', 'wedding-only': 'emergency-restore' } as const;

export async function requestApproval(client: pg.ClientBase, user: UserPrincipal, request: RestoreRequestShape, affectedWeddings: string[], reason: string): Promise<string> {
  return withActingUser(client, user.userId, async (c) => {
    const { rows } = await c.query<{ id: string }>(
      `INSERT INTO recovery_operations (operation_type, recovery_scope, backup_snapshot_id, initiated_by, initiated_by_label, affected_weddings, data_types, data_restored, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'awaiting-approval') RETURNING id::text`,
      [
        OPERATION_TYPE[request.recoveryScope],
        request.recoveryScope,
        request.backupId,
        user.userId,
        `user:${user.email}`,
        affectedWeddings,
        request.dataTypes ?? null,
        JSON.stringify({ request, approval: { state: 'pending', reason } }),
      ],
    );
    return rows[0]!.id;
  });
}

export async function pendingRestore(client: pg.ClientBase, id: string): Promise<PendingRestore | null> {
  const { rows } = await client.query<{ id: string; status: string; initiated_by: string | null; initiated_by_label: string | null; affected_weddings: string[]; data_restored: { request?: RestoreRequestShape } | null }>(
    `SELECT id::text, status, initiated_by::text, initiated_by_label, affected_weddings::text[] AS affected_weddings, data_restored FROM recovery_operations WHERE id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return null;
  return { id: r.id, status: r.status, initiatedBy: r.initiated_by, initiatedByLabel: r.initiated_by_label, affectedWeddings: r.affected_weddings, request: r.data_restored?.request ?? null };
}

/**
 * Claims a pending restore for one approver: awaiting-approval → pending, atomically, so two
 * admins approving at once start one restore. CONFLICT when it is not awaiting approval.
 * `releasePending` puts it back when the restore could not be started (e.g. a stale token).
 */
export async function claimPending(client: pg.ClientBase, id: string): Promise<void> {
  const { rowCount } = await client.query(`UPDATE recovery_operations SET status = 'pending' WHERE id = $1 AND status = 'awaiting-approval'`, [id]);
  if (rowCount !== 1) throw new WedsyncError('CONFLICT', `recovery operation ${id} is not awaiting approval`);
}

export async function releasePending(client: pg.ClientBase, id: string): Promise<void> {
  await client.query(`UPDATE recovery_operations SET status = 'awaiting-approval' WHERE id = $1 AND status = 'pending' AND data_restored->'approval'->>'state' = 'pending'`, [id]);
}

export async function resolvePending(client: pg.ClientBase, id: string, resolution: { state: 'approved' | 'rejected'; by: string; byUserId: string | null; operationId?: string; note?: string }): Promise<void> {
  const { rowCount } = await client.query(
    `UPDATE recovery_operations
        SET status = 'cancelled', completed_at = now(), authorized_by = CASE WHEN $2 = 'approved' THEN $3::uuid ELSE authorized_by END,
            data_restored = coalesce(data_restored, '{}') || jsonb_build_object('approval', $4::jsonb),
            error_details = $5::jsonb
      WHERE id = $1 AND status IN ('awaiting-approval', 'pending') AND data_restored->'approval'->>'state' = 'pending'`,
    [
      id,
      resolution.state,
      resolution.byUserId,
      JSON.stringify({ state: resolution.state, by: resolution.by, at: new Date().toISOString(), operationId: resolution.operationId ?? null, note: resolution.note ?? null }),
      JSON.stringify({ reason: resolution.state === 'approved' ? `approved by ${resolution.by}: ran as operation ${resolution.operationId}` : `rejected by ${resolution.by}${resolution.note ? `: ${resolution.note}` : ''}` }),
    ],
  );
  if (rowCount !== 1) throw new WedsyncError('CONFLICT', `recovery operation ${id} is not awaiting approval`);
}

export async function setInitiator(client: pg.ClientBase, id: string, who: { initiatedBy: string | null; initiatedByLabel: string; authorizedBy: string | null }): Promise<void> {
  await client.query(`UPDATE recovery_operations SET initiated_by = $2, initiated_by_label = $3, authorized_by = $4 WHERE id = $1`, [id, who.initiatedBy, who.initiatedByLabel, who.authorizedBy]);
}
