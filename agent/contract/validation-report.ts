import { z } from 'zod';

/**
 * What integrity validation reports: findings about snapshots and the repository (`verify`,
 * `check`), findings about the live wedding data (`validate-data`), and the API shapes that
 * start and poll validations. The console and the CLI read these; nothing here does I/O.
 *
 * A finding is one fault at one place. Severity `error` means a restore could lose or garble
 * data (or the repository is damaged); `warning` means something is odd but nothing is lost
 * (e.g. a pack no snapshot needs, two guests sharing an e-mail address).
 */

export const severitySchema = z.enum(['error', 'warning']);
export type Severity = z.infer<typeof severitySchema>;

/** A snapshot's validation result, as stored in backup_snapshots.validation_status. */
export const validationStatusSchema = z.enum(['valid', 'corrupted', 'incomplete']);
export type ValidationStatus = z.infer<typeof validationStatusSchema>;

export const validationLevelSchema = z.enum(['structure', 'read-data']);
export type ValidationLevel = z.infer<typeof validationLevelSchema>;

/**
 * Kinds of snapshot and repository findings. Which status each implies (corrupted: something is
 * there but wrong; incomplete: something is missing) is decided in agent/core/validation.ts.
 */
export const integrityFindingKindSchema = z.enum([
  // keys and config (repository level)
  'key-unreadable',
  'key-altered',
  'key-foreign',
  'config-undecryptable',
  // manifests
  'manifest-missing',
  'manifest-undecryptable',
  'manifest-integrity',
  'manifest-schema',
  'manifest-unsupported',
  'wedding-row-missing',
  // index
  'index-unreadable',
  'blob-missing-from-index',
  'index-pack-missing',
  // packs
  'pack-missing',
  'pack-size-mismatch',
  'pack-hash-mismatch',
  'pack-header-damaged',
  'pack-unreadable',
  'unreferenced-pack',
  'unindexed-pack',
  // blobs (read-data)
  'blob-corrupt',
  'row-count-mismatch',
  'photo-hash-mismatch',
  // recovery-point consistency (read-data)
  'segment-unparseable',
  'wedding-id-mismatch',
  'vendor-reference-unresolved',
]);
export type IntegrityFindingKind = z.infer<typeof integrityFindingKindSchema>;

/** `wedding` is the weddings row itself; null for tables outside the schema map. */
export const findingDataTypeSchema = z.enum(['wedding', 'guests', 'timeline', 'photos', 'vendors']).nullable();

export const integrityFindingSchema = z.object({
  severity: severitySchema,
  kind: integrityFindingKindSchema,
  message: z.string(),
  snapshotId: z.string().optional(),
  /** The wedding whose data the fault hurts (absent: the whole snapshot or no wedding). */
  weddingId: z.string().optional(),
  dataType: findingDataTypeSchema.optional(),
  /** Qualified table (`public.guests`) of the segment. */
  table: z.string().optional(),
  packId: z.string().optional(),
  blobId: z.string().optional(),
  photoId: z.string().optional(),
  indexId: z.string().optional(),
  keyId: z.string().optional(),
  /** Repository-level findings: the snapshots that need the damaged thing. */
  snapshots: z.array(z.string()).optional(),
});
export type IntegrityFinding = z.infer<typeof integrityFindingSchema>;

export const snapshotCheckCountsSchema = z.object({
  weddings: z.number().int().nonnegative(),
  segments: z.number().int().nonnegative(),
  photos: z.number().int().nonnegative(),
  /** Packs the snapshot needs. */
  packs: z.number().int().nonnegative(),
  /** Packs actually read (read-data; fewer with a subset). */
  packsRead: z.number().int().nonnegative(),
  blobsRead: z.number().int().nonnegative(),
  bytesRead: z.number().int().nonnegative(),
  rowsCounted: z.number().int().nonnegative(),
});
export type SnapshotCheckCounts = z.infer<typeof snapshotCheckCountsSchema>;

export const snapshotValidationReportSchema = z.object({
  snapshotId: z.string(),
  level: validationLevelSchema,
  /** Fraction of packs read (read-data with --read-data-subset), else null. */
  subset: z.number().nullable(),
  status: validationStatusSchema,
  startedAt: z.string(),
  completedAt: z.string(),
  durationMs: z.number().nonnegative(),
  checked: snapshotCheckCountsSchema,
  errors: z.number().int().nonnegative(),
  warnings: z.number().int().nonnegative(),
  /** Weddings with at least one error finding, sorted. */
  affectedWeddings: z.array(z.string()),
  findings: z.array(integrityFindingSchema),
  /** Findings left out of `findings` (stored details are capped). */
  findingsOmitted: z.number().int().nonnegative().optional(),
});
export type SnapshotValidationReport = z.infer<typeof snapshotValidationReportSchema>;

export const repositoryCheckReportSchema = z.object({
  location: z.string(),
  status: validationStatusSchema,
  readData: z.boolean(),
  startedAt: z.string(),
  completedAt: z.string(),
  durationMs: z.number().nonnegative(),
  counts: z.object({
    keys: z.number().int().nonnegative(),
    /** Key files that did not open with this passphrase (other people's keys): parsed, not unwrapped. */
    keysNotVerified: z.number().int().nonnegative(),
    indexFiles: z.number().int().nonnegative(),
    packs: z.number().int().nonnegative(),
    packBytes: z.number().int().nonnegative(),
    snapshots: z.number().int().nonnegative(),
    blobs: z.number().int().nonnegative(),
  }),
  errors: z.number().int().nonnegative(),
  warnings: z.number().int().nonnegative(),
  findings: z.array(integrityFindingSchema),
});
export type RepositoryCheckReport = z.infer<typeof repositoryCheckReportSchema>;

/** One `verify` run over one or more snapshots. */
export const verifyRunReportSchema = z.object({
  level: validationLevelSchema,
  subset: z.number().nullable(),
  /** valid only when every snapshot is valid and there is no repository-level error. */
  status: validationStatusSchema,
  durationMs: z.number().nonnegative(),
  snapshots: z.array(snapshotValidationReportSchema),
  /** Faults not tied to one snapshot: damaged key files, unreadable index files that hurt none. */
  repositoryFindings: z.array(integrityFindingSchema),
});
export type VerifyRunReport = z.infer<typeof verifyRunReportSchema>;

// ------------------------------------------------------------------ live wedding data

export const dataFindingKindSchema = z.enum([
  'missing-couple-names',
  'missing-wedding-date',
  'missing-guest-name',
  'event-ends-before-start',
  'event-outside-wedding-day',
  'events-overlap',
  'vendor-missing',
  'vendor-other-wedding',
  'duplicate-guest-email',
  'table-number-out-of-range',
  'photo-missing',
  'photo-hash-mismatch',
  'photo-size-mismatch',
  'photo-unreadable',
]);
export type DataFindingKind = z.infer<typeof dataFindingKindSchema>;

export const dataFindingSchema = z.object({
  severity: severitySchema,
  kind: dataFindingKindSchema,
  weddingId: z.string(),
  dataType: z.enum(['wedding', 'guests', 'timeline', 'photos', 'vendors']),
  table: z.string(),
  /** Primary key of the row at fault (the first of a group, e.g. duplicate e-mails). */
  rowId: z.string().optional(),
  /** Every row involved, when several are (overlapping events, duplicate e-mails). */
  rowIds: z.array(z.string()).optional(),
  field: z.string().optional(),
  message: z.string(),
});
export type DataFinding = z.infer<typeof dataFindingSchema>;

export const weddingDataReportSchema = z.object({
  weddingId: z.string(),
  coupleNames: z.string().nullable(),
  weddingDate: z.string().nullable(),
  /** errors: at least one error; warnings: only warnings; valid: nothing found. */
  status: z.enum(['valid', 'warnings', 'errors']),
  errors: z.number().int().nonnegative(),
  warnings: z.number().int().nonnegative(),
  checked: z.object({
    guests: z.number().int().nonnegative(),
    timelineEvents: z.number().int().nonnegative(),
    vendors: z.number().int().nonnegative(),
    photos: z.number().int().nonnegative(),
    /** Photo files read from the photo store and hashed. */
    photoFiles: z.number().int().nonnegative(),
  }),
  findings: z.array(dataFindingSchema),
});
export type WeddingDataReport = z.infer<typeof weddingDataReportSchema>;

export const dataValidationReportSchema = z.object({
  checkedAt: z.string(),
  durationMs: z.number().nonnegative(),
  /** IANA zone the wedding day is measured in. */
  timeZone: z.string(),
  /** Where photo files were looked up; null when there is no photo store (files not checked). */
  photoStore: z.string().nullable(),
  weddings: z.number().int().nonnegative(),
  weddingsWithErrors: z.number().int().nonnegative(),
  weddingsWithWarnings: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  warnings: z.number().int().nonnegative(),
  reports: z.array(weddingDataReportSchema),
});
export type DataValidationReport = z.infer<typeof dataValidationReportSchema>;

// ------------------------------------------------------------------ API

export const ValidateSnapshotRequestSchema = z
  .object({
    level: validationLevelSchema.default('structure'),
    /** Fraction of packs to read, (0, 1]; read-data only. */
    subset: z.number().gt(0, 'must be more than 0').lte(1, 'must be at most 1').optional(),
  })
  .strict()
  .refine((r) => r.subset === undefined || r.level === 'read-data', { message: 'subset applies only to level read-data', path: ['subset'] });
export type ValidateSnapshotRequest = z.infer<typeof ValidateSnapshotRequestSchema>;

export const validationProgressSchema = z.object({
  phase: z.enum(['open', 'manifests', 'structure', 'read', 'done']),
  packsDone: z.number().int().nonnegative(),
  packsTotal: z.number().int().nonnegative(),
  bytesRead: z.number().int().nonnegative(),
});
export type ValidationProgress = z.infer<typeof validationProgressSchema>;

export const validationRunSchema = z.object({
  runId: z.string(),
  snapshotId: z.string(),
  level: validationLevelSchema,
  subset: z.number().nullable(),
  state: z.enum(['running', 'completed', 'failed']),
  startedAt: z.string(),
  completedAt: z.string().nullable(),
  progress: validationProgressSchema,
  report: snapshotValidationReportSchema.nullable(),
  /** Why the run itself failed (not a finding: e.g. the storage was unreachable). */
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type ValidationRun = z.infer<typeof validationRunSchema>;

export const SnapshotValidationResponseSchema = z.object({
  snapshotId: z.string(),
  /** What the catalog holds (the last completed validation, by any agent). */
  validationStatus: z.enum(['pending', 'valid', 'corrupted', 'incomplete']),
  validationCompletedAt: z.string().nullable(),
  details: z.unknown().nullable(),
  /** The latest run started through this agent, with progress while it runs. */
  run: validationRunSchema.nullable(),
});
export type SnapshotValidationResponse = z.infer<typeof SnapshotValidationResponseSchema>;

export const WeddingIdParamsSchema = z.object({ id: z.uuid({ error: 'must be a UUID' }) }).strict();
