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

/** What an export produced for one table (agent/source/export.ts TableExport, structurally). */
export interface ExportedTable {
  byWedding: { get(weddingId: string): SegmentRef[] | undefined; keys(): Iterable<string> };
  runs: SegmentRef[];
}

/** Per table: 'all' (every wedding's rows of it were exported) or the wedding ids exported. */
export type ExportScope = Map<string, 'all' | Set<string>>;

/**
 * Replaces the re-exported runs: non-wedding tables, and the rows of wedding-scoped tables
 * exported whole whose wedding reference is NULL (they belong to no wedding).
 */
export function applyRuns(state: SnapshotState, exported: Map<string, ExportedTable>, scope: ExportScope, weddingScoped: (table: string) => boolean): void {
  for (const [table, result] of exported) {
    if (!weddingScoped(table) || (scope.get(table) ?? 'all') === 'all') state.runs.set(table, result.runs);
  }
}

/**
 * Every wedding the new snapshot may hold: the parent's weddings in the state and every wedding
 * with exported rows.
 */
export function weddingIdsOf(state: SnapshotState, exported: Map<string, ExportedTable>, weddingScoped: (table: string) => boolean): Set<string> {
  const ids = new Set(state.weddings.keys());
  for (const [table, result] of exported) if (weddingScoped(table)) for (const id of result.byWedding.keys()) ids.add(id);
  return ids;
}

/**
 * One wedding as the new snapshot holds it: the parent's (if the state has it) with every
 * re-exported table replaced (`scope` 'all', or the wedding is in the table's set: rows gone
 * means none). Null when the weddings table was re-read and the wedding's own row is gone.
 * Built one bucket at a time, so a full backup never holds every wedding as objects at once.
 */
export function assembleWedding(
  state: SnapshotState,
  id: string,
  exported: Map<string, ExportedTable>,
  scope: ExportScope,
  weddingScoped: (table: string) => boolean,
  weddingsTable: string,
): WeddingState | null {
  const w: WeddingState = state.weddings.get(id) ?? { weddingId: id, organizationId: null, weddingDate: null, tables: new Map(), photos: [] };
  for (const [table, result] of exported) {
    if (!weddingScoped(table)) continue;
    const s = scope.get(table) ?? 'all';
    if (s !== 'all' && !s.has(id)) continue;
    const refs = result.byWedding.get(id);
    if (refs) w.tables.set(table, refs);
    else w.tables.delete(table);
  }
  if (scope.get(weddingsTable) !== undefined && !w.tables.has(weddingsTable)) return null;
  return w;
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
