import type { WeddingBackupSettings } from '../contract/scheduling.js';
import { archiveRetentionDays, highPriorityWindow, type WeddingInput } from './criticality.js';
import { DAY_MS, startOfLocalDay } from './schedule-time.js';

/**
 * Which snapshots a repository keeps, as a pure function of the catalog rows and an instant.
 * A snapshot is kept while ANY rule below wants it; prune forgets the rest.
 *
 * Primary repository:
 *   tier 2 / incremental                    30 days from creation
 *   tier 3 / full                           30 days
 *   tier 4 (a full taken for off-site)      1 year
 *   emergency                               30 days
 *   recovery point                          while the newest recovery operation that took or
 *                                           restored it is within 30 days (else 30 days from creation)
 *   backup_snapshots.retention_until        until then, when later than the rule above (an
 *                                           admin may pin a snapshot this way)
 * Off-site repository: every copy 1 year from the snapshot's creation.
 * Both, per wedding:
 *   final state       the newest complete snapshot taken before the wedding's high-priority period
 *                     ended, kept for its archive retention (criticality.ts: minimal 30 days …
 *                     permanent forever), counted from the wedding date
 *   last valid        the newest complete snapshot holding the wedding whose validation_status
 *                     is 'valid', and the newest one not known to be bad (pending): never
 *                     forgotten, whatever its age — the last copy of a wedding is never lost.
 *                     A wedding only ever held in partial snapshots (emergency, recovery point)
 *                     keeps its newest partial one the same way.
 * Snapshots marked corrupted or incomplete only live by the time rules: they are no one's last copy.
 */

export type RetentionTarget = 'primary' | 'offsite';

export interface RetentionSnapshot {
  id: string;
  type: 'full' | 'incremental' | 'emergency' | 'recovery-point' | 'point-in-time';
  tier: number | null;
  createdAt: Date;
  weddingIds: readonly string[];
  validationStatus: 'pending' | 'valid' | 'corrupted' | 'incomplete';
  retentionUntil: Date | null;
  /** Recovery points: when the newest recovery operation referring to it was created. */
  operationAt?: Date | null;
}

export interface RetentionWedding {
  wedding: WeddingInput;
  settings: WeddingBackupSettings | null;
}

export interface RetentionInput {
  now: Date;
  target: RetentionTarget;
  snapshots: readonly RetentionSnapshot[];
  /** Weddings still in the database (for final-state archives). Others still get "last valid". */
  weddings: readonly RetentionWedding[];
  timeZone: string;
}

export interface RetentionDecision {
  snapshotId: string;
  keep: boolean;
  /** Why it is kept (empty when forgotten), e.g. "tier 3 full: kept 30 days, until …". */
  reasons: string[];
  /** The latest instant a time rule keeps it; null when kept forever. Absent rule → createdAt. */
  keepUntil: string | null;
}

export const RETENTION_DAYS = {
  incremental: 30,
  full: 30,
  offsiteTier: 365,
  emergency: 30,
  recoveryOperation: 30,
  offsiteCopy: 365,
} as const;

function isComplete(s: RetentionSnapshot): boolean {
  return s.type === 'full' || s.type === 'incremental';
}

function usable(s: RetentionSnapshot): boolean {
  return s.validationStatus === 'valid' || s.validationStatus === 'pending';
}

function baseRule(s: RetentionSnapshot, target: RetentionTarget): { until: number; why: string } {
  const created = s.createdAt.getTime();
  if (target === 'offsite') return { until: created + RETENTION_DAYS.offsiteCopy * DAY_MS, why: 'off-site copy: kept 1 year' };
  if (s.type === 'recovery-point') {
    const from = s.operationAt && s.operationAt.getTime() > created ? s.operationAt.getTime() : created;
    return { until: from + RETENTION_DAYS.recoveryOperation * DAY_MS, why: 'recovery point: kept while its operation is within 30 days' };
  }
  if (s.tier === 4) return { until: created + RETENTION_DAYS.offsiteTier * DAY_MS, why: 'tier 4 full: kept 1 year' };
  if (s.type === 'emergency') return { until: created + RETENTION_DAYS.emergency * DAY_MS, why: 'emergency: kept 30 days' };
  if (s.type === 'point-in-time') return { until: created + RETENTION_DAYS.emergency * DAY_MS, why: 'point in time: kept 30 days' };
  if (s.tier === 2 || s.type === 'incremental') return { until: created + RETENTION_DAYS.incremental * DAY_MS, why: 'tier 2 incremental: kept 30 days' };
  return { until: created + RETENTION_DAYS.full * DAY_MS, why: `${s.tier === 3 ? 'tier 3 ' : ''}full: kept 30 days` };
}

export function decideRetention(input: RetentionInput): RetentionDecision[] {
  const now = input.now.getTime();
  const byNewest = [...input.snapshots].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
  const reasons = new Map<string, string[]>();
  const keepUntil = new Map<string, number>();
  const add = (id: string, why: string) => reasons.get(id)!.push(why);

  for (const s of byNewest) {
    reasons.set(s.id, []);
    const base = baseRule(s, input.target);
    let until = base.until;
    let why = base.why;
    if (s.retentionUntil && s.retentionUntil.getTime() > until) {
      until = s.retentionUntil.getTime();
      why = `retention_until ${s.retentionUntil.toISOString()}`;
    }
    keepUntil.set(s.id, until);
    if (until > now) add(s.id, `${why} (until ${new Date(until).toISOString()})`);
  }

  // Final state of each wedding past its high-priority period.
  const archive = new Map<string, { hpEnd: number; until: number | null; label: string }>();
  for (const { wedding, settings } of input.weddings) {
    const hp = highPriorityWindow(wedding, settings, input.timeZone);
    if (hp.end.getTime() > now) continue;
    const days = archiveRetentionDays(settings?.retentionPolicy ?? 'standard', wedding.type);
    const until = days === null ? null : startOfLocalDay(wedding.weddingDate, input.timeZone).getTime() + days * DAY_MS;
    if (until !== null && until <= now) continue;
    archive.set(wedding.id, { hpEnd: hp.end.getTime(), until, label: `${settings?.retentionPolicy ?? 'standard'}` });
  }

  // One pass, newest first: the first snapshot met for a wedding is its newest.
  const lastValid = new Set<string>();
  const lastUsable = new Set<string>();
  const lastPartial = new Set<string>();
  const archived = new Set<string>();
  const heldComplete = new Set<string>();
  for (const s of byNewest) if (isComplete(s)) for (const w of s.weddingIds) heldComplete.add(w);
  for (const s of byNewest) {
    if (!usable(s)) continue;
    const complete = isComplete(s);
    for (const w of s.weddingIds) {
      if (complete) {
        if (s.validationStatus === 'valid' && !lastValid.has(w)) {
          lastValid.add(w);
          add(s.id, `last valid snapshot of wedding ${w}`);
        }
        if (!lastUsable.has(w)) {
          lastUsable.add(w);
          if (s.validationStatus !== 'valid') add(s.id, `newest snapshot of wedding ${w} (not yet validated)`);
        }
        const a = archive.get(w);
        if (a && !archived.has(w) && s.createdAt.getTime() < a.hpEnd) {
          archived.add(w);
          add(s.id, `final state of wedding ${w} (${a.label} policy: ${a.until === null ? 'kept forever' : `until ${new Date(a.until).toISOString()}`})`);
          const current = keepUntil.get(s.id)!;
          keepUntil.set(s.id, a.until === null ? Infinity : Math.max(current, a.until));
        }
      } else if (!heldComplete.has(w) && !lastPartial.has(w)) {
        lastPartial.add(w);
        add(s.id, `only copy of wedding ${w} (partial snapshot)`);
      }
    }
  }

  return byNewest.map((s) => {
    const r = reasons.get(s.id)!;
    const until = keepUntil.get(s.id)!;
    // Dedupe "last valid of A, last valid of B, …" into one line when a full holds many weddings.
    const compact = compactReasons(r);
    return { snapshotId: s.id, keep: r.length > 0, reasons: compact, keepUntil: until === Infinity ? null : new Date(until).toISOString() };
  });
}

function compactReasons(reasons: string[]): string[] {
  const groups = new Map<string, number>();
  const out: string[] = [];
  for (const r of reasons) {
    const m = /^(last valid snapshot|newest snapshot|final state|only copy) of wedding [0-9a-f-]+/.exec(r);
    if (!m) {
      out.push(r);
      continue;
    }
    groups.set(m[1]!, (groups.get(m[1]!) ?? 0) + 1);
    if (groups.get(m[1]!) === 1) out.push(r);
  }
  return out.map((r) => {
    const m = /^(last valid snapshot|newest snapshot|final state|only copy) of wedding/.exec(r);
    const n = m ? groups.get(m[1]!) ?? 1 : 1;
    return n > 1 ? `${r} (and ${n - 1} more wedding${n === 2 ? '' : 's'})` : r;
  });
}
