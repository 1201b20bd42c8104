import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
 *
 * How much checking (`check`):
 *  - 'full': PRAGMA integrity_check, always — the agent at start (it then serves the file for hours).
 *  - 'auto' (default): PRAGMA quick_check, unless the file is byte-for-byte in the state a process
 *    last closed cleanly or checked: the marker `cache.sqlite.ok` records the main and -wal files'
 *    size, inode and nanosecond mtime/ctime at that moment. Any write since (a damaged disk
 *    block rewritten, a foreign file copied in, a crash mid-write) changes them, so the file is
 *    checked again; an unchanged file was already checked. This keeps a fresh CLI process
 *    opening a wedding offline fast (issue 7: ≤ 100 ms) without ever trusting an unchecked file.
 * The marker is written only after a passed check or a clean close, and deleted before the
 * file is opened for writing, so a crash never leaves a marker for a file it did not describe.
 */
export const CACHE_FILE = 'cache.sqlite';

export type CacheCheck = 'full' | 'auto';

export interface OpenedCache {
  store: CacheStore;
  /** Set when the file was damaged: where it was moved, and what the check said. */
  rebuilt: { reason: string; movedTo: string } | null;
  /** What was checked at open: integrity_check, quick_check, the clean-close marker, or nothing (new file). */
  checked: 'integrity' | 'quick' | 'marker' | 'new';
}

/** The cache file under WEDSYNC_HOME. */
export function cachePath(home: string): string {
  return join(home, CACHE_FILE);
}

/** The marker file next to the cache. */
export function markerPath(path: string): string {
  return `${path}.ok`;
}

function fileState(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.size}:${st.ino}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return null;
  }
}

/** The main and -wal files' state, as the marker records it. */
function cacheState(path: string): string {
  return `${fileState(path)}|${fileState(`${path}-wal`)}`;
}

/** True when the marker describes the file exactly as it is now. */
export function markerMatches(path: string): boolean {
  try {
    const m = JSON.parse(readFileSync(markerPath(path), 'utf8')) as { state?: string };
    return typeof m.state === 'string' && m.state === cacheState(path) && !m.state.startsWith('null');
  } catch {
    return false;
  }
}

function writeMarker(path: string, how: string): void {
  try {
    writeFileSync(markerPath(path), JSON.stringify({ state: cacheState(path), how, at: new Date().toISOString() }));
  } catch {
    // Only an optimisation: the next open checks the file instead.
  }
}

function dropMarker(path: string): void {
  rmSync(markerPath(path), { force: true });
}

/**
 * Problems SQLite finds in the file ("ok" → none). Never throws for a damaged file: a file that
 * is not a database at all is reported as such.
 */
export function checkCacheFile(path: string, pragma: 'quick_check' | 'integrity_check' = 'quick_check'): string[] {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    // quick_check: the structural checks of integrity_check (pages, b-trees, record format)
    // without the O(N log N) index cross-check; integrity_check: everything (the agent at start).
    const rows = db.pragma(pragma) as Array<Record<string, string>>;
    const problems = rows.map((r) => Object.values(r)[0] ?? '').filter((r) => r !== 'ok');
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
export function openCache(path: string, options: { now?: () => Date; check?: CacheCheck } = {}): OpenedCache {
  if (path === ':memory:') return { store: openSqliteCache(path), rebuilt: null, checked: 'new' };
  mkdirSync(dirname(path), { recursive: true });
  let rebuilt: OpenedCache['rebuilt'] = null;
  let checked: OpenedCache['checked'] = 'new';
  if (existsSync(path)) {
    const full = options.check === 'full';
    checked = full ? 'integrity' : markerMatches(path) ? 'marker' : 'quick';
    const problems = checked === 'marker' ? [] : checkCacheFile(path, full ? 'integrity_check' : 'quick_check');
    if (problems.length) {
      dropMarker(path);
      const stamp = (options.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-');
      const movedTo = `${path}.corrupt-${stamp}`;
      for (const suffix of ['', '-wal', '-shm']) {
        if (existsSync(path + suffix)) renameSync(path + suffix, movedTo + suffix);
      }
      rebuilt = { reason: problems.slice(0, 3).join('; '), movedTo };
    }
  }
  // From here on the file may change: no marker may vouch for it until it is closed cleanly.
  dropMarker(path);
  let store: CacheStore;
  try {
    store = openSqliteCache(path);
  } catch (err) {
    if (err instanceof WedsyncError) throw err;
    throw new WedsyncError('INTEGRITY', `the local cache ${path} cannot be opened: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  // A clean close leaves the marker for the state it closed in (after SQLite's own checkpoint).
  const close = store.close.bind(store);
  store.close = () => {
    close();
    if (existsSync(path)) writeMarker(path, 'clean close');
  };
  return { store, rebuilt, checked };
}

/** Only checks (never moves or creates): the problems found, or [] when sound or absent. For read paths that hand damage to the full path. */
export function probeCache(path: string): { problems: string[]; checked: OpenedCache['checked'] } {
  if (!existsSync(path)) return { problems: [], checked: 'new' };
  if (markerMatches(path)) return { problems: [], checked: 'marker' };
  return { problems: checkCacheFile(path), checked: 'quick' };
}
