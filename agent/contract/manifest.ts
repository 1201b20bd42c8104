import { z } from 'zod';

/**
 * The snapshot manifest: what one snapshot contains. Stored encrypted as `snapshots/<snapshotId>`
 * in a repository, and written last, so a snapshot exists exactly when its manifest does.
 *
 * Every snapshot is logically full: its manifest names every segment of every table (most of
 * them shared with earlier snapshots by content id), so restoring it needs no other snapshot.
 *
 * Naming: a qualified table name is `schema.table` exactly as in PostgreSQL (unquoted, as
 * catalogued), e.g. `public.guests`.
 */

/**
 * Version 2 (current) stores a snapshot as a small root (`snapshotRootSchema`) plus tree blobs
 * (`snapshotTreeSchema`), each holding the weddings whose id hashes into its bucket. Version 1
 * stored every wedding in the one manifest document; it is still read.
 */
export const MANIFEST_FORMAT_VERSION = 2;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');
const count = z.number().int().nonnegative();

export const snapshotTypeSchema = z.enum(['full', 'incremental', 'emergency', 'recovery-point', 'point-in-time']);
export const dataTypeSchema = z.enum(['wedding', 'guests', 'timeline', 'photos', 'vendors']);

/** One stored segment: rows of one table (for one wedding, or one key-ordered run), by content id. */
export const segmentRefSchema = z.object({
  /** Blob id: HMAC-SHA-256 of the segment plaintext under the repository's MAC key. */
  id: hex64,
  rows: count,
  /** Plaintext size of the segment. */
  rawBytes: count,
});

export const columnSchema = z.object({
  name: z.string().min(1),
  /** Type as PostgreSQL formats it (format_type), e.g. "timestamp with time zone". */
  type: z.string().min(1),
  nullable: z.boolean(),
});

export const manifestTableSchema = z.object({
  schema: z.string().min(1),
  name: z.string().min(1),
  columns: z.array(columnSchema),
  primaryKey: z.array(z.string()),
  /** Which data type this table belongs to in the schema map, or null for tables outside it. */
  dataType: dataTypeSchema.nullable(),
  /** True when the table's rows belong to weddings: its segments are listed per wedding, not here. */
  weddingScoped: z.boolean(),
  rowCount: count,
  /** For tables that are not wedding-scoped: key-ordered runs of rows. Empty for wedding-scoped tables. */
  segments: z.array(segmentRefSchema),
});

export const sequenceSchema = z.object({
  schema: z.string().min(1),
  name: z.string().min(1),
  /** Decimal text: bigint sequences go past what a JSON number holds exactly. */
  value: z.string().regex(/^-?\d+$/),
  /** setval's is_called: whether `value` was already handed out. Absent means true. */
  isCalled: z.boolean().optional(),
});

export const photoRefSchema = z.object({
  photoId: z.string().min(1),
  storageKey: z.string().min(1),
  /** Plain SHA-256 of the photo bytes (as in photos.sha256). */
  sha256: hex64,
  sizeBytes: count,
  /** Blob id of the photo bytes in this repository. */
  blobId: hex64,
});

export const rowCountsSchema = z.object({
  wedding: count.optional(),
  guests: count.optional(),
  timeline: count.optional(),
  photos: count.optional(),
  vendors: count.optional(),
});

export const manifestWeddingSchema = z.object({
  weddingId: z.guid(),
  /** From the weddings row at backup time: lets the console and offline tools sort and filter. */
  organizationId: z.guid().nullable().optional(),
  weddingDate: z.string().nullable().optional(),
  /** Qualified table name → the wedding's segments of that table, in key order. */
  tables: z.record(z.string().min(1), z.array(segmentRefSchema)),
  rowCounts: rowCountsSchema,
  photos: z.array(photoRefSchema),
});

export const photoProblemSchema = z.object({
  weddingId: z.guid(),
  photoId: z.string().min(1),
  storageKey: z.string(),
  problem: z.enum(['missing', 'sha256-mismatch']),
  detail: z.string(),
});

export const manifestTotalsSchema = z.object({
  rowCount: count,
  weddingCount: count,
  /** Plaintext bytes of every segment and photo the snapshot references. */
  bytesRaw: count,
  /** Stored (compressed, encrypted) bytes of every blob the snapshot references. */
  bytesStored: count,
  /** Stored bytes this snapshot added to the repository (blobs no earlier snapshot had). */
  bytesNew: count,
  segmentCount: count,
  photoCount: count,
});

export const databaseInfoSchema = z.object({
  name: z.string().min(1),
  /** server_version, e.g. "16.4". */
  serverVersion: z.string().min(1),
  /** xmin of the exported snapshot the backup read in. */
  snapshotXmin: z.string().optional(),
  /** pg_current_snapshot() text at export time: where the change journal continues from. */
  journalSnapshot: z.string().optional(),
});

export const manifestSchemaSectionSchema = z.object({
  /** DDL that recreates the schema into an empty database: run before loading rows. */
  sql: z.string(),
  /** DDL to run after loading rows (secondary indexes, foreign keys, sequence ownership). */
  postDataSql: z.string().optional(),
  tables: z.array(manifestTableSchema),
  sequences: z.array(sequenceSchema),
});

/**
 * What part of the database a snapshot holds. `complete`: every backed-up table (full and
 * incremental backups). `partial`: only the listed weddings and data types (emergency backups and
 * recovery points) — restoring it touches only those.
 */
export const snapshotScopeSchema = z.object({
  kind: z.enum(['complete', 'partial']),
  weddingIds: z.array(z.guid()).optional(),
  /** Qualified tables included for those weddings (partial snapshots). */
  tables: z.array(z.string().min(1)).optional(),
  dataTypes: z.array(dataTypeSchema).optional(),
});

/**
 * One tree of a format-2 snapshot: a content-addressed blob (type "tree") holding the weddings
 * whose id falls into `bucket`, plus what a root needs to know about them without reading it.
 */
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/**
 * A list of uuids checked in one loop: a root lists every wedding id of the snapshot, and a zod
 * schema per element made reading the root of a 10,000-wedding snapshot cost more than the rest.
 */
const guidList = z.custom<string[]>((v) => Array.isArray(v) && v.every((x) => typeof x === 'string' && GUID.test(x)), { message: 'expected a list of uuids' });

export const treeEntrySchema = z.object({
  bucket: count,
  /** Blob id of the tree (HMAC of its plaintext, like every blob). */
  id: hex64,
  /** The weddings in the tree, sorted. */
  weddingIds: guidList,
  /** Distinct organization ids of those weddings, sorted. */
  organizationIds: guidList,
  /** Qualified table → rows of those weddings in it. */
  tableRows: z.record(z.string().min(1), count),
  segmentCount: count,
  photoCount: count,
  /** Plaintext bytes of the segments and photos the tree's weddings reference. */
  bytesRaw: count,
  /** Stored bytes of the distinct blobs the tree's weddings reference (the tree itself excluded). */
  bytesStored: count,
});

export const snapshotTreesSchema = z.object({
  /** Weddings are spread over this many buckets by a hash of their id (see repository/snapshot-tree.ts). */
  bucketCount: z.number().int().positive(),
  /** Non-empty buckets only, sorted by bucket. */
  entries: z.array(treeEntrySchema),
});

/** The plaintext of a tree blob (JSON). */
export const snapshotTreeSchema = z.object({
  kind: z.literal('wedsync-tree'),
  formatVersion: z.literal(2),
  bucket: count,
  weddings: z.array(manifestWeddingSchema),
});

const manifestFields = {
  formatVersion: z.union([z.literal(1), z.literal(MANIFEST_FORMAT_VERSION)]),
  snapshotId: z.uuid(),
  repositoryId: z.string().min(1),
  createdAt: z.iso.datetime({ offset: true }),
  type: snapshotTypeSchema,
  parentSnapshotId: z.uuid().nullable().optional(),
  jobId: z.uuid().nullable().optional(),
  /** Id of the key file the repository was opened with (backup_snapshots.encryption_key_id). */
  encryptionKeyId: z.string().min(1),
  /** How segment plaintext is encoded (set by the exporter, e.g. "pg-copy-text"); restore reads it. */
  segmentFormat: z.string().min(1).optional(),
  scope: snapshotScopeSchema.optional(),
  database: databaseInfoSchema,
  schema: manifestSchemaSectionSchema,
  weddings: z.array(manifestWeddingSchema),
  photoProblems: z.array(photoProblemSchema),
  totals: manifestTotalsSchema,
  /**
   * Format 2: the trees the weddings were read from (so whatever collects a snapshot's blob ids —
   * prune, check, copy — keeps and checks the trees too). Absent for format 1.
   */
  trees: snapshotTreesSchema.optional(),
};

/**
 * A stored manifest. `integrityHash` is HMAC-SHA-256 (repository MAC key) over the canonical JSON
 * (keys sorted, no whitespace, absent/undefined members dropped) of every other field: an edited
 * manifest, or one copied from another repository, fails the check.
 */
export const manifestSchema = z.object({
  ...manifestFields,
  integrityHash: hex64,
});

/**
 * What a backup hands to `Repository.saveManifest`: the repository fills in `repositoryId`,
 * `encryptionKeyId`, `formatVersion` and computes `integrityHash`.
 */
export const manifestDraftSchema = z.object({
  ...manifestFields,
  formatVersion: manifestFields.formatVersion.optional(),
  repositoryId: manifestFields.repositoryId.optional(),
  encryptionKeyId: manifestFields.encryptionKeyId.optional(),
});

/**
 * What `snapshots/<snapshotId>` holds in format 2: every manifest field but `weddings`, plus the
 * list of trees. Small (it grows with the number of buckets and wedding ids, not with segments),
 * so an incremental backup or a one-wedding restore reads it whole and only the trees it needs.
 * `integrityHash` covers the canonical JSON of everything else, tree ids included, and each tree
 * is bound to its id by HMAC: the root authenticates the whole snapshot.
 */
const { weddings: _weddings, trees: _trees, formatVersion: _fv, ...rootFields } = manifestFields;
export const snapshotRootSchema = z.object({
  ...rootFields,
  formatVersion: z.literal(2),
  trees: snapshotTreesSchema,
  integrityHash: hex64,
});

export type SnapshotType = z.infer<typeof snapshotTypeSchema>;
export type SnapshotScope = z.infer<typeof snapshotScopeSchema>;
export type DataType = z.infer<typeof dataTypeSchema>;
export type SegmentRef = z.infer<typeof segmentRefSchema>;
export type ManifestColumn = z.infer<typeof columnSchema>;
export type ManifestTable = z.infer<typeof manifestTableSchema>;
export type ManifestSequence = z.infer<typeof sequenceSchema>;
export type PhotoRef = z.infer<typeof photoRefSchema>;
export type RowCounts = z.infer<typeof rowCountsSchema>;
export type ManifestWedding = z.infer<typeof manifestWeddingSchema>;
export type PhotoProblem = z.infer<typeof photoProblemSchema>;
export type ManifestTotals = z.infer<typeof manifestTotalsSchema>;
export type DatabaseInfo = z.infer<typeof databaseInfoSchema>;
export type Manifest = z.infer<typeof manifestSchema>;
export type TreeEntry = z.infer<typeof treeEntrySchema>;
export type SnapshotTrees = z.infer<typeof snapshotTreesSchema>;
export type SnapshotTree = z.infer<typeof snapshotTreeSchema>;
export type SnapshotRoot = z.infer<typeof snapshotRootSchema>;
/** A snapshot without its weddings: what a format-2 root holds (and a format-1 manifest minus weddings). */
export type SnapshotHeader = Omit<Manifest, 'weddings'>;
export type ManifestDraft = z.input<typeof manifestDraftSchema>;

/** `schema.table`, the key of `ManifestWedding.tables`. */
export function qualifiedTableName(schema: string, name: string): string {
  return `${schema}.${name}`;
}

/** Every blob id a manifest references (trees, segments of all tables and weddings, and photos), deduplicated. */
export function manifestBlobIds(manifest: Pick<Manifest, 'schema' | 'weddings'> & { trees?: SnapshotTrees | undefined }): Set<string> {
  const ids = new Set<string>();
  for (const table of manifest.schema.tables) for (const seg of table.segments) ids.add(seg.id);
  for (const wedding of manifest.weddings) {
    for (const segments of Object.values(wedding.tables)) for (const seg of segments) ids.add(seg.id);
    for (const photo of wedding.photos) ids.add(photo.blobId);
  }
  for (const tree of manifest.trees?.entries ?? []) ids.add(tree.id);
  return ids;
}
