import { randomUUID, createHash } from 'node:crypto';
import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import type { DataType, ManifestWedding, PhotoProblem, PhotoRef, TreeEntry } from '../contract/manifest.js';
import type { DataType as MapDataType, SchemaMap } from '../contract/schema-map.js';
import type { Logger } from '../logger.js';
import type { Catalog } from '../catalog/catalog.js';
import type { BackupSource } from '../source/backup-source.js';
import type { PhotoRow, WeddingFacts } from '../source/weddings.js';
import { acquireLock, type RepositoryLock } from '../repository/lock.js';
import type { Repository, SnapshotView } from '../repository/repository.js';
import { bucketOf, defaultBucketCount } from '../repository/snapshot-tree.js';
import type { BlobStore } from '../storage/blob-store.js';
import {
  applyRuns,
  assembleWedding,
  emptyState,
  manifestTables,
  manifestWedding,
  stateFromParent,
  weddingIdsOf,
  type SnapshotState,
  type TableMeta,
  type WeddingState,
} from './snapshot-state.js';

/**
 * The backup task: one consistent export of the wedding database (and its photo files) into
 * the repository, as a full, incremental or emergency snapshot, recorded in the catalog.
 *
 * Cost follows the change: an incremental reads the parent's root and only the trees (buckets of
 * weddings, repository/snapshot-tree.ts) holding weddings that changed, writes new trees for
 * those, and references the parent's tree ids for every other bucket.
 *
 * Guarantees: the manifest (root) is stored last, after every pack and the index; the catalog row is
 * written only after the manifest. A failure at any point leaves no snapshot visible; packs
 * already uploaded are unreferenced garbage for prune. The job row ends completed or failed.
 * From the first blob it deduplicates until its manifest is stored, the backup holds the
 * repository's SHARED lock (repository/lock.ts) and works from an index re-read under it: prune
 * collects packs only under the exclusive lock, so it can never delete a pack this backup reuses
 * or has written but not referenced yet — whoever runs the backup (CLI, API, restore, tier 1).
 */
export type BackupType = 'full' | 'incremental' | 'emergency' | 'recovery-point';

export interface BackupRequest {
  type: BackupType;
  /** Emergency: the weddings to back up (required). */
  weddingIds?: string[];
  /** Emergency: the data types (default all). */
  dataTypes?: MapDataType[];
  /**
   * Recovery point (taken by a restore before it changes anything): exactly these wedding-scoped
   * tables (qualified names) of `weddingIds`, as they are now; a wedding without rows is simply
   * absent from the manifest. Without `weddingIds` a recovery point is a whole-database export.
   */
  tables?: string[];
  tier?: number | null;
  priority?: number;
  retentionDays?: number;
}

export interface BackupProgress {
  phase: 'export' | 'photos' | 'finish';
  rows: number;
  /** Rows expected (planner statistics), 0 when unknown: for rate and ETA displays. */
  rowsEstimate: number;
  /** Weddings whose rows are all exported so far (approximate while tables run in parallel). */
  weddingsDone: number;
  bytes: number;
  itemsDone: number;
  itemsTotal: number;
  photosDone: number;
  photosTotal: number;
}

/**
 * A repository whose key is still being derived (scrypt, ~0.1 s and more on a busy machine):
 * its store is open, `opened` resolves once the passphrase has unwrapped the master key.
 */
export interface UnlockingRepository {
  store: BlobStore;
  opened: Promise<Repository>;
}

export interface BackupDeps {
  openSource: () => Promise<BackupSource>;
  catalog: Catalog;
  /**
   * The repository, or one still unlocking: meanwhile the backup does everything that needs no
   * key (picks the parent in the catalog, opens the database snapshot, reads the schema), so a
   * command-line backup does not wait for scrypt and then for the database one after the other.
   * Nothing is written (no job row, no lock file) before the key has opened: a wrong passphrase
   * leaves no trace.
   */
  repo: Repository | UnlockingRepository;
  /** Where photo files live; null skips photo files (rows are still backed up). */
  photoStore: BlobStore | null;
  map: SchemaMap;
  logger: Logger;
  agentName?: string;
  onProgress?: (p: BackupProgress) => void;
  /** Aborting stops the job at the next segment with CANCELLED. */
  signal?: AbortSignal;
  /**
   * Take the repository's shared lock for the backup (default true). false only when the caller
   * holds a lock on the repository itself, or deliberately writes without one (a test of prune's
   * grace period for lock-less writers).
   */
  takeLock?: boolean;
  /** With takeLock false: the lock the caller holds, checked (not lost) before the root is stored. */
  heldLock?: RepositoryLock;
  /** How long to wait while a prune holds the exclusive lock (default 10 minutes), then CONFLICT. */
  lockWaitMs?: number;
}

export interface BackupResult {
  snapshotId: string;
  jobId: string;
  type: BackupType;
  /** Why an incremental ran as a full one, when it did. */
  note?: string;
  parentSnapshotId: string | null;
  weddingCount: number;
  rowCount: number;
  rowsExported: number;
  segmentCount: number;
  photoCount: number;
  photoProblems: number;
  bytesNew: number;
  bytesTotal: number;
  bytesRaw: number;
  compressionRatio: number | null;
  durationMs: number;
  storageLocation: string;
}

const PHOTO_CONCURRENCY = 4;
/** Trees whose weddings' facts are read in one query while trees are written (~1,500 weddings). */
const FACT_BATCH_BUCKETS = 64;
const noop = () => undefined;

export async function runBackup(deps: BackupDeps, request: BackupRequest): Promise<BackupResult> {
  const started = Date.now();
  const { catalog, map, logger } = deps;
  const store = deps.repo.store;
  const unlocking = 'opened' in deps.repo ? deps.repo.opened : Promise.resolve(deps.repo);
  // Settled here, awaited below: a failure to open is reported where the key is needed.
  unlocking.catch(() => undefined);
  let lap = started;
  /** Debug timing per phase: where a slow backup spends its time. */
  const debug = logger.isLevelEnabled('debug');
  const phase = (name: string) => {
    // process.memoryUsage() reads /proc: only when someone reads the result.
    if (!debug) return;
    const now = Date.now();
    const mem = process.memoryUsage();
    const mb = (n: number) => Math.round(n / 1048576);
    logger.debug({ phase: name, ms: now - lap, atMs: Math.round(performance.now()), rssMb: mb(mem.rss), heapMb: mb(mem.heapUsed), buffersMb: mb(mem.arrayBuffers) }, 'backup phase');
    lap = now;
  };
  if (request.type === 'emergency' && !request.weddingIds?.length) {
    throw new WedsyncError('BAD_INPUT', 'an emergency backup needs at least one --wedding ID');
  }

  // The parent of an incremental: the newest complete snapshot of this repository, chosen
  // BEFORE the source's snapshot is taken (so the parent never saw changes this backup cannot
  // see); its root is read once the key is there and the lock is held.
  let parent: SnapshotView | null = null;
  let note: string | undefined;
  const latest = request.type === 'incremental' ? ((await catalog.listSnapshots({ storageLocation: store.location, types: ['full', 'incremental'], limit: 1, brief: true }))[0] ?? null) : null;

  phase('parent');
  const jobSpec = {
    backupType: request.type,
    tier: request.tier ?? null,
    priorityLevel: request.priority ?? (request.type === 'emergency' ? 10 : 5),
    targetWeddings: request.weddingIds ?? [],
    dataTypes: request.dataTypes ?? null,
    claimedBy: deps.agentName ?? null,
    retentionUntil: new Date(Date.now() + (request.retentionDays ?? 30) * 86_400_000),
  } as Parameters<Catalog['startJob']>[0];
  let source: BackupSource;
  try {
    source = await deps.openSource();
  } catch (err) {
    // A repository that does not open (wrong passphrase) is the error to report, with nothing written.
    await unlocking;
    // The source would not open (refused, a lock wait ran out, bad credentials): the attempt
    // still gets its failed job row with the reason, whenever the catalog can be reached (it
    // often lives in that same database — then nothing can be written, and the error says why).
    const error = isWedsyncError(err) ? err : new WedsyncError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
    const jobId = await catalog.startJob(jobSpec).catch(() => undefined);
    if (jobId) await catalog.failJob(jobId, { code: error.code, message: error.message }).catch(() => undefined);
    logger.error({ jobId, code: error.code, err: error.message }, 'backup failed: the source did not open');
    throw error;
  }
  phase('open-source');
  let repo: Repository;
  try {
    repo = await unlocking;
  } catch (err) {
    // Wrong passphrase, no repository…: reported as such, with nothing written anywhere.
    await source.close().catch(() => undefined);
    throw err;
  }
  phase('unlock');
  let jobId: string | undefined;
  let lock: RepositoryLock | null = null;
  try {
    const weddingsTable = map.weddings.table;
    const tableMeta: TableMeta[] = source.schema.tables.map((t) => {
      const mapped = map.tables.find((m) => m.table === t.qualified);
      const isWeddings = t.qualified === weddingsTable;
      return {
        qualified: t.qualified,
        schema: t.schema,
        name: t.name,
        columns: t.columns,
        primaryKey: t.primaryKey,
        dataType: isWeddings ? 'wedding' : (mapped?.dataType ?? null),
        weddingScoped: isWeddings || Boolean(mapped),
      };
    });
    if (!tableMeta.some((t) => t.qualified === weddingsTable)) {
      throw new WedsyncError('BAD_INPUT', `the weddings table ${weddingsTable} of the schema map is not in the database (run \`wedsync-backup init\`?)`);
    }
    const scoped = new Set(tableMeta.filter((t) => t.weddingScoped).map((t) => t.qualified));

    if (request.type === 'recovery-point' && request.weddingIds) {
      const unknown = (request.tables ?? []).filter((t) => !scoped.has(t));
      if (!request.tables?.length || unknown.length) throw new WedsyncError('BAD_INPUT', `a recovery point needs wedding-scoped tables (got ${unknown.join(', ') || 'none'})`);
    }
    if (request.type === 'emergency') {
      const found = await source.weddings(request.weddingIds);
      const missing = request.weddingIds!.filter((id) => !found.has(id));
      if (missing.length) throw new WedsyncError('NOT_FOUND', `wedding ${missing.join(', ')} not found in the database`, { details: { weddingIds: missing } });
    }

    // The index files are read while the job row and the lock file are written (read only,
    // nothing relied on yet), then listed again under the lock below: only files added since are
    // read, or every file again if a prune replaced any meanwhile (Repository.loadIndex), so a
    // pack a prune removed is never deduplicated against.
    const preread = deps.takeLock !== false ? repo.loadIndex().then(noop, noop) : Promise.resolve();
    jobId = await catalog.startJob(jobSpec);
    if (deps.takeLock !== false) {
      lock = await acquireLock(store, {
        kind: 'shared',
        purpose: `${request.type} backup (job ${jobId})`,
        agent: deps.agentName ?? null,
        waitMs: deps.lockWaitMs ?? 10 * 60_000,
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
    }
    // Under the lock: the index as it is now, without packs a prune removed since this
    // Repository object last read it (the agent keeps one open for months). The parent's root
    // is read meanwhile (a parent pruned since it was chosen: the incremental runs as a full).
    await preread; // a load still in flight would answer with its listing from before the lock
    const openParent = latest ? repo.openSnapshot(latest.id).catch(() => null) : Promise.resolve(null);
    phase('job-lock');
    [, parent] = await Promise.all([repo.loadIndex(), openParent]);
    phase('index-parent');
    if (request.type === 'incremental' && !parent) note = 'no previous complete snapshot in this repository: ran as a full backup';

    // Decide what to export.
    let state: SnapshotState;
    let effectiveType: BackupType = request.type;
    const scope = new Map<string, 'all' | Set<string>>();
    let items;
    let photoScope: 'all' | Set<string> | 'none' = 'all';
    let partialTables: string[] | undefined;
    /** Incremental of a format-2 parent: its trees of buckets no change touched, kept as they are. */
    let reused: { bucketCount: number; entries: TreeEntry[] } | null = null;
    if (request.type === 'emergency') {
      state = emptyState();
      const ids = request.weddingIds!;
      const wanted = request.dataTypes;
      partialTables = [weddingsTable, ...map.tables.filter((t) => scoped.has(t.table) && (!wanted || (t.dataType !== null && wanted.includes(t.dataType)))).map((t) => t.table)];
      for (const t of partialTables) scope.set(t, new Set(ids));
      items = source.planWeddings(partialTables, ids);
      photoScope = !wanted || wanted.includes('photos') ? new Set(ids) : 'none';
    } else if (request.type === 'recovery-point' && request.weddingIds) {
      state = emptyState();
      const ids = request.weddingIds;
      partialTables = [...request.tables!];
      for (const t of partialTables) scope.set(t, new Set(ids));
      items = source.planWeddings(partialTables, ids);
      photoScope = map.photoFiles && partialTables.includes(map.photoFiles.table) ? new Set(ids) : 'none';
    } else if (request.type === 'recovery-point') {
      state = emptyState();
      items = source.planFull();
      for (const t of tableMeta) scope.set(t.qualified, 'all');
    } else {
      const head = parent?.header;
      const changes = head?.database.journalSnapshot ? await source.changesSince(head.database.journalSnapshot) : null;
      phase('changes');
      const schemaChanged = head && (head.schema.sql !== source.schema.preDataSql || (head.schema.postDataSql ?? '') !== source.schema.postDataSql);
      if (parent && head && changes && !schemaChanged) {
        items = [];
        for (const t of tableMeta) {
          const c = changes.tables.get(t.qualified);
          if (!c) continue;
          if (c === 'all' || !t.weddingScoped) {
            scope.set(t.qualified, 'all');
            items.push(...source.planTables([t.qualified]));
          } else {
            scope.set(t.qualified, c);
            items.push(...source.planWeddings([t.qualified], [...c]));
          }
        }
        const photoTable = map.photoFiles?.table;
        const pc = photoTable ? scope.get(photoTable) : undefined;
        photoScope = pc ?? 'none';
        reused = parent.trees ? { bucketCount: parent.trees.bucketCount, entries: [] } : null;
        const touched = new Set<string>();
        for (const [t, s] of scope) {
          if (!scoped.has(t)) continue;
          if (s === 'all') reused = null; // every wedding's rows of a table were re-read
          else for (const id of s) touched.add(id);
        }
        if (photoScope instanceof Set) for (const id of photoScope) touched.add(id);
        let weddings: ManifestWedding[];
        if (reused && parent.trees) {
          const buckets = new Set([...touched].map((id) => bucketOf(id, reused!.bucketCount)));
          const load: string[] = [];
          for (const e of parent.trees.entries) {
            if (buckets.has(e.bucket)) load.push(...e.weddingIds);
            else reused.entries.push(e);
          }
          weddings = await parent.weddings(load);
        } else weddings = await parent.allWeddings();
        state = stateFromParent(head, weddings);
      } else {
        if (parent) note = !changes ? 'no change journal in the database: ran as a full backup' : 'the schema changed since the previous snapshot: ran as a full backup';
        if (request.type === 'incremental') effectiveType = 'full';
        parent = null;
        state = emptyState();
        items = source.planFull();
        for (const t of tableMeta) scope.set(t.qualified, 'all');
      }
    }

    phase('plan');
    // Export rows.
    const estimatedTables = new Set(items.filter((i) => !i.weddings).map((i) => i.table));
    const rowsEstimate = [...estimatedTables].reduce((a, t) => a + t.estimatedRows, 0);
    const progress: BackupProgress = { phase: 'export', rows: 0, rowsEstimate, weddingsDone: 0, bytes: 0, itemsDone: 0, itemsTotal: items.length, photosDone: 0, photosTotal: 0 };
    const run = await source.export(
      items,
      async (segment) => {
        if (deps.signal?.aborted) throw cancelledError(deps.signal);
        // A wedding's own row is one segment of the weddings table (rows come ordered by wedding):
        // counted, not collected, so progress costs no memory per wedding.
        if (segment.weddingId && segment.table === weddingsTable) progress.weddingsDone++;
        const saved = await repo.saveBlob('segment', segment.data);
        return { id: saved.id, rows: segment.rows, rawBytes: segment.data.length };
      },
      (p) => {
        progress.rows = p.rows;
        progress.bytes = p.bytes;
        progress.itemsDone = p.tablesDone;
        deps.onProgress?.(progress);
      },
    );
    phase('export');
    const rowsExported = run.rows;
    const isScoped = (t: string) => scoped.has(t);
    // Wedding rows stay in the export's compact tables until their bucket's tree is written.
    applyRuns(state, run.tables, scope, isScoped);

    // Wedding facts (organization, date) for weddings whose row was re-read: read from the export's
    // snapshot a batch of trees at a time while the trees are written (see saveTrees), not all at
    // once — at 10,000 weddings that was ~3 MB held, and ~5 MB of query result promoted as garbage.
    const weddingScope = scope.get(weddingsTable);
    const facts = new Map<string, WeddingFacts>();
    const loadFacts = weddingScope
      ? async (batch: string[]) => {
          facts.clear();
          const wanted = weddingScope === 'all' ? batch : batch.filter((id) => weddingScope.has(id));
          if (wanted.length) for (const [id, f] of await source.weddings(wanted)) facts.set(id, f);
        }
      : null;

    // Photo files.
    let photoRefs: Map<string, PhotoRef[]> | null = null;
    const problems: PhotoProblem[] = parent ? parent.header.photoProblems.filter((p) => photoScope !== 'all' && !(photoScope instanceof Set && photoScope.has(p.weddingId))) : [];
    if (photoScope !== 'none' && deps.photoStore) {
      progress.phase = 'photos';
      const rows = await source.photos(photoScope === 'all' ? undefined : [...photoScope]);
      progress.photosTotal = rows.length;
      const known = new Map<string, string>();
      // The parent's photos of the weddings re-read (the state holds them: they are in touched trees).
      if (parent) for (const w of state.weddings.values()) for (const p of w.photos) known.set(`${p.storageKey}\0${p.sha256}`, p.blobId);
      photoRefs = await backupPhotos(rows, deps.photoStore, repo, known, problems, () => {
        progress.photosDone++;
        deps.onProgress?.(progress);
      });
    }
    phase('photos');

    // Store: trees of the weddings in the state (buckets that changed), then packs and index,
    // then the root (the commit point), then the catalog row.
    progress.phase = 'finish';
    deps.onProgress?.(progress);
    const metas = tableMeta.filter((t) => !partialTables || partialTables.includes(t.qualified));
    const ids = weddingIdsOf(state, run.tables, isScoped);
    const bucketCount = reused?.bucketCount ?? defaultBucketCount(ids.size);
    const assemble = (id: string): WeddingState | null => {
      const w = assembleWedding(state, id, run.tables, scope, isScoped, weddingsTable);
      if (!w) return null;
      const f = facts.get(id);
      if (f) {
        w.organizationId = f.organizationId;
        w.weddingDate = f.weddingDate;
      }
      if (photoRefs && (photoScope === 'all' || (photoScope instanceof Set && photoScope.has(id)))) w.photos = photoRefs.get(id) ?? [];
      return w;
    };
    const typeOf = new Map(metas.map((t) => [t.qualified, t.dataType]));
    const entries = [...(reused?.entries ?? []), ...(await saveTrees(repo, ids, bucketCount, assemble, typeOf, loadFacts))];
    // The facts were the last reads from the export's snapshot.
    await source.close();
    entries.sort((a, b) => a.bucket - b.bucket);
    phase('trees');
    const flushed = await repo.flush();
    phase('flush');
    const weddingRows = new Map<string, number>();
    for (const e of entries) for (const [t, n] of Object.entries(e.tableRows)) weddingRows.set(t, (weddingRows.get(t) ?? 0) + n);
    const tables = manifestTables(state, metas, (t) => weddingRows.get(t) ?? 0);
    const snapshotId = randomUUID();
    let bytesRaw = 0;
    let bytesStored = 0;
    let segmentCount = 0;
    let photoCount = 0;
    let weddingCount = 0;
    const counted = new Set<string>();
    for (const t of tables) {
      segmentCount += t.segments.length;
      for (const seg of t.segments) {
        bytesRaw += seg.rawBytes;
        if (counted.has(seg.id)) continue;
        counted.add(seg.id);
        bytesStored += repo.blobStoredLength(seg.id);
      }
    }
    // Per tree: its own blob, and what its weddings reference (a blob shared by two trees counts twice).
    for (const e of entries) {
      bytesRaw += e.bytesRaw;
      bytesStored += e.bytesStored + repo.blobStoredLength(e.id);
      segmentCount += e.segmentCount;
      photoCount += e.photoCount;
      weddingCount += e.weddingIds.length;
    }
    const rowCount = tables.reduce((a, t) => a + t.rowCount, 0);
    const manifestType = effectiveType;
    // A lock lost (unrefreshable for its stale time: prune may have collected our packs) must not be committed to.
    (lock ?? deps.heldLock)?.assertHeld();
    // The last moment a cancel can take effect: after the root is written the snapshot exists.
    if (deps.signal?.aborted) throw cancelledError(deps.signal);
    const manifest = await repo.saveSnapshotRoot({
      snapshotId,
      createdAt: new Date().toISOString(),
      type: manifestType,
      parentSnapshotId: parent?.snapshotId ?? null,
      jobId,
      segmentFormat: 'pg-copy-text',
      scope: partialTables
        ? { kind: 'partial', weddingIds: request.weddingIds, tables: partialTables, dataTypes: (request.dataTypes as DataType[] | undefined) ?? undefined }
        : { kind: 'complete' },
      database: { name: source.databaseName, serverVersion: source.serverVersion, journalSnapshot: source.journalSnapshot },
      schema: {
        sql: source.schema.preDataSql,
        postDataSql: source.schema.postDataSql,
        tables,
        sequences: source.schema.sequences.map((s) => ({ schema: s.schema, name: s.name, value: s.value, isCalled: s.isCalled })),
      },
      photoProblems: problems,
      totals: {
        rowCount,
        weddingCount,
        bytesRaw,
        bytesStored,
        bytesNew: flushed.stats.bytesNew,
        segmentCount,
        photoCount,
      },
      trees: { bucketCount, entries },
    });
    phase('manifest');
    const weddingIds = entries.flatMap((e) => e.weddingIds).sort();
    const organizationIds = [...new Set(entries.flatMap((e) => e.organizationIds))].sort();
    await catalog.insertSnapshot({
      id: snapshotId,
      backupJobId: jobId,
      snapshotType: manifestType,
      tier: request.tier ?? null,
      parentSnapshotId: parent?.snapshotId ?? null,
      weddingIds,
      organizationIds,
      dataTypes: request.dataTypes ?? null,
      tableCount: tables.length,
      weddingCount,
      rowCount,
      photoCount,
      photoProblems: problems.length,
      backupSizeBytes: bytesStored,
      bytesNew: flushed.stats.bytesNew,
      compressionRatio: bytesStored ? Math.round((bytesRaw / bytesStored) * 1000) / 1000 : null,
      dataIntegrityHash: manifest.integrityHash,
      encryptionKeyId: manifest.encryptionKeyId,
      storageLocation: repo.location,
      storageProvider: repo.store.provider,
      createdAt: manifest.createdAt,
      retentionUntil: new Date(Date.now() + (request.retentionDays ?? 30) * 86_400_000),
    });
    const result: BackupResult = {
      snapshotId,
      jobId,
      type: manifestType,
      ...(note ? { note } : {}),
      parentSnapshotId: parent?.snapshotId ?? null,
      weddingCount,
      rowCount,
      rowsExported,
      segmentCount,
      photoCount,
      photoProblems: problems.length,
      bytesNew: flushed.stats.bytesNew,
      bytesTotal: bytesStored,
      bytesRaw,
      compressionRatio: bytesStored ? Math.round((bytesRaw / bytesStored) * 1000) / 1000 : null,
      durationMs: Date.now() - started,
      storageLocation: repo.location,
    };
    await catalog.completeJob(jobId, { ...progress, snapshotId });
    phase('catalog');
    logger.info({ snapshotId, jobId, type: manifestType, rows: rowCount, bytesNew: result.bytesNew, ms: result.durationMs }, 'backup completed');
    return result;
  } catch (err) {
    await source.close().catch(() => undefined);
    await repo.discardUnflushed().catch(() => undefined);
    const error = isWedsyncError(err) ? err : new WedsyncError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
    if (jobId) await catalog.failJob(jobId, { code: error.code, message: error.message }).catch(() => undefined);
    logger.error({ jobId, code: error.code, err: error.message }, 'backup failed');
    throw error;
  } finally {
    await lock?.release().catch(() => undefined);
  }
}

/** A cancelled backup's error: the abort's reason when it is a CANCELLED error (who cancelled it, why). */
function cancelledError(signal: AbortSignal): WedsyncError {
  return isWedsyncError(signal.reason, 'CANCELLED') ? signal.reason : new WedsyncError('CANCELLED', 'the backup was cancelled');
}

/**
 * Saves the weddings `ids` as trees, bucket by bucket: each wedding is assembled (`assemble`:
 * parent state plus exported rows, or null when it is gone) and turned into manifest form only
 * while its bucket is written, so a full backup never holds every wedding as objects at once.
 * Returns the new tree entries (empty buckets have none).
 */
async function saveTrees(
  repo: Repository,
  ids: Iterable<string>,
  bucketCount: number,
  assemble: (id: string) => WeddingState | null,
  typeOf: ReadonlyMap<string, DataType | null>,
  loadFacts: ((ids: string[]) => Promise<void>) | null,
): Promise<TreeEntry[]> {
  const buckets = new Map<number, string[]>();
  for (const id of ids) {
    const b = bucketOf(id, bucketCount);
    const list = buckets.get(b);
    if (list) list.push(id);
    else buckets.set(b, [id]);
  }
  const entries: TreeEntry[] = [];
  const order = [...buckets.keys()].sort((x, y) => x - y);
  for (const [i, b] of order.entries()) {
    // The facts of the next FACT_BATCH_BUCKETS buckets' weddings, in one query.
    if (loadFacts && i % FACT_BATCH_BUCKETS === 0) await loadFacts(order.slice(i, i + FACT_BATCH_BUCKETS).flatMap((k) => buckets.get(k)!));
    const weddings: ManifestWedding[] = [];
    for (const id of buckets.get(b)!.sort()) {
      const w = assemble(id);
      if (w) weddings.push(manifestWedding(w, typeOf));
    }
    buckets.delete(b);
    if (weddings.length) entries.push(await repo.saveTree(b, weddings));
  }
  return entries;
}

/**
 * Stores each photo file as a content-addressed blob. A photo already in the repository (same
 * storage key and sha256 as in the parent snapshot, and its blob present) is not read again.
 * A missing file or a sha256 mismatch is recorded as a problem, never fails the backup.
 */
async function backupPhotos(
  rows: PhotoRow[],
  store: BlobStore,
  repo: Repository,
  known: Map<string, string>,
  problems: PhotoProblem[],
  onDone: () => void,
): Promise<Map<string, PhotoRef[]>> {
  const byWedding = new Map<string, PhotoRef[]>();
  const add = (weddingId: string, ref: PhotoRef) => {
    const list = byWedding.get(weddingId);
    if (list) list.push(ref);
    else byWedding.set(weddingId, [ref]);
  };
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const row = rows[next++]!;
      try {
        const reuse = known.get(`${row.storageKey}\0${row.sha256}`);
        if (reuse && repo.hasBlob(reuse)) {
          add(row.weddingId, { photoId: row.photoId, storageKey: row.storageKey, sha256: row.sha256, sizeBytes: row.sizeBytes, blobId: reuse });
          continue;
        }
        let bytes: Buffer;
        try {
          bytes = await store.get(row.storageKey);
        } catch (err) {
          if (isWedsyncError(err, 'BLOB_NOT_FOUND') || isWedsyncError(err, 'BAD_INPUT')) {
            problems.push({ weddingId: row.weddingId, photoId: row.photoId, storageKey: row.storageKey, problem: 'missing', detail: `not in the photo store ${store.location}` });
            continue;
          }
          throw err;
        }
        const sha = createHash('sha256').update(bytes).digest('hex');
        if (sha !== row.sha256) {
          problems.push({ weddingId: row.weddingId, photoId: row.photoId, storageKey: row.storageKey, problem: 'sha256-mismatch', detail: `file has sha256 ${sha}, photos.sha256 says ${row.sha256}` });
          continue;
        }
        const saved = await repo.saveBlob('photo', bytes);
        add(row.weddingId, { photoId: row.photoId, storageKey: row.storageKey, sha256: sha, sizeBytes: bytes.length, blobId: saved.id });
      } finally {
        onDone();
      }
    }
  };
  await Promise.all(Array.from({ length: PHOTO_CONCURRENCY }, worker));
  return byWedding;
}
