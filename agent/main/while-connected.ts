import { WedsyncError } from '../contract/errors.js';

/** Errors that mean "not reachable now" (the agent waits and tries again), not "misconfigured". */
export function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'DB_UNREACHABLE' || code === 'STORAGE_UNAVAILABLE';
}

/**
 * A service group that exists only while the agent is connected: calls go to the live
 * implementation, or fail with DB_UNREACHABLE (503) naming what needs the database. Routes are
 * registered once at start, so they keep their group and see it come and go.
 *
 * Guarantees: each property is looked up on the live implementation at call time (methods bound
 * to it); while there is none, a member of `offline` answers instead, else a rejected
 * DB_UNREACHABLE. The proxy is never mistaken for a promise (`then` is undefined).
 */
export function whileConnected<T extends object>(current: () => T | null | undefined, what: string, offline: Partial<T> = {}): T {
  return new Proxy({} as T, {
    get(_target, prop) {
      if (prop === 'then') return undefined; // not a promise
      const impl = current();
      if (impl) {
        const v = (impl as Record<string | symbol, unknown>)[prop];
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(impl) : v;
      }
      const fallback = (offline as Record<string | symbol, unknown>)[prop];
      if (fallback !== undefined) return fallback;
      return () => Promise.reject(new WedsyncError('DB_UNREACHABLE', `database unreachable: ${what} needs it; the agent serves the local cache meanwhile and reconnects by itself`));
    },
  });
}
