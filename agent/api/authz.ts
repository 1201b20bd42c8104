import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SnapshotIdParamsSchema, SnapshotListQuerySchema, EmergencyBackupRequestSchema, type SnapshotDetail, type SnapshotSummary } from '../contract/api.js';
import { WeddingDiffParamsSchema, WeddingListQuerySchema, type BackupHistoryPoint, type WeddingListItem } from '../contract/console.js';
import { OperationIdParamsSchema } from '../contract/access.js';
import type { OfflineWedding, TodayResponse } from '../contract/offline.js';
import { QueuedRestoreConfirmRequestSchema, QueuedRestoreIdParamsSchema, type QueuedRestoreListResponse } from '../contract/queued-restore.js';
import { JobIdParamsSchema, WeddingIdParamsSchema as SettingsWeddingParamsSchema, type PlanResponse, type StatusResponse } from '../contract/scheduling.js';
import { WedsyncError } from '../contract/errors.js';
import {
  EmergencyRestoreRequestSchema,
  RecoveryOperationIdParamsSchema,
  RecoveryOperationListQuerySchema,
  RecoveryOperationResponseSchema,
  RestoreDiffRowsRequestSchema,
  RestorePlanRequestSchema,
  UndoRequestSchema,
  type RecoveryOperation,
} from '../contract/restore.js';
import { WeddingIdParamsSchema } from '../contract/validation-report.js';
import { EventStreamParamsSchema, EventTicketRequestSchema } from '../contract/events.js';
import { BackupRunParamsSchema, StartBackupRunRequestSchema } from '../contract/backup-run.js';
import { UnlockRequestSchema } from '../contract/unlock.js';
import { PointInTimePreviewRequestSchema, PointInTimeRestoreRequestSchema, PointInTimeWindowParamsSchema } from '../contract/point-in-time.js';
import { decide, type Action, type Decision, type Principal, type Resource, type UserPrincipal } from '../core/authz.js';
import { localDate } from '../core/schedule-time.js';
import type { AccessCatalog } from '../catalog/rls.js';
import type { AuditEntry } from '../catalog/audit.js';
import { maybePrincipalOf, principalLabel } from './auth.js';
import { parse, send } from './http.js';
import type { ApiServices } from './services.js';

/**
 * Authorisation of API requests, route by route (the decisions themselves: agent/core/authz.ts).
 *
 * For a user token, every /api route needs a rule here — a route without one is 403 for users
 * (default deny: a route added later is closed to users until someone decides who may call it;
 * the agent's own token is unaffected). A rule names the action, resolves what the request
 * touches (its weddings' organizations — from the snapshot's manifest and the live database —
 * and whether the database's RLS lets the user see the snapshot or operation at all: a row the
 * user may not see is 404, as if absent), and may trim the answer to the user's organization.
 * Requests are parsed with the route's own schema first, so a bad request gets the route's 400
 * and decisions are only ever taken on valid input.
 *
 * Audit: every refused non-read action is an audit row (outcome denied); starting a restore is
 * one (succeeded, with the wedding-day-emergency flag when a coordinator restored on the wedding
 * day without an approver), and a restore waiting for approval is one (requested).
 *
 * Restores: the engine records the operation; the after-hook here sets initiated_by (the
 * token's user), initiated_by_label and authorized_by (the admin who started it, if one did).
 */
export interface AuthzOptions {
  access?: AccessCatalog;
  /** IANA zone "the wedding day" is judged in (default: this machine's). */
  timeZone?: string;
  now?: () => Date;
  /** Where audit write failures are reported (they never fail the request: the action already happened). */
  onAuditError?: (err: unknown, entry: AuditEntry) => void;
}

interface Ctx {
  req: FastifyRequest;
  reply: FastifyReply;
  principal: Principal;
  services: ApiServices;
  access: AccessCatalog;
  options: AuthzOptions;
  /** Set by the preHandler. */
  decision?: Decision;
  resource?: Resource;
  /** Weddings the request touches (restores). */
  affected?: string[];
  /** The limit the caller asked for, when the list was over-fetched to filter it. */
  limit?: number;
}

interface RouteRule {
  action: Action;
  /** What the request touches (for users); throws the route's 400 for a bad request, 404 for what the user may not see. */
  resource?: (ctx: Ctx & { user: UserPrincipal }) => Promise<Resource>;
  /** Lists: parse the query, then widen its limit so filtering leaves up to the limit asked for. */
  overfetch?: { schema: typeof SnapshotListQuerySchema | typeof RecoveryOperationListQuerySchema | typeof WeddingListQuerySchema };
  /** Trims a successful answer to the user's organization. */
  trim?: (ctx: Ctx & { user: UserPrincipal }, payload: unknown) => Promise<unknown>;
  /** After a successful answer, for every principal (audit rows, initiator). */
  after?: (ctx: Ctx, payload: unknown) => Promise<unknown>;
  /** Answers the request itself when the decision is approval-required. */
  onApprovalRequired?: (ctx: Ctx & { user: UserPrincipal }, reason: string) => Promise<FastifyReply>;
}

const READ_ACTIONS = new Set<Action>(['self.read', 'snapshots.read', 'operations.read', 'weddings.read', 'restore.preview', 'audit.read']);
const MAX_LIST = 1000;

const notFound = (what: string, id: string) => new WedsyncError('NOT_FOUND', `${what} ${id} not found`);

function today(ctx: Ctx): string {
  return localDate((ctx.options.now ?? (() => new Date()))(), ctx.options.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
}

async function snapshotVisible(ctx: Ctx & { user: UserPrincipal }, id: string): Promise<void> {
  const visible = await ctx.access.visibleSnapshotIds(ctx.user, [id]);
  if (!visible.has(id.toLowerCase())) throw notFound('snapshot', id);
}

async function operationVisible(ctx: Ctx & { user: UserPrincipal }, id: string): Promise<void> {
  const visible = await ctx.access.visibleOperationIds(ctx.user, [id]);
  if (!visible.has(id.toLowerCase())) throw notFound('recovery operation', id);
}

/** Visibility was decided by RLS: the resource is "of the user's organization". */
const own = (user: UserPrincipal): Resource => ({ organizationIds: [user.organizationId] });

async function snapshotParam(ctx: Ctx & { user: UserPrincipal }): Promise<Resource> {
  const { id } = parse(SnapshotIdParamsSchema, ctx.req.params, 'params');
  await snapshotVisible(ctx, id);
  return own(ctx.user);
}

async function weddingResource(ctx: Ctx & { user: UserPrincipal }, id: string): Promise<Resource> {
  const facts = (await ctx.access.weddings([id])).get(id.toLowerCase());
  // Another organization's wedding answers like a missing one: its existence is not the user's business.
  if (!facts || facts.organizationId !== ctx.user.organizationId) throw notFound('wedding', id);
  return { organizationIds: [facts.organizationId], weddingDay: facts.weddingDate === today(ctx) };
}

/** A background backup run is its wedding's: unknown, or another organization's, is 404 alike. */
async function backupRunResource(ctx: Ctx & { user: UserPrincipal }, id: string): Promise<Resource> {
  const wedding = ctx.services.backupRuns?.weddingOf(id);
  if (!wedding) throw notFound('backup run', id);
  try {
    return await weddingResource(ctx, wedding);
  } catch (err) {
    if ((err as { code?: string }).code === 'NOT_FOUND') throw notFound('backup run', id);
    throw err;
  }
}

/**
 * The organizations of every wedding a restore plan touches: the snapshot's manifest says whose
 * each wedding was (also for a wedding deleted since), the live database for the rest. A
 * complete restore also rewrites the tables that belong to no wedding, so every organization
 * in the snapshot counts.
 */
async function restoreResource(
  ctx: Ctx & { user: UserPrincipal },
  plan: { backupId: string; recoveryScope: Resource['recoveryScope']; weddingIds?: string[] | undefined; targetUrl?: string | undefined; targetPhotoStore?: string | undefined },
): Promise<Resource> {
  await snapshotVisible(ctx, plan.backupId);
  const detail: SnapshotDetail = await ctx.services.snapshots.get(plan.backupId.toLowerCase());
  const inSnapshot = new Map(detail.weddings.map((w) => [w.weddingId.toLowerCase(), w]));
  const affected = [...new Set((plan.weddingIds ?? detail.weddings.map((w) => w.weddingId)).map((w) => w.toLowerCase()))];
  const live = await ctx.access.weddings(affected);
  const organizationIds = affected.map((id) => inSnapshot.get(id)?.organizationId ?? live.get(id)?.organizationId ?? null);
  if (plan.recoveryScope === 'complete') organizationIds.push(...detail.weddings.map((w) => w.organizationId));
  const day = today(ctx);
  const weddingDay = affected.length > 0 && affected.every((id) => (live.get(id)?.weddingDate ?? inSnapshot.get(id)?.weddingDate ?? null) === day);
  ctx.affected = affected;
  const otherTarget = plan.targetUrl !== undefined ? 'targetUrl' : plan.targetPhotoStore !== undefined ? 'targetPhotoStore' : undefined;
  return { organizationIds, recoveryScope: plan.recoveryScope, weddingDay, ...(otherTarget ? { otherTarget } : {}) };
}

async function audit(ctx: Ctx, entry: Omit<AuditEntry, 'actor'>): Promise<void> {
  const full: AuditEntry = { ...entry, actor: { userId: ctx.principal.kind === 'user' ? ctx.principal.userId : null, label: principalLabel(ctx.principal) } };
  try {
    await ctx.access.audit(full);
  } catch (err) {
    ctx.options.onAuditError?.(err, full);
  }
}

const orgOf = (ctx: Ctx) => (ctx.principal.kind === 'user' ? ctx.principal.organizationId : null);

export const ROUTE_RULES: Record<string, RouteRule> = {
  'GET /api/me': { action: 'self.read' },
  'GET /api/audit': { action: 'audit.read' },

  'GET /api/backup/snapshots': {
    action: 'snapshots.read',
    overfetch: { schema: SnapshotListQuerySchema },
    async trim(ctx, payload) {
      const body = payload as { snapshots: SnapshotSummary[] };
      const visible = await ctx.access.visibleSnapshotIds(ctx.user, body.snapshots.map((s) => s.id));
      const mine = await ctx.access.organizationWeddingIds(ctx.user.organizationId);
      const snapshots = body.snapshots.filter((s) => visible.has(s.id)).slice(0, ctx.limit);
      return { ...body, snapshots: snapshots.map((s) => ({ ...s, weddingIds: s.weddingIds.filter((w) => mine.has(w)) })) };
    },
  },
  'GET /api/backup/snapshots/:id': {
    action: 'snapshots.read',
    resource: snapshotParam,
    async trim(ctx, payload) {
      const body = payload as SnapshotDetail;
      const weddings = body.weddings.filter((w) => w.organizationId === ctx.user.organizationId);
      const mine = new Set(weddings.map((w) => w.weddingId));
      return { ...body, weddings, snapshot: { ...body.snapshot, weddingIds: body.snapshot.weddingIds.filter((w) => mine.has(w)) }, photoProblems: body.photoProblems.filter((p) => mine.has(p.weddingId)) };
    },
  },
  'POST /api/backup/emergency-backup': {
    action: 'backup.emergency',
    resource: (ctx) => weddingResource(ctx, parse(EmergencyBackupRequestSchema, ctx.req.body, 'body').weddingId),
  },
  'POST /api/backup/snapshots/:id/validate': { action: 'validation.run', resource: snapshotParam },
  'GET /api/backup/snapshots/:id/validation': { action: 'snapshots.read', resource: snapshotParam },
  'POST /api/weddings/:id/validate': { action: 'weddings.read', resource: (ctx) => weddingResource(ctx, parse(WeddingIdParamsSchema, ctx.req.params, 'params').id) },
  'GET /api/weddings': {
    action: 'weddings.read',
    overfetch: { schema: WeddingListQuerySchema },
    async trim(ctx, payload) {
      const body = payload as { weddings: WeddingListItem[] };
      const mine = await ctx.access.organizationWeddingIds(ctx.user.organizationId);
      return { ...body, weddings: body.weddings.filter((w) => mine.has(w.id)).slice(0, ctx.limit) };
    },
  },
  // The console's comparison of one wedding between two snapshots: who may read that wedding.
  'GET /api/console/snapshots/:id/weddings/:weddingId/diff': {
    action: 'snapshots.read',
    resource: (ctx) => weddingResource(ctx, parse(WeddingDiffParamsSchema, ctx.req.params, 'params').weddingId),
  },
  // The console's history chart (routes/console.ts): only the snapshots the user may see.
  'GET /api/console/history': {
    action: 'snapshots.read',
    async trim(ctx, payload) {
      const body = payload as { points: BackupHistoryPoint[] };
      const visible = await ctx.access.visibleSnapshotIds(ctx.user, body.points.map((p) => p.snapshotId));
      return { ...body, points: body.points.filter((p) => visible.has(p.snapshotId)) };
    },
  },

  // Scheduling (routes/status.ts).
  'GET /api/backup/status': {
    action: 'snapshots.read',
    async trim(ctx, payload) {
      const body = payload as StatusResponse;
      const mine = await ctx.access.organizationWeddingIds(ctx.user.organizationId);
      // Whole-database jobs (no weddings) are every organization's, as in RLS; others only when all theirs.
      const ours = (ids: string[]) => ids.every((w) => mine.has(w));
      return { ...body, weddings: body.weddings.filter((w) => mine.has(w.weddingId)), failingJobs: body.failingJobs.filter((j) => ours(j.weddingIds)) };
    },
  },
  'GET /api/backup/plan': {
    action: 'snapshots.read',
    async trim(ctx, payload) {
      const body = payload as PlanResponse;
      const mine = await ctx.access.organizationWeddingIds(ctx.user.organizationId);
      const entries = body.entries.filter((e) => e.weddingIds.length === 0 || e.weddingIds.some((w) => mine.has(w))).map((e) => ({ ...e, weddingIds: e.weddingIds.filter((w) => mine.has(w)) }));
      return { ...body, entries, weddings: body.weddings.filter((w) => mine.has(w.weddingId)) };
    },
  },
  'GET /api/backup/weddings/:weddingId/settings': { action: 'weddings.read', resource: (ctx) => weddingResource(ctx, parse(SettingsWeddingParamsSchema, ctx.req.params, 'params').weddingId) },
  'PUT /api/backup/weddings/:weddingId/settings': {
    action: 'settings.write',
    resource: (ctx) => weddingResource(ctx, parse(SettingsWeddingParamsSchema, ctx.req.params, 'params').weddingId),
    async after(ctx, payload) {
      const { weddingId } = parse(SettingsWeddingParamsSchema, ctx.req.params, 'params');
      const changed = ctx.req.body && typeof ctx.req.body === 'object' ? (ctx.req.body as Record<string, unknown>) : {};
      await audit(ctx, { action: 'settings.change', outcome: 'succeeded', organizationId: orgOf(ctx), weddingIds: [weddingId], target: `wedding_backup_settings:${weddingId}`, details: { changed } });
      return payload;
    },
  },
  'POST /api/backup/jobs/:jobId/cancel': {
    action: 'jobs.cancel',
    async resource(ctx) {
      const { jobId } = parse(JobIdParamsSchema, ctx.req.params, 'params');
      const targets = await ctx.access.jobWeddings(ctx.user, jobId);
      if (targets === null) throw notFound('backup job', jobId);
      const live = await ctx.access.weddings(targets);
      return { organizationIds: targets.map((w) => live.get(w)?.organizationId ?? null) };
    },
    async after(ctx, payload) {
      const { jobId } = parse(JobIdParamsSchema, ctx.req.params, 'params');
      await audit(ctx, { action: 'job.cancel', outcome: 'succeeded', organizationId: orgOf(ctx), target: `backup_job:${jobId}`, details: { outcome: (payload as { outcome?: string }).outcome ?? null } });
      return payload;
    },
  },

  // Offline wedding-day data (local cache): the wedding row itself says whose it is.
  'GET /api/weddings/today': {
    action: 'weddings.read',
    async trim(ctx, payload) {
      const body = payload as TodayResponse;
      const mine = await ctx.access.organizationWeddingIds(ctx.user.organizationId);
      return { ...body, weddings: body.weddings.filter((w) => mine.has(w.weddingId)) };
    },
  },
  'GET /api/weddings/:id/offline': {
    action: 'weddings.read',
    async trim(ctx, payload) {
      const body = payload as OfflineWedding;
      if (body.wedding['organization_id'] !== ctx.user.organizationId) throw notFound('wedding', body.weddingId);
      return body;
    },
  },

  'POST /api/backup/restore/preview': { action: 'restore.preview', resource: (ctx) => restoreResource(ctx, parse(RestorePlanRequestSchema, ctx.req.body, 'body')) },
  'POST /api/backup/restore/preview/rows': { action: 'restore.preview', resource: (ctx) => restoreResource(ctx, parse(RestoreDiffRowsRequestSchema, ctx.req.body, 'body')) },
  'POST /api/backup/emergency-restore': {
    action: 'restore.start',
    resource: (ctx) => restoreResource(ctx, parse(EmergencyRestoreRequestSchema, ctx.req.body, 'body')),
    async onApprovalRequired(ctx, reason) {
      const { confirmationToken: _token, ...request } = parse(EmergencyRestoreRequestSchema, ctx.req.body, 'body');
      const id = await ctx.access.requestApproval(ctx.user, request, ctx.affected ?? [], reason);
      await audit(ctx, {
        action: 'restore.request',
        outcome: 'requested',
        organizationId: ctx.user.organizationId,
        weddingIds: ctx.affected ?? [],
        target: `recovery_operation:${id}`,
        details: { reason, snapshotId: request.backupId, recoveryScope: request.recoveryScope, dataTypes: request.dataTypes ?? null },
      });
      const operation = ctx.services.restore ? await ctx.services.restore.getOperation(id) : null;
      if (!operation) throw new WedsyncError('NOT_FOUND', 'restore is not available in this agent');
      return send(ctx.reply, RecoveryOperationResponseSchema, { operation }, 202);
    },
    after: restoreStarted,
  },
  'GET /api/backup/recovery-operations': {
    action: 'operations.read',
    overfetch: { schema: RecoveryOperationListQuerySchema },
    async trim(ctx, payload) {
      const body = payload as { operations: RecoveryOperation[] };
      const visible = await ctx.access.visibleOperationIds(ctx.user, body.operations.map((o) => o.id));
      const mine = await ctx.access.organizationWeddingIds(ctx.user.organizationId);
      const operations = body.operations.filter((o) => visible.has(o.id)).slice(0, ctx.limit);
      return { ...body, operations: operations.map((o) => ({ ...o, affectedWeddings: o.affectedWeddings.filter((w) => mine.has(w)) })) };
    },
  },
  'GET /api/backup/recovery-operations/:id': {
    action: 'operations.read',
    async resource(ctx) {
      const { id } = parse(RecoveryOperationIdParamsSchema, ctx.req.params, 'params');
      await operationVisible(ctx, id);
      return own(ctx.user);
    },
    async trim(ctx, payload) {
      const body = payload as { operation: RecoveryOperation };
      const mine = await ctx.access.organizationWeddingIds(ctx.user.organizationId);
      return { ...body, operation: { ...body.operation, affectedWeddings: body.operation.affectedWeddings.filter((w) => mine.has(w)) } };
    },
  },
  // Undo brings back an operation's recovery point: the same weddings, the same rules as starting a restore.
  'POST /api/backup/recovery-operations/:id/undo-preview': { action: 'restore.preview', resource: (ctx) => undoResource(ctx) },
  'POST /api/backup/recovery-operations/:id/undo': {
    action: 'restore.start',
    resource: (ctx) => {
      parse(UndoRequestSchema, ctx.req.body, 'body');
      return undoResource(ctx);
    },
    after: restoreStarted,
  },
  'POST /api/backup/recovery-operations/:id/approve': { action: 'restore.approve', resource: pendingResource },

  // Point in time (routes/point-in-time.ts): the rules of a restore of that one wedding.
  'GET /api/backup/point-in-time/:weddingId/window': { action: 'weddings.read', resource: (ctx) => weddingResource(ctx, parse(PointInTimeWindowParamsSchema, ctx.req.params, 'params').weddingId) },
  'POST /api/backup/point-in-time/preview': { action: 'restore.preview', resource: (ctx) => pointInTimeResource(ctx, parse(PointInTimePreviewRequestSchema, ctx.req.body, 'body').weddingId) },
  'POST /api/backup/point-in-time/restore': {
    action: 'restore.start',
    resource: (ctx) => pointInTimeResource(ctx, parse(PointInTimeRestoreRequestSchema, ctx.req.body, 'body').weddingId),
    after: restoreStarted,
  },

  // Unlocking (routes/unlock.ts): anyone may ask whether the agent is locked; only an admin may unlock.
  'GET /api/unlock': { action: 'self.read' },
  'POST /api/unlock': {
    action: 'settings.write',
    async resource(ctx) {
      parse(UnlockRequestSchema, ctx.req.body, 'body');
      return own(ctx.user);
    },
  },

  // Event streams (routes/events.ts): who may watch something is who may read it; a ticket only
  // opens its one stream, and the stream checks the ticket's principal again here.
  'POST /api/events/tickets': {
    action: 'operations.read',
    async resource(ctx) {
      const { stream, id } = parse(EventTicketRequestSchema, ctx.req.body, 'body');
      if (stream === 'recovery-operation') await operationVisible(ctx, id);
      else if (stream === 'backup') {
        // A backup's stream is for who may start backups (its own rule below): refuse the ticket alike.
        const resource = await backupRunResource(ctx, id);
        const d = decide(ctx.user, 'backup.emergency', resource);
        if (d.effect !== 'allow') throw new WedsyncError('FORBIDDEN', d.reason);
        return resource;
      }
      else await snapshotVisible(ctx, id);
      return own(ctx.user);
    },
  },
  'GET /api/events/recovery-operations/:id': {
    action: 'operations.read',
    async resource(ctx) {
      const { id } = parse(EventStreamParamsSchema, ctx.req.params, 'params');
      await operationVisible(ctx, id);
      return own(ctx.user);
    },
  },
  'GET /api/events/validations/:id': { action: 'snapshots.read', resource: snapshotParam },
  // A background emergency backup: who may start one for its wedding may start it and watch it.
  'GET /api/events/backups/:id': { action: 'backup.emergency', resource: (ctx) => backupRunResource(ctx, parse(EventStreamParamsSchema, ctx.req.params, 'params').id) },
  'POST /api/backup/emergency-backups': {
    action: 'backup.emergency',
    resource: (ctx) => weddingResource(ctx, parse(StartBackupRunRequestSchema, ctx.req.body, 'body').weddingId),
  },
  'GET /api/backup/emergency-backups/:id': { action: 'backup.emergency', resource: (ctx) => backupRunResource(ctx, parse(BackupRunParamsSchema, ctx.req.params, 'params').id) },
  // Stopping someone's backup is an admin's call, as cancelling a queued job is.
  'POST /api/backup/emergency-backups/:id/cancel': {
    action: 'jobs.cancel',
    resource: (ctx) => backupRunResource(ctx, parse(BackupRunParamsSchema, ctx.req.params, 'params').id),
    async after(ctx, payload) {
      const { id } = parse(BackupRunParamsSchema, ctx.req.params, 'params');
      await audit(ctx, { action: 'backup.cancel', outcome: 'succeeded', organizationId: orgOf(ctx), weddingIds: [(payload as { backup: { weddingId: string } }).backup.weddingId], target: `backup_run:${id}`, details: { reason: (ctx.req.body as { reason?: unknown } | undefined)?.reason ?? null } });
      return payload;
    },
  },

  // Restores queued while the database was unreachable (routes/queued-restores.ts): the queued
  // item's weddings decide, as for any restore of them; cancelling one is as sensitive as starting it.
  'GET /api/backup/queued-restores': {
    action: 'operations.read',
    async trim(ctx, payload) {
      const body = payload as QueuedRestoreListResponse;
      const mine = await ctx.access.organizationWeddingIds(ctx.user.organizationId);
      return { ...body, queued: body.queued.filter((q) => q.weddingIds.length > 0 && q.weddingIds.every((w) => mine.has(w))) };
    },
  },
  'POST /api/backup/queued-restores/:id/preview': { action: 'restore.preview', resource: queuedResource },
  'POST /api/backup/queued-restores/:id/confirm': {
    action: 'restore.start',
    resource: (ctx) => {
      parse(QueuedRestoreConfirmRequestSchema, ctx.req.body, 'body');
      return queuedResource(ctx);
    },
    after: restoreStarted,
  },
  'POST /api/backup/queued-restores/:id/cancel': { action: 'restore.start', resource: queuedResource },
  'POST /api/backup/recovery-operations/:id/reject': { action: 'restore.approve', resource: pendingResource },
};

/**
 * After a restore or an undo was started (202): the operation names the token's user as
 * initiated_by and, when an admin started it, as authorized_by; the audit row says who, which
 * weddings, and carries the decision's flags (wedding-day-emergency).
 */
async function restoreStarted(ctx: Ctx, payload: unknown): Promise<unknown> {
  const body = payload as { operation: RecoveryOperation };
  const op = body.operation;
  const authorizedBy = ctx.decision?.effect === 'allow' ? ctx.decision.authorizedBy : null;
  const who = { initiatedBy: ctx.principal.kind === 'user' ? ctx.principal.userId : null, initiatedByLabel: principalLabel(ctx.principal), authorizedBy };
  await ctx.access.setInitiator(op.id, who);
  await audit(ctx, {
    action: op.operationType === 'undo' ? 'undo.start' : 'restore.start',
    outcome: 'succeeded',
    organizationId: orgOf(ctx),
    weddingIds: op.affectedWeddings,
    target: `recovery_operation:${op.id}`,
    flags: ctx.decision?.effect === 'allow' ? ctx.decision.flags : [],
    details: { snapshotId: op.backupSnapshotId, recoveryScope: op.recoveryScope, dataTypes: op.dataTypes, status: op.status, authorizedBy },
  });
  return { ...body, operation: { ...op, ...who } };
}

/** The weddings an undo would rewrite: those of the operation being undone (404 if the user may not see it). */
async function undoResource(ctx: Ctx & { user: UserPrincipal }): Promise<Resource> {
  const { id } = parse(RecoveryOperationIdParamsSchema, ctx.req.params, 'params');
  await operationVisible(ctx, id);
  if (!ctx.services.restore) throw new WedsyncError('NOT_FOUND', 'restore is not available in this agent');
  const op = await ctx.services.restore.getOperation(id);
  const live = await ctx.access.weddings(op.affectedWeddings);
  const day = today(ctx);
  ctx.affected = op.affectedWeddings;
  return {
    organizationIds: op.affectedWeddings.map((w) => live.get(w)?.organizationId ?? null),
    recoveryScope: op.recoveryScope,
    weddingDay: op.affectedWeddings.length > 0 && op.affectedWeddings.every((w) => live.get(w)?.weddingDate === day),
  };
}

/** The weddings a queued restore would rewrite (404 when another organization's: as if absent). */
async function queuedResource(ctx: Ctx & { user: UserPrincipal }): Promise<Resource> {
  const { id } = parse(QueuedRestoreIdParamsSchema, ctx.req.params, 'params');
  if (!ctx.services.queuedRestores) throw new WedsyncError('NOT_FOUND', 'this agent keeps no local cache: no queued restores');
  const q = await ctx.services.queuedRestores.get(id.toLowerCase());
  const live = await ctx.access.weddings(q.weddingIds);
  if (!q.weddingIds.length || q.weddingIds.some((w) => live.get(w)?.organizationId !== ctx.user.organizationId)) throw notFound('queued restore', id);
  ctx.affected = q.weddingIds;
  const day = today(ctx);
  return { organizationIds: q.weddingIds.map((w) => live.get(w)?.organizationId ?? null), recoveryScope: q.recoveryScope, weddingDay: q.weddingIds.every((w) => live.get(w)?.weddingDate === day) };
}

/** A point-in-time restore touches exactly one wedding (wedding-only or selective scope). */
async function pointInTimeResource(ctx: Ctx & { user: UserPrincipal }, weddingId: string): Promise<Resource> {
  ctx.affected = [weddingId.toLowerCase()];
  return { ...(await weddingResource(ctx, weddingId)), recoveryScope: 'wedding-only' };
}

/** A pending restore's weddings and who asked for it (404 if the user may not see it). */
async function pendingResource(ctx: Ctx & { user: UserPrincipal }): Promise<Resource> {
  const { id } = parse(OperationIdParamsSchema, ctx.req.params, 'params');
  await operationVisible(ctx, id);
  const pending = await ctx.access.pendingRestore(id);
  if (!pending) throw notFound('recovery operation', id);
  const live = await ctx.access.weddings(pending.affectedWeddings);
  ctx.affected = pending.affectedWeddings;
  return { organizationIds: pending.affectedWeddings.map((w) => live.get(w)?.organizationId ?? null), requestedBy: pending.initiatedBy };
}

const contexts = new WeakMap<FastifyRequest, Ctx>();

function ruleFor(req: FastifyRequest): RouteRule | undefined {
  return ROUTE_RULES[`${req.method} ${req.routeOptions.url ?? ''}`];
}

/** Installs the authorisation hooks (after authentication) on `app`. */
export function installAuthorization(app: FastifyInstance, services: ApiServices, options: AuthzOptions): void {
  const access = options.access;

  app.addHook('preHandler', async (req, reply) => {
    const principal = maybePrincipalOf(req);
    if (!principal) return;
    const rule = ruleFor(req);
    if (principal.kind === 'service') {
      if (rule?.after && access) contexts.set(req, { req, reply, principal, services, access, options });
      return;
    }
    if (!access) throw new WedsyncError('UNAUTHENTICATED', 'per-user tokens are not available in this agent');
    if (!rule) throw new WedsyncError('FORBIDDEN', `user tokens may not call ${req.method} ${req.routeOptions.url ?? req.url}`);
    const ctx: Ctx & { user: UserPrincipal } = { req, reply, principal, user: principal, services, access, options };
    if (rule.overfetch) {
      // Validate as the route will, then widen: an invalid limit must stay a 400, not become 1000.
      const query = parse(rule.overfetch.schema, req.query, 'query') as { limit: number };
      ctx.limit = query.limit;
      (req as { query: unknown }).query = { ...(req.query as Record<string, unknown>), limit: String(MAX_LIST) };
    }
    const resource = rule.resource ? await rule.resource(ctx) : undefined;
    const decision = decide(principal, rule.action, resource);
    ctx.resource = resource;
    ctx.decision = decision;
    if (decision.effect === 'deny') {
      if (!READ_ACTIONS.has(rule.action)) {
        await audit(ctx, {
          action: rule.action,
          outcome: 'denied',
          organizationId: principal.organizationId,
          weddingIds: ctx.affected ?? [],
          target: `${req.method} ${req.routeOptions.url ?? ''}`,
          details: { reason: decision.reason, role: principal.role },
        });
      }
      throw new WedsyncError('FORBIDDEN', decision.reason);
    }
    if (decision.effect === 'approval-required') {
      if (!rule.onApprovalRequired) {
        // No way to ask for approval here (an undo): refused, and recorded like any refusal.
        await audit(ctx, { action: rule.action, outcome: 'denied', organizationId: principal.organizationId, weddingIds: ctx.affected ?? [], target: `${req.method} ${req.routeOptions.url ?? ''}`, details: { reason: decision.reason, role: principal.role } });
        throw new WedsyncError('FORBIDDEN', `${decision.reason}; ask an admin of your organization`);
      }
      contexts.delete(req);
      return rule.onApprovalRequired(ctx, decision.reason);
    }
    contexts.set(req, ctx);
  });

  app.addHook('preSerialization', async (req, reply, payload) => {
    const ctx = contexts.get(req);
    if (!ctx || reply.statusCode >= 400) return payload;
    contexts.delete(req);
    const rule = ruleFor(req);
    let out: unknown = payload;
    if (ctx.principal.kind === 'user' && rule?.trim) out = await rule.trim(ctx as Ctx & { user: UserPrincipal }, out);
    if (rule?.after) {
      try {
        out = await rule.after(ctx, out);
      } catch (err) {
        // The action already happened (a restore is running): answer it, report the bookkeeping failure.
        ctx.options.onAuditError?.(err, { action: rule.action, outcome: 'succeeded', actor: { label: principalLabel(ctx.principal) } });
      }
    }
    return out;
  });
}
