import { createHash } from 'node:crypto';
import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import type { DataFinding, DataValidationReport, WeddingDataReport } from '../contract/validation-report.js';
import { sortFindings } from '../core/validation.js';
import { validateWeddingData, weddingReport } from '../core/validation-rules.js';
import type { Logger } from '../logger.js';
import type { WeddingDataSource } from '../source/data-validation.js';
import type { PhotoRow } from '../source/weddings.js';
import type { BlobStore } from '../storage/blob-store.js';

/**
 * The live wedding data check (performDataValidation): per wedding, the rules of
 * core/validation-rules.ts on its rows, and its photo files — each photo row with a sha256 must
 * have a file in the photo store with exactly that hash (and the recorded size).
 *
 * Guarantees: reads only (the database in one read-only snapshot, the photo store by get);
 * a missing or unreadable photo file is a finding, never a failure of the run. Throws
 * NOT_FOUND for requested weddings that do not exist, DB_UNREACHABLE when the database is not
 * there, CANCELLED when aborted.
 */

export interface DataValidationDeps {
  openSource: () => Promise<WeddingDataSource>;
  /** Where photo files live; null: files are not checked (the report says so). */
  photoStore: BlobStore | null;
  /** IANA zone the wedding day is measured in (default: this process's zone, as the seed's). */
  timeZone?: string;
  maxTableNumber?: number;
  logger?: Logger;
  onProgress?: (p: DataValidationProgress) => void;
  signal?: AbortSignal;
}

export interface DataValidationProgress {
  weddingsDone: number;
  weddingsTotal: number;
  photoFilesDone: number;
}

export interface DataValidationRequest {
  /** Only these weddings (default: every wedding). */
  weddingIds?: string[];
}

/** Weddings loaded per round of queries: bounded memory, few round trips. */
const BATCH = 250;
/** Photo files read and hashed at once. */
const PHOTO_CONCURRENCY = 8;

export async function performDataValidation(deps: DataValidationDeps, request: DataValidationRequest = {}): Promise<DataValidationReport> {
  const started = Date.now();
  const timeZone = deps.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new WedsyncError('BAD_INPUT', `time zone must be an IANA zone such as Europe/Dublin (got ${JSON.stringify(timeZone)})`);
  }
  const source = await deps.openSource();
  try {
    const wanted = request.weddingIds ? [...new Set(request.weddingIds.map((id) => id.toLowerCase()))] : undefined;
    const ids = await source.weddingIds(wanted);
    if (wanted) {
      const missing = wanted.filter((id) => !ids.includes(id));
      if (missing.length) throw new WedsyncError('NOT_FOUND', `wedding ${missing.join(', ')} not found in the database`, { details: { weddingIds: missing } });
    }
    const progress: DataValidationProgress = { weddingsDone: 0, weddingsTotal: ids.length, photoFilesDone: 0 };
    deps.onProgress?.({ ...progress });
    const reports: WeddingDataReport[] = [];
    for (let i = 0; i < ids.length; i += BATCH) {
      if (deps.signal?.aborted) throw new WedsyncError('CANCELLED', 'the data validation was cancelled');
      const batch = ids.slice(i, i + BATCH);
      const [data, photos] = await Promise.all([source.load(batch), source.photos(batch)]);
      const photoFindings = new Map<string, DataFinding[]>();
      const photoFiles = new Map<string, number>();
      if (deps.photoStore) {
        await checkPhotoFiles(deps.photoStore, photos, source.tables.photos, (weddingId, finding) => {
          if (finding) {
            const list = photoFindings.get(weddingId);
            if (list) list.push(finding);
            else photoFindings.set(weddingId, [finding]);
          }
          photoFiles.set(weddingId, (photoFiles.get(weddingId) ?? 0) + 1);
          progress.photoFilesDone++;
        });
      }
      for (const d of data) {
        const findings = [
          ...validateWeddingData(d, { timeZone, ...(deps.maxTableNumber ? { maxTableNumber: deps.maxTableNumber } : {}), tables: source.tables }),
          ...(photoFindings.get(d.wedding.id) ?? []),
        ];
        reports.push(
          weddingReport(d.wedding, sortFindings(findings), {
            guests: d.guests.length,
            timelineEvents: d.timeline.length,
            vendors: d.vendorCount,
            photos: d.photoCount,
            photoFiles: photoFiles.get(d.wedding.id) ?? 0,
          }),
        );
      }
      progress.weddingsDone += batch.length;
      deps.onProgress?.({ ...progress });
    }
    let errors = 0;
    let warnings = 0;
    for (const r of reports) {
      errors += r.errors;
      warnings += r.warnings;
    }
    const report: DataValidationReport = {
      checkedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      timeZone,
      photoStore: deps.photoStore?.location ?? null,
      weddings: reports.length,
      weddingsWithErrors: reports.filter((r) => r.errors > 0).length,
      weddingsWithWarnings: reports.filter((r) => r.errors === 0 && r.warnings > 0).length,
      errors,
      warnings,
      reports,
    };
    deps.logger?.info({ weddings: report.weddings, errors, warnings, ms: report.durationMs }, 'data validation finished');
    return report;
  } finally {
    await source.close();
  }
}

/** Reads each photo file, compares its sha256 and size; `onChecked` once per row (with a finding or null). */
async function checkPhotoFiles(
  store: BlobStore,
  rows: PhotoRow[],
  table: string,
  onChecked: (weddingId: string, finding: DataFinding | null) => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const row = rows[next++]!;
      const base = { weddingId: row.weddingId, dataType: 'photos' as const, table, rowId: row.photoId, field: 'storage_key' };
      let bytes: Buffer;
      try {
        bytes = await store.get(row.storageKey);
      } catch (err) {
        if (!isWedsyncError(err)) throw err;
        const missing = err.code === 'BLOB_NOT_FOUND';
        onChecked(row.weddingId, {
          ...base,
          severity: 'error',
          kind: missing ? 'photo-missing' : 'photo-unreadable',
          message: missing ? `photo ${row.photoId}: no file ${row.storageKey} in the photo store ${store.location}` : `photo ${row.photoId}: file ${row.storageKey} cannot be read (${err.message})`,
        });
        continue;
      }
      const sha = createHash('sha256').update(bytes).digest('hex');
      if (sha !== row.sha256) {
        onChecked(row.weddingId, { ...base, severity: 'error', kind: 'photo-hash-mismatch', field: 'sha256', message: `photo ${row.photoId}: file ${row.storageKey} has sha256 ${sha}, the row says ${row.sha256}` });
      } else if (row.sizeBytes > 0 && bytes.length !== row.sizeBytes) {
        onChecked(row.weddingId, { ...base, severity: 'warning', kind: 'photo-size-mismatch', field: 'size_bytes', message: `photo ${row.photoId}: file ${row.storageKey} has ${bytes.length} bytes, the row says ${row.sizeBytes}` });
      } else {
        onChecked(row.weddingId, null);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PHOTO_CONCURRENCY, rows.length) }, worker));
}
