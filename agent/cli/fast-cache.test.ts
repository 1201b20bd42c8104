import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '../cache/open.js';
import { runCli } from '../../test-support/cli.js';

/**
 * `wedsync-backup cache` in a fresh process: the fast path (cli/fast-cache.ts, no commander, zod
 * or logger) prints exactly what the full command line prints, errors the same way, and hands a
 * damaged cache to the full path (moved aside, never read).
 */
const W = '11111111-1111-4111-8111-111111111111';

describe('wedsync-backup cache: the fast path', () => {
  const home = mkdtempSync(join(tmpdir(), 'wedsync-fast-cache-'));
  const env = { WEDSYNC_HOME: home };
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  beforeAll(() => {
    const { store } = openCache(join(home, 'cache.sqlite'));
    store.transaction(() => {
      store.putTableMeta({ table: 'public.weddings', columns: [{ name: 'id', type: 'uuid', nullable: false }, { name: 'couple_names', type: 'text', nullable: true }, { name: 'wedding_date', type: 'date', nullable: true }], primaryKey: ['id'], dataType: 'wedding', weddingColumn: 'id' });
      store.putTableMeta({ table: 'public.guests', columns: [{ name: 'id', type: 'uuid', nullable: false }, { name: 'first_name', type: 'text', nullable: true }, { name: 'last_name', type: 'text', nullable: true }], primaryKey: ['id'], dataType: 'guests', weddingColumn: 'wedding_id' });
      store.putWedding({ weddingId: W, state: 'ready', weddingDate: '2026-06-01', organizationId: null, coupleNames: 'Ada & Grace', venueName: 'The Barn', baseSnapshotId: null, baseLocation: null, baseJournalSnapshot: null, baseAt: '2026-05-31T10:00:00.000000Z', realtimeUntil: null, purgeAfter: null, lastChangeAt: null });
      store.putRow({ table: 'public.weddings', key: [W], weddingId: W, values: { id: W, couple_names: 'Ada & Grace', wedding_date: '2026-06-01' } });
      for (let i = 0; i < 30; i++) store.putRow({ table: 'public.guests', key: [`g${String(i).padStart(2, '0')}`], weddingId: W, values: { id: `g${i}`, first_name: `Guest ${i}`, last_name: i % 2 ? 'Tab\there' : 'Smith' } });
    });
    store.close();
  });

  it('prints exactly what the full command line prints (json and text, one wedding and one day)', async () => {
    for (const args of [['--json', '--wedding', W], ['--wedding', W], ['--json', '--date', '2026-06-01'], ['--date', '2026-06-01']]) {
      const fast = await runCli(['cache', ...args], env);
      const full = await runCli(['cache', ...args, '--verbose'], env); // --verbose is not on the fast path
      expect(fast.code, fast.stderr).toBe(0);
      expect(fast.stdout, args.join(' ')).toBe(full.stdout);
    }
    expect(JSON.parse((await runCli(['cache', '--json', '--wedding', W], env)).stdout).guests).toHaveLength(30);
  });

  it('errors as the full command line does: a wedding not in the cache, a bad id', async () => {
    const missing = await runCli(['cache', '--wedding', '22222222-2222-4222-8222-222222222222'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/is not in the local cache/);
    const bad = await runCli(['cache', '--wedding', 'nope'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/must be a UUID/);
  });

  it('a damaged cache is never read: the full path moves it aside and says so', async () => {
    const path = join(home, 'cache.sqlite');
    const bytes = readFileSync(path);
    bytes.fill(0xa5, Math.floor(bytes.length / 2), Math.floor(bytes.length / 2) + 4096);
    bytes.fill(0x5a, 100, 2048);
    writeFileSync(path, bytes);
    const r = await runCli(['cache', '--json', '--date', '2026-06-01'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.cacheRebuilt?.reason).toBeTruthy();
    expect(out.weddings).toEqual([]);
    expect(readdirSync(home).some((f) => f.startsWith('cache.sqlite.corrupt-'))).toBe(true);
  });
});
