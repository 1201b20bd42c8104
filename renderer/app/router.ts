import { useEffect, useState } from 'react';

/**
 * A hash router (`#/snapshots/ID?x=y`): works the same from http:// (agent) and file://
 * (Electron), and needs no server routes. The fragment is never sent to the agent.
 */
export interface Route {
  /** First segment: dashboard, snapshots, validation, restore, wedding-day, audit, settings. */
  page: string;
  /** Further segments (e.g. a snapshot id). */
  rest: string[];
  query: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = raw.split('?', 2);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] ?? 'dashboard', rest: parts.slice(1), query: new URLSearchParams(search) };
}

export function useRoute(): Route {
  const [hash, setHash] = useState(() => window.location.hash);
  useEffect(() => {
    const on = () => setHash(window.location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return parseRoute(hash);
}

export function href(page: string, ...rest: (string | undefined)[]): string {
  return `#/${[page, ...rest.filter((r): r is string => !!r).map(encodeURIComponent)].join('/')}`;
}

export function navigate(to: string): void {
  window.location.hash = to.replace(/^#/, '');
}
