import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openCatalog } from '../agent/catalog/catalog.js';
import { migrate } from '../agent/catalog/migrate.js';
import { openCache } from '../agent/cache/open.js';
import type { CacheStore } from '../agent/cache/store.js';
import { DEFAULT_SCHEMA_MAP } from '../agent/contract/schema-map.js';
import { runBackup } from '../agent/jobs/backup.js';
import type { RestoreDeps } from '../agent/jobs/restore.js';
import { TierOneStream, type StreamDeps } from '../agent/jobs/stream.js';
import { silentLogger } from '../agent/logger.js';
import { initRepository, type Repository } from '../agent/repository/repository.js';
import { TEST_KDF } from '../agent/repository/test-helpers.js';
import { openBackupSource } from '../agent/source/backup-source.js';
import { seed } from '../agent/source/seed.js';
import { openStreamSource, slotNameFor } from '../agent/source/stream-source.js';
import { LocalBlobStore } from '../agent/storage/local/local-store.js';
import { SMALL_SEED } from './fixtures.js';

/**
 * A tier 1 test world: a seeded database (the caller's URL), a local repository, a cache file
 * and a factory for TierOneStream wired to the real source, with fast intervals.
 */
export interface Tier1World {
  url: string;
  client: pg.Client;
  dir: string;
  repo: Repository;
  cacheFile: string;
  store: CacheStore;
  weddingIds: string[];
  slot: string;
  stream(overrides?: Partial<StreamDeps>): TierOneStream;
  /** Closes the cache and opens it again (a restarted agent). */
  reopenCache(): CacheStore;
  close(): Promise<void>;
}

export async function createTier1World(url: string, opts: { weddings?: number; seeded?: boolean; photos?: boolean } = {}): Promise<Tier1World> {
  const dir = await mkdtemp(join(tmpdir(), 'wedsync-tier1-'));
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  // With `photos`: the seeded photo files in a folder photo store (dir/photos), and bases that hold them.
  const photoStore = opts.photos ? await LocalBlobStore.open(join(dir, 'photos'), { create: true }) : null;
  if (!opts.seeded) {
    await migrate(client);
    await seed(client, { weddings: opts.weddings ?? 4, ...SMALL_SEED, ...(photoStore ? { writePhoto: (key: string, bytes: Buffer) => photoStore.put(key, bytes) } : {}) });
  }
  const { rows } = await client.query<{ id: string }>('SELECT id::text FROM weddings ORDER BY wedding_date, id');
  const repoStore = await LocalBlobStore.open(join(dir, 'local-repository'), { create: true });
  const repo = await initRepository(repoStore, 'pw', { kdf: TEST_KDF });
  const cacheFile = join(dir, 'cache.sqlite');
  let store = openCache(cacheFile).store;
  const logger = await silentLogger();
  const slot = slotNameFor(dir, 'test');
  const world: Tier1World = {
    url,
    client,
    dir,
    repo,
    cacheFile,
    get store() {
      return store;
    },
    weddingIds: rows.map((r) => r.id),
    slot,
    stream(overrides = {}) {
      return new TierOneStream({
        store,
        map: DEFAULT_SCHEMA_MAP,
        logger,
        openSource: () => openStreamSource(url, DEFAULT_SCHEMA_MAP),
        slot,
        localRepo: repo,
        timeZone: 'UTC',
        async takeBase(weddingId) {
          const catalog = await openCatalog(url);
          try {
            const r = await runBackup(
              { openSource: () => openBackupSource(url, DEFAULT_SCHEMA_MAP, 1), catalog, repo, photoStore, map: DEFAULT_SCHEMA_MAP, logger },
              { type: 'emergency', weddingIds: [weddingId], tier: 1, priority: 8 },
            );
            return r.snapshotId;
          } finally {
            await catalog.close();
          }
        },
        options: { planIntervalMs: 300, pollIntervalMs: 200, retryMs: 200 },
        ...overrides,
      });
    },
    reopenCache() {
      store.close();
      store = openCache(cacheFile).store;
      return store;
    },
    async close() {
      store.close();
      await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot]).catch(() => undefined);
      await client.end().catch(() => undefined);
      await repoStore.close();
      await photoStore?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** Polls `check` until it returns a truthy value, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const RAW_TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/** A wedding's rows per table as the database has them (text output), keyed like the cache. */
export async function liveRows(client: pg.Client, weddingId: string): Promise<Record<string, Record<string, Record<string, string | null>>>> {
  const out: Record<string, Record<string, Record<string, string | null>>> = {};
  const tables = [{ table: 'public.weddings', col: 'id' }, ...DEFAULT_SCHEMA_MAP.tables.map((t) => ({ table: t.table, col: t.weddingColumn }))];
  for (const t of tables) {
    const { rows: cols } = await client.query<{ name: string }>(`SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [t.table]);
    const list = cols.map((c) => `"${c.name}"`).join(', ');
    const { rows } = await client.query<Record<string, string | null>>({ text: `SELECT ${list} FROM ${t.table} WHERE "${t.col}" = $1`, values: [weddingId], types: RAW_TEXT });
    out[t.table] = Object.fromEntries(rows.map((r) => [JSON.stringify([r.id ?? r.wedding_id]), r]));
  }
  return out;
}

/** The same, from the cache. */
export function cachedRows(store: CacheStore, weddingId: string): Record<string, Record<string, Record<string, string | null>>> {
  const out: Record<string, Record<string, Record<string, string | null>>> = {};
  const tables = ['public.weddings', ...DEFAULT_SCHEMA_MAP.tables.map((t) => t.table)];
  for (const t of tables) out[t] = Object.fromEntries(store.weddingRows(weddingId, t).map((r) => [JSON.stringify(r.key), r.values]));
  return out;
}

/** Restore dependencies on `repo` for the database at `url` (fresh connections), as the agent builds them. */
export async function openRestoreDeps(url: string, repo: Repository): Promise<{ deps: RestoreDeps; close(): Promise<void> }> {
  const [{ openRecoveryCatalog }, { openRestoreTarget }, { ConfirmationTokens }] = await Promise.all([
    import('../agent/catalog/recovery.js'),
    import('../agent/source/restore-target.js'),
    import('../agent/jobs/restore-token.js'),
  ]);
  const catalog = await openCatalog(url);
  const recovery = await openRecoveryCatalog(url);
  const logger = await silentLogger();
  return {
    deps: {
      repo,
      map: DEFAULT_SCHEMA_MAP,
      liveUrl: url,
      openTarget: openRestoreTarget,
      logger,
      recovery,
      tokens: new ConfirmationTokens(),
      photoStore: null,
      backup: { catalog, openSource: (u: string, _whole: boolean, o: { snapshot: string }) => openBackupSource(u, DEFAULT_SCHEMA_MAP, 1, o) },
    },
    async close() {
      await Promise.all([catalog.close(), recovery.close()]);
    },
  };
}

/**
 * A wedding day's history through a running stream: one guest renamed (streamed), the time T just
 * after it with the live rows as at T, then every guest's RSVP damaged (streamed). A point-in-time
 * restore to T must bring back exactly `asAtT`.
 */
export async function editThenDamage(world: Tier1World, weddingId: string): Promise<{ at: string; asAtT: Awaited<ReturnType<typeof liveRows>> }> {
  await waitFor(() => world.store.getWedding(weddingId)?.state === 'ready', 'wedding loaded');
  const { rows: g } = await world.client.query<{ id: string }>('SELECT id::text FROM guests WHERE wedding_id = $1 ORDER BY id', [weddingId]);
  await world.client.query(`UPDATE guests SET first_name = 'Olivia', last_name = 'Offline' WHERE id = $1`, [g[0]!.id]);
  await waitFor(() => world.store.getRow('public.guests', [g[0]!.id])?.values.first_name === 'Olivia', 'edit streamed');
  // T lies strictly between the edit's commit and the damage's.
  await new Promise((r) => setTimeout(r, 20));
  const at = new Date().toISOString();
  const asAtT = await liveRows(world.client, weddingId);
  await new Promise((r) => setTimeout(r, 20));
  await world.client.query(`UPDATE guests SET rsvp_status = 'declined' WHERE wedding_id = $1`, [weddingId]);
  await waitFor(() => world.store.weddingRows(weddingId, 'public.guests').every((r) => r.values.rsvp_status === 'declined'), 'damage streamed');
  return { at, asAtT };
}
