import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveConfig } from './cli/config.js';
import { DEFAULT_SCHEMA_MAP } from './contract/schema-map.js';
import { queueRestore } from './jobs/offline-queue.js';
import { silentLogger } from './logger.js';
import { issueToken } from './catalog/tokens.js';
import { startAgent, type RunningAgent } from './main.js';
import { startEmbeddedPostgres, type EmbeddedCluster } from './source/embedded.js';
import { createTier1World, editThenDamage, liveRows, waitFor, type Tier1World } from '../test-support/tier1.js';

/**
 * The wedding day in a barn: `wedsync-backup agent` started with its database stopped comes up
 * from the local cache and repository — today's wedding over the API, status and /healthz
 * degraded ("database unreachable"), the queue of restores readable — and when the database
 * returns it connects by itself, runs the restore queued "confirmed", and lets the console
 * preview, confirm and cancel the others (queued-restores API).
 */
describe('the agent started with the database down', () => {
  let dir: string;
  let cluster: EmbeddedCluster;
  let world: Tier1World;
  let agent: RunningAgent;
  let W: string;
  let today: string;
  let at: string;
  let asAtT: Awaited<ReturnType<typeof liveRows>>;
  const queued: Record<'auto' | 'manual' | 'cancel', string> = { auto: '', manual: '', cancel: '' };

  const api = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${agent.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${agent.token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies, asserted field by field
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    vi.stubEnv('WEDSYNC_TIME_ZONE', 'UTC');
    dir = await mkdtemp(join(tmpdir(), 'wedsync-agent-offline-'));
    cluster = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), persistent: true, settings: { fsync: 'off' } });
    world = await createTier1World(cluster.url, { weddings: 3 });
    W = world.weddingIds[0]!;
    today = new Date().toISOString().slice(0, 10);
    // Today's wedding: in its high-priority period, so the agent's own tier 1 keeps streaming it.
    await world.client.query('UPDATE weddings SET wedding_date = $2 WHERE id = $1', [W, today]);
    const stream = world.stream({ weddings: [W] });
    stream.start();
    try {
      ({ at, asAtT } = await editThenDamage(world, W));
    } finally {
      await stream.stop();
    }
    // Three restores asked for in the barn: one "yes, as soon as it is back", two to confirm or cancel later.
    const pit = { store: world.store, localRepo: world.repo, map: DEFAULT_SCHEMA_MAP };
    queued.auto = (await queueRestore(world.store, { kind: 'point-in-time', weddingId: W, at, confirmed: true, initiatedByLabel: 'coordinator (barn)' }, pit)).id;
    queued.manual = (await queueRestore(world.store, { kind: 'point-in-time', weddingId: W, at, dataTypes: ['guests'], confirmed: false }, pit)).id;
    queued.cancel = (await queueRestore(world.store, { kind: 'point-in-time', weddingId: W, at, confirmed: false }, pit)).id;
    world.store.close();
    await world.client.end();
    await cluster.stop();

    const config = resolveConfig({ databaseUrl: cluster.url, repo: join(world.dir, 'local-repository'), home: world.dir }, { WEDSYNC_PASSPHRASE: 'pw' });
    agent = await startAgent({ config, logger: await silentLogger(), port: 0, tier1: true, jobs: false, retry: { minMs: 200, maxMs: 1_000 } });
  }, 180_000);

  afterAll(async () => {
    await agent?.close();
    vi.unstubAllEnvs();
    // world.close() re-closes the store it holds: reopen one for it to close.
    world?.reopenCache();
    await world?.close().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves today\'s wedding, the snapshot mirror and the queue from the cache; health and status say "database unreachable" (degraded, not dead)', async () => {
    const health = await api('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ ok: true, degraded: true, database: { state: 'unreachable' } });
    expect(agent.database().state).toBe('unreachable');

    const todays = await api(`/api/weddings/today?date=${today}`);
    expect(todays.status).toBe(200);
    expect(todays.body.weddings.map((w: { weddingId: string }) => w.weddingId)).toContain(W);
    const one = await api(`/api/weddings/${W}/offline`);
    expect(one.status).toBe(200);
    expect(one.body.guests.find((g: Record<string, string>) => g.first_name === 'Olivia')?.rsvp_status).toBe('declined');

    const status = await api('/api/backup/status');
    expect(status.status).toBe(200);
    expect(status.body.healthy).toBe(false);
    expect(status.body.warnings[0]).toMatch(/^database unreachable/);

    // Point-in-time snapshots are browsable offline (cache mirror + local repository).
    const pits = await api('/api/backup/snapshots?type=point-in-time');
    expect(pits.status).toBe(200);
    expect(pits.body.snapshots.length).toBe(3);
    const detail = await api(`/api/backup/snapshots/${pits.body.snapshots[0].id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.snapshot.snapshotType).toBe('point-in-time');
    expect(detail.body.weddings[0].weddingId).toBe(W);

    const list = await api('/api/backup/queued-restores');
    expect(list.status).toBe(200);
    expect(list.body.database).toBe('unreachable');
    expect(list.body.queued.map((q: { id: string }) => q.id).sort()).toEqual(Object.values(queued).sort());
    expect((await api(`/api/backup/queued-restores/${queued.manual}/preview`, { method: 'POST' })).status).toBe(503);
    expect((await api('/api/backup/restore/preview', { method: 'POST', body: { backupId: pits.body.snapshots[0].id, recoveryScope: 'wedding-only', weddingIds: [W] } })).status).toBe(503);
    // A per-user token cannot be resolved without the database: 503 naming it, never a 500 (the agent token works).
    const user = await fetch(`${agent.url}/api/weddings/today`, { headers: { authorization: 'Bearer wsk_not-checkable-offline' } });
    expect(user.status).toBe(503);
    expect(((await user.json()) as { error: { code: string } }).error.code).toBe('DB_UNREACHABLE');
    // The console itself is served.
    expect((await fetch(agent.consoleUrl(), { redirect: 'manual' })).status).toBeLessThan(500);
  });

  it('connects by itself when the database returns, runs the confirmed queued restore, and the console confirms and cancels the others', async () => {
    cluster = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: cluster.port, persistent: true, settings: { fsync: 'off' } });
    await waitFor(async () => (await api('/healthz')).body.database?.state === 'connected', 'agent reconnected', 60_000);
    const done = await waitFor(async () => {
      const q = (await api('/api/backup/queued-restores')).body.queued.find((x: { id: string }) => x.id === queued.auto);
      return q?.status === 'done' ? q : null;
    }, 'queued restore done', 60_000);
    expect(done.operationId).toBeTruthy();
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      expect(await liveRows(client, W)).toEqual(asAtT);
      const op = await api(`/api/backup/recovery-operations/${done.operationId}`);
      expect(op.body.operation).toMatchObject({ operationType: 'point-in-time', status: 'completed' });
      // The agent ran it by itself (no API request to record it): its start and outcome are in the
      // audit log, under the person who queued it, as a restore run from the CLI or the API is.
      const audit = await api(`/api/audit?limit=50`);
      const audited = (audit.body.entries as Array<{ action: string; outcome: string; target: string; actorLabel: string; weddingIds: string[] }>).filter((e) => e.target === `recovery_operation:${done.operationId}`);
      expect(audited.map((e) => [e.action, e.outcome, e.actorLabel]).sort()).toEqual([
        ['restore.complete', 'succeeded', 'coordinator (barn)'],
        ['restore.start', 'succeeded', 'coordinator (barn)'],
      ]);
      expect(audited[0]!.weddingIds).toEqual([W]);
      // Its snapshot now has a catalog row of its kind.
      const { rows } = await client.query<{ t: string }>('SELECT snapshot_type AS t FROM backup_snapshots WHERE id = $1', [done.snapshotId]);
      expect(rows[0]?.t).toBe('point-in-time');

      // Damage again; the console previews the second queued restore against the database as it is now, then confirms it.
      await client.query(`UPDATE guests SET rsvp_status = 'tentative' WHERE wedding_id = $1`, [W]);
      expect((await api(`/api/backup/queued-restores/${queued.manual}/confirm`, { method: 'POST', body: {} })).status).toBe(400);
      expect((await api(`/api/backup/queued-restores/${queued.manual}/confirm`, { method: 'POST', body: { confirmationToken: 'forged' } })).status).toBe(400);
      const preview = await api(`/api/backup/queued-restores/${queued.manual}/preview`, { method: 'POST' });
      expect(preview.status).toBe(200);
      expect(preview.body.queued).toMatchObject({ id: queued.manual, awaitingConfirmation: true, dataTypes: ['guests'] });
      expect(preview.body.preview.totals.updated).toBeGreaterThan(0);
      const confirmed = await api(`/api/backup/queued-restores/${queued.manual}/confirm`, { method: 'POST', body: { confirmationToken: preview.body.preview.confirmationToken } });
      expect(confirmed.status).toBe(202);
      expect(confirmed.body.operation).toMatchObject({ operationType: 'point-in-time', recoveryScope: 'selective' });
      await waitFor(async () => (await api(`/api/backup/recovery-operations/${confirmed.body.operation.id}`)).body.operation.status === 'completed', 'confirmed restore completed', 60_000);
      expect((await liveRows(client, W))['public.guests']).toEqual(asAtT['public.guests']);
      await waitFor(async () => (await api('/api/backup/queued-restores')).body.queued.find((x: { id: string }) => x.id === queued.manual)?.status === 'done', 'item done');
      // The token was single use; the item is no longer queued.
      expect((await api(`/api/backup/queued-restores/${queued.manual}/confirm`, { method: 'POST', body: { confirmationToken: preview.body.preview.confirmationToken } })).status).toBe(409);

      // Per-user tokens (the database is back, so they resolve): a viewer reads the queue but may not confirm or cancel.
      const { rows: viewer } = await client.query<{ email: string }>(`SELECT u.email FROM user_profiles u JOIN weddings w ON w.organization_id = u.organization_id WHERE w.id = $1 AND u.role = 'viewer' LIMIT 1`, [W]);
      const { token: viewerToken } = await issueToken(client, { email: viewer[0]!.email, issuedBy: 'test' });
      const asViewer = (path: string, method = 'GET', body?: unknown) =>
        fetch(`${agent.url}${path}`, { method, headers: { authorization: `Bearer ${viewerToken}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      const seen = (await (await asViewer('/api/backup/queued-restores')).json()) as { queued: Array<{ id: string }> };
      expect(seen.queued.map((q) => q.id)).toContain(queued.cancel);
      expect((await asViewer(`/api/backup/queued-restores/${queued.cancel}/cancel`, 'POST')).status).toBe(403);
      expect((await asViewer(`/api/backup/queued-restores/${queued.cancel}/confirm`, 'POST', { confirmationToken: 'x' })).status).toBe(403);

      const cancelled = await api(`/api/backup/queued-restores/${queued.cancel}/cancel`, { method: 'POST' });
      expect(cancelled.body.queued.status).toBe('cancelled');
      expect((await api(`/api/backup/queued-restores/${queued.cancel}/cancel`, { method: 'POST' })).status).toBe(409);
      expect((await api('/api/backup/queued-restores/00000000-0000-4000-8000-000000000000/preview', { method: 'POST' })).status).toBe(404);

      // Status is the scheduler's again, and the stream is live.
      expect((await api('/api/backup/status')).body.warnings.join(' ')).not.toMatch(/database unreachable/);
      await client.query(`UPDATE weddings SET venue_name = 'Back Online Barn' WHERE id = $1`, [W]);
      await waitFor(async () => (await api(`/api/weddings/${W}/offline`)).body.wedding?.venue_name === 'Back Online Barn', 'stream resumed', 60_000);
    } finally {
      await client.end();
    }
  }, 180_000);
});
