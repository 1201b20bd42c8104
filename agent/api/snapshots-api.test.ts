import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createBackupWorld, type BackupWorld } from '../../test-support/fixtures.js';
import { resolveConfig } from '../cli/config.js';
import { silentLogger } from '../logger.js';
import { startAgent, type RunningAgent } from '../main.js';

describe('agent HTTP API: snapshots and emergency backup', () => {
  let world: BackupWorld;
  let agent: RunningAgent;
  let snapshotId: string;
  const call = (path: string, init: RequestInit = {}, token: string | null = agent.token) =>
    fetch(`${agent.url}${path}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers } });

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 5 });
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    const config = resolveConfig(
      { databaseUrl: world.db.url, repo: join(world.dir, 'repo'), photoStore: join(world.dir, 'photos'), home: join(world.dir, 'home') },
      { WEDSYNC_PASSPHRASE: world.passphrase },
    );
    agent = await startAgent({ config, logger: await silentLogger(), port: 0 });
  });
  afterAll(async () => {
    await agent?.close();
    await world?.close();
  });

  it('refuses requests without the bearer token or with a wrong one (401, JSON)', async () => {
    for (const token of [null, 'wrong-token']) {
      const r = await call('/api/backup/snapshots', {}, token);
      expect(r.status).toBe(401);
      expect(await r.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    }
  });

  it('lists snapshots and shows one per wedding', async () => {
    const list = await call('/api/backup/snapshots');
    expect(list.status).toBe(200);
    const body = await list.json();
    expect(body.snapshots.map((s: { id: string }) => s.id)).toContain(snapshotId);
    const one = await call(`/api/backup/snapshots/${snapshotId}`);
    const detail = await one.json();
    expect(detail.snapshot.id).toBe(snapshotId);
    expect(detail.weddings).toHaveLength(5);
    expect(detail.weddings[0].rowCounts.guests).toBe(12);
  });

  it('bad ids and unknown snapshots are 4xx with a JSON error naming the field', async () => {
    const bad = await call('/api/backup/snapshots/..%2F..%2Fetc%2Fpasswd');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.fields[0].field).toBe('params.id');
    const unknown = await call('/api/backup/snapshots/00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    const query = await call('/api/backup/snapshots?limit=-1');
    expect(query.status).toBe(400);
    expect((await query.json()).error.fields[0].field).toBe('query.limit');
  });

  it('runs an emergency backup of one wedding', async () => {
    const { rows } = await world.client.query<{ id: string }>('SELECT id FROM weddings ORDER BY id LIMIT 1');
    const r = await call('/api/backup/emergency-backup', { method: 'POST', body: JSON.stringify({ weddingId: rows[0]!.id, dataTypes: ['guests', 'timeline'] }) });
    expect(r.status).toBe(201);
    const body = await r.json();
    expect(body).toMatchObject({ type: 'emergency', weddingCount: 1 });
    const row = await world.catalog.getSnapshot(body.snapshotId);
    expect(row?.weddingIds).toEqual([rows[0]!.id]);
  });

  it('rejects bad emergency-backup bodies with every bad field named, and unknown weddings with 404', async () => {
    const r = await call('/api/backup/emergency-backup', { method: 'POST', body: JSON.stringify({ weddingId: "x'; DROP TABLE guests; --", dataTypes: ['cake'], extra: 1 }) });
    expect(r.status).toBe(400);
    const fields = (await r.json()).error.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['body.weddingId', 'body.dataTypes.0']));
    const unknown = await call('/api/backup/emergency-backup', { method: 'POST', body: JSON.stringify({ weddingId: '00000000-0000-4000-8000-000000000009' }) });
    expect(unknown.status).toBe(404);
    const notJson = await call('/api/backup/emergency-backup', { method: 'POST', body: '{not json' });
    expect(notJson.status).toBe(400);
    const huge = await call('/api/backup/emergency-backup', { method: 'POST', body: JSON.stringify({ weddingId: 'a'.repeat(2 * 1024 * 1024) }) });
    expect(huge.status).toBe(413);
    const { rows } = await world.client.query('SELECT count(*)::int AS n FROM guests');
    expect(rows[0].n).toBe(5 * 12);
  });

  it('unknown routes are a JSON 404; /healthz needs no token', async () => {
    expect((await call('/api/nope')).status).toBe(404);
    const health = await call('/healthz', {}, null);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true });
  });
});
