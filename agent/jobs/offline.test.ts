import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../api/server.js';
import { registerOfflineRoutes } from '../api/routes/offline.js';
import type { ApiServices } from '../api/services.js';
import { DEFAULT_SCHEMA_MAP } from '../contract/schema-map.js';
import { silentLogger } from '../logger.js';
import { startEmbeddedPostgres, type EmbeddedCluster } from '../source/embedded.js';
import { createTier1World, editThenDamage, liveRows, openRestoreDeps, waitFor, type Tier1World } from '../../test-support/tier1.js';
import { renderRunSheet } from './export-run-sheet.js';
import { queueRestore, runQueuedRestores } from './offline-queue.js';
import { createOfflineServices, readOfflineWedding, readToday } from './offline.js';
import type { TierOneStream } from './stream.js';

const run = promisify(execFile);

/**
 * The wedding day with the database gone: a dedicated PostgreSQL this test stops and starts.
 * The cache answers (reads, run sheet, API), a restore asked for meanwhile is queued, and runs
 * once the database is back; the stream reconnects by itself.
 */
describe('offline operation (database stopped, then back)', () => {
  let dir: string;
  let cluster: EmbeddedCluster;
  let world: Tier1World;
  let stream: TierOneStream;
  let W: string;
  let weddingDate: string;
  let at: string;
  let asAtT: Awaited<ReturnType<typeof liveRows>>;
  const queueRuns: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wedsync-offline-'));
    cluster = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), persistent: true, settings: { fsync: 'off' } });
    world = await createTier1World(cluster.url, { weddings: 3 });
    W = world.weddingIds[0]!;
    weddingDate = (await world.client.query<{ d: string }>('SELECT wedding_date::text AS d FROM weddings WHERE id = $1', [W])).rows[0]!.d;
    stream = world.stream({
      weddings: [W],
      async onConnected() {
        const done = await runQueuedRestores(world.store, () => openRestoreDeps(cluster.url, world.repo));
        queueRuns.push(...done.map((q) => q.status));
      },
    });
    stream.start();
    ({ at, asAtT } = await editThenDamage(world, W));
    // The network goes away.
    await world.client.end();
    await cluster.stop();
    await waitFor(() => stream.status().mode === 'offline', 'stream notices the database is gone');
  }, 180_000);

  afterAll(async () => {
    await stream?.stop();
    await world?.close().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("shows today's wedding and its guests, timeline and vendors from the cache", () => {
    const today = readToday(world.store, weddingDate, stream.status());
    expect(today.weddings.map((w) => w.weddingId)).toContain(W);
    expect(today.stream.mode).toBe('offline');
    const w = readOfflineWedding(world.store, W);
    expect(w.guests.length).toBeGreaterThan(0);
    expect(w.timeline.length).toBeGreaterThan(0);
    expect(w.vendors.length).toBeGreaterThan(0);
    expect(w.guests.find((x) => x.first_name === 'Olivia')?.rsvp_status).toBe('declined');
    expect(w.timeline.map((t) => t.starts_at)).toEqual([...w.timeline.map((t) => t.starts_at)].sort());
  });

  it('exports the run sheet as csv, json and pdf', async () => {
    const w = readOfflineWedding(world.store, W);
    const csv = (await renderRunSheet(w, 'csv')).toString('utf8');
    expect(csv).toMatch(/^Run sheet: /);
    expect(csv).toContain('Olivia Offline');
    expect(csv).toContain('\r\nTimeline\r\n');
    expect(csv).toContain('\r\nVendors\r\n');
    const json = JSON.parse((await renderRunSheet(w, 'json')).toString('utf8'));
    expect(json.runSheet.sections.map((s: { title: string }) => s.title)).toEqual(['Guests', 'Timeline', 'Vendors']);
    const pdf = await renderRunSheet(w, 'pdf');
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.subarray(-6).toString()).toMatch(/%%EOF/);
  });

  it('`wedsync-backup export` writes the run sheet with the database unreachable', async () => {
    const out = join(dir, 'sheet.pdf');
    const { stdout } = await run(process.execPath, ['bin/wedsync-backup.js', 'export', '--json', '--home', world.dir, '--wedding', W, '--format', 'pdf', '--out', out, '--database-url', cluster.url], {
      env: { ...process.env, WEDSYNC_PASSPHRASE: '' },
    });
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ ok: true, weddingId: W, format: 'pdf', file: out });
    expect((await readFile(out)).subarray(0, 5).toString()).toBe('%PDF-');
    const bad = await run(process.execPath, ['bin/wedsync-backup.js', 'export', '--home', world.dir, '--wedding', W, '--format', 'docx'], { env: process.env }).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(2);
  });

  it('serves GET /api/weddings/today and /api/weddings/:id/offline from the cache', async () => {
    const services = { offline: createOfflineServices({ store: world.store, timeZone: 'UTC', status: () => stream.status() }) } as unknown as ApiServices;
    const app = createApiServer(services, { token: 't', logger: await silentLogger(), extraRoutes: [(a) => registerOfflineRoutes(a, services)] });
    try {
      const auth = { authorization: 'Bearer t' };
      const today = await app.inject({ url: `/api/weddings/today?date=${weddingDate}`, headers: auth });
      expect(today.statusCode).toBe(200);
      expect(today.json().weddings[0]).toMatchObject({ weddingId: W, state: 'ready' });
      const one = await app.inject({ url: `/api/weddings/${W}/offline`, headers: auth });
      expect(one.statusCode).toBe(200);
      expect(one.json().guests.length).toBeGreaterThan(0);
      expect((await app.inject({ url: '/api/weddings/not-a-uuid/offline', headers: auth })).statusCode).toBe(400);
      expect((await app.inject({ url: '/api/weddings/today?date=tomorrow', headers: auth })).statusCode).toBe(400);
      expect((await app.inject({ url: `/api/weddings/${world.weddingIds[2]}/offline`, headers: auth })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('a restore asked for while the database is down is queued, and runs when it is back', async () => {
    const q = await queueRestore(world.store, { kind: 'point-in-time', weddingId: W, at, confirmed: true, initiatedByLabel: 'coordinator' }, { store: world.store, localRepo: world.repo, map: DEFAULT_SCHEMA_MAP });
    expect(q.status).toBe('queued');
    // Trying now changes nothing: still queued, with the reason.
    const tried = await runQueuedRestores(world.store, () => openRestoreDeps(cluster.url, world.repo));
    expect(tried[0]).toMatchObject({ status: 'queued' });
    expect(tried[0]!.lastError).toMatch(/reach|connect/i);

    // The database comes back (same port, same data): the stream reconnects and runs the queue.
    cluster = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: cluster.port, persistent: true, settings: { fsync: 'off' } });
    const done = await waitFor(
      () => {
        const item = world.store.getQueuedRestore(q.id);
        return item?.status === 'done' ? item : null;
      },
      'queued restore done',
      60_000,
    );
    expect(done.operationId).toBeTruthy();
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      expect(await liveRows(client, W)).toEqual(asAtT);
      const { rows } = await client.query('SELECT operation_type, status FROM recovery_operations WHERE id = $1', [done.operationId]);
      expect(rows[0]).toEqual({ operation_type: 'point-in-time', status: 'completed' });
      // And the stream is live again.
      await client.query(`UPDATE weddings SET venue_name = 'Back Online Barn' WHERE id = $1`, [W]);
      await waitFor(() => world.store.getRow('public.weddings', [W])?.values.venue_name === 'Back Online Barn', 'stream resumed', 60_000);
      expect(stream.status().mode).toBe('logical');
    } finally {
      await client.end();
    }
  });
});
