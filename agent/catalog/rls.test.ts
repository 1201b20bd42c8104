import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { seed } from '../source/seed.js';
import { migrate } from './migrate.js';
import { appendAudit, recordAudit, verifyAudit } from './audit.js';

/**
 * The RLS matrix of migrations/005_rls.sql (and the audit log's append-only rules of 007),
 * proved with real PostgreSQL roles: one non-superuser LOGIN role per test user, member of
 * wedsync_app (as the agent's SET LOCAL ROLE would be), each statement run with
 * app.user_id set to that user's profile — and rolled back, so every check starts from the same rows.
 */
describe('row-level security on the backup catalog', () => {
  let db: TestDatabase;
  let admin: pg.Client;
  const roles: string[] = [];
  const clients = new Map<string, pg.Client>();
  const tag = randomBytes(4).toString('hex');

  // Organizations A and B, their users and weddings.
  const org: Record<'A' | 'B', string> = { A: '', B: '' };
  const user: Record<string, string> = {};
  const wed: Record<'A' | 'B', string[]> = { A: [], B: [] };
  const ids = { sA: '', sB: '', sAB: '', sNone: '', jA: '', jB: '', jAll: '', oA: '', oB: '' };

  async function loginRole(name: string, memberOf: string): Promise<pg.Client> {
    const role = `rls_${tag}_${name.toLowerCase()}`;
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${tag}' IN ROLE ${memberOf}`);
    roles.push(role);
    const u = new URL(db.url);
    u.username = role;
    u.password = `pw-${tag}`;
    const c = new pg.Client({ connectionString: u.toString() });
    await c.connect();
    clients.set(name, c);
    return c;
  }

  /** Runs `sql` as `who` (a login role) acting as profile `userId` (or nobody), then rolls back. */
  async function as<T extends pg.QueryResultRow = Record<string, unknown>>(who: string, userId: string | null, sql: string, params: unknown[] = []): Promise<pg.QueryResult<T>> {
    const c = clients.get(who)!;
    await c.query('BEGIN');
    try {
      if (userId !== null) await c.query(`SELECT set_config('app.user_id', $1, true)`, [userId]);
      return await c.query<T>(sql, params);
    } finally {
      await c.query('ROLLBACK');
    }
  }
  const idsOf = async (who: string, userId: string | null, table: string) => (await as<{ id: string }>(who, userId, `SELECT id::text FROM ${table} ORDER BY id`)).rows.map((r) => r.id).sort();
  const settingsOf = async (who: string, userId: string | null) => (await as<{ wedding_id: string }>(who, userId, `SELECT wedding_id::text FROM wedding_backup_settings`)).rows.map((r) => r.wedding_id).sort();

  beforeAll(async () => {
    db = await createTestDatabase('rls');
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await migrate(admin);
    await seed(admin, { weddings: 6, organizations: 2, guestsPerWedding: 2, timelineEventsPerWedding: 1, vendorsPerWedding: 1, photosPerWedding: 0, photoFilesPerWedding: 0, seed: 3, now: new Date('2026-11-28T12:00:00Z'), timeZone: 'UTC' });
    const orgs = (await admin.query<{ id: string }>('SELECT id::text FROM organizations ORDER BY created_at, id')).rows;
    org.A = orgs[0]!.id;
    org.B = orgs[1]!.id;
    for (const k of ['A', 'B'] as const) {
      const users = await admin.query<{ id: string; role: string }>('SELECT id::text, role FROM user_profiles WHERE organization_id = $1', [org[k]]);
      for (const u of users.rows) user[`${u.role}${k}`] = u.id;
      wed[k] = (await admin.query<{ id: string }>('SELECT id::text FROM weddings WHERE organization_id = $1 ORDER BY id', [org[k]])).rows.map((r) => r.id);
    }
    const one = async (sql: string, params: unknown[]) => (await admin.query<{ id: string }>(sql, params)).rows[0]!.id;
    const snap = `INSERT INTO backup_snapshots (snapshot_type, wedding_ids, organization_ids) VALUES ('full', $1, $2) RETURNING id::text`;
    ids.sA = await one(snap, [[wed.A[0]], [org.A]]);
    ids.sB = await one(snap, [[wed.B[0]], [org.B]]);
    ids.sAB = await one(snap, [[wed.A[0], wed.B[0]], [org.A, org.B]]);
    ids.sNone = await one(snap, [[], []]);
    const job = `INSERT INTO backup_jobs (backup_type, target_weddings) VALUES ('incremental', $1) RETURNING id::text`;
    ids.jA = await one(job, [[wed.A[0]]]);
    ids.jB = await one(job, [[wed.B[0]]]);
    ids.jAll = await one(job, [[]]);
    const op = `INSERT INTO recovery_operations (operation_type, recovery_scope, affected_weddings, status) VALUES ('emergency-restore', 'wedding-only', $1, 'completed') RETURNING id::text`;
    ids.oA = await one(op, [[wed.A[0]]]);
    ids.oB = await one(op, [[wed.B[0]]]);

    for (const k of ['A', 'B'] as const) for (const r of ['admin', 'coordinator', 'viewer']) await loginRole(`${r}${k}`, 'wedsync_app');
    await loginRole('service', 'wedsync_service');
  });

  afterAll(async () => {
    for (const c of clients.values()) await c.end().catch(() => undefined);
    await admin?.end().catch(() => undefined);
    await db?.drop();
    // Roles are cluster-wide: drop them once their database is gone.
    const c = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await c.connect();
    for (const r of roles) await c.query(`DROP ROLE IF EXISTS ${r}`);
    await c.end();
  });

  it('test roles are real non-superusers', async () => {
    const { rows } = await as<{ rolsuper: boolean; rolbypassrls: boolean }>('adminA', null, 'SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user');
    expect(rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
  });

  it('no user id (or a malformed one, or an unknown one) → no rows in any catalog table', async () => {
    for (const userId of [null, '', 'not-a-uuid', "x' OR 1=1 --", '00000000-0000-4000-8000-000000000000']) {
      for (const t of ['backup_snapshots', 'backup_jobs', 'recovery_operations']) expect(await idsOf('adminA', userId, t)).toEqual([]);
      expect(await settingsOf('adminA', userId)).toEqual([]);
    }
  });

  it('every role sees its own organization’s snapshots, jobs, operations and settings — and nothing of another organization', async () => {
    for (const r of ['admin', 'coordinator', 'viewer']) {
      expect(await idsOf(`${r}A`, user[`${r}A`]!, 'backup_snapshots')).toEqual([ids.sA, ids.sAB].sort());
      expect(await idsOf(`${r}B`, user[`${r}B`]!, 'backup_snapshots')).toEqual([ids.sB, ids.sAB].sort());
      // Whole-database jobs (no target weddings) cover every organization.
      expect(await idsOf(`${r}A`, user[`${r}A`]!, 'backup_jobs')).toEqual([ids.jA, ids.jAll].sort());
      expect(await idsOf(`${r}A`, user[`${r}A`]!, 'recovery_operations')).toEqual([ids.oA]);
      expect(await idsOf(`${r}B`, user[`${r}B`]!, 'recovery_operations')).toEqual([ids.oB]);
      expect(await settingsOf(`${r}A`, user[`${r}A`]!)).toEqual([...wed.A].sort());
    }
  });

  it('a login acting as another organization’s user still sees only that user’s rows (the user id decides, not the login)', async () => {
    expect(await idsOf('adminA', user.viewerB!, 'recovery_operations')).toEqual([ids.oB]);
  });

  it('admin: acts on every row of their organization, on no row of another', async () => {
    const u = user.adminA!;
    expect((await as('adminA', u, `UPDATE backup_snapshots SET validation_status = 'valid' WHERE id = ANY($1)`, [[ids.sA, ids.sB, ids.sAB]])).rowCount).toBe(1);
    expect((await as('adminA', u, `DELETE FROM backup_snapshots WHERE id = ANY($1)`, [[ids.sA, ids.sB, ids.sAB]])).rowCount).toBe(1);
    expect((await as('adminA', u, `UPDATE backup_jobs SET status = 'cancelled' WHERE id = ANY($1)`, [[ids.jA, ids.jB, ids.jAll]])).rowCount).toBe(1);
    expect((await as('adminA', u, `INSERT INTO backup_jobs (backup_type, target_weddings) VALUES ('full', $1)`, [[wed.A[1]]])).rowCount).toBe(1);
    await expect(as('adminA', u, `INSERT INTO backup_jobs (backup_type, target_weddings) VALUES ('full', $1)`, [[wed.B[0]]])).rejects.toThrow(/row-level security/);
    await expect(as('adminA', u, `INSERT INTO backup_jobs (backup_type, target_weddings) VALUES ('full', $1)`, [[wed.A[0], wed.B[0]]])).rejects.toThrow(/row-level security/);
    expect((await as('adminA', u, `UPDATE wedding_backup_settings SET backup_frequency_minutes = 30 WHERE wedding_id = ANY($1)`, [[...wed.A, ...wed.B]])).rowCount).toBe(wed.A.length);
    expect((await as('adminA', u, `DELETE FROM wedding_backup_settings WHERE wedding_id = ANY($1)`, [[...wed.A, ...wed.B]])).rowCount).toBe(wed.A.length);
    // Moving a row into another organization is refused too.
    await expect(as('adminA', u, `UPDATE wedding_backup_settings SET wedding_id = $2 WHERE wedding_id = $1`, [wed.A[0], wed.B[1]])).rejects.toThrow(/row-level security/);
    // A complete restore of their own weddings, initiated (and so authorised) by themselves.
    expect(
      (await as('adminA', u, `INSERT INTO recovery_operations (operation_type, recovery_scope, affected_weddings, initiated_by, authorized_by) VALUES ('full-restore', 'complete', $1, $2, $2)`, [wed.A, u])).rowCount,
    ).toBe(1);
    await expect(
      as('adminA', u, `INSERT INTO recovery_operations (operation_type, recovery_scope, affected_weddings, initiated_by) VALUES ('full-restore', 'complete', $1, $2)`, [[...wed.A, ...wed.B], u]),
    ).rejects.toThrow(/row-level security/);
    expect((await as('adminA', u, `UPDATE recovery_operations SET status = 'cancelled' WHERE id = ANY($1)`, [[ids.oA, ids.oB]])).rowCount).toBe(1);
  });

  it('coordinator: may start wedding-only restores of their weddings (and ask for others only as awaiting-approval), nothing else', async () => {
    const u = user.coordinatorA!;
    const insertOp = (scope: string, weddings: string[], status: string, initiatedBy = u) =>
      as('coordinatorA', u, `INSERT INTO recovery_operations (operation_type, recovery_scope, affected_weddings, initiated_by, status) VALUES ('emergency-restore', $1, $2, $3, $4)`, [scope, weddings, initiatedBy, status]);
    expect((await insertOp('wedding-only', [wed.A[0]!], 'running')).rowCount).toBe(1);
    await expect(insertOp('wedding-only', [wed.B[0]!], 'running')).rejects.toThrow(/row-level security/);
    await expect(insertOp('selective', [wed.A[0]!], 'running')).rejects.toThrow(/row-level security/);
    expect((await insertOp('selective', [wed.A[0]!], 'awaiting-approval')).rowCount).toBe(1);
    // initiated_by is always the acting user.
    await expect(insertOp('wedding-only', [wed.A[0]!], 'running', user.adminA!)).rejects.toThrow(/row-level security/);
    // Emergency backups of their weddings, but no other job.
    expect((await as('coordinatorA', u, `INSERT INTO backup_jobs (backup_type, target_weddings) VALUES ('emergency', $1)`, [[wed.A[0]]])).rowCount).toBe(1);
    await expect(as('coordinatorA', u, `INSERT INTO backup_jobs (backup_type, target_weddings) VALUES ('full', $1)`, [[wed.A[0]]])).rejects.toThrow(/row-level security/);
    // No updates or deletes.
    expect((await as('coordinatorA', u, `UPDATE recovery_operations SET status = 'cancelled' WHERE id = $1`, [ids.oA])).rowCount).toBe(0);
    expect((await as('coordinatorA', u, `UPDATE wedding_backup_settings SET backup_frequency_minutes = 30`)).rowCount).toBe(0);
    expect((await as('coordinatorA', u, `UPDATE backup_snapshots SET validation_status = 'valid'`)).rowCount).toBe(0);
    expect((await as('coordinatorA', u, `DELETE FROM backup_jobs`)).rowCount).toBe(0);
  });

  it('viewer: reads only', async () => {
    const u = user.viewerA!;
    await expect(as('viewerA', u, `INSERT INTO backup_jobs (backup_type, target_weddings) VALUES ('emergency', $1)`, [[wed.A[0]]])).rejects.toThrow(/row-level security/);
    await expect(
      as('viewerA', u, `INSERT INTO recovery_operations (operation_type, recovery_scope, affected_weddings, initiated_by) VALUES ('emergency-restore', 'wedding-only', $1, $2)`, [[wed.A[0]], u]),
    ).rejects.toThrow(/row-level security/);
    await expect(as('viewerA', u, `INSERT INTO wedding_backup_settings (wedding_id) VALUES ($1)`, [wed.A[0]])).rejects.toThrow(/row-level security|duplicate key/);
    for (const sql of [`UPDATE backup_snapshots SET validation_status = 'valid'`, `UPDATE backup_jobs SET status = 'cancelled'`, `UPDATE recovery_operations SET status = 'cancelled'`, `UPDATE wedding_backup_settings SET backup_frequency_minutes = 30`, `DELETE FROM backup_snapshots`, `DELETE FROM wedding_backup_settings`]) {
      expect((await as('viewerA', u, sql)).rowCount).toBe(0);
    }
  });

  it('nobody deletes recovery operations, and API tokens are invisible to users', async () => {
    await expect(as('adminA', user.adminA!, `DELETE FROM recovery_operations WHERE id = $1`, [ids.oA])).rejects.toThrow(/permission denied/);
    await expect(as('adminA', user.adminA!, `SELECT * FROM backup_api_tokens`)).rejects.toThrow(/permission denied/);
  });

  it('the service role sees every row without a user id (scheduling)', async () => {
    expect(await idsOf('service', null, 'backup_snapshots')).toEqual([ids.sA, ids.sB, ids.sAB, ids.sNone].sort());
    expect(await idsOf('service', null, 'backup_jobs')).toEqual([ids.jA, ids.jB, ids.jAll].sort());
    expect(await idsOf('service', null, 'recovery_operations')).toEqual([ids.oA, ids.oB].sort());
  });

  describe('audit log', () => {
    it('the application role may insert but not update or delete; the owner is stopped by the triggers', async () => {
      const service = clients.get('service')!;
      const row = await recordAudit(service, { action: 'token.issue', outcome: 'succeeded', actor: { label: 'test' }, organizationId: org.A, details: { n: 1 } });
      await recordAudit(service, { action: 'restore.start', outcome: 'succeeded', actor: { userId: user.adminB!, label: 'user:b' }, organizationId: org.B, weddingIds: [wed.B[0]!] });
      await expect(service.query(`UPDATE backup_audit_log SET outcome = 'failed' WHERE seq = $1`, [row.seq])).rejects.toThrow(/permission denied/);
      await expect(service.query(`DELETE FROM backup_audit_log WHERE seq = $1`, [row.seq])).rejects.toThrow(/permission denied/);
      await expect(admin.query(`UPDATE backup_audit_log SET outcome = 'failed' WHERE seq = $1`, [row.seq])).rejects.toThrow(/append-only/);
      await expect(admin.query(`DELETE FROM backup_audit_log`)).rejects.toThrow(/append-only/);
      await expect(admin.query(`TRUNCATE backup_audit_log`)).rejects.toThrow(/append-only/);
      // A row that does not extend the head is refused (no forks).
      await expect(admin.query(`INSERT INTO backup_audit_log (seq, occurred_at, action, outcome, actor_label, prev_hash, row_hash) VALUES (1, now(), 'x', 'succeeded', 'x', repeat('0', 64), repeat('1', 64))`)).rejects.toThrow(/does not extend/);
      // Admins read their organization's rows; coordinators none.
      expect((await as<{ action: string }>('adminA', user.adminA!, 'SELECT action FROM backup_audit_log')).rows.map((r) => r.action)).toEqual(['token.issue']);
      expect((await as('coordinatorA', user.coordinatorA!, 'SELECT action FROM backup_audit_log')).rows).toEqual([]);
      expect((await verifyAudit(admin)).ok).toBe(true);
    });

    it('concurrent writers extend one chain', async () => {
      const before = (await verifyAudit(admin)).rows;
      // Five connections (one transaction at a time each), two rows each, all at once.
      const writers = await Promise.all(Array.from({ length: 5 }, async () => {
        const c = new pg.Client({ connectionString: db.url });
        await c.connect();
        return c;
      }));
      await Promise.all(writers.map(async (c, i) => {
        for (let k = 0; k < 2; k++) await recordAudit(c, { action: 'prune', outcome: 'succeeded', actor: { label: `w${i}.${k}` } });
        await c.end();
      }));
      const verdict = await verifyAudit(admin);
      expect(verdict).toMatchObject({ ok: true, rows: before + 10 });
    });

    it('audit verify names a row tampered with by a superuser', async () => {
      await admin.query('BEGIN');
      const row = await appendAudit(admin, { action: 'key.add', outcome: 'succeeded', actor: { label: 'cli' }, details: { keyId: 'abc' } });
      await admin.query('COMMIT');
      await recordAudit(admin, { action: 'token.revoke', outcome: 'succeeded', actor: { label: 'cli' } });
      // Superuser, triggers off: the only way past the append-only rules.
      await admin.query('BEGIN');
      await admin.query(`SET LOCAL session_replication_role = replica`);
      await admin.query(`UPDATE backup_audit_log SET details = '{"keyId":"evil"}' WHERE seq = $1`, [row.seq]);
      await admin.query('COMMIT');
      const verdict = await verifyAudit(admin);
      expect(verdict.ok).toBe(false);
      expect(verdict.problems).toEqual([{ seq: row.seq, reason: expect.stringMatching(/modified/) }]);
    });
  });
});
