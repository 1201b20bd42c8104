import { z } from 'zod';
import {
  BackupResultSchema,
  EmergencyBackupRequestSchema,
  SnapshotDetailResponseSchema,
  SnapshotListQuerySchema,
  SnapshotListResponseSchema,
  uuidSchema,
} from '../../agent/contract/api.js';
import { PlanQuerySchema, StatusQuerySchema, WeddingSettingsResponseSchema, planResponseSchema, statusResponseSchema, weddingBackupSettingsPatchSchema } from '../../agent/contract/scheduling.js';
import { AuditListQuerySchema, AuditListResponseSchema } from '../../agent/contract/access.js';
import { OfflineWeddingParamsSchema, OfflineWeddingSchema, TodayQuerySchema, TodayResponseSchema } from '../../agent/contract/offline.js';
import {
  BackupHistoryQuerySchema,
  BackupHistoryResponseSchema,
  WeddingDiffParamsSchema,
  WeddingDiffQuerySchema,
  WeddingDiffResponseSchema,
  WeddingListQuerySchema,
  WeddingListResponseSchema,
} from '../../agent/contract/console.js';
import {
  EmergencyRestoreRequestSchema,
  RecoveryOperationListQuerySchema,
  RecoveryOperationListResponseSchema,
  RecoveryOperationResponseSchema,
  RestoreDiffRowsRequestSchema,
  RestoreDiffRowsResponseSchema,
  RestorePlanRequestSchema,
  RestorePreviewSchema,
  UndoRequestSchema,
} from '../../agent/contract/restore.js';
import { EventTicketRequestSchema, EventTicketResponseSchema } from '../../agent/contract/events.js';
import { BackupRunParamsSchema, BackupRunResponseSchema, StartBackupRunRequestSchema } from '../../agent/contract/backup-run.js';
import { UnlockRequestSchema, UnlockResponseSchema, UnlockStatusSchema } from '../../agent/contract/unlock.js';
import { PointInTimePreviewRequestSchema, PointInTimePreviewResponseSchema, PointInTimeRestoreRequestSchema, PointInTimeWindowParamsSchema, PointInTimeWindowResponseSchema } from '../../agent/contract/point-in-time.js';
import {
  QueuedRestoreConfirmRequestSchema,
  QueuedRestoreConfirmResponseSchema,
  QueuedRestoreIdParamsSchema,
  QueuedRestoreListQuerySchema,
  QueuedRestoreListResponseSchema,
  QueuedRestorePreviewResponseSchema,
  QueuedRestoreResponseSchema,
} from '../../agent/contract/queued-restore.js';
import { SnapshotValidationResponseSchema, ValidateSnapshotRequestSchema, validationRunSchema, weddingDataReportSchema } from '../../agent/contract/validation-report.js';

/**
 * The console's one map of what it may ask the agent: name → HTTP method, path template, the
 * request (params/query/body, each parsed with the agent's own contract schema) and the
 * response schema. Both transports use it: the HTTP transport builds the request from it, and
 * the Electron IPC bridge (electron/ipc-main.ts) accepts exactly these names, parses each
 * payload with `request` before forwarding and each answer with `response` before returning.
 * Imports only zod and agent/contract, so the renderer and the Electron main can share it.
 */
export interface Endpoint<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path with `:name` placeholders filled from `params`. */
  path: string;
  request: Req;
  response: Res;
}

function endpoint<Req extends z.ZodType, Res extends z.ZodType>(method: Endpoint['method'], path: string, request: Req, response: Res): Endpoint<Req, Res> {
  return { method, path, request, response };
}

const none = z.object({}).strict();
const idParams = z.object({ id: uuidSchema }).strict();
const weddingParams = z.object({ weddingId: uuidSchema }).strict();

/** GET /healthz: `{ ok, …details }`. */
export const HealthSchema = z.looseObject({ ok: z.boolean() });

export const endpoints = {
  health: endpoint('GET', '/healthz', none, HealthSchema),
  listSnapshots: endpoint('GET', '/api/backup/snapshots', z.object({ query: SnapshotListQuerySchema.partial().strict() }).partial().strict(), SnapshotListResponseSchema),
  getSnapshot: endpoint('GET', '/api/backup/snapshots/:id', z.object({ params: idParams }).strict(), SnapshotDetailResponseSchema),
  emergencyBackup: endpoint('POST', '/api/backup/emergency-backup', z.object({ body: EmergencyBackupRequestSchema }).strict(), BackupResultSchema),
  startEmergencyBackup: endpoint('POST', '/api/backup/emergency-backups', z.object({ body: StartBackupRunRequestSchema }).strict(), BackupRunResponseSchema),
  getEmergencyBackup: endpoint('GET', '/api/backup/emergency-backups/:id', z.object({ params: BackupRunParamsSchema }).strict(), BackupRunResponseSchema),
  status: endpoint('GET', '/api/backup/status', z.object({ query: StatusQuerySchema.partial().strict() }).partial().strict(), statusResponseSchema),
  plan: endpoint('GET', '/api/backup/plan', z.object({ query: PlanQuerySchema.partial().strict() }).partial().strict(), planResponseSchema),
  validateSnapshot: endpoint('POST', '/api/backup/snapshots/:id/validate', z.object({ params: idParams, body: ValidateSnapshotRequestSchema }).strict(), validationRunSchema),
  getValidation: endpoint('GET', '/api/backup/snapshots/:id/validation', z.object({ params: idParams }).strict(), SnapshotValidationResponseSchema),
  validateWeddingData: endpoint('POST', '/api/weddings/:id/validate', z.object({ params: idParams }).strict(), weddingDataReportSchema),
  getWeddingSettings: endpoint('GET', '/api/backup/weddings/:weddingId/settings', z.object({ params: weddingParams }).strict(), WeddingSettingsResponseSchema),
  putWeddingSettings: endpoint('PUT', '/api/backup/weddings/:weddingId/settings', z.object({ params: weddingParams, body: weddingBackupSettingsPatchSchema }).strict(), WeddingSettingsResponseSchema),
  backupHistory: endpoint('GET', '/api/console/history', z.object({ query: BackupHistoryQuerySchema.partial().strict() }).partial().strict(), BackupHistoryResponseSchema),
  diffWedding: endpoint('GET', '/api/console/snapshots/:id/weddings/:weddingId/diff', z.object({ params: WeddingDiffParamsSchema, query: WeddingDiffQuerySchema }).strict(), WeddingDiffResponseSchema),
  listWeddings: endpoint('GET', '/api/weddings', z.object({ query: WeddingListQuerySchema.partial().strict() }).partial().strict(), WeddingListResponseSchema),
  previewRestore: endpoint('POST', '/api/backup/restore/preview', z.object({ body: RestorePlanRequestSchema }).strict(), RestorePreviewSchema),
  restoreDiffRows: endpoint('POST', '/api/backup/restore/preview/rows', z.object({ body: RestoreDiffRowsRequestSchema }).strict(), RestoreDiffRowsResponseSchema),
  emergencyRestore: endpoint('POST', '/api/backup/emergency-restore', z.object({ body: EmergencyRestoreRequestSchema }).strict(), RecoveryOperationResponseSchema),
  listRecoveryOperations: endpoint('GET', '/api/backup/recovery-operations', z.object({ query: RecoveryOperationListQuerySchema.partial().strict() }).partial().strict(), RecoveryOperationListResponseSchema),
  undoPreview: endpoint('POST', '/api/backup/recovery-operations/:id/undo-preview', z.object({ params: idParams }).strict(), RestorePreviewSchema),
  undo: endpoint('POST', '/api/backup/recovery-operations/:id/undo', z.object({ params: idParams, body: UndoRequestSchema }).strict(), RecoveryOperationResponseSchema),
  auditLog: endpoint('GET', '/api/audit', z.object({ query: AuditListQuerySchema.partial().strict() }).partial().strict(), AuditListResponseSchema),
  getRecoveryOperation: endpoint('GET', '/api/backup/recovery-operations/:id', z.object({ params: idParams }).strict(), RecoveryOperationResponseSchema),
  weddingsToday: endpoint('GET', '/api/weddings/today', z.object({ query: TodayQuerySchema }).partial().strict(), TodayResponseSchema),
  pointInTimeWindow: endpoint('GET', '/api/backup/point-in-time/:weddingId/window', z.object({ params: PointInTimeWindowParamsSchema }).strict(), PointInTimeWindowResponseSchema),
  pointInTimePreview: endpoint('POST', '/api/backup/point-in-time/preview', z.object({ body: PointInTimePreviewRequestSchema }).strict(), PointInTimePreviewResponseSchema),
  pointInTimeRestore: endpoint('POST', '/api/backup/point-in-time/restore', z.object({ body: PointInTimeRestoreRequestSchema }).strict(), RecoveryOperationResponseSchema),
  listQueuedRestores: endpoint('GET', '/api/backup/queued-restores', z.object({ query: QueuedRestoreListQuerySchema.partial().strict() }).partial().strict(), QueuedRestoreListResponseSchema),
  previewQueuedRestore: endpoint('POST', '/api/backup/queued-restores/:id/preview', z.object({ params: QueuedRestoreIdParamsSchema }).strict(), QueuedRestorePreviewResponseSchema),
  confirmQueuedRestore: endpoint('POST', '/api/backup/queued-restores/:id/confirm', z.object({ params: QueuedRestoreIdParamsSchema, body: QueuedRestoreConfirmRequestSchema }).strict(), QueuedRestoreConfirmResponseSchema),
  cancelQueuedRestore: endpoint('POST', '/api/backup/queued-restores/:id/cancel', z.object({ params: QueuedRestoreIdParamsSchema }).strict(), QueuedRestoreResponseSchema),
  unlockStatus: endpoint('GET', '/api/unlock', none, UnlockStatusSchema),
  unlock: endpoint('POST', '/api/unlock', z.object({ body: UnlockRequestSchema }).strict(), UnlockResponseSchema),
  eventTicket: endpoint('POST', '/api/events/tickets', z.object({ body: EventTicketRequestSchema }).strict(), EventTicketResponseSchema),
  offlineWedding: endpoint('GET', '/api/weddings/:id/offline', z.object({ params: OfflineWeddingParamsSchema }).strict(), OfflineWeddingSchema),
} as const;

export type Endpoints = typeof endpoints;
export type EndpointName = keyof Endpoints;
/** What a caller passes: the schema's input (defaults may be left out). */
export type RequestOf<K extends EndpointName> = z.input<Endpoints[K]['request']>;
/** What a caller gets back: the schema's output. */
export type ResponseOf<K extends EndpointName> = z.output<Endpoints[K]['response']>;

export function isEndpointName(name: unknown): name is EndpointName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(endpoints, name);
}

/** A parsed request: the pieces an HTTP call is made of. */
export interface HttpRequestParts {
  method: Endpoint['method'];
  /** Path with params filled in (each URI-encoded) and the query string appended. */
  url: string;
  body: unknown;
}

/**
 * Turns a request that already passed the endpoint's schema into method, URL and body.
 * Param values are URI-encoded, so a value can never change the path it lands in.
 */
export function toHttp(ep: Endpoint, parsed: { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown }): HttpRequestParts {
  const path = ep.path.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
    const value = parsed.params?.[name];
    if (value === undefined || value === null) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(parsed.query ?? {})) if (v !== undefined && v !== null) qs.set(k, String(v));
  const query = qs.toString();
  return { method: ep.method, url: query ? `${path}?${query}` : path, body: parsed.body };
}
