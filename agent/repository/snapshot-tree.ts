import { createHash } from 'node:crypto';
import { WedsyncError } from '../contract/errors.js';
import { type ManifestWedding, type SnapshotTree, type TreeEntry, snapshotTreeSchema } from '../contract/manifest.js';

/**
 * Tree blobs (repository format 2). A snapshot's weddings are spread over `bucketCount` buckets
 * by a hash of their id; each non-empty bucket is one blob of type "tree" whose plaintext is
 *
 *   { "kind": "wedsync-tree", "formatVersion": 2, "bucket": n, "weddings": [ManifestWedding…] }
 *
 * (JSON, weddings sorted by id, each exactly as a format-1 manifest listed it). Trees are
 * content-addressed like every blob, so a bucket whose weddings did not change since the parent
 * snapshot has the same id and is stored once: an incremental backup writes only the trees of
 * buckets it touched, and the root references the parent's tree ids for the rest (restic/Kopia's
 * tree objects, cut by wedding instead of by directory).
 *
 * The bucket of a wedding is fixed by its id and the snapshot's bucket count, so a reader finds a
 * wedding's tree without reading any other (a one-wedding restore reads the root and one tree).
 */

/** Weddings per tree a new snapshot aims for: small enough that one-wedding reads stay cheap. */
const TARGET_WEDDINGS_PER_TREE = 24;
const MAX_BUCKETS = 4096;

/** The bucket count for a snapshot of `weddings` weddings: a power of two near weddings / 24. */
export function defaultBucketCount(weddings: number): number {
  let n = 1;
  while (n < MAX_BUCKETS && n * TARGET_WEDDINGS_PER_TREE < weddings) n *= 2;
  return n;
}

/** Which bucket wedding `weddingId` belongs to: SHA-256 of a fixed prefix and the id, mod count. */
export function bucketOf(weddingId: string, bucketCount: number): number {
  if (bucketCount === 1) return 0;
  const digest = createHash('sha256').update('wedsync:tree-bucket\n').update(weddingId.toLowerCase()).digest();
  return digest.readUInt32BE(0) % bucketCount;
}

/** Groups weddings by bucket (ascending), each bucket's weddings sorted by id. */
export function groupByBucket<W extends { weddingId: string }>(weddings: Iterable<W>, bucketCount: number): Map<number, W[]> {
  const groups = new Map<number, W[]>();
  for (const w of weddings) {
    const b = bucketOf(w.weddingId, bucketCount);
    let list = groups.get(b);
    if (!list) groups.set(b, (list = []));
    list.push(w);
  }
  for (const list of groups.values()) list.sort((a, b) => (a.weddingId < b.weddingId ? -1 : a.weddingId > b.weddingId ? 1 : 0));
  return new Map([...groups].sort((a, b) => a[0] - b[0]));
}

/** The plaintext of the tree of `bucket` holding `weddings` (sorted by the caller). */
export function encodeTree(bucket: number, weddings: readonly ManifestWedding[]): Buffer {
  const tree: SnapshotTree = { kind: 'wedsync-tree', formatVersion: 2, bucket, weddings: weddings as ManifestWedding[] };
  return Buffer.from(JSON.stringify(tree));
}

/**
 * Parses a tree's plaintext (already checked against its id by the repository) and checks it is
 * the tree `entry` says: same bucket, same weddings. INTEGRITY naming the snapshot and weddings.
 */
export function decodeTree(plaintext: Buffer, entry: TreeEntry, snapshotId: string): ManifestWedding[] {
  const fail = (reason: string) => treeError(snapshotId, entry, reason);
  let json: unknown;
  try {
    json = JSON.parse(plaintext.toString('utf8'));
  } catch {
    throw fail('not JSON');
  }
  // The hand-written check first (a complete restore decodes every tree before its first COPY:
  // zod cost ~0.25 s of CPU there at 2000 weddings); anything it does not accept goes through
  // zod, which then accepts it the same way or names what is wrong.
  let tree = fastTree(json);
  if (!tree) {
    const parsed = snapshotTreeSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw fail(`does not match the schema: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'bad shape'}`);
    }
    tree = parsed.data;
  }
  if (tree.bucket !== entry.bucket) throw fail(`holds bucket ${tree.bucket}, not ${entry.bucket}`);
  const ids = tree.weddings.map((w) => w.weddingId);
  if (ids.length !== entry.weddingIds.length || ids.some((id, i) => id !== entry.weddingIds[i])) {
    throw fail('holds other weddings than the snapshot lists');
  }
  return tree.weddings;
}

const HEX64 = /^[0-9a-f]{64}$/;
const GUID = /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;
const ROW_COUNT_KEYS = ['wedding', 'guests', 'timeline', 'photos', 'vendors'] as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
/** Only the keys of `allowed` (zod would strip others: such a value takes the zod path). */
const onlyKeys = (o: Record<string, unknown>, allowed: readonly string[], min: number) => {
  const keys = Object.keys(o);
  return keys.length >= min && keys.length <= allowed.length && keys.every((k) => allowed.includes(k));
};

/**
 * snapshotTreeSchema's check without zod, for trees exactly as encodeTree writes them: the same
 * value zod's parse returns (keys in the schema's order, absent optional keys left out), or null
 * for anything it is not sure of — an unknown key, a shape zod might still take — which the
 * caller then gives to zod. It accepts nothing zod refuses (snapshot-tree.test.ts compares both).
 */
export function fastTree(json: unknown): SnapshotTree | null {
  if (!isRecord(json) || !onlyKeys(json, ['kind', 'formatVersion', 'bucket', 'weddings'], 4)) return null;
  if (json.kind !== 'wedsync-tree' || json.formatVersion !== 2 || !isCount(json.bucket) || !Array.isArray(json.weddings)) return null;
  const weddings: ManifestWedding[] = [];
  for (const w of json.weddings as unknown[]) {
    if (!isRecord(w) || !onlyKeys(w, ['weddingId', 'organizationId', 'weddingDate', 'tables', 'rowCounts', 'photos'], 4)) return null;
    if (typeof w.weddingId !== 'string' || !GUID.test(w.weddingId)) return null;
    if ('organizationId' in w && w.organizationId !== null && (typeof w.organizationId !== 'string' || !GUID.test(w.organizationId))) return null;
    if ('weddingDate' in w && w.weddingDate !== null && typeof w.weddingDate !== 'string') return null;
    if (!isRecord(w.tables) || !isRecord(w.rowCounts) || !Array.isArray(w.photos)) return null;
    const tables: ManifestWedding['tables'] = {};
    for (const [table, refs] of Object.entries(w.tables)) {
      if (!table.length || table === '__proto__' || !Array.isArray(refs)) return null;
      const out: ManifestWedding['tables'][string] = [];
      for (const r of refs as unknown[]) {
        if (!isRecord(r) || !onlyKeys(r, ['id', 'rows', 'rawBytes'], 3)) return null;
        if (typeof r.id !== 'string' || !HEX64.test(r.id) || !isCount(r.rows) || !isCount(r.rawBytes)) return null;
        out.push({ id: r.id, rows: r.rows, rawBytes: r.rawBytes });
      }
      tables[table] = out;
    }
    if (!onlyKeys(w.rowCounts, ROW_COUNT_KEYS, 0)) return null;
    const rowCounts: ManifestWedding['rowCounts'] = {};
    for (const k of ROW_COUNT_KEYS) {
      if (!(k in w.rowCounts)) continue;
      const n = w.rowCounts[k];
      if (!isCount(n)) return null;
      rowCounts[k] = n;
    }
    const photos: ManifestWedding['photos'] = [];
    for (const p of w.photos as unknown[]) {
      if (!isRecord(p) || !onlyKeys(p, ['photoId', 'storageKey', 'sha256', 'sizeBytes', 'blobId'], 5)) return null;
      if (!isText(p.photoId) || !isText(p.storageKey) || typeof p.sha256 !== 'string' || !HEX64.test(p.sha256) || !isCount(p.sizeBytes) || typeof p.blobId !== 'string' || !HEX64.test(p.blobId)) return null;
      photos.push({ photoId: p.photoId, storageKey: p.storageKey, sha256: p.sha256, sizeBytes: p.sizeBytes, blobId: p.blobId });
    }
    const wedding: ManifestWedding = { weddingId: w.weddingId } as ManifestWedding;
    if ('organizationId' in w) wedding.organizationId = w.organizationId as string | null;
    if ('weddingDate' in w) wedding.weddingDate = w.weddingDate as string | null;
    wedding.tables = tables;
    wedding.rowCounts = rowCounts;
    wedding.photos = photos;
    weddings.push(wedding);
  }
  return { kind: 'wedsync-tree', formatVersion: 2, bucket: json.bucket, weddings };
}

/** INTEGRITY for a tree that cannot be used, naming the snapshot, the tree and its weddings. */
export function treeError(snapshotId: string, entry: TreeEntry, reason: string, cause?: unknown): WedsyncError {
  const shown = entry.weddingIds.slice(0, 5).join(', ') + (entry.weddingIds.length > 5 ? `, … (${entry.weddingIds.length} weddings)` : '');
  return new WedsyncError('INTEGRITY', `snapshot ${snapshotId}: the tree of wedding ${shown} (bucket ${entry.bucket}, blob ${entry.id}) is damaged: ${reason}`, {
    ...(cause ? { cause } : {}),
    details: { snapshotId, treeId: entry.id, bucket: entry.bucket, weddingIds: entry.weddingIds },
  });
}

/**
 * A tree's root entry for `weddings` (sorted) stored as blob `id`. `storedLength` gives the
 * stored size of a referenced blob (0 when unknown).
 */
export function treeEntryOf(bucket: number, id: string, weddings: readonly ManifestWedding[], storedLength: (blobId: string) => number): TreeEntry {
  const tableRows: Record<string, number> = {};
  const orgs = new Set<string>();
  const counted = new Set<string>();
  let segmentCount = 0;
  let photoCount = 0;
  let bytesRaw = 0;
  let bytesStored = 0;
  const count = (blobId: string, raw: number) => {
    bytesRaw += raw;
    if (counted.has(blobId)) return;
    counted.add(blobId);
    bytesStored += storedLength(blobId);
  };
  for (const w of weddings) {
    if (w.organizationId) orgs.add(w.organizationId);
    for (const [table, refs] of Object.entries(w.tables)) {
      segmentCount += refs.length;
      let rows = 0;
      for (const r of refs) {
        rows += r.rows;
        count(r.id, r.rawBytes);
      }
      tableRows[table] = (tableRows[table] ?? 0) + rows;
    }
    photoCount += w.photos.length;
    for (const p of w.photos) count(p.blobId, p.sizeBytes);
  }
  const sortedRows: Record<string, number> = {};
  for (const t of Object.keys(tableRows).sort()) sortedRows[t] = tableRows[t]!;
  return {
    bucket,
    id,
    weddingIds: weddings.map((w) => w.weddingId),
    organizationIds: [...orgs].sort(),
    tableRows: sortedRows,
    segmentCount,
    photoCount,
    bytesRaw,
    bytesStored,
  };
}
