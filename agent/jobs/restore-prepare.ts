import { createHash } from 'node:crypto';
import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import type { DataType, Manifest } from '../contract/manifest.js';
import type { RecoveryOperationType, RecoveryScope, RestoreCounts, RestorePreviewItem } from '../contract/restore.js';
import type { SchemaMap } from '../contract/schema-map.js';
import { NO_WEDDING, orderByForeignKeys, planRestore, planSegments, withoutWeddings, type PlanTableScope, type RestorePlan } from '../core/restore-plan.js';
import { addCounts, copyLines, diffRows, keyIndexes, zeroCounts, type RowChange } from '../core/restore-plan-diff.js';
import type { Repository } from '../repository/repository.js';
import type { RestoreTarget } from '../source/restore-target.js';
import type { TargetColumns } from '../source/restore-writer.js';
import { digestOfTables, tableDigestLines } from '../source/restore-rows.js';

/**
 * The first steps of a restore, shared by the preview and the apply: load the manifest, plan,
 * look at the target (does it exist, which weddings, foreign keys, columns), load and check
 * every segment the plan reads (a damaged one refuses here, naming wedding and data type,
 * before anything changes), and — for a preview — read the live rows in scope and diff them.
 */
export interface RestoreRequest {
  snapshotId: string;
  recoveryScope: RecoveryScope;
  weddingIds?: string[] | undefined;
  dataTypes?: DataType[] | undefined;
  /** Another database instead of the live one (--target-url). */
  targetUrl?: string | undefined;
  /**
   * With targetUrl: the photo store the photo files in scope go to (--target-photo-store; the
   * store itself is RestoreDeps.photoStore). Without it such a restore writes no photo file and
   * says so in the preview and the result. Bound into the plan's fingerprint.
   */
  targetPhotoStore?: string | undefined;
  /** Undo: exact tables of the recovery point, and the operation undone. */
  tables?: string[] | undefined;
  undoOf?: string | undefined;
  /** Undo into another database: host:port/db it must be (the one the undone restore wrote). */
  expectTarget?: string | undefined;
  /** What the audit row calls it, when not implied (tier 1's point-in-time restore: 'point-in-time'). */
  operationType?: RecoveryOperationType | undefined;
}

export interface PrepareDeps {
  repo: Repository;
  map: SchemaMap;
  /** The live wedding database. */
  liveUrl: string;
  /** `settingsFrom`: for another database, the live one whose text-format settings it copies. */
  openTarget(url: string, settingsFrom?: string): Promise<RestoreTarget>;
  /**
   * Reads a manifest (default: the snapshot's root and, with `weddingIds`, only the trees holding
   * those weddings); the agent passes a cached one: manifests never change. With `weddingIds` the
   * result may list only those weddings (every other field is the whole snapshot's).
   */
  loadManifest?: (snapshotId: string, weddingIds?: string[]) => Promise<Manifest>;
}

export interface PreparedItem extends RestorePreviewItem {
  /** Live rows (COPY text) when read; kept for paging diff rows. */
  live?: Buffer;
}

export interface PreparedRestore {
  request: RestoreRequest;
  manifest: Manifest;
  plan: RestorePlan;
  target: RestoreTarget;
  /** "live" or the target's host:port/db. */
  targetLabel: string;
  /** The target holds none of the snapshot's tables: complete restore recreates the schema. */
  emptyTarget: boolean;
  /** Plan scopes, parents first. */
  scopes: PlanTableScope[];
  columns: Map<string, TargetColumns>;
  /**
   * Segment plaintexts by blob id (all the plan reads, one item's for a diff page, none for an
   * empty target, and none for a complete restore into an existing database: see `streamed`).
   */
  segments: Map<string, Buffer>;
  /**
   * A complete restore into an existing database: no segment is held for the whole restore. The
   * preview diffs each table a batch of weddings at a time (their segments and live rows read,
   * compared, dropped), and the apply streams each table's segments into its stage: memory does
   * not grow with the database. `checked` says whether every segment was read and checked already (the
   * preview's diff does it; otherwise execute does, before anything changes).
   */
  streamed: boolean;
  checked: boolean;
  repo: Repository;
  /** What a confirmation token binds (besides the live digest). */
  fingerprint: string;
  /** Filled by diff(): per (wedding, table). */
  items?: PreparedItem[];
  totals?: RestoreCounts;
  liveDigest?: string;
  release(): Promise<void>;
}

/** Only one item's segments and live rows (diff pages). */
export interface PrepareFilter {
  table: string;
  weddingId: string | null;
}

function fingerprintOf(plan: RestorePlan, request: RestoreRequest, target: string): string {
  const canonical = JSON.stringify({
    snapshotId: plan.snapshotId,
    scope: plan.recoveryScope,
    weddings: plan.weddingIds,
    tables: plan.scopes.map((s) => s.table.qualified).sort(),
    target,
    undoOf: request.undoOf ?? null,
    ...(request.targetPhotoStore ? { targetPhotoStore: request.targetPhotoStore } : {}),
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Reads and checks segments (by blob id) of a plan. A damaged or missing one is an error naming
 * its wedding and data type: INTEGRITY / BLOB_NOT_FOUND, "nothing was changed".
 */
export async function loadSegments(repo: Repository, plan: RestorePlan, ids: Iterable<string>): Promise<Map<string, Buffer>> {
  const segments = new Map<string, Buffer>();
  try {
    await repo.forEachBlob(ids, (id, plain) => {
      segments.set(id, plain);
    });
  } catch (err) {
    throw segmentError(err, plan);
  }
  return segments;
}

/** A repository read error of a plan's segment, naming its wedding and data type. */
function segmentError(err: unknown, plan: RestorePlan): unknown {
  const blobId = isWedsyncError(err) ? (err.details?.blobId as string | undefined) : undefined;
  const what = blobId ? planSegments(plan).get(blobId) : undefined;
  if (!what || !isWedsyncError(err)) return err;
  const where = `${what.weddingId ? `wedding ${what.weddingId}` : 'rows of no wedding'}, data type ${what.dataType ?? 'none'} (${what.table})`;
  return new WedsyncError(err.code, `snapshot ${plan.snapshotId} cannot be restored: the segment of ${where} is ${err.code === 'BLOB_NOT_FOUND' ? 'missing' : 'damaged'} — nothing was changed`, {
    cause: err,
    details: { blobId, weddingId: what.weddingId, dataType: what.dataType, table: what.table },
  });
}

/** Segments read ahead of their consumer at most (bounded memory while streaming into COPY). */
const STREAM_AHEAD = 64;

/**
 * Segments of a plan as they are read and checked (any order), for streaming into COPY. Errors
 * as loadSegments. A consumer that stops early stops the reading too.
 */
export async function* streamSegments(repo: Repository, plan: RestorePlan, ids: string[], ahead = STREAM_AHEAD): AsyncGenerator<{ id: string; data: Buffer }> {
  const queue: Array<{ id: string; data: Buffer }> = [];
  let finished = false;
  let stopped = false;
  let failure: unknown;
  let wake: () => void = () => undefined;
  // Several ranges are read at once, so several readers may wait for room: release them all.
  let waiting: Array<() => void> = [];
  const room = () => {
    const all = waiting;
    waiting = [];
    for (const r of all) r();
  };
  const reading = repo
    .forEachBlob(ids, async (id, data) => {
      if (stopped) throw new Error('restore stopped reading');
      queue.push({ id, data });
      wake();
      while (queue.length >= ahead && !stopped) await new Promise<void>((r) => waiting.push(r));
    })
    .catch((err: unknown) => {
      failure = err;
    })
    .finally(() => {
      finished = true;
      wake();
    });
  try {
    for (;;) {
      const next = queue.shift();
      if (next) {
        room();
        yield next;
      } else if (finished) {
        if (failure !== undefined) throw segmentError(failure, plan);
        return;
      } else {
        await new Promise<void>((r) => (wake = r));
      }
    }
  } finally {
    stopped = true;
    room();
    await reading;
  }
}

/** The snapshot's segment plaintexts of one (scope, wedding key), in order. */
export function snapshotParts(prepared: Pick<PreparedRestore, 'segments'>, scope: PlanTableScope, key: string): Buffer[] {
  return (scope.segments.get(key) ?? []).map((r) => prepared.segments.get(r.id)!);
}

export async function prepareRestore(deps: PrepareDeps, request: RestoreRequest, filter?: PrepareFilter): Promise<PreparedRestore> {
  // The index (needed to read segments), the manifest and the target connection load together.
  deps.repo.loadIndex().catch(() => undefined);
  const loadManifest = deps.loadManifest ?? ((id: string, weddingIds?: string[]) => deps.repo.openSnapshot(id).then((v) => v.manifest(weddingIds)));
  // A restore of named weddings reads only their trees (planRestore needs no other wedding).
  const named = request.recoveryScope !== 'complete' && request.weddingIds?.length ? request.weddingIds.map((w) => w.toLowerCase()) : undefined;
  const [m, t] = await Promise.allSettled([loadManifest(request.snapshotId, named), request.targetUrl ? deps.openTarget(request.targetUrl, deps.liveUrl) : deps.openTarget(deps.liveUrl)]);
  if (m.status === 'rejected' || t.status === 'rejected') {
    if (t.status === 'fulfilled') await t.value.close();
    throw m.status === 'rejected' ? m.reason : (t as PromiseRejectedResult).reason;
  }
  const manifest = m.value;
  const target = t.value;
  try {
    let plan = planRestore(manifest, request, deps.map);
    // Snapshots taken before the schema map excluded the agent's own tables (audit log, API
    // tokens, agents) hold them: a restore never writes them back.
    const excluded = new Set(deps.map.exclude);
    if (plan.scopes.some((s) => excluded.has(s.table.qualified))) {
      const dropped = plan.scopes.filter((s) => excluded.has(s.table.qualified)).map((s) => s.table.qualified);
      plan = { ...plan, scopes: plan.scopes.filter((s) => !excluded.has(s.table.qualified)), notes: [...plan.notes, `left as they are (the agent's own tables, not wedding data): ${dropped.join(', ')}`] };
    }
    const targetLabel = request.targetUrl ? target.description : 'live';
    if (request.expectTarget !== undefined && request.expectTarget !== target.description) {
      throw new WedsyncError('BAD_INPUT', `--target-url names ${target.description}, but the operation restored into ${request.expectTarget}`);
    }
    const tableNames = plan.scopes.map((s) => s.table.qualified);
    const existing = await target.existingTables(tableNames);
    const emptyTarget = existing.size === 0;
    if (emptyTarget && plan.recoveryScope !== 'complete') {
      throw new WedsyncError('BAD_INPUT', `the database at ${target.description} has none of the snapshot's tables: only a complete restore recreates the schema`);
    }
    let columns = new Map<string, TargetColumns>();
    let order = tableNames;
    if (!emptyTarget) {
      columns = await target.columns(plan.scopes.map((s) => s.table));
      order = orderByForeignKeys(tableNames, await target.foreignKeys());
      // Rows of a wedding whose wedding row is gone cannot be inserted: refuse named weddings,
      // skip the rest of "every wedding" with a note.
      const weddingsTable = deps.map.weddings;
      if (plan.recoveryScope !== 'complete' && !tableNames.includes(weddingsTable.table)) {
        const live = await target.existingWeddings({ table: weddingsTable.table, idColumn: weddingsTable.idColumn }, plan.weddingIds);
        const gone = plan.weddingIds.filter((w) => !live.has(w));
        if (gone.length && request.weddingIds) {
          throw new WedsyncError('BAD_INPUT', `wedding ${gone.join(', ')} no longer exists in the database at ${target.description}: restore it whole with --scope wedding-only`, { details: { weddingIds: gone } });
        }
        if (gone.length) {
          plan = withoutWeddings(plan, new Set(gone));
          plan.notes.push(`${gone.length} wedding(s) of the snapshot no longer exist and are skipped (restore them with --scope wedding-only): ${gone.slice(0, 5).join(', ')}${gone.length > 5 ? ', …' : ''}`);
        }
      }
    }
    if (plan.recoveryScope !== 'complete' && plan.weddingIds.length === 0) throw new WedsyncError('BAD_INPUT', `nothing to restore: snapshot ${plan.snapshotId} holds no wedding in scope`);
    const byName = new Map(plan.scopes.map((s) => [s.table.qualified, s]));
    const scopes = order.map((t) => byName.get(t)!);

    // Load and check every segment the plan reads, before anything changes. An empty target has
    // nothing to change: its tables stream their segments while loading (execute).
    const streamed = !filter && !emptyTarget && plan.recoveryScope === 'complete';
    const wanted = filter
      ? (byName.get(filter.table)?.segments.get(filter.weddingId ?? NO_WEDDING) ?? []).map((r) => r.id)
      : emptyTarget || streamed
        ? []
        : [...planSegments(plan).keys()];
    const segments = await loadSegments(deps.repo, plan, wanted);

    return {
      request,
      manifest,
      plan,
      target,
      targetLabel,
      emptyTarget,
      scopes,
      columns,
      segments,
      streamed,
      checked: !streamed,
      repo: deps.repo,
      fingerprint: fingerprintOf(plan, request, targetLabel),
      release: () => target.close(),
    };
  } catch (err) {
    await target.close();
    throw err;
  }
}

/**
 * Reads the live rows in scope and diffs them with the snapshot's, per (wedding, table). Sets
 * items, totals and the live digest a token binds. Named weddings appear even without rows.
 */
export async function diffPrepared(prepared: PreparedRestore, filter?: PrepareFilter): Promise<void> {
  const items: PreparedItem[] = [];
  const totals = zeroCounts();
  const seen = new Map<string, string>();
  for (const scope of prepared.scopes) {
    if (filter && filter.table !== scope.table.qualified) continue;
    const idx = keyIndexes(scope.table.columns, scope.table.primaryKey);
    /** Diffs the keys of one batch: `live` holds their live rows, `held` their segments. */
    const diffKeys = (keys: Iterable<string>, live: Map<string, Buffer>, held: Pick<PreparedRestore, 'segments'>) => {
      for (const key of keys) {
        const refs = scope.segments.get(key) ?? [];
        const liveRows = live.get(key);
        // One side empty (an empty target, a wedding without rows): nothing to match, just count.
        const d = !liveRows
          ? { counts: { inserted: refs.reduce((a, r) => a + r.rows, 0), updated: 0, deleted: 0, unchanged: 0 }, snapshotRows: refs.reduce((a, r) => a + r.rows, 0), liveRows: 0 }
          : diffRows(copyLines(Buffer.concat(snapshotParts(held, scope, key)).toString('utf8')), copyLines(liveRows.toString('utf8')), idx);
        addCounts(totals, d.counts);
        items.push({
          weddingId: key === NO_WEDDING ? null : key,
          dataType: scope.table.dataType,
          table: scope.table.qualified,
          snapshotRows: d.snapshotRows,
          liveRows: d.liveRows,
          segments: refs.length,
          ...d.counts,
          ...(liveRows && !prepared.streamed ? { live: liveRows } : {}),
        });
      }
    };
    if (prepared.streamed && !filter && scope.weddings === 'all') {
      // Streamed (complete into an existing database): a batch of weddings at a time — their
      // live rows and their segments read, compared, dropped — so not even the biggest table
      // is held whole. Every segment is still read (and checked against its id).
      let lines = '';
      await prepared.target.forEachWeddingBatch(scope.table, scope.segments.keys(), async (keys, live) => {
        const held = { segments: await loadSegments(prepared.repo, prepared.plan, keys.flatMap((k) => scope.segments.get(k) ?? []).map((r) => r.id)) };
        diffKeys(keys, live, held);
        lines += tableDigestLines(scope.table.qualified, live);
      });
      seen.set(scope.table.qualified, lines);
      continue;
    }
    // A page of rows of no wedding reads the whole table and keeps only those.
    const weddings = filter ? (filter.weddingId ? [filter.weddingId] : 'all') : scope.weddings;
    const live = prepared.emptyTarget ? new Map<string, Buffer>() : await prepared.target.readRows(scope.table, weddings);
    seen.set(scope.table.qualified, tableDigestLines(scope.table.qualified, live));
    const keys = filter
      ? new Set([filter.weddingId ?? NO_WEDDING])
      : new Set<string>([...(Array.isArray(weddings) ? weddings : []), ...scope.segments.keys(), ...live.keys()]);
    diffKeys([...keys].sort(), live, prepared);
  }
  prepared.items = items;
  prepared.totals = totals;
  prepared.liveDigest = digestOfTables(seen);
  if (!filter) prepared.checked = true;
}

/** The changed rows of one prepared item (after diffPrepared with the same filter). */
export function itemChanges(prepared: PreparedRestore, filter: PrepareFilter): RowChange[] {
  const scope = prepared.scopes.find((s) => s.table.qualified === filter.table);
  if (!scope) throw new WedsyncError('BAD_INPUT', `table ${filter.table} is not in this restore's scope (it has: ${prepared.scopes.map((s) => s.table.qualified).join(', ')})`);
  const key = filter.weddingId ?? NO_WEDDING;
  const item = prepared.items?.find((i) => (i.weddingId ?? NO_WEDDING) === key && i.table === filter.table);
  const snap = copyLines(Buffer.concat(snapshotParts(prepared, scope, key)).toString('utf8'));
  const live = copyLines(item?.live?.toString('utf8') ?? '');
  return diffRows(snap, live, keyIndexes(scope.table.columns, scope.table.primaryKey), true).changes ?? [];
}
