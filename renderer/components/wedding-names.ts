import { useEffect, useMemo, useState } from 'react';
import type { WeddingListItem } from '../../agent/contract/console.js';
import { useClient } from '../app/context.js';

export interface WeddingNames {
  /** Couple names (and date) when known, else the id's first 8 characters. */
  label(id: string): string;
  /** Whether the wedding matches a filter text (couple names, date or id prefix). */
  matches(id: string, filter: string): boolean;
  get(id: string): WeddingListItem | undefined;
  ready: boolean;
}

/** Couple names for wedding ids, from the agent's wedding directory; ids alone when it is unreachable. */
export function useWeddingNames(): WeddingNames {
  const client = useClient();
  const [byId, setById] = useState<Map<string, WeddingListItem> | null>(null);
  useEffect(() => {
    let live = true;
    client.call('listWeddings', { query: { limit: 1000 } }).then(
      (r) => live && setById(new Map(r.weddings.map((w) => [w.id, w]))),
      () => live && setById(new Map()),
    );
    return () => {
      live = false;
    };
  }, [client]);
  return useMemo(() => {
    const map = byId ?? new Map<string, WeddingListItem>();
    return {
      ready: byId !== null,
      get: (id) => map.get(id),
      label: (id) => map.get(id)?.coupleNames ?? id.slice(0, 8),
      matches: (id, filter) => {
        const f = filter.trim().toLowerCase();
        if (!f) return true;
        const w = map.get(id);
        return id.startsWith(f) || !!w?.coupleNames?.toLowerCase().includes(f) || w?.weddingDate === f;
      },
    };
  }, [byId]);
}
