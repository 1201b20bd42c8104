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

  it('a damaged cache file is moved aside and refilled from the local repository, never used', async () => {
    const { writeFileSync, readFileSync, existsSync } = await import('node:fs');
    const { resolveConfig } = await import('../cli/config.js');
    const { openLocalCache } = await import('../cli/commands/stream.js');
    const { silentLogger } = await import('../logger.js');
    const before = world.store.weddingRows(W).length;
    world.store.close();
    const bytes = readFileSync(world.cacheFile);
    bytes.fill(0x5a, 0, 100); // the header: SQLite will not even recognise the file
    writeFileSync(world.cacheFile, bytes);
    const config = resolveConfig({ home: world.dir }, { WEDSYNC_PASSPHRASE: 'pw' });
    const { store, rebuilt } = await openLocalCache(config, await silentLogger(), { repo: world.repo });
    try {
      expect(rebuilt).not.toBeNull();
      expect(existsSync(rebuilt!.movedTo)).toBe(true);
      expect(rebuilt!.weddings).toBeGreaterThanOrEqual(1);
      expect(store.getWedding(W)?.state).toBe('kept');
      expect(store.weddingRows(W).length).toBe(before);
      expect(store.listSnapshots({ weddingId: W }).length).toBeGreaterThan(0);
    } finally {
      store.close();
      world.reopenCache();
    }
  });

  it('purges a wedding and its change log 30 days after the wedding', async () => {
    const w = world.store.getWedding(W)!;
    const later = new Date(Date.parse(`${w.weddingDate}T00:00:00Z`) + 32 * 86_400_000);
    world.store.putWedding({ ...w, state: 'kept', purgeAfter: new Date(Date.parse(`${w.weddingDate}T00:00:00Z`) + 31 * 86_400_000).toISOString() });
    const stream = world.stream({ weddings: [], now: () => later });
    stream.start();
    try {
      await waitFor(() => world.store.getWedding(W) === null, 'purged');
      expect(world.store.weddingRows(W)).toEqual([]);
      expect(world.store.changes({ weddingId: W })).toEqual([]);
    } finally {
      await stream.stop();
    }
  });

  it('watches the WAL its slot holds: alerts, then drops the slot past the limit and re-bases on a new one', async () => {
    let stream = world.stream({ weddings: [W] });
    stream.start();
    await waitFor(() => world.store.getWedding(W)?.state === 'ready', 'wedding loaded');
    const firstBase = world.store.getWedding(W)!.baseSnapshotId;
    await stream.stop();
    // The agent is away while the server writes WAL: the slot holds it.
    await world.client.query('CREATE TABLE IF NOT EXISTS wal_filler (x text)');
    await world.client.query(`INSERT INTO wal_filler SELECT repeat('x', 1000) FROM generate_series(1, 6000)`);
    const held = Number((await world.client.query<{ b: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS b FROM pg_replication_slots WHERE slot_name = $1', [world.slot])).rows[0]!.b);
    expect(held).toBeGreaterThan(2 * 1024 * 1024);
    stream = world.stream({ weddings: [W], options: { planIntervalMs: 300, pollIntervalMs: 200, retryMs: 200, walAlertBytes: 1024, walMaxBytes: 2 * 1024 * 1024 } });
    stream.start();
    try {
      await waitFor(() => stream.status().alerts.some((a) => /dropped/.test(a)), 'slot dropped past the limit');
      await waitFor(() => world.store.getWedding(W)?.state === 'ready' && world.store.getWedding(W)?.baseSnapshotId !== firstBase, 're-based on a new slot');
      await world.client.query(`UPDATE weddings SET venue_name = 'After The Drop' WHERE id = $1`, [W]);
      await waitFor(() => world.store.getRow('public.weddings', [W])?.values.venue_name === 'After The Drop', 'streaming again');
    } finally {
      await stream.stop();
      await world.client.query('DROP TABLE IF EXISTS wal_filler');
    }
  });
});
