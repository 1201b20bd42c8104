import { WedsyncError } from '../contract/errors.js';
import type { DataType, Manifest, ManifestTable, PhotoRef, SegmentRef } from '../contract/manifest.js';
import type { RecoveryScope } from '../contract/restore.js';
import type { SchemaMap } from '../contract/schema-map.js';

/**
 * Restore planning, pure: which tables, weddings and snapshot segments a restore covers, from
 * the snapshot's manifest and what the user asked. No I/O: the live side (which weddings exist,
 * foreign keys, the rows) is read by agent/source and handed to the diff (restore-plan-diff.ts).
 *
 * Guarantees: every bad request is a WedsyncError naming the value (BAD_INPUT / NOT_FOUND);
 * a plan lists only what is in scope, so what is not listed is never touched.
 */

/** The segment encoding restore reads (manifest.segmentFormat): PostgreSQL COPY text rows. */
export const SEGMENT_FORMAT = 'pg-copy-text';

/** Key of the rows that belong to no wedding (non-wedding tables; wedding tables' NULL references). */
export const NO_WEDDING = '';

export interface PlanInput {
  recoveryScope: RecoveryScope;
  weddingIds?: string[] | undefined;
  dataTypes?: DataType[] | undefined;
  /**
   * Exact wedding-scoped tables instead of what scope and data types imply: an undo restores
   * its recovery point, which holds exactly the tables the restore replaced.
   */
  tables?: string[] | undefined;
}

export interface PlanTable {
  /** schema.name as in the manifest. */
  qualified: string;
  schema: string;
  name: string;
  columns: ManifestTable['columns'];
  primaryKey: string[];
  dataType: DataType | null;
  weddingScoped: boolean;
  /** Column tying rows to weddings (the id column for the weddings table), null for other tables. */
  weddingColumn: string | null;
}

export interface PlanTableScope {
  table: PlanTable;
  /** Weddings whose rows of this table are replaced; 'all' = the whole table (complete scope). */
  weddings: string[] | 'all';
  /** The snapshot's segments per wedding id (NO_WEDDING: rows of no wedding); absent = no rows. */
  segments: Map<string, SegmentRef[]>;
}

export interface RestorePlan {
  snapshotId: string;
  snapshotType: Manifest['type'];
  snapshotCreatedAt: string;
  recoveryScope: RecoveryScope;
  /** Weddings restored (complete: every wedding of the snapshot). Sorted. */
  weddingIds: string[];
  /** Data types covered (for the audit row). */
  dataTypes: string[];
  /** Tables in scope in manifest order (the writer orders them by foreign keys). */
  scopes: PlanTableScope[];
  /** Photo files in scope (rows of the photo table of restored weddings that have a file). */
  photos: Array<PhotoRef & { weddingId: string }>;
  /** Things the user should know (weddings skipped, data a partial snapshot lacks). */
  notes: string[];
}

/** The column tying a manifest table to its wedding, per the schema map. */
export function weddingColumnFor(map: SchemaMap, qualified: string): string | null {
  if (qualified === map.weddings.table) return map.weddings.idColumn;
  return map.tables.find((t) => t.table === qualified)?.weddingColumn ?? null;
}

function planTable(t: ManifestTable, map: SchemaMap): PlanTable {
  const qualified = `${t.schema}.${t.name}`;
  const weddingColumn = t.weddingScoped ? weddingColumnFor(map, qualified) : null;
  if (t.weddingScoped && !weddingColumn) {
    throw new WedsyncError('BAD_INPUT', `the snapshot says ${qualified} belongs to weddings but the schema map does not say through which column`);
  }
  return { qualified, schema: t.schema, name: t.name, columns: t.columns, primaryKey: t.primaryKey, dataType: t.dataType, weddingScoped: t.weddingScoped, weddingColumn };
}

const sortedUnique = (ids: Iterable<string>) => [...new Set(ids)].sort();

/** The data types a snapshot holds (by its tables), for messages. */
function heldTypes(manifest: Manifest): string {
  const types = sortedUnique(manifest.schema.tables.map((t) => t.dataType).filter((d): d is DataType => d !== null && d !== 'wedding'));
  return types.length ? types.join(', ') : 'none';
}

/**
 * Builds the plan. Errors (nothing is read from the database yet, nothing changes):
 *  - BAD_INPUT for scope combinations the contract rejects (the CLI reaches here unparsed),
 *    a complete restore of a partial snapshot, a data type the snapshot lacks;
 *  - NOT_FOUND for a wedding the snapshot does not hold.
 */
export function planRestore(manifest: Manifest, input: PlanInput, map: SchemaMap): RestorePlan {
  const { recoveryScope } = input;
  const weddingIds = input.weddingIds ? sortedUnique(input.weddingIds.map((w) => w.toLowerCase())) : undefined;
  const dataTypes = input.dataTypes ? sortedUnique(input.dataTypes) : undefined;
  const snap = manifest.snapshotId;
  const partial = manifest.scope?.kind === 'partial';
  const notes: string[] = [];
  if (manifest.segmentFormat && manifest.segmentFormat !== SEGMENT_FORMAT) {
    throw new WedsyncError('REPO_VERSION_UNSUPPORTED', `snapshot ${snap} stores rows as ${manifest.segmentFormat}; this program restores ${SEGMENT_FORMAT} only`);
  }

  if (recoveryScope === 'complete') {
    if (weddingIds || dataTypes) throw new WedsyncError('BAD_INPUT', 'a complete restore takes no --wedding and no --data-types (use --scope wedding-only or selective)');
    if (partial) {
      throw new WedsyncError('BAD_INPUT', `snapshot ${snap} is partial (${manifest.type}, ${manifest.scope?.weddingIds?.length ?? 0} weddings): restore it with --scope wedding-only or selective, not complete`);
    }
  } else if (recoveryScope === 'wedding-only') {
    if (!weddingIds?.length) throw new WedsyncError('BAD_INPUT', 'a wedding-only restore needs at least one --wedding ID');
    if (dataTypes) throw new WedsyncError('BAD_INPUT', 'a wedding-only restore restores every data type; to pick data types use --scope selective');
  } else if (!dataTypes?.length && !input.tables) {
    throw new WedsyncError('BAD_INPUT', 'a selective restore needs --data-types');
  }

  const tables = manifest.schema.tables.map((t) => planTable(t, map));
  const byName = new Map(tables.map((t) => [t.qualified, t]));
  const snapshotWeddings = new Map(manifest.weddings.map((w) => [w.weddingId, w]));
  // A partial snapshot also "holds" weddings of its scope that had no rows: restoring them empties them.
  const heldWeddings = new Set([...snapshotWeddings.keys(), ...(partial ? (manifest.scope?.weddingIds ?? []) : [])]);

  if (recoveryScope === 'complete') {
    const scopes: PlanTableScope[] = tables.map((table) => {
      const segments = new Map<string, SegmentRef[]>();
      if (table.weddingScoped) for (const w of manifest.weddings) if (w.tables[table.qualified]?.length) segments.set(w.weddingId, w.tables[table.qualified]!);
      const runs = manifest.schema.tables.find((t) => `${t.schema}.${t.name}` === table.qualified)!.segments;
      if (runs.length) segments.set(NO_WEDDING, runs);
      return { table, weddings: 'all', segments };
    });
    const photos = manifest.weddings.flatMap((w) => w.photos.map((p) => ({ ...p, weddingId: w.weddingId })));
    return {
      snapshotId: snap,
      snapshotType: manifest.type,
      snapshotCreatedAt: manifest.createdAt,
      recoveryScope,
      weddingIds: sortedUnique(snapshotWeddings.keys()),
      dataTypes: sortedUnique(tables.map((t) => t.dataType).filter((d): d is DataType => d !== null)),
      scopes,
      photos,
      notes,
    };
  }

  // Which tables.
  let inScope: PlanTable[];
  if (input.tables) {
    inScope = input.tables.map((name) => {
      const t = byName.get(name);
      if (!t) throw new WedsyncError('BAD_INPUT', `snapshot ${snap} has no table ${name}`);
      if (!t.weddingScoped) throw new WedsyncError('BAD_INPUT', `table ${name} does not belong to weddings: only a complete restore replaces it`);
      return t;
    });
  } else if (recoveryScope === 'wedding-only') {
    inScope = tables.filter((t) => t.weddingScoped);
    if (partial) {
      const missing = (['guests', 'timeline', 'photos', 'vendors'] as const).filter((d) => map.tables.some((m) => m.dataType === d) && !tables.some((t) => t.dataType === d));
      if (missing.length) notes.push(`snapshot ${snap} is partial: it holds no ${missing.join(', ')} data, which this restore leaves as it is`);
    }
  } else {
    inScope = [];
    for (const d of dataTypes!) {
      const ofType = tables.filter((t) => t.dataType === d && t.weddingScoped);
      if (!ofType.length) throw new WedsyncError('BAD_INPUT', `snapshot ${snap} holds no ${d} data (it holds: ${heldTypes(manifest)})`, { details: { dataType: d } });
      inScope.push(...ofType);
    }
  }

  // Which weddings.
  let restored: string[];
  if (weddingIds) {
    const missing = weddingIds.filter((w) => !heldWeddings.has(w));
    if (missing.length) {
      throw new WedsyncError('NOT_FOUND', `wedding ${missing.join(', ')} is not in snapshot ${snap}`, { details: { weddingIds: missing } });
    }
    restored = weddingIds;
  } else {
    restored = sortedUnique(heldWeddings);
  }

  const scopes: PlanTableScope[] = tables
    .filter((t) => inScope.includes(t))
    .map((table) => {
      const segments = new Map<string, SegmentRef[]>();
      for (const id of restored) {
        const refs = snapshotWeddings.get(id)?.tables[table.qualified];
        if (refs?.length) segments.set(id, refs);
      }
      return { table, weddings: restored, segments };
    });
  const photoTable = map.photoFiles?.table;
  const photos =
    photoTable && scopes.some((s) => s.table.qualified === photoTable)
      ? restored.flatMap((id) => (snapshotWeddings.get(id)?.photos ?? []).map((p) => ({ ...p, weddingId: id })))
      : [];
  const types = new Set<string>(scopes.map((s) => s.table.dataType).filter((d): d is DataType => d !== null));
  return {
    snapshotId: snap,
    snapshotType: manifest.type,
    snapshotCreatedAt: manifest.createdAt,
    recoveryScope,
    weddingIds: restored,
    dataTypes: [...types].sort(),
    scopes,
    photos,
    notes,
  };
}

/**
 * Drops weddings from a plan (a selective restore of every wedding skips those whose wedding
 * row no longer exists: their rows could not be inserted).
 */
export function withoutWeddings(plan: RestorePlan, drop: Set<string>): RestorePlan {
  if (!drop.size) return plan;
  const keep = (id: string) => !drop.has(id);
  return {
    ...plan,
    weddingIds: plan.weddingIds.filter(keep),
    scopes: plan.scopes.map((s) => ({
      ...s,
      weddings: s.weddings === 'all' ? 'all' : s.weddings.filter(keep),
      segments: new Map([...s.segments].filter(([id]) => keep(id))),
    })),
    photos: plan.photos.filter((p) => keep(p.weddingId)),
  };
}

/** Every segment the plan reads, with what it holds (to name wedding and data type when one is damaged). */
export function planSegments(plan: RestorePlan): Map<string, { weddingId: string | null; table: string; dataType: string | null }> {
  const out = new Map<string, { weddingId: string | null; table: string; dataType: string | null }>();
  for (const s of plan.scopes) {
    for (const [wedding, refs] of s.segments) {
      for (const r of refs) if (!out.has(r.id)) out.set(r.id, { weddingId: wedding === NO_WEDDING ? null : wedding, table: s.table.qualified, dataType: s.table.dataType });
    }
  }
  return out;
}

/**
 * Tables ordered parents first by foreign keys (`edges`: child → parent, self-references
 * ignored): inserts go in this order, deletes in reverse. Tables in a cycle keep manifest order
 * after the others (the writer defers constraints where it can).
 */
export function orderByForeignKeys(tables: string[], edges: Array<{ child: string; parent: string }>): string[] {
  const inSet = new Set(tables);
  const parents = new Map(tables.map((t) => [t, new Set<string>()]));
  for (const e of edges) if (e.child !== e.parent && inSet.has(e.child) && inSet.has(e.parent)) parents.get(e.child)!.add(e.parent);
  const out: string[] = [];
  const placed = new Set<string>();
  let progress = true;
  while (progress) {
    progress = false;
    for (const t of tables) {
      if (placed.has(t)) continue;
      if ([...parents.get(t)!].every((p) => placed.has(p))) {
        out.push(t);
        placed.add(t);
        progress = true;
      }
    }
  }
  for (const t of tables) if (!placed.has(t)) out.push(t);
  return out;
}

/** Rough duration of applying a plan, for the audit row and the preview. */
export function estimateDurationMs(rows: number, photos: number): number {
  return Math.round(300 + rows * 0.01 + photos * 5);
}
