import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { WedsyncError } from '../contract/errors.js';
import { openSqliteCache } from './sqlite-store.js';
import type { CacheStore } from './store.js';

/**
 * Opening the local cache file, checked first. A cache that is not a SQLite database, or fails
 * SQLite's integrity check, is never used: it is moved aside (with its -wal/-shm files, kept for
 * a post-mortem) and a fresh, empty cache is created in its place; the caller then refills it
 * from the repository (jobs/offline-rebuild.ts). `rebuilt` says that happened, and why.
 */
export const CACHE_FILE = 'cache.sqlite';

export interface OpenedCache {
  store: CacheStore;
  /** Set when the file was damaged: where it was moved, and what the check said. */
  rebuilt: { reason: string; movedTo: string } | null;
}

/** The cache file under WEDSYNC_HOME. */
export function cachePath(home: string): string {
  return join(home, CACHE_FILE);
}

/**
 * Problems SQLite finds in the file ("ok" → none). Never throws for a damaged file: a file that
 * is not a database at all is reported as such.
 */
export function checkCacheFile(path: string): string[] {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    // quick_check: the structural checks of integrity_check (pages, b-trees, record format)
    // without the O(N log N) index cross-check, so start-up stays fast on a big cache.
    const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    if (problems.length) return problems;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > 0) {
      // Tables the store needs must be there (a truncated or foreign file can pass quick_check).
      const names = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name));
      const missing = ['weddings', 'rows', 'changes', 'checkpoints', 'snapshots'].filter((t) => !names.has(t));
      if (missing.length) return [`tables missing: ${missing.join(', ')}`];
    }
    return [];
  } catch (err) {
    return [(err as Error).message.split('\n')[0] ?? 'unreadable'];
  } finally {
    db?.close();
  }
}

/** Opens (creating if needed) the cache at `path`, replacing a damaged file by a fresh one. */
export function openCache(path: string, options: { now?: () => Date } = {}): OpenedCache {
  if (path === ':memory:') return { store: openSqliteCache(path), rebuilt: null };
  mkdirSync(dirname(path), { recursive: true });
  let rebuilt: OpenedCache['rebuilt'] = null;
  if (existsSync(path)) {
    const problems = checkCacheFile(path);
    if (problems.length) {
      const stamp = (options.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-');
      const movedTo = `${path}.corrupt-${stamp}`;
      for (const suffix of ['', '-wal', '-shm']) {
        if (existsSync(path + suffix)) renameSync(path + suffix, movedTo + suffix);
      }
      rebuilt = { reason: problems.slice(0, 3).join('; '), movedTo };
    }
  }
  try {
    return { store: openSqliteCache(path), rebuilt };
  } catch (err) {
    if (err instanceof WedsyncError) throw err;
    throw new WedsyncError('INTEGRITY', `the local cache ${path} cannot be opened: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}
