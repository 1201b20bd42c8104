import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINTS } from '../cache/store.js';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { cachedRows, createTier1World, liveRows, waitFor, type Tier1World } from '../../test-support/tier1.js';

describe('tier 1 stream (real PostgreSQL, wal_level=logical)', () => {
  let db: TestDatabase;
  let world: Tier1World;
  let W: string;
  let other: string;
  beforeAll(async () => {
    db = await createTestDatabase('t1');
    world = await createTier1World(db.url, { weddings: 4 });
    [W, other] = world.weddingIds as [string, string];
  });
  afterAll(async () => {
    await world?.close();
    await db?.drop();
  });

  it('loads the wedding from a base snapshot, then edits appear in the cache in commit order, exactly once', async () => {
    const stream = world.stream({ weddings: [W] });
    stream.start();
    try {
      await waitFor(() => world.store.getWedding(W)?.state === 'ready', 'wedding loaded');
      expect(stream.status().mode).toBe('logical');
      expect(world.store.getWedding(other)).toBeNull();
      expect(cachedRows(world.store, W)).toEqual(await liveRows(world.client, W));

      const { rows: guests } = await world.client.query<{ id: string }>('SELECT id::text FROM guests WHERE wedding_id = $1 ORDER BY id LIMIT 3', [W]);
      const [g1, g2, g3] = guests.map((g) => g.id) as [string, string, string];
      for (let i = 1; i <= 15; i++) await world.client.query('UPDATE guests SET first_name = $1 WHERE id = $2', [`Name${i}`, g1]);
      await world.client.query(`INSERT INTO guests (wedding_id, first_name, metadata) VALUES ($1, 'New', '{"a": "\\t tab"}')`, [W]);
      await world.client.query('DELETE FROM guests WHERE id = $1', [g2]);
      await world.client.query('BEGIN');
      await world.client.query(`UPDATE guests SET table_number = 7 WHERE id = $1`, [g3]);
      await world.client.query(`UPDATE timeline_events SET title = 'First dance (moved)' WHERE wedding_id = $1`, [W]);
      await world.client.query('COMMIT');
      await world.client.query(`UPDATE guests SET first_name = 'Elsewhere' WHERE wedding_id = $1`, [other]);
      await world.client.query(`UPDATE weddings SET venue_name = 'The Old Barn' WHERE id = $1`, [W]);

      await waitFor(() => world.store.getRow('public.weddings', [W])?.values.venue_name === 'The Old Barn', 'last change applied');
      const log = world.store.changes({ weddingId: W });
      const names = log.filter((c) => c.table === 'public.guests' && c.op === 'U' && c.key?.[0] === g1).map((c) => c.values?.first_name);
      expect(names).toEqual(Array.from({ length: 15 }, (_, i) => `Name${i + 1}`));
      expect(log.map((c) => c.seq)).toEqual([...log.map((c) => c.seq)].sort((a, b) => a - b));
      expect(log.map((c) => c.commitTime)).toEqual([...log.map((c) => c.commitTime)].sort());
      expect(log.filter((c) => c.op === 'D').map((c) => c.key)).toEqual([[g2]]);
      expect(log.some((c) => c.weddingId === other)).toBe(false);
      // One transaction: same commit time and xid for both of its rows.
      const tx = log.filter((c) => c.key?.[0] === g3 || (c.table === 'public.timeline_events' && c.values?.title === 'First dance (moved)'));
      expect(new Set(tx.map((c) => c.xid)).size).toBe(1);
      expect(cachedRows(world.store, W)).toEqual(await liveRows(world.client, W));
      expect(world.store.getCheckpoint(CHECKPOINTS.streamLsn)).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    } finally {
      await stream.stop();
    }
  });

  it('killed after committing but before advancing the slot, then restarted: nothing lost, nothing applied twice', async () => {
    const before = world.store.changes({ weddingId: W }).length;
    // First run dies right after its first cache commit (the slot is NOT advanced: acks come after).
    let crashes = 0;
    const crashing = world.stream({
      weddings: [W],
      onApplied: () => {
        crashes++;
        throw new Error('simulated crash after the cache commit');
      },
    });
    crashing.start();
    const { rows: guests } = await world.client.query<{ id: string }>('SELECT id::text FROM guests WHERE wedding_id = $1 ORDER BY id', [W]);
    for (let i = 0; i < 10; i++) await world.client.query('UPDATE guests SET dietary_requirements = $1 WHERE id = $2', [`diet ${i}`, guests[i % guests.length]!.id]);
    await waitFor(() => crashes > 0, 'the first apply');
    await crashing.stop();

    // The agent process restarts: the cache file is reopened, a new stream resumes from the slot.
    world.reopenCache();
    const resumed = world.stream({ weddings: [W] });
    resumed.start();
    try {
      for (let i = 10; i < 20; i++) await world.client.query('UPDATE guests SET dietary_requirements = $1 WHERE id = $2', [`diet ${i}`, guests[i % guests.length]!.id]);
      await waitFor(() => world.store.changes({ weddingId: W }).some((c) => c.values?.dietary_requirements === 'diet 19'), 'the last edit');
      const diets = world.store
        .changes({ weddingId: W })
        .slice(before)
        .map((c) => c.values?.dietary_requirements);
      expect(diets).toEqual(Array.from({ length: 20 }, (_, i) => `diet ${i}`));
      expect(cachedRows(world.store, W)).toEqual(await liveRows(world.client, W));
    } finally {
      await resumed.stop();
    }
  });

  it('drops the slot when no wedding needs tier 1 any more, keeping the rows', async () => {
    const stream = world.stream({ weddings: [] });
    stream.start();
    try {
      await waitFor(() => stream.status().mode === 'idle', 'idle');
      const { rows } = await world.client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [world.slot]);
      expect(rows).toHaveLength(0);
      const w = world.store.getWedding(W)!;
      expect(w.state).toBe('kept');
      expect(Date.parse(w.purgeAfter!)).toBeGreaterThan(Date.now());
      expect(world.store.weddingRows(W).length).toBeGreaterThan(0);
    } finally {
      await stream.stop();
    }
  });
});
