import type { DataType, Manifest, ManifestTable, ManifestWedding, PhotoRef, SegmentRef } from '../contract/manifest.js';

/**
 * The logical content of a snapshot while a backup builds it: per wedding its segments per
 * table and its photos, plus the key-ordered runs of non-wedding tables. A full backup starts
 * empty; an incremental starts from its parent's manifest and replaces only what changed, so
 * every manifest is logically full and restoring it needs no chain.
 */
export interface WeddingState {
  weddingId: string;
  organizationId: string | null;
  weddingDate: string | null;
  tables: Map<string, SegmentRef[]>;
  photos: PhotoRef[];
}

export interface SnapshotState {
  weddings: Map<string, WeddingState>;
  runs: Map<string, SegmentRef[]>;
}

export function emptyState(): SnapshotState {
  return { weddings: new Map(), runs: new Map() };
}

/**
 * The state of a parent snapshot: its runs and the given weddings (all of them, or — for an
 * incremental of a format-2 parent — only those of the trees the change touches).
 */
export function stateFromParent(m: Pick<Manifest, 'schema'>, weddings: readonly ManifestWedding[]): SnapshotState {
  const state = emptyState();
  for (const w of weddings) {
    state.weddings.set(w.weddingId, {
      weddingId: w.weddingId,
      organizationId: w.organizationId ?? null,
      weddingDate: w.weddingDate ?? null,
      tables: new Map(Object.entries(w.tables).map(([t, refs]) => [t, [...refs]])),
      photos: [...w.photos],
    });
  }
  for (const t of m.schema.tables) state.runs.set(`${t.schema}.${t.name}`, [...t.segments]);
  return state;
}

function weddingOf(state: SnapshotState, id: string): WeddingState {
  let w = state.weddings.get(id);
  if (!w) {
    w = { weddingId: id, organizationId: null, weddingDate: null, tables: new Map(), photos: [] };
    state.weddings.set(id, w);
  }
  return w;
}

/**
 * Replaces what was re-exported. `scope` is per table: 'all' (every wedding's rows of it were
 * exported) or the wedding ids exported (those with no rows now have none).
 */
export function applyExport(
  state: SnapshotState,
  exported: Map<string, { byWedding: Map<string, SegmentRef[]>; runs: SegmentRef[] }>,
  scope: Map<string, 'all' | Set<string>>,
  weddingScoped: (table: string) => boolean,
): void {
  for (const [table, result] of exported) {
    const s = scope.get(table) ?? 'all';
    if (!weddingScoped(table)) {
      state.runs.set(table, result.runs);
      continue;
    }
    if (s === 'all') {
      for (const w of state.weddings.values()) w.tables.delete(table);
      // Rows of a wedding-scoped table whose wedding reference is NULL belong to no wedding.
      state.runs.set(table, result.runs);
    } else for (const id of s) state.weddings.get(id)?.tables.delete(table);
    for (const [id, refs] of result.byWedding) weddingOf(state, id).tables.set(table, refs);
  }
}

/** Drops weddings whose own row is gone (deleted since the parent snapshot). */
export function dropWeddingsWithoutRow(state: SnapshotState, weddingsTable: string): void {
  for (const [id, w] of state.weddings) if (!w.tables.has(weddingsTable)) state.weddings.delete(id);
}

export interface TableMeta {
  qualified: string;
  schema: string;
  name: string;
  columns: ManifestTable['columns'];
  primaryKey: string[];
  dataType: DataType | null;
  weddingScoped: boolean;
}

const sum = (refs: SegmentRef[] | undefined) => (refs ?? []).reduce((a, r) => a + r.rows, 0);

/**
 * The manifest's table list. `weddingRows` gives, per qualified table, the rows of every wedding
 * of the snapshot in it (from the tree entries: the state may hold only the changed weddings).
 */
export function manifestTables(state: SnapshotState, tables: TableMeta[], weddingRows: (qualified: string) => number): ManifestTable[] {
  return tables.map((t) => ({
    schema: t.schema,
    name: t.name,
    columns: t.columns,
    primaryKey: t.primaryKey,
    dataType: t.dataType,
    weddingScoped: t.weddingScoped,
    rowCount: (t.weddingScoped ? weddingRows(t.qualified) : 0) + sum(state.runs.get(t.qualified)),
    // Non-wedding tables: all their rows; wedding-scoped ones: rows that belong to no wedding.
    segments: state.runs.get(t.qualified) ?? [],
  }));
}

/** A wedding as a manifest (tree) lists it: tables and photos sorted, so equal content serialises equally. */
export function manifestWedding(w: WeddingState, typeOf: ReadonlyMap<string, DataType | null>): ManifestWedding {
  const rowCounts: Record<string, number> = {};
    const sortedTables: Record<string, SegmentRef[]> = {};
    for (const name of [...w.tables.keys()].sort()) {
      const refs = w.tables.get(name)!;
      sortedTables[name] = refs;
      const type = typeOf.get(name);
      if (type) rowCounts[type] = (rowCounts[type] ?? 0) + sum(refs);
    }
    return {
      weddingId: w.weddingId,
      organizationId: w.organizationId,
      weddingDate: w.weddingDate,
      tables: sortedTables,
      rowCounts,
      photos: [...w.photos].sort((a, b) => (a.photoId < b.photoId ? -1 : 1)),
    };
}
