import { describe, expect, it } from 'vitest';
import { DEFAULT_WEDDING_BACKUP_SETTINGS, weddingBackupSettingsSchema, weddingBackupSettingsPatchSchema, type WeddingBackupSettings } from '../contract/scheduling.js';
import { archiveRetentionDays, assessDataCriticality, highPriorityWindow, laneFor, levelFor } from './criticality.js';
import { localDate, startOfLocalDay } from './schedule-time.js';

const NOW = new Date('2026-06-10T09:07:00Z');
const UTC = { timeZone: 'UTC' };
const settings = (over: Partial<WeddingBackupSettings> = {}): WeddingBackupSettings => ({ ...DEFAULT_WEDDING_BACKUP_SETTINGS, ...over });
const wedding = (id: string, weddingDate: string, extra: { type?: string; status?: string } = {}) => ({ id, weddingDate, ...extra });

describe('assessDataCriticality', () => {
  it('grades the level by whole days to the wedding in the agent time zone', () => {
    expect([0, 1, 7, 8, 30, 31, -1].map(levelFor)).toEqual(['wedding-day', 'this-week', 'this-week', 'this-month', 'this-month', 'later', 'past']);
    // 23:30 UTC on the 9th is already the 10th in Auckland (UTC+12): "today" there.
    const late = new Date('2026-06-09T23:30:00Z');
    expect(assessDataCriticality(wedding('a', '2026-06-10'), null, late, UTC).level).toBe('this-week');
    expect(assessDataCriticality(wedding('a', '2026-06-10'), null, late, { timeZone: 'Pacific/Auckland' }).level).toBe('wedding-day');
  });

  it('wedding day: priority 9, every 15 min at most, real-time and off-site on', () => {
    const c = assessDataCriticality(wedding('a', '2026-06-10'), settings({ backupFrequencyMinutes: 60 }), NOW, UTC);
    expect(c).toMatchObject({ level: 'wedding-day', daysToWedding: 0, priority: 9, active: true, frequencyMinutes: 15, targetRpoMinutes: 15, realtime: true, offsiteRequired: true });
    expect(c.highPriority).toEqual({ start: '2026-06-03T00:00:00.000Z', end: '2026-06-12T00:00:00.000Z', active: true, source: 'default' });
    expect(laneFor(c.priority)).toBe('urgent');
  });

  it('settings can only make tier 2 more frequent than the level allows', () => {
    const in20 = wedding('c', '2026-06-30');
    expect(assessDataCriticality(in20, settings({ backupFrequencyMinutes: 120 }), NOW, UTC).frequencyMinutes).toBe(60);
    expect(assessDataCriticality(in20, settings({ backupFrequencyMinutes: 20 }), NOW, UTC).frequencyMinutes).toBe(20);
    const in3 = wedding('b', '2026-06-13');
    const b = assessDataCriticality(in3, null, NOW, UTC);
    expect(b).toMatchObject({ level: 'this-week', priority: 8, frequencyMinutes: 30, realtime: true });
  });

  it('later and past weddings are covered by the daily full only', () => {
    const later = assessDataCriticality(wedding('d', '2026-09-08'), null, NOW, UTC);
    expect(later).toMatchObject({ level: 'later', daysToWedding: 90, priority: 4, active: false, frequencyMinutes: null, targetRpoMinutes: 1440, realtime: false, offsiteRequired: false });
    expect(laneFor(later.priority)).toBe('routine');
    const past = assessDataCriticality(wedding('e', '2026-06-03'), null, NOW, UTC);
    expect(past).toMatchObject({ level: 'past', daysToWedding: -7, priority: 2, active: false, frequencyMinutes: null, realtime: false });
  });

  it('the day after the wedding is still in the default high-priority period', () => {
    const c = assessDataCriticality(wedding('a', '2026-06-09'), null, NOW, UTC);
    expect(c).toMatchObject({ level: 'past', priority: 8, active: true, frequencyMinutes: 60, realtime: true, offsiteRequired: true });
  });

  it('cancelled weddings never run tier 1 or 2', () => {
    const c = assessDataCriticality(wedding('x', '2026-06-10', { status: 'cancelled' }), null, NOW, UTC);
    expect(c).toMatchObject({ level: 'wedding-day', priority: 2, active: false, realtime: false, offsiteRequired: false });
  });

  it('explicit high-priority periods win; a one-sided or inverted one falls back sensibly', () => {
    const w = wedding('a', '2026-07-01');
    const explicit = highPriorityWindow(w, settings({ highPriorityStart: '2026-06-10T00:00:00Z', highPriorityEnd: '2026-07-03T00:00:00Z' }), 'UTC');
    expect(explicit.source).toBe('settings');
    const c = assessDataCriticality(w, settings({ highPriorityStart: '2026-06-10T00:00:00Z', highPriorityEnd: '2026-07-03T00:00:00Z' }), NOW, UTC);
    expect(c).toMatchObject({ level: 'this-month', priority: 8, realtime: true, frequencyMinutes: 60 });
    const onlyStart = highPriorityWindow(w, settings({ highPriorityStart: '2026-06-20T00:00:00Z' }), 'UTC');
    expect(onlyStart.end.toISOString()).toBe('2026-07-03T00:00:00.000Z');
    const inverted = highPriorityWindow(w, settings({ highPriorityStart: '2026-08-01T00:00:00Z' }), 'UTC');
    expect(inverted.source).toBe('default');
    const noRealtime = assessDataCriticality(wedding('a', '2026-06-10'), settings({ realtimeEnabled: false, offsiteBackupRequired: false }), NOW, UTC);
    expect(noRealtime).toMatchObject({ realtime: false, offsiteRequired: false, active: true });
  });

  it('retention of the final state depends on policy and wedding type', () => {
    expect(archiveRetentionDays('minimal', 'luxury')).toBe(30);
    expect(archiveRetentionDays('standard', 'standard')).toBe(365);
    expect(archiveRetentionDays('standard', 'destination')).toBe(730);
    expect(archiveRetentionDays('extended', 'elopement')).toBe(1095);
    expect(archiveRetentionDays('extended', 'multi_day')).toBe(1825);
    expect(archiveRetentionDays('permanent', 'standard')).toBeNull();
  });

  it('local midnights follow DST', () => {
    expect(startOfLocalDay('2026-03-29', 'Europe/London').toISOString()).toBe('2026-03-29T00:00:00.000Z');
    expect(startOfLocalDay('2026-03-30', 'Europe/London').toISOString()).toBe('2026-03-29T23:00:00.000Z');
    expect(localDate(new Date('2026-03-29T23:30:00Z'), 'Europe/London')).toBe('2026-03-30');
  });
});

describe('wedding_backup_settings validation', () => {
  it('refuses a frequency under 15 minutes, naming the field', () => {
    const r = weddingBackupSettingsSchema.safeParse(settings({ backupFrequencyMinutes: 10 }));
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['backupFrequencyMinutes'], message: 'must be at least 15 minutes' });
  });

  it('refuses an end before the start, naming the end', () => {
    const r = weddingBackupSettingsPatchSchema.safeParse({ highPriorityStart: '2026-06-10T00:00:00Z', highPriorityEnd: '2026-06-09T00:00:00Z' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['highPriorityEnd'], message: 'must be after highPriorityStart' });
  });

  it('refuses webhook URLs that are not http(s) and unknown fields', () => {
    expect(weddingBackupSettingsPatchSchema.safeParse({ notificationPreferences: { webhookUrl: 'file:///etc/passwd' } }).success).toBe(false);
    expect(weddingBackupSettingsPatchSchema.safeParse({ notificationPreferences: { command: 'rm -rf /' } }).success).toBe(false);
    expect(weddingBackupSettingsPatchSchema.safeParse({ retentionPolicy: 'forever' }).success).toBe(false);
    expect(weddingBackupSettingsPatchSchema.parse({ notificationPreferences: { webhookUrl: 'https://hooks.example/x' } }).notificationPreferences).toEqual({
      onFailure: true,
      onSuccess: false,
      webhookUrl: 'https://hooks.example/x',
    });
  });
});
