import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedCluster } from '../source/embedded.js';
import { cachedRows, createTier1World, liveRows, waitFor, type Tier1World } from '../../test-support/tier1.js';

/** A server with wal_level=replica: tier 1 falls back to polling the change journal, and says so. */
describe('tier 1 polling fallback (wal_level is not logical)', () => {
  let dir: string;
  let cluster: EmbeddedCluster;
  let world: Tier1World;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wedsync-poll-'));
    cluster = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), persistent: false, settings: { wal_level: 'replica', fsync: 'off' } });
    world = await createTier1World(cluster.url, { weddings: 3 });
  }, 120_000);
  afterAll(async () => {
    await world?.close();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('polls the journal, keeps the cache equal to the database, logs each change, and survives a restart', async () => {
    const [W, other] = world.weddingIds as [string, string];
    let stream = world.stream({ weddings: [W] });
    stream.start();
    try {
      await waitFor(() => world.store.getWedding(W)?.state === 'ready', 'wedding loaded');
      expect(stream.status().mode).toBe('polling');
      expect(stream.status().detail).toMatch(/wal_level is replica/);
      const c = world.client;
      const { rows: g } = await c.query<{ id: string }>('SELECT id::text FROM guests WHERE wedding_id = $1 ORDER BY id', [W]);
      await c.query(`UPDATE guests SET first_name = 'Polled' WHERE id = $1`, [g[0]!.id]);
      await c.query(`INSERT INTO vendors (wedding_id, name, category) VALUES ($1, 'Late Band', 'music')`, [W]);
      await c.query('DELETE FROM guests WHERE id = $1', [g[1]!.id]);
      await c.query(`UPDATE guests SET first_name = 'Not streamed' WHERE wedding_id = $1`, [other]);
      await waitFor(async () => isDeepStrictEqual(cachedRows(world.store, W), await liveRows(c, W)), 'cache equal to the database');
      const log = world.store.changes({ weddingId: W });
      expect(log.some((e) => e.op === 'U' && e.values?.first_name === 'Polled')).toBe(true);
      expect(log.some((e) => e.op === 'I' && e.values?.name === 'Late Band')).toBe(true);
      expect(log.some((e) => e.op === 'D' && e.key?.[0] === g[1]!.id)).toBe(true);
      expect(world.store.getWedding(other)).toBeNull();
      const { rows: slots } = await c.query('SELECT 1 FROM pg_replication_slots');
      expect(slots).toHaveLength(0);

      // Restarted agent: changes made while it was down are picked up.
      await stream.stop();
      await c.query(`UPDATE guests SET last_name = 'While Down' WHERE wedding_id = $1`, [W]);
      world.reopenCache();
      stream = world.stream({ weddings: [W] });
      stream.start();
      await waitFor(() => world.store.weddingRows(W, 'public.guests').every((r) => r.values.last_name === 'While Down'), 'changes made while down');
      expect(cachedRows(world.store, W)).toEqual(await liveRows(c, W));
    } finally {
      await stream.stop();
    }
  });
});
