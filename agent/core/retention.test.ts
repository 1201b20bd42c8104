import { describe, expect, it } from 'vitest';
import { DEFAULT_WEDDING_BACKUP_SETTINGS, type RetentionPolicy } from '../contract/scheduling.js';
import { decideRetention, type RetentionSnapshot, type RetentionWedding } from './retention.js';
import { DAY_MS, HOUR_MS } from './schedule-time.js';

const NOW = new Date('2027-06-10T12:00:00Z');
const YEAR_AGO = new Date('2026-06-10T00:00:00Z');

const W_STANDARD = 'aaaaaaaa-0000-4000-8000-000000000001'; // wedding 2026-12-01, standard: final state kept until 2027-12-01
const W_MINIMAL = 'aaaaaaaa-0000-4000-8000-000000000002'; // wedding 2026-09-01, minimal: final state expired 2026-10-01
const W_PERMANENT = 'aaaaaaaa-0000-4000-8000-000000000003'; // wedding 2026-08-01, permanent
const W_DELETED = 'aaaaaaaa-0000-4000-8000-000000000004'; // removed from the database on 2026-10-01
const W_EMERGENCY = 'aaaaaaaa-0000-4000-8000-000000000005';

const weddingRow = (id: string, weddingDate: string, retentionPolicy: RetentionPolicy): RetentionWedding => ({
  wedding: { id, weddingDate, type: 'standard' },
  settings: { ...DEFAULT_WEDDING_BACKUP_SETTINGS, retentionPolicy },
});
const WEDDINGS = [
  weddingRow(W_STANDARD, '2026-12-01', 'standard'),
  weddingRow(W_MINIMAL, '2026-09-01', 'minimal'),
  weddingRow(W_PERMANENT, '2026-08-01', 'permanent'),
  weddingRow(W_EMERGENCY, '2027-09-01', 'standard'),
];

/** A year of snapshots: a tier 3 full every day at 02:00, a tier 2 incremental every 6 hours. */
function aYearOfSnapshots(): RetentionSnapshot[] {
  const out: RetentionSnapshot[] = [];
  for (let day = 0; day < 365; day++) {
    const midnight = YEAR_AGO.getTime() + day * DAY_MS;
    const weddingsThen = (t: number) => [W_STANDARD, W_MINIMAL, W_PERMANENT, W_EMERGENCY, ...(t < Date.parse('2026-10-01T00:00:00Z') ? [W_DELETED] : [])];
    const full = midnight + 2 * HOUR_MS;
    out.push({
      id: `full-${String(day).padStart(3, '0')}`,
      type: 'full',
      tier: 3,
      createdAt: new Date(full),
      weddingIds: weddingsThen(full),
      // Validation runs weekly; one full was found corrupted.
      validationStatus: day === 100 ? 'corrupted' : day % 7 === 0 ? 'valid' : 'pending',
      retentionUntil: new Date(full + 30 * DAY_MS),
    });
    for (const h of [6, 12, 18]) {
      const t = midnight + h * HOUR_MS;
      out.push({ id: `inc-${String(day).padStart(3, '0')}-${h}`, type: 'incremental', tier: 2, createdAt: new Date(t), weddingIds: weddingsThen(t), validationStatus: 'pending', retentionUntil: new Date(t + 30 * DAY_MS) });
    }
  }
  return out;
}

describe('decideRetention over a simulated year', () => {
  const snapshots = aYearOfSnapshots();
  const extra: RetentionSnapshot[] = [
    // Recovery points: one whose undo happened 10 days ago (kept), one left alone for 45 days (forgotten).
    { id: 'rp-used', type: 'recovery-point', tier: null, createdAt: new Date(NOW.getTime() - 60 * DAY_MS), weddingIds: [W_STANDARD], validationStatus: 'pending', retentionUntil: null, operationAt: new Date(NOW.getTime() - 10 * DAY_MS) },
    { id: 'rp-old', type: 'recovery-point', tier: null, createdAt: new Date(NOW.getTime() - 45 * DAY_MS), weddingIds: [W_STANDARD], validationStatus: 'pending', retentionUntil: null, operationAt: null },
    // Emergency backups: the recent one lives by time, the old one by nothing.
    { id: 'em-recent', type: 'emergency', tier: null, createdAt: new Date(NOW.getTime() - 5 * DAY_MS), weddingIds: [W_EMERGENCY], validationStatus: 'pending', retentionUntil: null },
    { id: 'em-old', type: 'emergency', tier: null, createdAt: new Date(NOW.getTime() - 90 * DAY_MS), weddingIds: [W_EMERGENCY], validationStatus: 'pending', retentionUntil: null },
    // Pinned by an admin for two years.
    { id: 'pinned', type: 'full', tier: 3, createdAt: new Date('2026-07-04T02:30:00Z'), weddingIds: [W_STANDARD], validationStatus: 'valid', retentionUntil: new Date('2028-07-04T00:00:00Z') },
    // A tier 4 full (taken for off-site): a year in the primary repository too.
    { id: 'tier4', type: 'full', tier: 4, createdAt: new Date(NOW.getTime() - 200 * DAY_MS), weddingIds: [W_STANDARD], validationStatus: 'pending', retentionUntil: null },
  ];
  const decisions = decideRetention({ now: NOW, target: 'primary', snapshots: [...snapshots, ...extra], weddings: WEDDINGS, timeZone: 'UTC' });
  const kept = new Set(decisions.filter((d) => d.keep).map((d) => d.snapshotId));
  const reasonOf = (id: string) => decisions.find((d) => d.snapshotId === id)!.reasons.join(' | ');

  it('keeps exactly the last 30 days of tiers 2 and 3, plus what a rule pins', () => {
    const cutoff = NOW.getTime() - 30 * DAY_MS;
    const recent = snapshots.filter((s) => s.createdAt.getTime() > cutoff).map((s) => s.id);
    // 2027-05-11T12:00 is the cutoff: that day's 18:00 incremental, then 29 whole days of 4.
    expect(recent.length).toBe(1 + 29 * 4);
    for (const id of recent) expect(kept.has(id)).toBe(true);
    const older = [...kept].filter((id) => !recent.includes(id)).sort();
    expect(older).toEqual([
      'em-recent',
      'full-112', // last valid snapshot holding the deleted wedding (2026-09-30)
      'inc-053-18', // final state of the permanent wedding (2026-08-01)
      'inc-112-18', // newest snapshot holding the deleted wedding
      'inc-175-18', // final state of the standard wedding (2026-12-01)
      'pinned',
      'rp-used',
      'tier4',
    ]);
    expect(decisions.filter((d) => !d.keep)).toHaveLength(snapshots.length + extra.length - kept.size);
  });

  it('keeps the final state of a wedding per its retention policy', () => {
    // Standard wedding on 2026-12-01: its high-priority period ends 2026-12-03T00:00; the last snapshot before is 12-02 18:00 (day 175).
    expect(reasonOf('inc-175-18')).toMatch(/final state of wedding .* \(standard policy: until 2027-12-01/);
    expect(decisions.find((d) => d.snapshotId === 'inc-175-18')!.keepUntil).toBe('2027-12-01T00:00:00.000Z');
    // Permanent wedding on 2026-08-01: last snapshot before 2026-08-03 is 08-02 18:00 (day 53), kept forever.
    expect(reasonOf('inc-053-18')).toMatch(/final state .* kept forever/);
    expect(decisions.find((d) => d.snapshotId === 'inc-053-18')!.keepUntil).toBeNull();
    // Minimal wedding on 2026-09-01: its 30 days ran out in October.
    expect(decisions.some((d) => d.reasons.some((r) => r.includes(W_MINIMAL) && r.includes('final state')))).toBe(false);
  });

  it('never forgets the last valid snapshot of a wedding, even one no longer in the database', () => {
    // W_DELETED is in snapshots until 2026-09-30: newest valid = day 112 full (2026-09-30 is day 112, 112 % 7 == 0).
    expect(reasonOf('full-112')).toMatch(/last valid snapshot of wedding/);
    expect(reasonOf('inc-112-18')).toMatch(/newest snapshot of wedding .*not yet validated/);
  });

  it('recovery points live while their operation is within 30 days; emergencies 30 days; pins until their date', () => {
    expect(kept.has('rp-used')).toBe(true);
    expect(kept.has('rp-old')).toBe(false);
    expect(kept.has('em-recent')).toBe(true);
    expect(kept.has('em-old')).toBe(false);
    expect(reasonOf('pinned')).toMatch(/retention_until 2028-07-04/);
    expect(reasonOf('tier4')).toMatch(/tier 4 full: kept 1 year/);
  });

  it('never keeps a corrupted snapshot as anyone’s last copy', () => {
    expect(kept.has('full-100')).toBe(false);
  });
});

describe('decideRetention edge cases', () => {
  it('keeps the newest valid snapshot of every wedding when backups stopped long ago', () => {
    const old = (id: string, daysAgo: number, status: RetentionSnapshot['validationStatus']): RetentionSnapshot => ({
      id,
      type: 'full',
      tier: 3,
      createdAt: new Date(NOW.getTime() - daysAgo * DAY_MS),
      weddingIds: [W_STANDARD],
      validationStatus: status,
      retentionUntil: null,
    });
    const d = decideRetention({ now: NOW, target: 'primary', snapshots: [old('a', 90, 'valid'), old('b', 80, 'valid'), old('c', 70, 'corrupted'), old('d', 60, 'pending')], weddings: [], timeZone: 'UTC' });
    expect(d.filter((x) => x.keep).map((x) => x.snapshotId).sort()).toEqual(['b', 'd']);
  });

  it('keeps off-site copies a year, and the newest always', () => {
    const copy = (id: string, daysAgo: number): RetentionSnapshot => ({
      id,
      type: 'full',
      tier: 4,
      createdAt: new Date(NOW.getTime() - daysAgo * DAY_MS),
      weddingIds: [W_STANDARD],
      validationStatus: 'pending',
      retentionUntil: null,
    });
    const d = decideRetention({ now: NOW, target: 'offsite', snapshots: [copy('y1', 400), copy('y2', 370), copy('m', 300)], weddings: [], timeZone: 'UTC' });
    expect(d.filter((x) => x.keep).map((x) => x.snapshotId)).toEqual(['m']);
    const alone = decideRetention({ now: NOW, target: 'offsite', snapshots: [copy('y1', 400), copy('y2', 370)], weddings: [], timeZone: 'UTC' });
    expect(alone.filter((x) => x.keep).map((x) => x.snapshotId)).toEqual(['y2']);
  });

  it('a wedding only held in a partial snapshot keeps its newest one', () => {
    const d = decideRetention({
      now: NOW,
      target: 'primary',
      snapshots: [{ id: 'em', type: 'emergency', tier: null, createdAt: new Date(NOW.getTime() - 100 * DAY_MS), weddingIds: [W_EMERGENCY], validationStatus: 'pending', retentionUntil: null }],
      weddings: [],
      timeZone: 'UTC',
    });
    expect(d[0]).toMatchObject({ keep: true, reasons: [expect.stringMatching(/only copy of wedding/)] });
  });
});
