import type pg from 'pg';

/**
 * Loads the `pg` driver without paying for its Cloudflare probe. When it loads, pg asks whether
 * it runs in a Cloudflare Worker: with no `navigator` global (Node 20) it constructs a fetch
 * `Response` to find out, which loads Node's whole fetch implementation (undici) and zlib —
 * ~20 ms of CPU in every process that touches the database, more on a busy machine, for a
 * command-line backup whose whole budget is a few hundred milliseconds. A `navigator` naming
 * Node answers the probe at once; it exists only while pg loads (Node 21+ has its own, and then
 * nothing is touched).
 */
export async function loadPg(): Promise<typeof pg> {
  if ('navigator' in globalThis) return (await import('pg')).default;
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node}` }, configurable: true, writable: true });
  try {
    return (await import('pg')).default;
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}
