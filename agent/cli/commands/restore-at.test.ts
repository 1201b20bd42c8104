import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test-support/db.js';
import { createTier1World, liveRows, waitFor, type Tier1World } from '../../../test-support/tier1.js';
import { runCli, type CliRun } from '../../../test-support/cli.js';

/**
 * `wedsync-backup restore --wedding ID --at ISO_TIME` as users run it (the compiled CLI): bad
 * combinations refused with exit 2 and one line, the wedding brought back exactly as it was at T
 * through preview → --yes → recovery point (operation type point-in-time, snapshot of kind
 * point-in-time in the catalog), and queued when the database cannot be reached.
 */
describe('wedsync-backup restore --wedding ID --at ISO_TIME', () => {
  let db: TestDatabase;
  let world: Tier1World;
  let W: string;
  let at: string;
  let asAtT: Awaited<ReturnType<typeof liveRows>>;
  let env: Record<string, string>;

  const cli = (args: string[], extra: Record<string, string> = {}): Promise<CliRun> => runCli(args, { ...env, ...extra });

  beforeAll(async () => {
    db = await createTestDatabase('pitcli');
    world = await createTier1World(db.url, { weddings: 3, photos: true });
    W = world.weddingIds[0]!;
    env = { DATABASE_URL: db.url, WEDSYNC_HOME: world.dir, WEDSYNC_REPO: join(world.dir, 'main-repo'), WEDSYNC_PHOTO_STORE: join(world.dir, 'photos'), WEDSYNC_PASSPHRASE: 'pw', WEDSYNC_LOG_LEVEL: 'warn' };
    const stream = world.stream({ weddings: [W] });
    stream.start();
    try {
      await waitFor(() => world.store.getWedding(W)?.state === 'ready', 'wedding loaded');
      const c = world.client;
      const { rows: g } = await c.query<{ id: string }>('SELECT id::text FROM guests WHERE wedding_id = $1 ORDER BY id', [W]);
      await c.query(`UPDATE guests SET first_name = 'Before-T' WHERE id = $1`, [g[0]!.id]);
      await waitFor(() => world.store.getRow('public.guests', [g[0]!.id])?.values.first_name === 'Before-T', 'edit streamed');
      await new Promise((r) => setTimeout(r, 20));
      at = new Date().toISOString();
      asAtT = await liveRows(c, W);
      await new Promise((r) => setTimeout(r, 20));
      await c.query(`UPDATE guests SET rsvp_status = 'declined' WHERE wedding_id = $1`, [W]);
      await c.query('DELETE FROM timeline_events WHERE wedding_id = $1', [W]);
      await waitFor(() => world.store.weddingRows(W, 'public.timeline_events').length === 0, 'damage streamed');
    } finally {
      await stream.stop();
    }
    // The CLI opens the cache file itself: this process lets go of it.
    world.store.close();
  }, 120_000);

  afterAll(async () => {
    await world?.close().catch(() => undefined);
    await db?.drop();
  });

  it('refuses bad combinations with exit 2 and one line naming the problem', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const cases: Array<[string[], RegExp]> = [
      [['restore', '--wedding', W, '--at', at, '--scope', 'complete'], /cannot be combined with --scope complete/],
      [['restore', 'latest', '--wedding', W, '--at', at], /--at picks its own snapshot/],
      [['restore', '--at', at], /--at needs --wedding ID/],
      [['restore', '--wedding', W, '--wedding', world.weddingIds[1]!, '--at', at], /one wedding at a time/],
      [['restore', '--wedding', W, '--at', future], /is in the future/],
      [['restore', '--wedding', W, '--at', '2026-06-01 14:00'], /ISO date-time with a zone/],
      [['restore', '--wedding', W, '--at', '2001-01-01T00:00:00Z'], /outside tier 1's window/],
      [['restore', '--wedding', world.weddingIds[2]!, '--at', at], /not in the local cache/],
      [['restore', '--wedding', W], /restore needs SNAPSHOT/],
      [['restore', 'latest'], /needs --scope/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0], args.join(' ')).toMatch(message);
    }
  });

  it('--dry-run previews; --yes restores exactly the rows as they were at T (point-in-time operation, snapshot in the catalog)', async () => {
    const dry = await cli(['restore', '--wedding', W, '--at', at, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/as of .* base snapshot .*\(point-in-time snapshot/);
    expect(dry.stdout).toContain('dry run: nothing was changed');
    expect(await liveRows(world.client, W)).not.toEqual(asAtT);

    // A photo file lost since: the base holds it, so the restore writes it back (sha256 checked).
    const { rows: files } = await world.client.query<{ storage_key: string; sha256: string }>('SELECT storage_key, sha256 FROM photos WHERE wedding_id = $1 AND sha256 IS NOT NULL ORDER BY id', [W]);
    expect(files.length).toBeGreaterThan(0);
    const lost = join(world.dir, 'photos', files[0]!.storage_key);
    await rm(lost);

    const r = await cli(['restore', '--wedding', W, '--at', at, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.pointInTime.photos).toEqual({ files: files.length, withoutFile: 0 });
    expect(out.operation.dataRestored.photosWritten).toBe(1);
    expect(createHash('sha256').update(await readFile(lost)).digest('hex')).toBe(files[0]!.sha256);
    expect(out).toMatchObject({ ok: true, confirmed: true, operation: { operationType: 'point-in-time', status: 'completed' } });
    expect(out.operation.preRecoverySnapshot).toBeTruthy();
    expect(await liveRows(world.client, W)).toEqual(asAtT);
    const { rows } = await world.client.query<{ snapshot_type: string; tier: number; parent_snapshot_id: string; wedding_ids: string[] }>(
      'SELECT snapshot_type, tier, parent_snapshot_id::text, wedding_ids::text[] FROM backup_snapshots WHERE id = $1',
      [out.pointInTime.snapshotId],
    );
    expect(rows[0]).toMatchObject({ snapshot_type: 'point-in-time', tier: 1, parent_snapshot_id: out.pointInTime.baseSnapshotId, wedding_ids: [W] });
    const snapshots = JSON.parse((await cli(['snapshots', '--json', '--wedding', W])).stdout);
    expect(JSON.stringify(snapshots)).toContain(out.pointInTime.snapshotId);
    // Undo brings back what the restore replaced (its recovery point is in the local repository too).
    const before = await liveRows(world.client, W);
    const undone = await cli(['undo', out.operation.id, '--yes', '--json']);
    expect(undone.code, undone.stderr).toBe(0);
    expect(JSON.parse(undone.stdout).operation).toMatchObject({ operationType: 'undo', status: 'completed' });
    expect(await liveRows(world.client, W)).not.toEqual(before);
    const redo = await cli(['restore', '--wedding', W, '--at', at, '--yes', '--json']);
    expect(redo.code, redo.stderr).toBe(0);
    expect(await liveRows(world.client, W)).toEqual(asAtT);
  });

  it('--data-types restores only those data types of the wedding as of T', async () => {
    await world.client.query(`UPDATE guests SET rsvp_status = 'tentative' WHERE wedding_id = $1`, [W]);
    await world.client.query(`UPDATE vendors SET phone = '000' WHERE wedding_id = $1`, [W]);
    const r = await cli(['restore', '--wedding', W, '--at', at, '--data-types', 'guests', '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).operation).toMatchObject({ operationType: 'point-in-time', recoveryScope: 'selective', dataTypes: ['guests'] });
    const now = await liveRows(world.client, W);
    expect(now['public.guests']).toEqual(asAtT['public.guests']);
    expect(Object.values(now['public.vendors']!).every((v) => v.phone === '000')).toBe(true);
  });

  it('with the database unreachable the restore is prepared and queued; `queued list` and `queued cancel` manage it offline', async () => {
    const offline = { DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none' };
    const r = await cli(['restore', '--wedding', W, '--at', at, '--json'], offline);
    expect(r.code, r.stderr).toBe(0);
    const q = JSON.parse(r.stdout).queued;
    expect(q).toMatchObject({ status: 'queued' });
    const dry = await cli(['restore', '--wedding', W, '--at', at, '--dry-run'], offline);
    expect(dry.code).toBe(1);
    expect(dry.stderr).toMatch(/database is unreachable/);
    const list = JSON.parse((await cli(['queued', 'list', '--json'], offline)).stdout);
    expect(list.queued[0]).toMatchObject({ id: q.id, kind: 'point-in-time', weddingIds: [W], status: 'queued', confirmed: false });
    const cancelled = JSON.parse((await cli(['queued', 'cancel', q.id, '--json'], offline)).stdout);
    expect(cancelled.queued.status).toBe('cancelled');
    const again = await cli(['queued', 'confirm', q.id], offline);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is cancelled/);
  });
});
