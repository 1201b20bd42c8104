import { randomUUID } from 'node:crypto';
import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import type { SchemaMap } from '../contract/schema-map.js';
import type {
  SnapshotValidationReport,
  SnapshotValidationResponse,
  ValidateSnapshotRequest,
  ValidationRun,
  WeddingDataReport,
} from '../contract/validation-report.js';
import type { Logger } from '../logger.js';
import type { Repository } from '../repository/repository.js';
import type { WeddingDataSource } from '../source/data-validation.js';
import type { BlobStore } from '../storage/blob-store.js';
import { performDataValidation } from './validate-data.js';
import { validateBackupIntegrity } from './verify.js';

/**
 * Validation as the agent's API offers it: snapshot validations started in the background and
 * polled (with progress), their results written to the catalog, and one wedding's live data
 * checked on request.
 *
 * Guarantees: validations run one at a time (each holds packs in memory; several at once would
 * multiply that); asking again for a snapshot whose validation is still running returns that run
 * instead of starting a second one; a run that fails (storage unreachable) ends `failed` with
 * the error, never silently; results survive the agent in the catalog, runs only in memory.
 */

export interface ValidationServices {
  /** NOT_FOUND when neither the catalog nor the repository knows the snapshot. */
  startSnapshotValidation(snapshotId: string, request: ValidateSnapshotRequest): Promise<ValidationRun>;
  /** The stored result and the latest run started here. NOT_FOUND for an unknown snapshot. */
  snapshotValidation(snapshotId: string): Promise<SnapshotValidationResponse>;
  /** One wedding's live data, checked now. NOT_FOUND when there is no such wedding. */
  validateWedding(weddingId: string): Promise<WeddingDataReport>;
  /** Settles when every validation started here has ended (shutdown, tests). */
  idle(): Promise<void>;
}

/** The slice of agent/catalog/validation.ts the service needs. */
export interface ValidationStore {
  record(report: SnapshotValidationReport): Promise<unknown>;
  get(snapshotId: string): Promise<{ validationStatus: SnapshotValidationResponse['validationStatus']; validationCompletedAt: string | null; details: unknown; weddingIds?: string[] } | null>;
}

export interface ValidationServiceDeps {
  repo: Repository;
  map: SchemaMap;
  logger: Logger;
  catalog: ValidationStore;
  openDataSource: () => Promise<WeddingDataSource>;
  photoStore: BlobStore | null;
  /** IANA zone of the wedding day for data validation (default: the agent's). */
  timeZone?: string;
  /** Called when a run's progress or state changed (the API's event streams listen). */
  onChange?: (snapshotId: string) => void;
}

export function createValidationServices(deps: ValidationServiceDeps): ValidationServices {
  const runs = new Map<string, ValidationRun>();
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const next = queue.then(task, task);
    queue = next.catch(() => undefined);
    return next;
  };

  const known = async (snapshotId: string): Promise<boolean> =>
    (await deps.catalog.get(snapshotId)) !== null || (await deps.repo.listSnapshots()).includes(snapshotId);

  return {
    async startSnapshotValidation(snapshotId, request) {
      const current = runs.get(snapshotId);
      if (current?.state === 'running') return structuredClone(current);
      if (!(await known(snapshotId))) throw new WedsyncError('NOT_FOUND', `snapshot ${snapshotId} not found`);
      const run: ValidationRun = {
        runId: randomUUID(),
        snapshotId,
        level: request.level,
        subset: request.subset ?? null,
        state: 'running',
        startedAt: new Date().toISOString(),
        completedAt: null,
        progress: { phase: 'open', packsDone: 0, packsTotal: 0, bytesRead: 0 },
        report: null,
        error: null,
      };
      runs.set(snapshotId, run);
      void serial(async () => {
        try {
          const report = await validateBackupIntegrity(
            { repo: deps.repo, map: deps.map, logger: deps.logger, onProgress: (p) => {
              run.progress = p;
              deps.onChange?.(snapshotId);
            }, catalogWeddings: async (id) => (await deps.catalog.get(id))?.weddingIds ?? null },
            { snapshotId, level: request.level, subset: request.subset ?? null },
          );
          await deps.catalog.record(report).catch((err: unknown) => deps.logger.warn({ snapshotId, err: (err as Error).message }, 'validation result not recorded in the catalog'));
          run.report = report;
          run.state = 'completed';
        } catch (err) {
          run.state = 'failed';
          run.error = isWedsyncError(err) ? { code: err.code, message: err.message } : { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
          deps.logger.error({ snapshotId, err: run.error.message }, 'snapshot validation failed');
        } finally {
          run.completedAt = new Date().toISOString();
          deps.onChange?.(snapshotId);
        }
      });
      return structuredClone(run);
    },

    async snapshotValidation(snapshotId) {
      const stored = await deps.catalog.get(snapshotId);
      const run = runs.get(snapshotId) ?? null;
      if (!stored && !run && !(await deps.repo.listSnapshots()).includes(snapshotId)) {
        throw new WedsyncError('NOT_FOUND', `snapshot ${snapshotId} not found`);
      }
      return {
        snapshotId,
        validationStatus: stored?.validationStatus ?? run?.report?.status ?? 'pending',
        validationCompletedAt: stored?.validationCompletedAt ?? run?.report?.completedAt ?? null,
        details: stored?.details ?? null,
        run: run ? structuredClone(run) : null,
      };
    },

    async validateWedding(weddingId) {
      const report = await performDataValidation(
        { openSource: deps.openDataSource, photoStore: deps.photoStore, logger: deps.logger, ...(deps.timeZone ? { timeZone: deps.timeZone } : {}) },
        { weddingIds: [weddingId] },
      );
      return report.reports[0]!;
    },

    async idle() {
      await serial(async () => undefined);
    },
  };
}
