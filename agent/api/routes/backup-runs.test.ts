import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupWorld, type BackupWorld } from '../../../test-support/fixtures.js';
import { issueToken } from '../../catalog/tokens.js';
import { resolveConfig } from '../../cli/config.js';
import { AgentEventSchema, type AgentEvent } from '../../contract/events.js';
import { BackupRunResponseSchema, type BackupRun } from '../../contract/backup-run.js';
import { silentLogger } from '../../logger.js';
import { waitFor } from '../../../test-support/tier1.js';
import { startAgent, type RunningAgent } from '../../main.js';

/** Reads SSE events from a response body one at a time (parsed with the contract). */
function eventReader(res: Response): () => Promise<AgentEvent | null> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return async () => {
    for (;;) {
      const blocks = buffer.split('\n\n');
      while (blocks.length > 1) {
        const block = blocks.shift()!;
        buffer = blocks.join('\n\n');
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (data) return AgentEventSchema.parse(JSON.parse(data.slice(6)));
      }
      const { value, done } = await reader.read();
      if (done) return null;
      buffer += decoder.decode(value, { stream: true });
    }
  };
}

/** Background emergency backups watched as events, against the real agent (two organizations, per-user tokens). */
describe('emergency backups in the background: progress as events', () => {
  let world: BackupWorld;
  let agent: RunningAgent;
  let weddingA: string;
  const token: Record<string, string> = {};

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 4, seed: { organizations: 2 } });
    const orgs = (await world.client.query<{ id: string }>('SELECT id::text FROM organizations ORDER BY created_at, id')).rows.map((r) => r.id);
    for (const [k, o, role] of [['coordA', orgs[0]!, 'coordinator'], ['viewerA', orgs[0]!, 'viewer'], ['coordB', orgs[1]!, 'coordinator'], ['adminA', orgs[0]!, 'admin'], ['adminB', orgs[1]!, 'admin']] as const) {
      const user = (await world.client.query<{ email: string }>('SELECT email FROM user_profiles WHERE organization_id = $1 AND role = $2 LIMIT 1', [o, role])).rows[0]!;
      token[k] = (await issueToken(world.client, { email: user.email, issuedBy: 'test' })).token;
    }
    weddingA = (await world.client.query<{ id: string }>('SELECT id::text FROM weddings WHERE organization_id = $1 ORDER BY id LIMIT 1', [orgs[0]])).rows[0]!.id;
    const config = resolveConfig({ databaseUrl: world.db.url, repo: join(world.dir, 'repo'), photoStore: join(world.dir, 'photos'), home: join(world.dir, 'home') }, { WEDSYNC_PASSPHRASE: world.passphrase });
    agent = await startAgent({ config, logger: await silentLogger(), port: 0, tier1: false });
  });
  afterAll(async () => {
    await agent?.close();
    await world?.close();
  });

  const call = (who: string, method: string, path: string, body?: unknown) =>
    fetch(`${agent.url}${path}`, { method, headers: { authorization: `Bearer ${token[who] ?? agent.token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });

  it('a coordinator starts one (202), watches its progress in order through a ticket, and the stream ends with the result', async () => {
    // Hold backup_snapshots against writes: the backup can report all its progress but cannot
    // record its snapshot (its last step) until the test lets it, so no timing is involved.
    const locker = new pg.Client({ connectionString: world.db.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE backup_snapshots IN SHARE MODE');
    let run: BackupRun;
    const events: AgentEvent[] = [];
    try {
      const started = await call('coordA', 'POST', '/api/backup/emergency-backups', { weddingId: weddingA });
      expect(started.status).toBe(202);
      run = BackupRunResponseSchema.parse(await started.json()).backup;
      expect(run).toMatchObject({ weddingId: weddingA, state: 'running', result: null });
      const ticket = await call('coordA', 'POST', '/api/events/tickets', { stream: 'backup', id: run.id });
      expect(ticket.status).toBe(201);
      const { ticket: t, path } = (await ticket.json()) as { ticket: string; path: string };
      expect(path).toBe(`/api/events/backups/${run.id}`);
      const next = eventReader(await fetch(`${agent.url}${path}?ticket=${t}`));
      // Progress arrives while the backup runs (it cannot finish yet).
      for (let e = await next(); e; e = await next()) {
        events.push(e);
        expect(e).toMatchObject({ type: 'backup', backup: { id: run.id, state: 'running' } });
        if (e.type === 'backup' && (e.backup.progress?.rows ?? 0) > 0) break;
      }
      expect(events.length).toBeGreaterThan(0);
      await locker.query('COMMIT');
      for (let e = await next(); e; e = await next()) events.push(e);
    } finally {
      await locker.end();
    }
    expect(events.at(-1)).toEqual({ type: 'end', reason: 'finished' });
    const runs = events.flatMap((e) => (e.type === 'backup' ? [e.backup] : []));
    // In order: running states, then exactly one final state, rows and items never going back.
    const last = runs.at(-1)!;
    expect(last.state).toBe('completed');
    expect(runs.slice(0, -1).every((r) => r.state === 'running')).toBe(true);
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i]!.progress?.rows ?? 0).toBeGreaterThanOrEqual(runs[i - 1]!.progress?.rows ?? 0);
      expect(runs[i]!.progress?.itemsDone ?? 0).toBeGreaterThanOrEqual(runs[i - 1]!.progress?.itemsDone ?? 0);
    }
    expect(last.progress?.rows).toBeGreaterThan(0);
    expect(last.result).toMatchObject({ type: 'emergency', weddingCount: 1 });
    expect(last.result!.rowCount).toBe(last.progress!.rows);
    // The snapshot is in the catalog, and the polling route answers the same run.
    expect((await world.catalog.getSnapshot(last.result!.snapshotId))?.id).toBe(last.result!.snapshotId);
    const polled = BackupRunResponseSchema.parse(await (await call('coordA', 'GET', `/api/backup/emergency-backups/${run!.id}`)).json()).backup;
    expect(polled).toEqual(last);
    // The waiting POST still answers 201 with the result (API clients unchanged).
    const sync = await call('agent', 'POST', '/api/backup/emergency-backup', { weddingId: weddingA });
    expect(sync.status).toBe(201);
    expect(((await sync.json()) as { type: string }).type).toBe('emergency');
  });

  it('an admin cancels a running one: it ends failed, CANCELLED with who and why, its job failed with the reason, no snapshot anywhere', async () => {
    const count = async () => ({
      catalog: Number((await world.client.query<{ n: string }>('SELECT count(*) AS n FROM backup_snapshots')).rows[0]!.n),
      repository: (await (await world.reopen()).listSnapshots()).length,
    });
    const before = await count();
    // The guests table locked: the backup starts, then waits for it (no timing involved).
    const locker = new pg.Client({ connectionString: world.db.url });
    await locker.connect();
    let run: BackupRun;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE guests IN ACCESS EXCLUSIVE MODE');
      const started = await call('coordA', 'POST', '/api/backup/emergency-backups', { weddingId: weddingA });
      run = BackupRunResponseSchema.parse(await started.json()).backup;
      // Only an admin of the wedding's organization may stop it.
      expect((await call('coordA', 'POST', `/api/backup/emergency-backups/${run.id}/cancel`)).status).toBe(403);
      expect((await call('viewerA', 'POST', `/api/backup/emergency-backups/${run.id}/cancel`)).status).toBe(403);
      expect((await call('adminB', 'POST', `/api/backup/emergency-backups/${run.id}/cancel`)).status).toBe(404);
      expect((await call('adminA', 'POST', `/api/backup/emergency-backups/${run.id}/cancel`, { reason: '' })).status).toBe(400);
      expect((await call('adminA', 'POST', `/api/backup/emergency-backups/${run.id}/cancel`, { why: 'x' })).status).toBe(400);
      const cancelled = await call('adminA', 'POST', `/api/backup/emergency-backups/${run.id}/cancel`, { reason: 'wrong wedding picked' });
      expect(cancelled.status).toBe(202);
      expect(BackupRunResponseSchema.parse(await cancelled.json()).backup.id).toBe(run.id);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
    const ended = await waitFor(async () => {
      const b = BackupRunResponseSchema.parse(await (await call('coordA', 'GET', `/api/backup/emergency-backups/${run.id}`)).json()).backup;
      return b.state === 'running' ? null : b;
    }, 'cancelled run ended', 60_000);
    expect(ended).toMatchObject({ state: 'failed', result: null, error: { code: 'CANCELLED' } });
    expect(ended.error!.message).toMatch(/^the backup was cancelled by user:.+: wrong wedding picked$/);
    // Its catalog job says so, with the same reason; nothing of a snapshot is visible.
    const { rows: jobs } = await world.client.query<{ status: string; error: { code: string; message: string } }>(
      `SELECT status, error_details AS error FROM backup_jobs WHERE backup_type = 'emergency' AND target_weddings @> ARRAY[$1]::uuid[] ORDER BY created_at DESC LIMIT 1`,
      [weddingA],
    );
    expect(jobs[0]).toEqual({ status: 'failed', error: { code: 'CANCELLED', message: ended.error!.message } });
    expect(await count()).toEqual(before);
    // Finished: a second cancel is refused; the cancel is in the audit log.
    expect((await call('adminA', 'POST', `/api/backup/emergency-backups/${run.id}/cancel`)).status).toBe(409);
    const { rows: audit } = await world.client.query<{ actor_label: string; wedding_ids: string[]; details: { reason: string } }>(
      `SELECT actor_label, wedding_ids::text[], details FROM backup_audit_log WHERE action = 'backup.cancel' AND target = $1`,
      [`backup_run:${run.id}`],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ wedding_ids: [weddingA], details: { reason: 'wrong wedding picked' } });
  });

  it("a viewer cannot start or watch one; another organization's coordinator gets 404 as if absent", async () => {
    const started = await call('agent', 'POST', '/api/backup/emergency-backups', { weddingId: weddingA });
    const { id } = BackupRunResponseSchema.parse(await started.json()).backup;
    expect((await call('viewerA', 'POST', '/api/backup/emergency-backups', { weddingId: weddingA })).status).toBe(403);
    expect((await call('viewerA', 'POST', '/api/events/tickets', { stream: 'backup', id })).status).toBe(403);
    expect((await call('viewerA', 'GET', `/api/events/backups/${id}`)).status).toBe(403);
    expect((await call('coordB', 'POST', '/api/backup/emergency-backups', { weddingId: weddingA })).status).toBe(404);
    expect((await call('coordB', 'POST', '/api/events/tickets', { stream: 'backup', id })).status).toBe(404);
    expect((await call('coordB', 'GET', `/api/events/backups/${id}`)).status).toBe(404);
    expect((await call('coordB', 'GET', `/api/backup/emergency-backups/${id}`)).status).toBe(404);
    expect((await call('coordA', 'POST', '/api/events/tickets', { stream: 'backup', id: '00000000-0000-4000-8000-000000000000' })).status).toBe(404);
    // The owner's coordinator may watch it; let it finish before the agent closes.
    const own = await call('coordA', 'GET', `/api/events/backups/${id}`);
    expect(own.status).toBe(200);
    const text = await own.text();
    expect(text.trimEnd().endsWith('data: {"type":"end","reason":"finished"}') || text.includes('"reason":"idle"')).toBe(true);
  });
});
