import { createHash } from 'node:crypto';
import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import type { DataType, Manifest, PhotoRef } from '../contract/manifest.js';
import { DEFAULT_SCHEMA_MAP, type SchemaMap } from '../contract/schema-map.js';
import type {
  IntegrityFinding,
  SnapshotValidationReport,
  ValidationLevel,
  ValidationProgress,
  VerifyRunReport,
} from '../contract/validation-report.js';
import { affectedWeddings, countSeverities, findingKey, packInSubset, sortFindings, statusOf, worseStatus } from '../core/validation.js';
import { countCopyRows } from '../core/validation-copy.js';
import { RecoveryPointChecker } from '../core/validation-recovery-point.js';
import type { Logger } from '../logger.js';
import { loadManifestChecked, scanKeyFiles } from '../repository/check.js';
import { packName } from '../repository/format.js';
import type { Repository } from '../repository/repository.js';

/**
 * The verify task (validateBackupIntegrity): proves snapshots restorable, or says exactly what
 * is wrong and where (snapshot, wedding, data type, table, pack, blob).
 *
 * Levels:
 *  - structure: the manifest decrypts, authenticates (integrity hash) and parses; every segment
 *    and photo blob it names is in the index; every pack those live in exists with the size the
 *    index records; every wedding has its own weddings row. One listing of packs/, no per-blob
 *    I/O: fast enough to run after every backup.
 *  - read-data: structure, then every needed pack is read whole (one GET), hashed against its
 *    name, and every needed blob in it decrypted, decompressed and re-hashed against its id;
 *    segment rows are recounted against the manifest, photo blobs re-hashed against their
 *    sha256 and size, and the recovery-point consistency rules run on the rows
 *    (core/validation-recovery-point.ts). With `subset`, only packs chosen by
 *    core/validation.packInSubset are read.
 *
 * Several snapshots in one run share the reads: a pack several snapshots need is read once and
 * its faults are reported to each of them.
 *
 * Guarantees: damage never throws — every fault becomes a finding and the run goes on; one
 * damaged blob is attributed to every wedding, table and snapshot that references it. Nothing
 * is written. Throws only when the storage cannot be listed at all, or CANCELLED.
 */

export interface VerifyDeps {
  repo: Repository;
  /** Says which column holds the wedding id in each table (default: the sample schema's map). */
  map?: SchemaMap;
  logger?: Logger;
  onProgress?: (p: ValidationProgress) => void;
  /** Aborting stops the run at the next pack with CANCELLED. */
  signal?: AbortSignal;
  /**
   * The weddings a snapshot holds according to the catalog. When a manifest cannot be read,
   * its weddings are known only from there: they become the report's affectedWeddings.
   */
  catalogWeddings?: (snapshotId: string) => Promise<string[] | null>;
}

export interface VerifyRequest {
  snapshotIds: string[];
  level: ValidationLevel;
  /** read-data only: the fraction of packs to read, (0, 1]. */
  subset?: number | null;
}

/** Parallel whole-pack reads: each pack is a few MiB in memory while it is checked. */
const PACK_READ_CONCURRENCY = 4;

interface SnapshotRun {
  id: string;
  manifest: Manifest | null;
  startedAt: Date;
  findings: Map<string, IntegrityFinding>;
  /** Weddings hurt beyond what findings name (all of them, when the manifest is unreadable). */
  hurtWeddings: string[];
  checker: RecoveryPointChecker | null;
  counts: SnapshotValidationReport['checked'];
}

/** One place a blob is referenced from. */
interface BlobRef {
  snap: SnapshotRun;
  weddingId: string | null;
  table: string;
  dataType: DataType | null;
  rows: number;
  photo: PhotoRef | null;
}

function addFinding(snap: SnapshotRun, f: IntegrityFinding): void {
  const key = findingKey(f);
  if (!snap.findings.has(key)) snap.findings.set(key, f);
}

/** The fields naming where a referenced blob sits in a snapshot. */
function whereOf(ref: BlobRef): Pick<IntegrityFinding, 'snapshotId' | 'weddingId' | 'dataType' | 'table' | 'photoId'> {
  return {
    snapshotId: ref.snap.id,
    ...(ref.weddingId ? { weddingId: ref.weddingId } : {}),
    dataType: ref.dataType,
    table: ref.table,
    ...(ref.photo ? { photoId: ref.photo.photoId } : {}),
  };
}

function describeRef(ref: BlobRef): string {
  const what = ref.photo ? `photo ${ref.photo.photoId} (${ref.photo.storageKey})` : `${ref.table} rows`;
  return ref.weddingId ? `${what} of wedding ${ref.weddingId}` : `${what} (not wedding-scoped)`;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Validates one snapshot. */
export async function validateBackupIntegrity(
  deps: VerifyDeps,
  request: { snapshotId: string; level: ValidationLevel; subset?: number | null },
): Promise<SnapshotValidationReport> {
  const run = await verifySnapshots(deps, { snapshotIds: [request.snapshotId], level: request.level, subset: request.subset ?? null });
  return run.snapshots[0]!;
}

/** Validates several snapshots in one pass over the repository. */
export async function verifySnapshots(deps: VerifyDeps, request: VerifyRequest): Promise<VerifyRunReport> {
  const started = Date.now();
  const { repo } = deps;
  const map = deps.map ?? DEFAULT_SCHEMA_MAP;
  const level = request.level;
  const subset = level === 'read-data' && request.subset != null && request.subset < 1 ? request.subset : null;
  if (request.subset != null && !(request.subset > 0 && request.subset <= 1)) {
    throw new WedsyncError('BAD_INPUT', `subset must be a fraction in (0, 1] (got ${request.subset})`);
  }
  const progress: ValidationProgress = { phase: 'manifests', packsDone: 0, packsTotal: 0, bytesRead: 0 };
  const report = () => deps.onProgress?.({ ...progress });
  const cancelled = () => {
    if (deps.signal?.aborted) throw new WedsyncError('CANCELLED', 'the validation was cancelled');
  };
  report();

  // Repository-wide facts: the index (damaged files reported, not fatal) and key files.
  const repositoryFindings: IntegrityFinding[] = [];
  const index = await repo.loadIndexReportingDamage();
  const keys = await scanKeyFiles(repo.store, { currentKeyId: repo.keyId });
  repositoryFindings.push(...keys.findings);

  // Manifests → every blob reference.
  const snaps: SnapshotRun[] = [];
  const refsByBlob = new Map<string, BlobRef[]>();
  const addRef = (blobId: string, ref: BlobRef) => {
    const list = refsByBlob.get(blobId);
    if (list) list.push(ref);
    else refsByBlob.set(blobId, [ref]);
  };
  for (const snapshotId of [...new Set(request.snapshotIds)]) {
    cancelled();
    const snap: SnapshotRun = {
      id: snapshotId,
      manifest: null,
      startedAt: new Date(),
      findings: new Map(),
      hurtWeddings: [],
      checker: null,
      counts: { weddings: 0, segments: 0, photos: 0, packs: 0, packsRead: 0, blobsRead: 0, bytesRead: 0, rowsCounted: 0 },
    };
    snaps.push(snap);
    const loaded = await loadManifestChecked(repo, snapshotId);
    if ('finding' in loaded) {
      const weddings = (await deps.catalogWeddings?.(snapshotId).catch(() => null)) ?? null;
      if (weddings?.length) {
        snap.hurtWeddings = weddings;
        loaded.finding.message += `; none of its ${weddings.length} wedding(s) (per the catalog) can be restored from it`;
      }
      addFinding(snap, loaded.finding);
      continue;
    }
    const m = loaded.manifest;
    snap.manifest = m;
    snap.counts.weddings = m.weddings.length;
    if (level === 'read-data') snap.checker = new RecoveryPointChecker(m, map);
    const tableType = new Map(m.schema.tables.map((t) => [`${t.schema}.${t.name}`, t.dataType]));
    const hasWeddingsTable = tableType.has(map.weddings.table);
    for (const t of m.schema.tables) {
      const table = `${t.schema}.${t.name}`;
      for (const seg of t.segments) {
        snap.counts.segments++;
        addRef(seg.id, { snap, weddingId: null, table, dataType: t.dataType, rows: seg.rows, photo: null });
      }
    }
    for (const w of m.weddings) {
      if (hasWeddingsTable && !(w.tables[map.weddings.table]?.length)) {
        addFinding(snap, {
          severity: 'error',
          kind: 'wedding-row-missing',
          snapshotId,
          weddingId: w.weddingId,
          dataType: 'wedding',
          table: map.weddings.table,
          message: `wedding ${w.weddingId} is listed but its ${map.weddings.table} row is not in the snapshot: its other rows could not be restored`,
        });
      }
      for (const [table, segs] of Object.entries(w.tables)) {
        for (const seg of segs) {
          snap.counts.segments++;
          addRef(seg.id, { snap, weddingId: w.weddingId, table, dataType: tableType.get(table) ?? null, rows: seg.rows, photo: null });
        }
      }
      for (const photo of w.photos) {
        snap.counts.photos++;
        addRef(photo.blobId, { snap, weddingId: w.weddingId, table: map.photoFiles?.table ?? 'photos', dataType: 'photos', rows: 0, photo });
      }
    }
  }

  // Structure: index entries, then packs (one listing).
  progress.phase = 'structure';
  report();
  const blobsByPack = new Map<string, string[]>();
  const snapsMissingBlobs = new Set<SnapshotRun>();
  for (const [blobId, refs] of refsByBlob) {
    const entry = repo.blobEntry(blobId);
    if (!entry) {
      for (const ref of refs) {
        snapsMissingBlobs.add(ref.snap);
        addFinding(ref.snap, {
          ...whereOf(ref),
          severity: 'error',
          kind: 'blob-missing-from-index',
          blobId,
          message: `${describeRef(ref)}: blob ${blobId} is in no index of the repository`,
        });
      }
      continue;
    }
    const list = blobsByPack.get(entry.packId);
    if (list) list.push(blobId);
    else blobsByPack.set(entry.packId, [blobId]);
  }
  // A damaged index file explains missing entries: tell the snapshots it may hurt. If no
  // snapshot misses anything, it hurt none of them and is a repository-level fault.
  for (const d of index.damaged) {
    const f: IntegrityFinding = { severity: 'error', kind: 'index-unreadable', indexId: d.indexId, message: `${d.reason}; the index can be rebuilt from the packs` };
    if (snapsMissingBlobs.size === 0) repositoryFindings.push(f);
    for (const snap of snapsMissingBlobs) addFinding(snap, { ...f, snapshotId: snap.id });
  }

  const stored = new Map<string, number>();
  for (const { name, size } of await repo.store.list('packs/')) {
    const m = /^packs\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(name);
    if (m) stored.set(m[1]!, size);
  }
  const indexedSize = new Map(repo.indexedPacks().map((p) => [p.id, p.size]));
  const packsPerSnap = new Map<SnapshotRun, Set<string>>();
  const forEachRefInPack = (packId: string, fn: (ref: BlobRef, blobId: string) => void) => {
    for (const blobId of blobsByPack.get(packId) ?? []) for (const ref of refsByBlob.get(blobId) ?? []) fn(ref, blobId);
  };
  const toRead: string[] = [];
  for (const packId of [...blobsByPack.keys()].sort()) {
    forEachRefInPack(packId, (ref) => {
      let set = packsPerSnap.get(ref.snap);
      if (!set) packsPerSnap.set(ref.snap, (set = new Set()));
      set.add(packId);
    });
    const size = stored.get(packId);
    const expected = indexedSize.get(packId);
    if (size === undefined) {
      forEachRefInPack(packId, (ref) =>
        addFinding(ref.snap, { ...whereOf(ref), severity: 'error', kind: 'pack-missing', packId, message: `${describeRef(ref)}: pack ${packId} is not in the repository` }),
      );
      continue;
    }
    if (expected !== undefined && size !== expected) {
      forEachRefInPack(packId, (ref) =>
        addFinding(ref.snap, {
          ...whereOf(ref),
          severity: 'error',
          kind: 'pack-size-mismatch',
          packId,
          message: `${describeRef(ref)}: pack ${packId} holds ${size} bytes, the index says ${expected} (truncated, replaced or renamed)`,
        }),
      );
    }
    if (level === 'read-data' && (subset === null || packInSubset(packId, subset))) toRead.push(packId);
  }
  for (const [snap, packs] of packsPerSnap) snap.counts.packs = packs.size;

  // Read-data: every chosen pack whole, every needed blob in it.
  if (level === 'read-data') {
    progress.phase = 'read';
    progress.packsTotal = toRead.length;
    report();
    let next = 0;
    const worker = async () => {
      while (next < toRead.length) {
        cancelled();
        const packId = toRead[next++]!;
        await checkPackData(repo, packId, blobsByPack.get(packId) ?? [], refsByBlob, progress);
        progress.packsDone++;
        report();
      }
    };
    await Promise.all(Array.from({ length: Math.min(PACK_READ_CONCURRENCY, toRead.length) }, worker));
    for (const snap of snaps) for (const f of snap.checker?.finish() ?? []) addFinding(snap, f);
  }

  // Reports.
  progress.phase = 'done';
  report();
  const reports = snaps.map((snap): SnapshotValidationReport => {
    const findings = sortFindings([...snap.findings.values()]);
    const completed = new Date();
    return {
      snapshotId: snap.id,
      level,
      subset,
      status: statusOf(findings),
      startedAt: snap.startedAt.toISOString(),
      completedAt: completed.toISOString(),
      durationMs: completed.getTime() - snap.startedAt.getTime(),
      checked: snap.counts,
      ...countSeverities(findings),
      affectedWeddings: [...new Set([...affectedWeddings(findings), ...snap.hurtWeddings])].sort(),
      findings,
    };
  });
  const repoFindings = sortFindings(repositoryFindings);
  const status = reports.reduce((s, r) => worseStatus(s, r.status), statusOf(repoFindings));
  deps.logger?.info({ snapshots: reports.length, level, subset, status, ms: Date.now() - started }, 'verify finished');
  return { level, subset, status, durationMs: Date.now() - started, snapshots: reports, repositoryFindings: repoFindings };
}

/**
 * Reads one pack whole and checks everything the snapshots need from it. Faults become
 * findings on every reference of the blob concerned.
 */
async function checkPackData(
  repo: Repository,
  packId: string,
  blobIds: string[],
  refsByBlob: Map<string, BlobRef[]>,
  progress: ValidationProgress,
): Promise<void> {
  const name = packName(packId);
  const snapsOf = () => {
    const set = new Set<SnapshotRun>();
    for (const id of blobIds) for (const ref of refsByBlob.get(id) ?? []) set.add(ref.snap);
    return set;
  };
  let bytes: Buffer;
  try {
    bytes = await repo.store.get(name);
  } catch (err) {
    if (!isWedsyncError(err)) throw err;
    const kind = err.code === 'BLOB_NOT_FOUND' ? 'pack-missing' : 'pack-unreadable';
    for (const id of blobIds) {
      for (const ref of refsByBlob.get(id) ?? []) {
        addFinding(ref.snap, { ...whereOf(ref), severity: 'error', kind, packId, message: `${describeRef(ref)}: pack ${packId} cannot be read (${err.message})` });
      }
    }
    return;
  }
  progress.bytesRead += bytes.length;
  for (const snap of snapsOf()) {
    snap.counts.packsRead++;
    snap.counts.bytesRead += bytes.length;
  }
  if (sha256(bytes) !== packId) {
    for (const snap of snapsOf()) {
      addFinding(snap, {
        snapshotId: snap.id,
        severity: 'error',
        kind: 'pack-hash-mismatch',
        packId,
        message: `pack ${packId} is damaged: its ${bytes.length} bytes do not hash to its name (altered, truncated or swapped with another pack)`,
      });
    }
  }
  for (const blobId of blobIds) {
    const refs = refsByBlob.get(blobId) ?? [];
    const entry = repo.blobEntry(blobId);
    if (!entry) continue;
    let plaintext: Buffer;
    try {
      if (entry.offset + entry.length > bytes.length) {
        throw new WedsyncError('INTEGRITY', `blob ${blobId} in ${name} is damaged: it lies beyond the end of the pack (${entry.offset}+${entry.length} > ${bytes.length} bytes)`);
      }
      plaintext = repo.openBlob(blobId, bytes.subarray(entry.offset, entry.offset + entry.length), name);
    } catch (err) {
      if (!isWedsyncError(err, 'INTEGRITY')) throw err;
      for (const ref of refs) {
        addFinding(ref.snap, { ...whereOf(ref), severity: 'error', kind: 'blob-corrupt', packId, blobId, message: `${describeRef(ref)}: ${err.message}` });
      }
      continue;
    }
    const counted = new Set<SnapshotRun>();
    let rowCount: ReturnType<typeof countCopyRows> | null = null;
    for (const ref of refs) {
      if (!counted.has(ref.snap)) {
        counted.add(ref.snap);
        ref.snap.counts.blobsRead++;
      }
      if (ref.photo) {
        const sha = sha256(plaintext);
        if (sha !== ref.photo.sha256 || plaintext.length !== ref.photo.sizeBytes) {
          addFinding(ref.snap, {
            ...whereOf(ref),
            severity: 'error',
            kind: 'photo-hash-mismatch',
            packId,
            blobId,
            message: `${describeRef(ref)}: the stored file has sha256 ${sha} and ${plaintext.length} bytes, the manifest says ${ref.photo.sha256} and ${ref.photo.sizeBytes} bytes`,
          });
        }
        continue;
      }
      rowCount ??= countCopyRows(plaintext);
      ref.snap.counts.rowsCounted += rowCount.rows;
      if (rowCount.rows !== ref.rows || rowCount.unterminated) {
        addFinding(ref.snap, {
          ...whereOf(ref),
          severity: 'error',
          kind: 'row-count-mismatch',
          packId,
          blobId,
          message: `${describeRef(ref)}: the segment holds ${rowCount.rows} rows${rowCount.unterminated ? ' and a cut-off one' : ''}, the manifest says ${ref.rows}`,
        });
      }
      for (const f of ref.snap.checker?.addSegment(ref.weddingId, ref.table, plaintext) ?? []) addFinding(ref.snap, { ...f, packId, blobId });
    }
  }
}
