import { z } from 'zod';

/**
 * Scheduling shapes: a wedding's backup settings (`wedding_backup_settings`), its criticality,
 * the plan of what the scheduler will run, and the status the console shows.
 *
 * Priority direction (backup_jobs.priority_level, CHECK 1..10): HIGHER RUNS FIRST. 10 is an
 * emergency backup someone asked for; 9 a wedding-day job; 1 the least urgent. The claim query
 * orders by priority_level DESC, so a wedding-day job is always taken before a routine full.
 */

export const RETENTION_POLICIES = ['minimal', 'standard', 'extended', 'permanent'] as const;
export const retentionPolicySchema = z.enum(RETENTION_POLICIES);
export type RetentionPolicy = z.infer<typeof retentionPolicySchema>;

/** Never below this: an incremental every few minutes would be a change stream, which is tier 1's job. */
export const MIN_BACKUP_FREQUENCY_MINUTES = 15;
export const MAX_BACKUP_FREQUENCY_MINUTES = 24 * 60;

const isoInstant = z.iso.datetime({ offset: true, error: 'must be an ISO date-time with a zone, like 2026-06-01T14:00:00Z' });

/**
 * wedding_backup_settings.notification_preferences. Who hears about this wedding's backups:
 * the agent's own hooks honour `onFailure`/`onSuccess`; `webhookUrl` (http/https only) also
 * receives this wedding's events. Commands are deliberately not allowed here: a row in the
 * database must never be able to run a program on the agent's machine.
 */
export const notificationPreferencesSchema = z
  .object({
    onFailure: z.boolean().default(true),
    onSuccess: z.boolean().default(false),
    webhookUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  })
  .strict();
export type NotificationPreferences = z.infer<typeof notificationPreferencesSchema>;
export const DEFAULT_NOTIFICATION_PREFERENCES: NotificationPreferences = { onFailure: true, onSuccess: false };

const settingsFields = {
  /** Tier 2 interval for this wedding while it is active; never below 15 minutes. */
  backupFrequencyMinutes: z
    .number({ error: 'must be a whole number of minutes' })
    .int('must be a whole number of minutes')
    .min(MIN_BACKUP_FREQUENCY_MINUTES, `must be at least ${MIN_BACKUP_FREQUENCY_MINUTES} minutes`)
    .max(MAX_BACKUP_FREQUENCY_MINUTES, `must be at most ${MAX_BACKUP_FREQUENCY_MINUTES} minutes (one day)`),
  retentionPolicy: retentionPolicySchema,
  /** Explicit high-priority period; null = the default (7 days before to 1 day after the wedding). */
  highPriorityStart: isoInstant.nullable(),
  highPriorityEnd: isoInstant.nullable(),
  offsiteBackupRequired: z.boolean(),
  realtimeEnabled: z.boolean(),
  notificationPreferences: notificationPreferencesSchema,
};

function endAfterStart(s: { highPriorityStart?: string | null; highPriorityEnd?: string | null }, ctx: z.RefinementCtx): void {
  if (s.highPriorityStart && s.highPriorityEnd && Date.parse(s.highPriorityEnd) <= Date.parse(s.highPriorityStart)) {
    ctx.addIssue({ code: 'custom', path: ['highPriorityEnd'], message: 'must be after highPriorityStart' });
  }
}

/** A wedding's backup settings, as stored (camelCase of the table's columns). */
export const weddingBackupSettingsSchema = z.object(settingsFields).strict().superRefine(endAfterStart);
export type WeddingBackupSettings = z.infer<typeof weddingBackupSettingsSchema>;

/** The table's defaults (migration 002), for weddings without a settings row. */
export const DEFAULT_WEDDING_BACKUP_SETTINGS: WeddingBackupSettings = {
  backupFrequencyMinutes: 60,
  retentionPolicy: 'standard',
  highPriorityStart: null,
  highPriorityEnd: null,
  offsiteBackupRequired: true,
  realtimeEnabled: true,
  notificationPreferences: DEFAULT_NOTIFICATION_PREFERENCES,
};

/** PUT body: any subset; merged over the current settings, then the whole is checked again. */
export const weddingBackupSettingsPatchSchema = z
  .object({
    backupFrequencyMinutes: settingsFields.backupFrequencyMinutes.optional(),
    retentionPolicy: retentionPolicySchema.optional(),
    highPriorityStart: isoInstant.nullable().optional(),
    highPriorityEnd: isoInstant.nullable().optional(),
    offsiteBackupRequired: z.boolean().optional(),
    realtimeEnabled: z.boolean().optional(),
    notificationPreferences: notificationPreferencesSchema.optional(),
  })
  .strict()
  .superRefine(endAfterStart);
export type WeddingBackupSettingsPatch = z.infer<typeof weddingBackupSettingsPatchSchema>;

export const WeddingIdParamsSchema = z.object({ weddingId: z.uuid({ error: 'must be a UUID' }) }).strict();
export const JobIdParamsSchema = z.object({ jobId: z.uuid({ error: 'must be a UUID' }) }).strict();

export const WeddingSettingsResponseSchema = z.object({
  weddingId: z.string(),
  /** False when the wedding has no settings row and the defaults apply. */
  stored: z.boolean(),
  settings: z.object(settingsFields),
});
export type WeddingSettingsResponse = z.infer<typeof WeddingSettingsResponseSchema>;

// ---------------------------------------------------------------- criticality

/** From days to the wedding: today, ≤ 7 days, ≤ 30 days, later, past. */
export const CRITICALITY_LEVELS = ['wedding-day', 'this-week', 'this-month', 'later', 'past'] as const;
export const criticalityLevelSchema = z.enum(CRITICALITY_LEVELS);
export type CriticalityLevel = z.infer<typeof criticalityLevelSchema>;

export const criticalitySchema = z.object({
  weddingId: z.string(),
  weddingDate: z.string(),
  /** Whole days from today (in the agent's time zone) to the wedding; negative once it is past. */
  daysToWedding: z.number().int(),
  level: criticalityLevelSchema,
  /** 1..10, higher first (see the top of this file). */
  priority: z.number().int().min(1).max(10),
  /** Tier 2 runs for this wedding (within 30 days, or inside its high-priority period; never when cancelled). */
  active: z.boolean(),
  /** Tier 2 interval, or null when only the daily full covers the wedding. */
  frequencyMinutes: z.number().int().nullable(),
  /** The recovery point objective the schedule promises: the tier 2 interval, else one day. */
  targetRpoMinutes: z.number().int(),
  retentionPolicy: retentionPolicySchema,
  /** How long the wedding's final state (its last snapshot of the high-priority period) is kept after the wedding; null = forever. */
  archiveRetentionDays: z.number().int().nullable(),
  /** A copy off-site is required (≤ 30 days to the wedding, unless the settings say otherwise). */
  offsiteRequired: z.boolean(),
  /** Tier 1 (change stream) is on: inside the high-priority period and realtime enabled. */
  realtime: z.boolean(),
  highPriority: z.object({
    start: z.string(),
    end: z.string(),
    active: z.boolean(),
    source: z.enum(['settings', 'default']),
  }),
  /** One line: why this level, frequency and priority. */
  reason: z.string(),
});
export type Criticality = z.infer<typeof criticalitySchema>;

// ---------------------------------------------------------------- plan

export const TIER_NAMES = { 1: 'real-time', 2: 'incremental', 3: 'full', 4: 'off-site' } as const;
export const plannedBackupTypeSchema = z.enum(['realtime', 'incremental', 'full', 'offsite']);
export type PlannedBackupType = z.infer<typeof plannedBackupTypeSchema>;

export const planEntrySchema = z.object({
  /** When the job is scheduled (tier 1: when its period starts, or now if it already has). */
  at: z.string(),
  /** Tier 1 only: when the high-priority period ends. */
  until: z.string().optional(),
  tier: z.number().int().min(1).max(4),
  backupType: plannedBackupTypeSchema,
  priority: z.number().int().min(1).max(10),
  /** Which runner lane takes it: urgent jobs never queue behind routine ones. */
  lane: z.enum(['urgent', 'routine']),
  /** The weddings it is for ([] = every wedding: fulls and off-site copies). */
  weddingIds: z.array(z.string()),
  /** Idempotency key in backup_jobs: one job per slot, whichever agent plans it. */
  slotKey: z.string(),
  reason: z.string(),
  /** Set when the entry will not become a job, and why (e.g. no off-site repository configured). */
  skipped: z.string().optional(),
});
export type PlanEntry = z.infer<typeof planEntrySchema>;

export const planResponseSchema = z.object({
  now: z.string(),
  until: z.string(),
  timeZone: z.string(),
  entries: z.array(planEntrySchema),
  weddings: z.array(criticalitySchema),
});
export type PlanResponse = z.infer<typeof planResponseSchema>;

// ---------------------------------------------------------------- status

export const statusSnapshotSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  type: z.string(),
  tier: z.number().nullable(),
  validationStatus: z.string(),
});

export const statusWeddingSchema = criticalitySchema.extend({
  coupleNames: z.string().nullable(),
  lastSnapshot: statusSnapshotSchema.nullable(),
  /** Minutes since the newest snapshot holding this wedding; null when there is none. */
  achievedRpoMinutes: z.number().nullable(),
  rpoMet: z.boolean(),
});
export type StatusWedding = z.infer<typeof statusWeddingSchema>;

export const statusTierSchema = z.object({
  tier: z.number().int().min(1).max(4),
  name: z.string(),
  lastSnapshot: statusSnapshotSchema.nullable(),
  /** Newest job of the tier that completed. */
  lastSuccessAt: z.string().nullable(),
  lastFailureAt: z.string().nullable(),
  /** Next slot of the tier from now (null when nothing is due in the next day). */
  nextRunAt: z.string().nullable(),
});

export const statusJobSchema = z.object({
  id: z.string(),
  backupType: z.string(),
  tier: z.number().nullable(),
  status: z.string(),
  priority: z.number(),
  attempts: z.number(),
  maxAttempts: z.number(),
  scheduledAt: z.string(),
  /** Pending retries: not before this time. */
  notBefore: z.string().nullable(),
  claimedBy: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  weddingIds: z.array(z.string()),
});
export type StatusJob = z.infer<typeof statusJobSchema>;

export const statusAgentSchema = z.object({
  agentId: z.string(),
  hostname: z.string(),
  pid: z.number(),
  startedAt: z.string(),
  lastSeenAt: z.string(),
  /** Not seen for longer than three heartbeats. */
  stale: z.boolean(),
});

export const statusResponseSchema = z.object({
  generatedAt: z.string(),
  timeZone: z.string(),
  /** True when every upcoming wedding meets its RPO and no job has failed in the last day. */
  healthy: z.boolean(),
  weddings: z.array(statusWeddingSchema),
  tiers: z.array(statusTierSchema),
  queue: z.object({ pending: z.number(), running: z.number(), failedLastDay: z.number(), retrying: z.number() }),
  failingJobs: z.array(statusJobSchema),
  agents: z.array(statusAgentSchema),
  warnings: z.array(z.string()),
});
export type StatusResponse = z.infer<typeof statusResponseSchema>;

export const StatusQuerySchema = z
  .object({
    /** Weddings up to this many days ahead (default 30). */
    days: z.coerce.number().int().min(0).max(366).default(30),
  })
  .strict();
export type StatusQuery = z.infer<typeof StatusQuerySchema>;

export const CancelJobResponseSchema = z.object({
  jobId: z.string(),
  outcome: z.enum(['cancelled', 'already-finished']),
});

export const PlanQuerySchema = z
  .object({
    /** Instant to plan from (default now): the same instant always gives the same plan. */
    now: isoInstant.optional(),
    hours: z.coerce.number().int().min(1).max(24 * 14).default(24),
  })
  .strict();
export type PlanQuery = z.infer<typeof PlanQuerySchema>;
