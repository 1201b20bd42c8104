import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupWorld, type BackupWorld } from '../../test-support/fixtures.js';
import { issueToken, revokeToken } from '../catalog/tokens.js';
import { resolveConfig } from '../cli/config.js';
import { localDate, addDays } from '../core/schedule-time.js';
import { silentLogger } from '../logger.js';
import { startAgent, type RunningAgent } from '../main.js';

/**
 * API authentication and authorisation with per-user tokens against the real agent: two
 * organizations, their admins, coordinators and viewers, real restores.
 */
describe('API access control: per-user tokens, organizations, restore authorisation', () => {
  let world: BackupWorld;
  let agent: RunningAgent;
  let snapshotId: string;
  const org: Record<'A' | 'B', string> = { A: '', B: '' };
  const user: Record<string, { id: string; email: string; token: string }> = {};
  const wed = { todayA: '', laterA: '', todayB: '' };
  let revoked = '';
  let expired = '';

  const call = (path: string, token: string | null, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    fetch(`${agent.url}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  const as = (who: string) => user[who]!.token;
  const body = async (r: Response) => (await r.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const auditRows = async (action: string) =>
    (await world.client.query<{ outcome: string; actor_label: string; flags: string[]; wedding_ids: string[]; target: string | null; details: Record<string, unknown> }>(
      `SELECT outcome, actor_label, flags, wedding_ids::text[] AS wedding_ids, target, details FROM backup_audit_log WHERE action = $1 ORDER BY seq`,
      [action],
    )).rows;
  async function settled(operationId: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    for (;;) {
      const op = (await body(await call(`/api/backup/recovery-operations/${operationId}`, agent.token))).operation;
      if (op.status !== 'running') return op;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const preview = async (who: string, plan: Record<string, unknown>) => {
    const r = await call('/api/backup/restore/preview', as(who), { body: plan });
    expect(r.status, JSON.stringify(await r.clone().json())).toBe(200);
    return (await body(r)).confirmationToken as string;
  };

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 6, seed: { organizations: 2 } });
    const orgs = (await world.client.query<{ id: string }>('SELECT id::text FROM organizations ORDER BY created_at, id')).rows;
    org.A = orgs[0]!.id;
    org.B = orgs[1]!.id;
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const today = localDate(new Date(), zone);
    const weddingsOf = async (o: string) => (await world.client.query<{ id: string }>('SELECT id::text FROM weddings WHERE organization_id = $1 ORDER BY id', [o])).rows.map((r) => r.id);
    const [a, b] = [await weddingsOf(org.A), await weddingsOf(org.B)];
    [wed.todayA, wed.laterA, wed.todayB] = [a[0]!, a[1]!, b[0]!];
    await world.client.query('UPDATE weddings SET wedding_date = $2 WHERE id = $1', [wed.todayA, today]);
    await world.client.query('UPDATE weddings SET wedding_date = $2 WHERE id = $1', [wed.laterA, addDays(today, 40)]);
    await world.client.query('UPDATE weddings SET wedding_date = $2 WHERE id = $1', [wed.todayB, today]);
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;

    for (const k of ['A', 'B'] as const) {
      const profiles = await world.client.query<{ id: string; email: string; role: string }>('SELECT id::text, email, role FROM user_profiles WHERE organization_id = $1', [org[k]]);
      for (const p of profiles.rows) user[`${p.role}${k}`] = { id: p.id, email: p.email, token: (await issueToken(world.client, { email: p.email, issuedBy: 'test' })).token };
    }
    const r = await issueToken(world.client, { email: user.adminA!.email, issuedBy: 'test' });
    await revokeToken(world.client, r.info.id, 'test');
    revoked = r.token;
    expired = (await issueToken(world.client, { email: user.adminA!.email, issuedBy: 'test', expiresAt: new Date(Date.now() - 1000) })).token;

    const config = resolveConfig(
      { databaseUrl: world.db.url, repo: join(world.dir, 'repo'), photoStore: join(world.dir, 'photos'), home: join(world.dir, 'home') },
      { WEDSYNC_PASSPHRASE: world.passphrase },
    );
    agent = await startAgent({ config, logger: await silentLogger(), port: 0, tier1: false });
  });
  afterAll(async () => {
    await agent?.close();
    await world?.close();
  });

  it('401 without a token, with a wrong, malformed, revoked or expired one; the JSON error never echoes it', async () => {
    for (const token of [null, 'not-the-token-xyz', `wsb_${'A'.repeat(43)}`, "wsb_' OR 1=1 --", revoked, expired]) {
      const r = await call('/api/backup/snapshots', token);
      expect(r.status, String(token)).toBe(401);
      const text = await r.text();
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
      if (token) expect(text).not.toContain(token);
    }
  });

  it('GET /api/me names the caller: the agent token is the service, a user token its user', async () => {
    expect(await body(await call('/api/me', agent.token))).toEqual({ kind: 'service', label: 'agent-token', user: null });
    expect(await body(await call('/api/me', as('coordinatorA')))).toMatchObject({ kind: 'user', label: `user:${user.coordinatorA!.email}`, user: { role: 'coordinator', organizationId: org.A } });
  });

  it('refuses requests from another origin (no CORS), accepts its own', async () => {
    const evil = await call('/api/me', agent.token, { headers: { origin: 'https://evil.example' } });
    expect(evil.status).toBe(403);
    expect((await body(evil)).error.code).toBe('FORBIDDEN');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const own = await call('/api/me', agent.token, { headers: { origin: agent.url } });
    expect(own.status).toBe(200);
  });

  it('lists and details are trimmed to the caller’s organization', async () => {
    const listA = (await body(await call('/api/backup/snapshots', as('viewerA')))).snapshots;
    const full = listA.find((s: { id: string }) => s.id === snapshotId);
    const weddingsOfA = (await world.client.query<{ id: string }>('SELECT id::text FROM weddings WHERE organization_id = $1', [org.A])).rows.map((r) => r.id);
    expect([...full.weddingIds].sort()).toEqual([...weddingsOfA].sort());
    expect(full.weddingIds).not.toContain(wed.todayB);
    const detailA = await body(await call(`/api/backup/snapshots/${snapshotId}`, as('viewerA')));
    expect(detailA.weddings.every((w: { organizationId: string }) => w.organizationId === org.A)).toBe(true);
    const detailB = await body(await call(`/api/backup/snapshots/${snapshotId}`, as('viewerB')));
    expect(detailB.weddings.map((w: { weddingId: string }) => w.weddingId)).toContain(wed.todayB);
    expect(detailB.weddings.map((w: { weddingId: string }) => w.weddingId)).not.toContain(wed.todayA);
    const all = await body(await call(`/api/backup/snapshots/${snapshotId}`, agent.token));
    expect(all.weddings).toHaveLength(6);
  });

  it('viewers cannot start backups (403, audited); another organization’s wedding is 404 to a coordinator', async () => {
    const viewer = await call('/api/backup/emergency-backup', as('viewerA'), { body: { weddingId: wed.todayA } });
    expect(viewer.status).toBe(403);
    expect((await auditRows('backup.emergency')).at(-1)).toMatchObject({ outcome: 'denied', actor_label: `user:${user.viewerA!.email}` });
    const other = await call('/api/backup/emergency-backup', as('coordinatorA'), { body: { weddingId: wed.todayB } });
    expect(other.status).toBe(404);
    const own = await call('/api/backup/emergency-backup', as('coordinatorA'), { body: { weddingId: wed.todayA } });
    expect(own.status).toBe(201);
  });

  it('a coordinator restoring another organization’s wedding: 403 and an audit row', async () => {
    const plan = { backupId: snapshotId, recoveryScope: 'wedding-only', weddingIds: [wed.todayB] };
    expect((await call('/api/backup/restore/preview', as('coordinatorA'), { body: plan })).status).toBe(403);
    const r = await call('/api/backup/emergency-restore', as('coordinatorA'), { body: { ...plan, confirmationToken: 'forged' } });
    expect(r.status).toBe(403);
    expect((await body(r)).error.message).toMatch(/another organization/);
    const rows = await auditRows('restore.start');
    expect(rows.at(-1)).toMatchObject({ outcome: 'denied', actor_label: `user:${user.coordinatorA!.email}`, wedding_ids: [wed.todayB] });
    // Nothing was recorded as an operation.
    expect((await world.client.query(`SELECT 1 FROM recovery_operations WHERE $1 = ANY(affected_weddings)`, [wed.todayB])).rows).toHaveLength(0);
  });

  it('a restore into another database (targetUrl) is for admins only: 403 naming the field for a coordinator, even on the wedding day', async () => {
    const plan = { backupId: snapshotId, recoveryScope: 'wedding-only', weddingIds: [wed.todayA], targetUrl: 'postgres://u@127.0.0.1:1/elsewhere' };
    const p = await call('/api/backup/restore/preview', as('coordinatorA'), { body: plan });
    expect(p.status).toBe(403);
    expect((await body(p)).error.message).toMatch(/only an admin.*targetUrl/);
    const r = await call('/api/backup/emergency-restore', as('coordinatorA'), { body: { ...plan, confirmationToken: 'forged' } });
    expect(r.status).toBe(403);
    expect((await auditRows('restore.start')).at(-1)).toMatchObject({ outcome: 'denied', actor_label: `user:${user.coordinatorA!.email}` });
  });

  it('a coordinator’s wedding-only restore on the wedding day runs without an approver, initiated by them and flagged', async () => {
    const plan = { backupId: snapshotId, recoveryScope: 'wedding-only', weddingIds: [wed.todayA] };
    const token = await preview('coordinatorA', plan);
    const r = await call('/api/backup/emergency-restore', as('coordinatorA'), { body: { ...plan, confirmationToken: token } });
    expect(r.status).toBe(202);
    const op = (await body(r)).operation;
    expect(op).toMatchObject({ initiatedBy: user.coordinatorA!.id, initiatedByLabel: `user:${user.coordinatorA!.email}`, authorizedBy: null });
    expect((await settled(op.id)).status).toBe('completed');
    const row = (await world.client.query(`SELECT initiated_by::text, authorized_by FROM recovery_operations WHERE id = $1`, [op.id])).rows[0];
    expect(row).toEqual({ initiated_by: user.coordinatorA!.id, authorized_by: null });
    expect((await auditRows('restore.start')).at(-1)).toMatchObject({ outcome: 'succeeded', flags: ['wedding-day-emergency'], target: `recovery_operation:${op.id}` });

    // Undoing it follows the same rules: not a viewer, not another organization, the coordinator on the wedding day.
    expect((await call(`/api/backup/recovery-operations/${op.id}/undo-preview`, as('adminB'), { body: {} })).status).toBe(404);
    const undoPreview = await call(`/api/backup/recovery-operations/${op.id}/undo-preview`, as('coordinatorA'), { body: {} });
    expect(undoPreview.status).toBe(200);
    const undoToken = (await body(undoPreview)).confirmationToken as string;
    expect((await call(`/api/backup/recovery-operations/${op.id}/undo`, as('viewerA'), { body: { confirmationToken: undoToken } })).status).toBe(403);
    const undone = await call(`/api/backup/recovery-operations/${op.id}/undo`, as('coordinatorA'), { body: { confirmationToken: undoToken } });
    expect(undone.status).toBe(202);
    const undo = (await body(undone)).operation;
    expect(undo).toMatchObject({ operationType: 'undo', initiatedBy: user.coordinatorA!.id });
    expect((await settled(undo.id)).status).toBe('completed');
    expect((await auditRows('undo.start')).at(-1)).toMatchObject({ outcome: 'succeeded', flags: ['wedding-day-emergency'], target: `recovery_operation:${undo.id}` });
  });

  it('outside the wedding day, a coordinator’s restore waits for a second user: an admin of the organization approves it', async () => {
    const plan = { backupId: snapshotId, recoveryScope: 'wedding-only', weddingIds: [wed.laterA] };
    const token = await preview('coordinatorA', plan);
    const asked = await call('/api/backup/emergency-restore', as('coordinatorA'), { body: { ...plan, confirmationToken: token } });
    expect(asked.status).toBe(202);
    const pending = (await body(asked)).operation;
    expect(pending).toMatchObject({ status: 'awaiting-approval', initiatedBy: user.coordinatorA!.id, authorizedBy: null });
    expect((await auditRows('restore.request')).at(-1)).toMatchObject({ outcome: 'requested', target: `recovery_operation:${pending.id}` });

    // Not by themselves, not by a viewer, not by another organization (404: not theirs to see).
    const approve = (who: string, confirmationToken: string) => call(`/api/backup/recovery-operations/${pending.id}/approve`, as(who), { body: { confirmationToken } });
    expect((await approve('coordinatorA', token)).status).toBe(403);
    expect((await approve('viewerA', token)).status).toBe(403);
    expect((await approve('adminB', token)).status).toBe(404);

    const adminToken = await preview('adminA', plan);
    const approved = await approve('adminA', adminToken);
    expect(approved.status).toBe(202);
    const op = (await body(approved)).operation;
    expect(op).toMatchObject({ initiatedBy: user.coordinatorA!.id, authorizedBy: user.adminA!.id, affectedWeddings: [wed.laterA] });
    expect((await settled(op.id)).status).toBe('completed');
    const request = await body(await call(`/api/backup/recovery-operations/${pending.id}`, as('coordinatorA')));
    expect(request.operation).toMatchObject({ status: 'cancelled', authorizedBy: user.adminA!.id, errorDetails: { reason: expect.stringContaining(op.id) } });
    expect((await approve('adminA', adminToken)).status).toBe(409);
    expect((await auditRows('restore.approve')).at(-1)).toMatchObject({ outcome: 'succeeded', actor_label: `user:${user.adminA!.email}` });
  });

  it('admins authorise their own selective restores; a complete restore spanning another organization is refused', async () => {
    const plan = { backupId: snapshotId, recoveryScope: 'selective', weddingIds: [wed.todayA, wed.laterA], dataTypes: ['guests'] };
    const token = await preview('adminA', plan);
    const r = await call('/api/backup/emergency-restore', as('adminA'), { body: { ...plan, confirmationToken: token } });
    expect(r.status).toBe(202);
    const op = (await body(r)).operation;
    expect(op).toMatchObject({ initiatedBy: user.adminA!.id, authorizedBy: user.adminA!.id });
    expect((await settled(op.id)).status).toBe('completed');

    const complete = await call('/api/backup/emergency-restore', as('adminA'), { body: { backupId: snapshotId, recoveryScope: 'complete', confirmationToken: 'x' } });
    expect(complete.status).toBe(403);
    const viewer = await call('/api/backup/emergency-restore', as('viewerA'), { body: { ...plan, confirmationToken: token } });
    expect(viewer.status).toBe(403);
  });

  it('settings: only an admin of the wedding’s organization changes them, and the change is audited', async () => {
    const url = `/api/backup/weddings/${wed.laterA}/settings`;
    expect((await call(url, as('viewerA'))).status).toBe(200);
    expect((await call(url, as('viewerB'))).status).toBe(404);
    expect((await call(url, as('coordinatorA'), { method: 'PUT', body: { backupFrequencyMinutes: 30 } })).status).toBe(403);
    expect((await call(url, as('adminB'), { method: 'PUT', body: { backupFrequencyMinutes: 30 } })).status).toBe(404);
    const ok = await call(url, as('adminA'), { method: 'PUT', body: { backupFrequencyMinutes: 30 } });
    expect(ok.status).toBe(200);
    expect((await auditRows('settings.change')).at(-1)).toMatchObject({ outcome: 'succeeded', actor_label: `user:${user.adminA!.email}`, wedding_ids: [wed.laterA], details: { changed: { backupFrequencyMinutes: 30 } } });
    expect((await auditRows('settings.write')).at(-1)).toMatchObject({ outcome: 'denied', actor_label: `user:${user.coordinatorA!.email}` });
  });

  it('operations and the audit trail are visible only within the organization', async () => {
    const opsB = (await body(await call('/api/backup/recovery-operations', as('adminB')))).operations;
    expect(opsB).toEqual([]);
    const opsA = (await body(await call('/api/backup/recovery-operations?limit=2', as('viewerA')))).operations;
    expect(opsA).toHaveLength(2);
    const auditA = (await body(await call('/api/audit', as('adminA')))).entries;
    expect(auditA.length).toBeGreaterThan(0);
    expect(auditA.every((e: { organizationId: string | null }) => e.organizationId === org.A)).toBe(true);
    expect((await call('/api/audit', as('coordinatorA'))).status).toBe(403);
    const everything = (await body(await call('/api/audit?limit=1000', agent.token))).entries;
    expect(everything.length).toBeGreaterThan(auditA.length);
  });
});
