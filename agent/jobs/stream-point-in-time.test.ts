import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWedsyncError } from '../contract/errors.js';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { createTier1World, liveRows, openRestoreDeps, waitFor, type Tier1World } from '../../test-support/tier1.js';
import { previewRestore, startRestore } from './restore.js';
import { materializePointInTime } from './stream-point-in-time.js';
import { DEFAULT_SCHEMA_MAP } from '../contract/schema-map.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('point-in-time restore of a wedding within tier 1\'s window', () => {
  let db: TestDatabase;
  let world: Tier1World;
  let W: string;
  beforeAll(async () => {
    db = await createTestDatabase('pit');
    world = await createTier1World(db.url, { weddings: 3 });
    W = world.weddingIds[0]!;
  });
  afterAll(async () => {
    await world?.close();
    await db?.drop();
  });

  it('yields exactly the rows as they were at T, through preview, recovery point and apply', async () => {
    const stream = world.stream({ weddings: [W] });
    stream.start();
    try {
      await waitFor(() => world.store.getWedding(W)?.state === 'ready', 'wedding loaded');
      const c = world.client;
      const { rows: g } = await c.query<{ id: string }>('SELECT id::text FROM guests WHERE wedding_id = $1 ORDER BY id', [W]);
      await c.query(`UPDATE guests SET first_name = 'Before-T', dietary_requirements = E'nuts\\tand \\\\ "quotes"\\nnewline' WHERE id = $1`, [g[0]!.id]);
      await c.query(`INSERT INTO vendors (wedding_id, name, category, phone) VALUES ($1, 'Early Florist', 'florist', '+44 1')`, [W]);
      await c.query('DELETE FROM guests WHERE id = $1', [g[1]!.id]);
      await waitFor(() => world.store.getRow('public.guests', [g[1]!.id]) === null, 'changes before T streamed');
      await pause(20);
      const at = new Date().toISOString();
      const asAtT = await liveRows(c, W);
      await pause(20);
      // After T: the mess a restore should undo.
      await c.query(`UPDATE guests SET first_name = 'After-T', rsvp_status = 'declined' WHERE wedding_id = $1`, [W]);
      await c.query('DELETE FROM timeline_events WHERE wedding_id = $1', [W]);
      await c.query(`INSERT INTO guests (wedding_id, first_name) VALUES ($1, 'Gatecrasher')`, [W]);
      await c.query(`UPDATE weddings SET venue_name = 'Wrong Venue' WHERE id = $1`, [W]);
      await waitFor(() => world.store.getRow('public.weddings', [W])?.values.venue_name === 'Wrong Venue', 'changes after T streamed');
      await stream.stop();

      const p = await materializePointInTime({ store: world.store, localRepo: world.repo, map: DEFAULT_SCHEMA_MAP }, W, at);
      expect(p.changesApplied).toBeGreaterThanOrEqual(3);
      // This world's bases were taken without photo files: every photo with a file is named, none silently skipped.
      const { rows: withFile } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM photos WHERE wedding_id = $1 AND sha256 IS NOT NULL', [W]);
      expect(p.photos).toEqual({ files: 0, withoutFile: withFile[0]!.n });
      const pitManifest = await world.repo.loadManifest(p.snapshotId);
      expect(pitManifest.type).toBe('point-in-time');
      expect(pitManifest.photoProblems).toHaveLength(withFile[0]!.n);
      expect(world.store.getSnapshot(p.snapshotId)?.snapshotType).toBe('point-in-time');
      const opened = await openRestoreDeps(db.url, world.repo);
      try {
        const request = { snapshotId: p.snapshotId, recoveryScope: 'wedding-only' as const, weddingIds: [W], operationType: 'point-in-time' as const };
        const { preview, prepared } = await previewRestore(opened.deps, request);
        expect(preview.totals.deleted).toBeGreaterThan(0); // the gatecrasher
        const started = await startRestore(opened.deps, request, preview.confirmationToken, { initiatedByLabel: 'test' }, prepared);
        const op = await started.done;
        expect(op.status).toBe('completed');
        expect(op.operationType).toBe('point-in-time');
        expect(op.preRecoverySnapshot).toBeTruthy();
      } finally {
        await opened.close();
      }
      expect(await liveRows(c, W)).toEqual(asAtT);
      const other = world.weddingIds[1]!;
      expect((await liveRows(c, other))['public.guests']).not.toEqual({});
    } finally {
      await stream.stop();
    }
  });

  it('refuses a time outside the window and a wedding that is not cached, naming them', async () => {
    const err = await materializePointInTime({ store: world.store, localRepo: world.repo, map: DEFAULT_SCHEMA_MAP }, W, '2001-01-01T00:00:00Z').catch((e: unknown) => e);
    expect(isWedsyncError(err, 'BAD_INPUT') && /outside tier 1's window/.test(err.message)).toBe(true);
    const bad = await materializePointInTime({ store: world.store, localRepo: world.repo, map: DEFAULT_SCHEMA_MAP }, W, 'yesterday').catch((e: unknown) => e);
    expect(isWedsyncError(bad, 'BAD_INPUT')).toBe(true);
    const missing = await materializePointInTime({ store: world.store, localRepo: world.repo, map: DEFAULT_SCHEMA_MAP }, world.weddingIds[2]!, new Date().toISOString()).catch((e: unknown) => e);
    expect(isWedsyncError(missing, 'NOT_FOUND')).toBe(true);
  });
});
