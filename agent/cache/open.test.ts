import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCacheFile, markerPath, openCache } from './open.js';

const dir = mkdtempSync(join(tmpdir(), 'wedsync-cache-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('opening the local cache', () => {
  it('creates a fresh cache in WAL mode and reopens it unchanged', () => {
    const path = join(dir, 'a', 'cache.sqlite');
    const first = openCache(path);
    expect(first.rebuilt).toBeNull();
    first.store.setCheckpoint('x', '1');
    first.store.close();
    expect(checkCacheFile(path)).toEqual([]);
    const again = openCache(path);
    expect(again.rebuilt).toBeNull();
    expect(again.store.getCheckpoint('x')).toBe('1');
    again.store.close();
  });

  it('a file that is not a database is detected, moved aside and replaced by an empty cache', () => {
    const path = join(dir, 'b.sqlite');
    writeFileSync(path, 'this is not sqlite at all, just some bytes '.repeat(200));
    expect(checkCacheFile(path).length).toBeGreaterThan(0);
    const opened = openCache(path);
    expect(opened.rebuilt?.reason).toBeTruthy();
    expect(existsSync(opened.rebuilt!.movedTo)).toBe(true);
    expect(readFileSync(opened.rebuilt!.movedTo, 'utf8')).toMatch(/^this is not sqlite/);
    expect(opened.store.stats()).toMatchObject({ rows: 0, weddings: 0 });
    opened.store.close();
  });

  it('a damaged page inside a real cache is detected, never silently used', () => {
    const path = join(dir, 'c.sqlite');
    const { store } = openCache(path);
    store.transaction(() => {
      for (let i = 0; i < 2000; i++) store.putRow({ table: 'public.guests', key: [`k${i}`], weddingId: 'w', values: { id: `k${i}`, note: 'x'.repeat(100) } });
    });
    store.close();
    // Scribble over the middle of the file (b-tree pages), as a failing disk would.
    const bytes = readFileSync(path);
    for (let i = Math.floor(bytes.length / 2); i < Math.floor(bytes.length / 2) + 8192; i++) bytes[i] = 0xa5;
    writeFileSync(path, bytes);
    expect(checkCacheFile(path).length).toBeGreaterThan(0);
    const opened = openCache(path);
    expect(opened.rebuilt).not.toBeNull();
    expect(opened.store.stats().rows).toBe(0);
    opened.store.close();
    expect(readdirSync(dir).some((f) => f.startsWith('c.sqlite.corrupt-'))).toBe(true);
  });

  it('a clean close leaves a marker that lets the next open skip quick_check; any change to the file brings the check back', () => {
    const path = join(dir, 'd.sqlite');
    const first = openCache(path);
    expect(first.checked).toBe('new');
    first.store.setCheckpoint('x', '1');
    expect(existsSync(markerPath(path))).toBe(false); // open for writing: no marker vouches for it
    first.store.close();
    expect(existsSync(markerPath(path))).toBe(true);
    const second = openCache(path);
    expect(second.checked).toBe('marker');
    second.store.close();
    // The agent checks everything at start, marker or not.
    const agent = openCache(path, { check: 'full' });
    expect(agent.checked).toBe('integrity');
    agent.store.close();
    // Same size, new bytes (a damaged block rewritten): the marker no longer matches, the check runs and finds it.
    const bytes = readFileSync(path);
    for (let i = 0; i < 512; i++) bytes[bytes.length - 1024 + i] = 0xa5;
    bytes.fill(0x5a, 100, 4096); // the schema page
    writeFileSync(path, bytes);
    const damaged = openCache(path);
    expect(damaged.checked).toBe('quick');
    expect(damaged.rebuilt).not.toBeNull();
    damaged.store.close();
  });

  it('a forged or stale marker is not trusted', () => {
    const path = join(dir, 'e.sqlite');
    const { store } = openCache(path);
    store.close();
    writeFileSync(markerPath(path), JSON.stringify({ state: '1:2:3:4|null' }));
    const again = openCache(path);
    expect(again.checked).toBe('quick');
    again.store.close();
    writeFileSync(markerPath(path), 'not json');
    const third = openCache(path);
    expect(third.checked).toBe('quick');
    third.store.close();
  });
});
