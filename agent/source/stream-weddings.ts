import type pg from 'pg';
import type { WeddingBackupSettings } from '../contract/scheduling.js';
import type { SchemaMap } from '../contract/schema-map.js';
import { quoteIdent, quoteQualified } from './introspect.js';

/**
 * The weddings tier 1 may need, with their backup settings: those dated within `fromDate` ..
 * `toDate` (YYYY-MM-DD) or with an explicit high-priority period overlapping now. The caller
 * (jobs/stream.ts) decides with agent/core/criticality which of them are in their period.
 */
export interface StreamWeddingCandidate {
  id: string;
  weddingDate: string;
  type: string | null;
  status: string | null;
  coupleNames: string | null;
  venueName: string | null;
  organizationId: string | null;
  settings: WeddingBackupSettings | null;
}

export async function streamCandidates(client: pg.ClientBase, map: SchemaMap, fromDate: string, toDate: string): Promise<StreamWeddingCandidate[]> {
  const w = map.weddings;
  const t = quoteQualified(w.table);
  const id = quoteIdent(w.idColumn);
  const date = quoteIdent(w.dateColumn);
  // The sample schema's descriptive columns, when the weddings table has them.
  const { rows: cols } = await client.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
    [t],
  );
  const has = new Set(cols.map((c) => c.name));
  const opt = (c: string) => (has.has(c) ? `w.${quoteIdent(c)}::text` : 'NULL::text');
  const org = w.organizationColumn ? `w.${quoteIdent(w.organizationColumn)}::text` : 'NULL::text';
  const settings = await client.query<{ ok: boolean }>(`SELECT to_regclass('wedding_backup_settings') IS NOT NULL AS ok`);
  const withSettings = settings.rows[0]?.ok ?? false;
  const { rows } = await client.query<{
    id: string;
    date: string;
    type: string | null;
    status: string | null;
    couple: string | null;
    venue: string | null;
    org: string | null;
    s: Record<string, unknown> | null;
  }>(
    `SELECT w.${id}::text AS id, w.${date}::text AS date, ${opt('type')} AS type, ${opt('status')} AS status, ${opt('couple_names')} AS couple,
            ${opt('venue_name')} AS venue, ${org} AS org,
            ${withSettings ? 'to_jsonb(s)' : 'NULL::jsonb'} AS s
       FROM ${t} w
       ${withSettings ? `LEFT JOIN wedding_backup_settings s ON s.wedding_id = w.${id}` : ''}
      WHERE w.${date} BETWEEN $1::date AND $2::date
         ${withSettings ? `OR (s.high_priority_start <= now() AND s.high_priority_end > now())` : ''}
      ORDER BY w.${date}, w.${id}`,
    [fromDate, toDate],
  );
  return rows.map((r) => ({
    id: r.id,
    weddingDate: r.date,
    type: r.type,
    status: r.status,
    coupleNames: r.couple,
    venueName: r.venue,
    organizationId: r.org,
    settings: r.s
      ? {
          backupFrequencyMinutes: Number(r.s.backup_frequency_minutes ?? 60),
          retentionPolicy: (r.s.retention_policy ?? 'standard') as WeddingBackupSettings['retentionPolicy'],
          highPriorityStart: r.s.high_priority_start ? new Date(String(r.s.high_priority_start)).toISOString() : null,
          highPriorityEnd: r.s.high_priority_end ? new Date(String(r.s.high_priority_end)).toISOString() : null,
          offsiteBackupRequired: r.s.offsite_backup_required !== false,
          realtimeEnabled: r.s.realtime_enabled !== false,
          notificationPreferences: { onFailure: true, onSuccess: false },
        }
      : null,
  }));
}
