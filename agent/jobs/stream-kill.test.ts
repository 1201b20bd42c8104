import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteCache } from '../cache/sqlite-store.js';
import type { CacheStore } from '../cache/store.js';
import { migrate } from '../catalog/migrate.js';
import { seed } from '../source/seed.js';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { SMALL_SEED } from '../../test-support/fixtures.js';
import { cachedRows, liveRows, waitFor } from '../../test-support/tier1.js';

/**
 * The real thing: `wedsync-backup stream` as its own process, SIGKILLed while changes are
 * flowing, then started again. Every change must be in the cache's log exactly once, in order,
 * and the cached rows must equal the database's.
 */
describe('tier 1 stream process killed mid-stream (SIGKILL) and restarted', () => {
  let db: TestDatabase;
  let dir: string;
  let client: pg.Client;
  let W: string;
  let child: ChildProcess | null = null;
  let store: CacheStore | null = null;

  const startStream = async () => {
    const passFile = join(dir, 'pass');
    await writeFile(passFile, 'kill test passphrase\n');
    const p = spawn(process.execPath, ['bin/wedsync-backup.js', 'stream', '--json', '--home', join(dir, 'home'), '--database-url', db.url, '--passphrase-file', passFile, '--wedding', W], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WEDSYNC_LOG_LEVEL: 'warn', WEDSYNC_PASSPHRASE: '' },
    });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', () => undefined);
    await waitFor(() => out.includes('"ok":true'), 'stream process started', 30_000);
    return p;
  };

  beforeAll(async () => {
    db = await createTestDatabase('kill');
    dir = await mkdtemp(join(tmpdir(), 'wedsync-kill-'));
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await migrate(client);
    await seed(client, { weddings: 2, ...SMALL_SEED });
    W = (await client.query<{ id: string }>('SELECT id::text FROM weddings ORDER BY wedding_date, id LIMIT 1')).rows[0]!.id;
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    store?.close();
    await client?.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database() AND NOT active`).catch(() => undefined);
    await client?.end();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loses no change and applies none twice', async () => {
    child = await startStream();
    const cacheFile = join(dir, 'home', 'cache.sqlite');
    await waitFor(() => existsSync(cacheFile), 'cache file');
    store = openSqliteCache(cacheFile);
    await waitFor(() => store!.getWedding(W)?.state === 'ready', 'wedding loaded', 30_000);
    const { rows: guests } = await client.query<{ id: string }>('SELECT id::text FROM guests WHERE wedding_id = $1 ORDER BY id', [W]);
    const N = 120;
    const write = async (from: number, to: number) => {
      for (let i = from; i < to; i++) await client.query('UPDATE guests SET dietary_requirements = $1 WHERE id = $2', [`m${i}`, guests[i % guests.length]!.id]);
    };
    const writing = write(0, N / 2);
    // Kill as soon as the stream is part-way through.
    await waitFor(() => store!.changes({ weddingId: W }).some((c) => c.values?.dietary_requirements === 'm10'), 'part of the changes applied');
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    await writing;
    await write(N / 2, N);
    child = await startStream();
    await waitFor(() => store!.changes({ weddingId: W }).some((c) => c.values?.dietary_requirements === `m${N - 1}`), 'every change applied', 30_000);
    const markers = store
      .changes({ weddingId: W })
      .map((c) => c.values?.dietary_requirements)
      .filter((v): v is string => typeof v === 'string' && /^m\d+$/.test(v));
    expect(markers).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));
    expect(cachedRows(store, W)).toEqual(await liveRows(client, W));
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    child = null;
  });
});
