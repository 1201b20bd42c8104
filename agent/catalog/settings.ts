import type pg from 'pg';
import { WedsyncError } from '../contract/errors.js';
import {
  DEFAULT_NOTIFICATION_PREFERENCES,
  DEFAULT_WEDDING_BACKUP_SETTINGS,
  notificationPreferencesSchema,
  weddingBackupSettingsSchema,
  type NotificationPreferences,
  type WeddingBackupSettings,
  type WeddingBackupSettingsPatch,
} from '../contract/scheduling.js';
import type { SchemaMap } from '../contract/schema-map.js';
import { parseOrThrow } from '../contract/validation.js';
import type { WeddingInput } from '../core/criticality.js';
import type { SchedulingWedding } from '../core/schedule.js';
import { quoteIdent, quoteQualified } from '../source/introspect.js';

/**
 * wedding_backup_settings, and the wedding facts scheduling needs (date, type, status, names),
 * read through the schema map so a deployment's own weddings table works too: the id and date
 * columns come from the map; `type`, `status` and `couple_names` are used when the table has them.
 *
 * Settings written here are validated with the contract schema first (frequency ≥ 15 minutes,
 * end after start…): a bad value is BAD_INPUT naming the field, and nothing is written.
 */
export type Db = pg.Pool | pg.ClientBase;

interface SettingsRow {
  backup_frequency_minutes: number;
  retention_policy: WeddingBackupSettings['retentionPolicy'];
  high_priority_start: Date | null;
  high_priority_end: Date | null;
  offsite_backup_required: boolean;
  realtime_enabled: boolean;
  notification_preferences: unknown;
}

const SETTINGS_COLUMNS = `s.backup_frequency_minutes, s.retention_policy, s.high_priority_start, s.high_priority_end,
  s.offsite_backup_required, s.realtime_enabled, s.notification_preferences`;

/** Lenient on notification_preferences (free jsonb in the table): a bad value means the defaults. */
export function notificationPreferencesOf(value: unknown): NotificationPreferences {
  const parsed = notificationPreferencesSchema.safeParse(value ?? {});
  return parsed.success ? parsed.data : DEFAULT_NOTIFICATION_PREFERENCES;
}

function settingsFromRow(row: SettingsRow): WeddingBackupSettings {
  return {
    backupFrequencyMinutes: row.backup_frequency_minutes,
    retentionPolicy: row.retention_policy,
    highPriorityStart: row.high_priority_start ? row.high_priority_start.toISOString() : null,
    highPriorityEnd: row.high_priority_end ? row.high_priority_end.toISOString() : null,
    offsiteBackupRequired: row.offsite_backup_required,
    realtimeEnabled: row.realtime_enabled,
    notificationPreferences: notificationPreferencesOf(row.notification_preferences),
  };
}

const optionalColumnsCache = new WeakMap<object, Map<string, Set<string>>>();

/** Which of type/status/couple_names the weddings table has (cached per connection). */
async function weddingColumns(db: Db, map: SchemaMap): Promise<Set<string>> {
  let perDb = optionalColumnsCache.get(db);
  if (!perDb) optionalColumnsCache.set(db, (perDb = new Map()));
  const cached = perDb.get(map.weddings.table);
  if (cached) return cached;
  const [schema, table] = map.weddings.table.split('.');
  const { rows } = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = ANY($3)`,
    [schema, table, ['type', 'status', 'couple_names']],
  );
  const found = new Set(rows.map((r) => r.column_name));
  perDb.set(map.weddings.table, found);
  return found;
}

async function weddingSelect(db: Db, map: SchemaMap): Promise<string> {
  const w = map.weddings;
  const cols = await weddingColumns(db, map);
  const opt = (name: string, alias: string) => (cols.has(name) ? `w.${quoteIdent(name)}::text AS "${alias}"` : `NULL::text AS "${alias}"`);
  return `SELECT w.${quoteIdent(w.idColumn)}::text AS id, w.${quoteIdent(w.dateColumn)}::text AS "weddingDate", ${opt('type', 'type')}, ${opt('status', 'status')},
                 ${opt('couple_names', 'coupleNames')}, (s.wedding_id IS NOT NULL) AS stored, ${SETTINGS_COLUMNS}
            FROM ${quoteQualified(w.table)} w LEFT JOIN wedding_backup_settings s ON s.wedding_id = w.${quoteIdent(w.idColumn)}`;
}

type JoinedRow = WeddingInput & { stored: boolean } & SettingsRow;

function toScheduling(row: JoinedRow): SchedulingWedding {
  return {
    wedding: { id: row.id, weddingDate: row.weddingDate.slice(0, 10), type: row.type ?? null, status: row.status ?? null, coupleNames: row.coupleNames ?? null },
    settings: row.stored ? settingsFromRow(row) : null,
  };
}

/**
 * The weddings the scheduler may need for [from, to): dated from 8 days before `from` to 31 days
 * after `to` (covers the default high-priority period and the 30-day active window), plus any
 * whose explicit high-priority period overlaps the window. Ordered by date.
 */
export async function loadSchedulingWeddings(db: Db, map: SchemaMap, window: { from: Date; to: Date }): Promise<SchedulingWedding[]> {
  const w = map.weddings;
  const date = `w.${quoteIdent(w.dateColumn)}`;
  const { rows } = await db.query<JoinedRow>(
    `${await weddingSelect(db, map)}
      WHERE (${date} BETWEEN ($1::timestamptz - interval '8 days')::date AND ($2::timestamptz + interval '31 days')::date)
         OR (s.high_priority_end > $1 AND s.high_priority_start < $2)
      ORDER BY ${date}, 1`,
    [window.from, window.to],
  );
  return rows.map(toScheduling);
}

/** Every wedding with its settings (retention needs the final state of past weddings). */
export async function loadAllWeddings(db: Db, map: SchemaMap): Promise<SchedulingWedding[]> {
  const { rows } = await db.query<JoinedRow>(`${await weddingSelect(db, map)} ORDER BY 2, 1`);
  return rows.map(toScheduling);
}

/** Notification preferences of these weddings (defaults for those without a settings row). */
export async function loadNotificationPreferences(db: Db, weddingIds: readonly string[]): Promise<Map<string, NotificationPreferences>> {
  const out = new Map<string, NotificationPreferences>(weddingIds.map((id) => [id, DEFAULT_NOTIFICATION_PREFERENCES]));
  if (weddingIds.length === 0) return out;
  const { rows } = await db.query<{ id: string; prefs: unknown }>(
    `SELECT wedding_id::text AS id, notification_preferences AS prefs FROM wedding_backup_settings WHERE wedding_id = ANY($1::uuid[])`,
    [weddingIds],
  );
  for (const r of rows) out.set(r.id, notificationPreferencesOf(r.prefs));
  return out;
}

async function assertWedding(db: Db, map: SchemaMap, weddingId: string): Promise<void> {
  const w = map.weddings;
  const { rows } = await db.query(`SELECT 1 FROM ${quoteQualified(w.table)} WHERE ${quoteIdent(w.idColumn)} = $1`, [weddingId]);
  if (rows.length === 0) throw new WedsyncError('NOT_FOUND', `wedding ${weddingId} not found`, { details: { weddingId } });
}

/** A wedding's settings; `stored: false` with the defaults when it has no row. NOT_FOUND for an unknown wedding. */
export async function getWeddingSettings(db: Db, map: SchemaMap, weddingId: string): Promise<{ stored: boolean; settings: WeddingBackupSettings }> {
  await assertWedding(db, map, weddingId);
  const { rows } = await db.query<SettingsRow>(`SELECT ${SETTINGS_COLUMNS} FROM wedding_backup_settings s WHERE s.wedding_id = $1`, [weddingId]);
  return rows[0] ? { stored: true, settings: settingsFromRow(rows[0]) } : { stored: false, settings: DEFAULT_WEDDING_BACKUP_SETTINGS };
}

/**
 * Merges `patch` over the wedding's current settings (or the defaults), validates the result as a
 * whole (so an end that the patch leaves before an existing start is refused too) and upserts it.
 */
export async function updateWeddingSettings(
  db: Db,
  map: SchemaMap,
  weddingId: string,
  patch: WeddingBackupSettingsPatch,
  updatedBy: string | null = null,
): Promise<WeddingBackupSettings> {
  const current = await getWeddingSettings(db, map, weddingId);
  const merged = parseOrThrow(weddingBackupSettingsSchema, { ...current.settings, ...patch }, `settings of wedding ${weddingId}`);
  await db.query(
    `INSERT INTO wedding_backup_settings (wedding_id, backup_frequency_minutes, retention_policy, high_priority_start, high_priority_end,
                                          offsite_backup_required, realtime_enabled, notification_preferences, updated_at, updated_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), $9)
     ON CONFLICT (wedding_id) DO UPDATE SET backup_frequency_minutes = EXCLUDED.backup_frequency_minutes, retention_policy = EXCLUDED.retention_policy,
       high_priority_start = EXCLUDED.high_priority_start, high_priority_end = EXCLUDED.high_priority_end,
       offsite_backup_required = EXCLUDED.offsite_backup_required, realtime_enabled = EXCLUDED.realtime_enabled,
       notification_preferences = EXCLUDED.notification_preferences, updated_at = now(), updated_by = EXCLUDED.updated_by`,
    [
      weddingId,
      merged.backupFrequencyMinutes,
      merged.retentionPolicy,
      merged.highPriorityStart,
      merged.highPriorityEnd,
      merged.offsiteBackupRequired,
      merged.realtimeEnabled,
      JSON.stringify(merged.notificationPreferences),
      updatedBy,
    ],
  );
  return merged;
}
