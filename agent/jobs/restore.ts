import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import type { RecoveryOperation, RecoveryOperationType, RestoreDiffRowsResponse, RestorePreview, RestoreProgress } from '../contract/restore.js';
import { estimateDurationMs } from '../core/restore-plan.js';
import { decodeCopyRow } from '../core/restore-plan-diff.js';
import type { Catalog } from '../catalog/catalog.js';
import type { RecoveryCatalog } from '../catalog/recovery.js';
import type { Logger } from '../logger.js';
import type { BackupSource } from '../source/backup-source.js';
import type { ApplyResult, ApplyTable } from '../source/restore-writer.js';
import type { BlobStore } from '../storage/blob-store.js';
import { runBackup } from './backup.js';
import { diffPrepared, itemChanges, prepareRestore, snapshotParts, streamSegments, type PrepareDeps, type PreparedRestore, type RestoreRequest } from './restore-prepare.js';
import { loadPhotoBlobs, photosToWrite, writePhotos } from './restore-photos.js';
import type { ConfirmationTokens } from './restore-token.js';

export type { RestoreRequest } from './restore-prepare.js';

/**
 * The guided restore task: plan → preview → confirm → recovery point → apply → verify → audit.
 *
 *  - previewRestore: the row-level diff of the plan and a confirmation token for it. Changes nothing.
 *  - startRestore: checks the token (genuine, unexpired, this plan), claims it in the recovery
 *    catalog (single use), then in the background: takes the recovery point (a snapshot of the
 *    rows in scope as they are), applies the plan in ONE transaction that refuses if the rows in
 *    scope changed since the preview, verifies against the snapshot before committing, writes
 *    photo files back, and records the outcome. Every failure after the claim marks the
 *    operation failed with the reason; the database is as it was.
 *  - undoRequest: the restore request that brings back an operation's recovery point.
 */
export interface RestoreDeps extends PrepareDeps {
  logger: Logger;
  recovery: RecoveryCatalog;
  tokens: ConfirmationTokens;
  /** Photo files; null or a restore into another database (--target-url) skips them. */
  photoStore: BlobStore | null;
  /**
   * For the recovery point: the backup catalog and a source on a database URL (`whole`: a
   * whole-database export) that reads through `options.snapshot` — the apply transaction's
   * exported snapshot (SnapshotSessionOptions.snapshot). A source that ignores it is refused.
   */
  backup: { catalog: Catalog; openSource(url: string, whole: boolean, options: { snapshot: string }): Promise<BackupSource> };
  onProgress?: (operationId: string, progress: RestoreProgress) => void;
  /**
   * Runs the confirmed part (recovery point, apply) in turn with other repository writers: the
   * agent passes its backup queue, since a recovery point writes to the repository.
   */
  exclusive?: <T>(task: () => Promise<T>) => Promise<T>;
  /** Connections loading tables at once into an empty database (default 2). */
  parallelism?: number;
  /** Test hook: inside the apply transaction, after the merge (e.g. to cut the connection). */
  afterMerge?: () => Promise<void>;
  /** Test hook: inside the apply transaction, right after the recovery point was taken (e.g. to let another session try to write). */
  afterRecoveryPoint?: () => Promise<void>;
  /** Test hook: after the apply committed, before the outcome is recorded again and the owner lock released (e.g. to kill the process). */
  afterCommit?: () => Promise<void>;
}

export interface Initiator {
  initiatedBy?: string | null;
  initiatedByLabel?: string | null;
  authorizedBy?: string | null;
}

export interface PreviewResult {
  preview: RestorePreview;
  /** Kept open for an apply in the same call (--yes); release() when not used. */
  prepared: PreparedRestore;
}

function operationType(request: RestoreRequest): RecoveryOperationType {
  if (request.operationType) return request.operationType;
  if (request.undoOf) return 'undo';
  return request.recoveryScope === 'complete' ? 'full-restore' : request.recoveryScope === 'selective' ? 'selective-restore' : 'emergency-restore';
}

/**
 * Where photo files in scope are written: the live photo store for a restore into the live
 * database; for a restore into another database (--target-url), only a photo store given for it
 * (request.targetPhotoStore, opened as deps.photoStore) — never the live one. Otherwise none are
 * written, and `skipped` says so: the preview shows it, and the result records it, so a restore
 * never claims photo files it did not write.
 */
function photoTarget(deps: RestoreDeps, prepared: PreparedRestore): { store: BlobStore | null; skipped?: string } {
  const n = prepared.plan.photos.length;
  if (!n) return { store: null };
  if (prepared.request.targetUrl && !prepared.request.targetPhotoStore) {
    return { store: null, skipped: `${n} photo file(s) in scope NOT restored: a restore into another database (--target-url) writes photo files only to a photo store given for it with --target-photo-store LOCATION` };
  }
  if (!deps.photoStore) return { store: null, skipped: `${n} photo file(s) in scope NOT restored: no photo store is available` };
  return { store: deps.photoStore };
}

async function* segmentData(segments: AsyncIterable<{ data: Buffer }>): AsyncGenerator<Buffer> {
  for await (const s of segments) yield s.data;
}

function planSegmentIds(p: PreparedRestore): Set<string> {
  return new Set(p.scopes.flatMap((s) => [...s.segments.values()].flat().map((r) => r.id)));
}

export async function previewRestore(deps: RestoreDeps, request: RestoreRequest): Promise<PreviewResult> {
  const prepared = await prepareRestore(deps, request);
  try {
    await diffPrepared(prepared);
    const photo = photoTarget(deps, prepared);
    const toWrite = photo.store ? await photosToWrite(photo.store, prepared.plan.photos) : [];
    const items = prepared.items!.map(({ live: _live, ...item }) => item);
    const totals = prepared.totals!;
    const snapshotRows = items.reduce((a, i) => a + i.snapshotRows, 0);
    const issued = deps.tokens.issue(prepared.fingerprint, prepared.liveDigest!);
    const preview: RestorePreview = {
      plan: {
        snapshotId: prepared.plan.snapshotId,
        snapshotType: prepared.plan.snapshotType,
        snapshotCreatedAt: prepared.plan.snapshotCreatedAt,
        recoveryScope: prepared.plan.recoveryScope,
        weddingIds: prepared.plan.weddingIds,
        dataTypes: prepared.plan.dataTypes,
        tables: prepared.scopes.map((s) => s.table.qualified),
        target: prepared.targetLabel,
        emptyTarget: prepared.emptyTarget,
        segments: prepared.scopes.reduce((a, s) => a + [...s.segments.values()].reduce((b, r) => b + r.length, 0), 0),
        snapshotRows,
        photos: prepared.plan.photos.length,
      },
      totals,
      items,
      photos: { inScope: prepared.plan.photos.length, toWrite: toWrite.length, ...(photo.skipped ? { skipped: photo.skipped } : {}) },
      notes: prepared.plan.notes,
      estimatedDurationMs: estimateDurationMs(snapshotRows + totals.deleted, toWrite.length),
      confirmationToken: issued.token,
      expiresAt: issued.expiresAt,
    };
    return { preview, prepared };
  } catch (err) {
    await prepared.release();
    throw err;
  }
}

/** The changed rows of one (wedding, table) of a plan, paged, values decoded. Changes nothing. */
export async function diffRowsPage(
  deps: RestoreDeps,
  request: RestoreRequest,
  page: { weddingId: string | null; table: string; change?: 'inserted' | 'updated' | 'deleted'; offset: number; limit: number },
): Promise<RestoreDiffRowsResponse> {
  const filter = { table: page.table, weddingId: page.weddingId };
  const prepared = await prepareRestore(deps, request, filter);
  try {
    const scope = prepared.scopes.find((s) => s.table.qualified === page.table);
    if (!scope) throw new WedsyncError('BAD_INPUT', `table ${page.table} is not in this restore's scope (it has: ${prepared.scopes.map((s) => s.table.qualified).join(', ')})`);
    if (page.weddingId && scope.weddings !== 'all' && !scope.weddings.includes(page.weddingId)) {
      throw new WedsyncError('BAD_INPUT', `wedding ${page.weddingId} is not in this restore's scope`);
    }
    if (!page.weddingId && scope.table.weddingScoped && scope.weddings !== 'all') throw new WedsyncError('BAD_INPUT', `weddingId is required for ${page.table} in a ${prepared.plan.recoveryScope} restore`);
    await diffPrepared(prepared, filter);
    const all = itemChanges(prepared, filter).filter((c) => !page.change || c.change === page.change);
    const columns = scope.table.columns;
    const pk = scope.table.primaryKey.length ? scope.table.primaryKey : columns.map((c) => c.name);
    const rows = all.slice(page.offset, page.offset + page.limit).map((c) => {
      const before = c.before === null ? null : decodeCopyRow(c.before, columns);
      const after = c.after === null ? null : decodeCopyRow(c.after, columns);
      const either = (after ?? before)!;
      return { change: c.change, key: Object.fromEntries(pk.map((k) => [k, either[k] ?? null])), before, after };
    });
    return { table: page.table, weddingId: page.weddingId, total: all.length, offset: page.offset, rows };
  } finally {
    await prepared.release();
  }
}

export interface StartedRestore {
  operation: RecoveryOperation;
  /** Settles when the operation ends: the final row (completed), or rejects with the reason (the row says failed). */
  done: Promise<RecoveryOperation>;
}

/**
 * Checks the token and claims it, then runs the restore in the background. Refusals before the
 * claim (bad or expired token, another plan, bad request, damaged segment) throw and record
 * nothing; `prepared` may come from a preview in the same call (it is released either way).
 */
export async function startRestore(deps: RestoreDeps, request: RestoreRequest, token: string, who: Initiator = {}, prepared?: PreparedRestore): Promise<StartedRestore> {
  let p: PreparedRestore | undefined = prepared;
  let claims;
  try {
    // Signature and expiry first: a stale token should not cost a plan.
    deps.tokens.check(token);
    p ??= await prepareRestore(deps, request);
    claims = deps.tokens.check(token, p.fingerprint);
  } catch (err) {
    await p?.release();
    throw err;
  }
  const plan = p.plan;
  const snapshotRows = p.scopes.reduce((a, s) => a + [...s.segments.values()].flat().reduce((b, r) => b + r.rows, 0), 0);
  let operationId: string | undefined;
  let beginning: Promise<string>;
  try {
    beginning = deps.recovery.begin({
      operationType: operationType(request),
      recoveryScope: plan.recoveryScope,
      backupSnapshotId: plan.snapshotId,
      initiatedBy: who.initiatedBy ?? null,
      initiatedByLabel: who.initiatedByLabel ?? null,
      authorizedBy: who.authorizedBy ?? null,
      affectedWeddings: plan.weddingIds,
      dataTypes: plan.dataTypes,
      plan: { target: p.targetLabel, tables: p.scopes.map((s) => s.table.qualified), ...(request.undoOf ? { undoOf: request.undoOf } : {}) },
      estimatedDurationMs: estimateDurationMs(snapshotRows, plan.photos.length),
      targetDatabase: p.target.description,
      confirmationTokenId: claims.id,
    });
  } catch (err) {
    await p.release();
    throw err;
  }
  // An empty target: its schema is created while the operation's row is written, committed only
  // once that row exists (not when restores take turns with backups: the load waits its turn).
  const prep = p;
  const early = p.emptyTarget && !deps.exclusive ? startEmptyLoad(deps, prep, () => operationId, beginning) : undefined;
  try {
    operationId = await beginning;
  } catch (err) {
    // The schema transaction rolls back (its `ready` failed): nothing changed.
    await early?.result.catch(() => undefined);
    await p.release();
    throw err;
  }
  const id = operationId;
  const run = () => execute(deps, prep, id, claims.live, early);
  const done = deps.exclusive ? deps.exclusive(run) : run();
  // The caller may not wait; the outcome is in the catalog either way.
  done.catch(() => undefined);
  return { operation: (await deps.recovery.get(id))!, done };
}

/** Photo files a restore writes back: where, which, their bytes (read and checked before anything changes). */
interface PhotoWork {
  photo: { store: BlobStore | null; skipped?: string };
  toWrite: Awaited<ReturnType<typeof photosToWrite>>;
  blobs: Map<string, Buffer>;
}

async function photoWork(deps: RestoreDeps, p: PreparedRestore): Promise<PhotoWork> {
  const photo = photoTarget(deps, p);
  const toWrite = photo.store ? await photosToWrite(photo.store, p.plan.photos) : [];
  const blobs = photo.store ? await loadPhotoBlobs(deps.repo, toWrite) : new Map<string, Buffer>();
  return { photo, toWrite, blobs };
}

/** A complete restore into an empty database under way (startEmptyLoad). */
interface EmptyLoad {
  /** The load's outcome; rejects when it fails (the database is then as it was). */
  result: Promise<ApplyResult>;
  photos: Promise<PhotoWork>;
  /** Photo files written so far. */
  written(): number;
}

/**
 * Starts a complete restore into an empty database. Its schema transaction starts at once, but
 * commits — the first change anyone can see — only once `ready` resolved (the operation's row
 * written) and the photo files in scope were read and checked; if either fails it rolls back
 * and nothing changed. `operationId` names the operation in progress reports and logs once known.
 */
function startEmptyLoad(deps: RestoreDeps, p: PreparedRestore, operationId: () => string | undefined, ready: Promise<unknown>): EmptyLoad {
  const photos = photoWork(deps, p);
  // Awaited later (the schema's COMMIT, execute): a rejection before then is no unhandled one.
  photos.catch(() => undefined);
  const gate = Promise.all([ready, photos]);
  gate.catch(() => undefined);
  let written = 0;
  const progress = (phase: RestoreProgress['phase'], done: number, total: number) => {
    const id = operationId();
    if (id) deps.onProgress?.(id, { phase, done, total });
  };
  const result = p.target.restoreIntoEmpty({
    preDataSql: p.manifest.schema.sql,
    postDataSql: p.manifest.schema.postDataSql ?? '',
    tables: p.scopes.map((scope) => {
      const refs = [...scope.segments.values()].flat();
      return {
        table: scope.table,
        bytes: refs.reduce((a, r) => a + r.rawBytes, 0),
        segments: new Map([...scope.segments].map(([key, list]) => [key, list.map((r) => r.id)])),
        read: () => streamSegments(deps.repo, p.plan, refs.map((r) => r.id)),
      };
    }),
    sequences: p.manifest.schema.sequences,
    parallelism: deps.parallelism ?? 2,
    ready: gate,
    onPhase: progress,
    onTableTimes: (table, ms) => deps.logger.debug({ operationId: operationId(), table, ...ms }, 'restore table loaded'),
    onStepTimes: (ms) => deps.logger.debug({ operationId: operationId(), ...ms }, 'restore into an empty database: steps'),
    onCleanupErrors: (errors) => deps.logger.error({ operationId: operationId(), errors }, 'restore failed, and these objects it created could not be dropped again'),
    // Photo files go back last, inside the last transaction: a failure there undoes the rows too.
    beforeCommit: async () => {
      const { photo, toWrite, blobs } = await photos;
      if (!photo.store || !toWrite.length) return;
      progress('photos', 0, toWrite.length);
      written = await writePhotos(photo.store, toWrite, blobs);
    },
  });
  result.catch(() => undefined);
  return { result, photos, written: () => written };
}

async function execute(deps: RestoreDeps, p: PreparedRestore, operationId: string, liveDigest: string, early?: EmptyLoad): Promise<RecoveryOperation> {
  const started = Date.now();
  const progress = (phase: RestoreProgress['phase'], done = 0, total = 0) => deps.onProgress?.(operationId, { phase, done, total });
  let recoveryPoint: string | null = null;
  let load: EmptyLoad | undefined = early;
  try {
    // Streamed and not yet diffed (no preview in this process): read and check every segment
    // once, holding none, so a damaged one refuses the restore before anything changes.
    if (p.streamed && !p.checked) {
      for await (const _ of streamSegments(deps.repo, p.plan, [...planSegmentIds(p)])) void _;
      p.checked = true;
    }
    // An empty target: the load (maybe started already, see startRestore) does the photo files.
    load = p.emptyTarget ? (early ?? startEmptyLoad(deps, p, () => operationId, Promise.resolve())) : undefined;
    // Photo files: which to write, and their bytes checked, before anything changes.
    const { photo, toWrite, blobs: photoBlobs } = load ? await load.photos : await photoWork(deps, p);

    // The recovery point: exactly the rows the apply will overwrite. Taken inside the apply
    // transaction once it holds the locks (nothing to keep in an empty database), through that
    // transaction's exported snapshot: a write that lands before the locks is in it, none after.
    const takeRecoveryPoint = async (snapshot: string) => {
      progress('recovery-point');
      const complete = p.plan.recoveryScope === 'complete';
      const rp = await runBackup(
        {
          openSource: async () => {
            const source = await deps.backup.openSource(p.target.url, complete, { snapshot });
            if (source.importedSnapshot !== snapshot) {
              await source.close();
              throw new WedsyncError('INTERNAL', 'the recovery point source did not read through the apply transaction\'s snapshot (backup.openSource must pass options.snapshot on)');
            }
            return source;
          },
          catalog: deps.backup.catalog,
          repo: deps.repo,
          photoStore: photo.store,
          map: deps.map,
          logger: deps.logger,
        },
        complete ? { type: 'recovery-point' } : { type: 'recovery-point', weddingIds: p.plan.weddingIds, tables: p.scopes.map((s) => s.table.qualified) },
      );
      recoveryPoint = rp.snapshotId;
      await deps.recovery.setRecoveryPoint(operationId, recoveryPoint);
      await deps.afterRecoveryPoint?.();
      progress('apply', 0, p.scopes.length);
    };

    let photosWritten = 0;
    // Photo files go back last, inside the database work: a failure there undoes the rows too.
    const writeBack = async () => {
      if (!photo.store || !toWrite.length) return;
      progress('photos', 0, toWrite.length);
      photosWritten = await writePhotos(photo.store, toWrite, photoBlobs);
    };
    const emptyLoad = load;
    const written = () => (emptyLoad ? emptyLoad.written() : photosWritten);
    const onPhase = (phase: 'apply' | 'verify' | 'commit', done: number, total: number) => progress(phase, done, total);
    // The operation's outcome, from what the apply did: recorded inside the apply transaction
    // when the catalog lives in the target database, so a crash right after COMMIT still leaves
    // `completed` (and the recovery point) for undo; recorded again after, with the final time.
    const completion = (result: ApplyResult) => {
      const byDataType: Record<string, { inserted: number; updated: number; deleted: number }> = {};
      for (const c of result.changes) {
        const k = c.dataType ?? 'other';
        const agg = (byDataType[k] ??= { inserted: 0, updated: 0, deleted: 0 });
        agg.inserted += c.inserted;
        agg.updated += c.updated;
        agg.deleted += c.deleted;
      }
      return () => ({
        dataRestored: {
          target: p.targetLabel,
          emptyTarget: p.emptyTarget,
          tables: result.changes,
          byDataType,
          photosInScope: p.plan.photos.length,
          photosWritten: written(),
          ...(photo.store && p.request.targetPhotoStore ? { photoStore: p.request.targetPhotoStore } : {}),
          ...(photo.skipped ? { photosSkipped: photo.skipped } : {}),
        },
        successMetrics: { verified: true, recoveryPoint, ...result.verification, sequencesAdvanced: result.sequencesAdvanced, photosChecked: written(), ...(photo.skipped ? { photosNotRestored: p.plan.photos.length } : {}) },
        actualDurationMs: Date.now() - started,
      });
    };
    const catalogIsTarget = p.target.url === deps.liveUrl;
    progress('apply', 0, p.scopes.length);
    let result: ApplyResult;
    if (load) {
      result = await load.result;
    } else {
      // A complete restore streams each table's segments into its stage (bounded memory); the
      // others hold their few weddings' segments, read and checked when the plan was made.
      const tables: ApplyTable[] = p.scopes.map((scope) => ({
        table: scope.table,
        weddings: scope.weddings,
        rows: p.streamed ? new Map() : new Map([...scope.segments.keys()].map((key) => [key, snapshotParts(p, scope, key)])),
        ...(p.streamed ? { stream: () => segmentData(streamSegments(deps.repo, p.plan, [...scope.segments.values()].flat().map((r) => r.id))) } : {}),
        columns: p.columns.get(scope.table.qualified)!,
      }));
      result = await p.target.apply({
        tables,
        weddingsTable: { table: deps.map.weddings.table, idColumn: deps.map.weddings.idColumn },
        expectLiveDigest: liveDigest,
        underLock: takeRecoveryPoint,
        onPhase,
        ...(deps.afterMerge ? { afterMerge: deps.afterMerge } : {}),
        beforeCommit: writeBack,
        ...(catalogIsTarget ? { commitStatement: (r: ApplyResult) => deps.recovery.completionStatement(operationId, completion(r)()) } : {}),
      });
    }

    const outcome = completion(result);
    await deps.afterCommit?.();
    await deps.recovery.complete(operationId, outcome());
    progress('done', 1, 1);
    deps.logger.info({ operationId, snapshotId: p.plan.snapshotId, ms: Date.now() - started }, 'restore completed');
    return (await deps.recovery.get(operationId))!;
  } catch (err) {
    const error = isWedsyncError(err) ? err : new WedsyncError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
    deps.logger.error({ operationId, code: error.code, err: error.message }, 'restore failed');
    const mismatches = (error.details as { mismatches?: unknown } | undefined)?.mismatches;
    await deps.recovery
      .fail(operationId, {
        errorDetails: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}), recoveryPoint },
        successMetrics: mismatches ? { verified: false, mismatches } : null,
        actualDurationMs: Date.now() - started,
      })
      .catch((e: unknown) => deps.logger.error({ operationId, err: (e as Error).message }, 'could not record the failed restore'));
    throw error;
  } finally {
    // A load that failed early (photo files) ends its own transaction before the target closes.
    await load?.result.catch(() => undefined);
    await p.release();
  }
}

/**
 * The request that undoes operation `operationId`: its recovery point, same weddings and exactly
 * the tables it replaced, into the same database. NOT_FOUND for an unknown operation; BAD_INPUT
 * when there is nothing to undo (failed or still running, or no recovery point) or the target
 * database differs.
 */
export async function undoRequest(deps: Pick<RestoreDeps, 'recovery' | 'repo'>, operationId: string, targetUrl?: string): Promise<RestoreRequest> {
  const op = await deps.recovery.get(operationId);
  if (!op) throw new WedsyncError('NOT_FOUND', `recovery operation ${operationId} not found`);
  if (op.status !== 'completed') {
    throw new WedsyncError('BAD_INPUT', `recovery operation ${operationId} is ${op.status}: ${op.status === 'failed' ? 'it changed nothing, so there is nothing to undo' : 'only a completed operation can be undone'}`);
  }
  if (!op.preRecoverySnapshot) {
    throw new WedsyncError('BAD_INPUT', `recovery operation ${operationId} has no recovery point (it restored into an empty database): drop that database instead`);
  }
  const restored = op.dataRestored as { target?: string } | null;
  const wasLive = (restored?.target ?? 'live') === 'live';
  if (wasLive && targetUrl) throw new WedsyncError('BAD_INPUT', `recovery operation ${operationId} restored into the live database: undo it without --target-url`);
  if (!wasLive && !targetUrl) throw new WedsyncError('BAD_INPUT', `recovery operation ${operationId} restored into ${op.targetDatabase}: pass --target-url for that database`);
  const rp = await deps.repo.loadManifest(op.preRecoverySnapshot);
  const into = { targetUrl, ...(wasLive ? {} : { expectTarget: op.targetDatabase ?? '' }), undoOf: operationId };
  if (rp.scope?.kind === 'partial') {
    // A partial recovery point comes from a wedding-only or selective restore: same scope, its exact tables.
    return { snapshotId: rp.snapshotId, recoveryScope: op.recoveryScope, weddingIds: rp.scope.weddingIds, tables: rp.scope.tables, ...into };
  }
  return { snapshotId: rp.snapshotId, recoveryScope: 'complete', ...into };
}
