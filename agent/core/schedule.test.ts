import { describe, expect, it } from 'vitest';
import { DEFAULT_WEDDING_BACKUP_SETTINGS, type WeddingBackupSettings } from '../contract/scheduling.js';
import { cronSchedule } from '../jobs/scheduler-cron.js';
import { dueJobs, firstTier2Slot, nextRuns, planSchedule, tier2Slots, type ScheduleConfig, type SchedulingWedding } from './schedule.js';

const NOW = new Date('2026-06-10T09:07:00Z'); // a Wednesday
const A = '0000000a-0000-4000-8000-000000000000';
const B = '0000000b-0000-4000-8000-000000000000';
const C = '0000000c-0000-4000-8000-000000000000';
const D = '0000000d-0000-4000-8000-000000000000';
const E = '0000000e-0000-4000-8000-000000000000';

const s = (over: Partial<WeddingBackupSettings> = {}): WeddingBackupSettings => ({ ...DEFAULT_WEDDING_BACKUP_SETTINGS, ...over });

/** Today, in 3 days, in 20 days, in 90 days and last week. */
const WEDDINGS: SchedulingWedding[] = [
  { wedding: { id: A, weddingDate: '2026-06-10', coupleNames: 'Ada & Alan' }, settings: s({ backupFrequencyMinutes: 30 }) },
  { wedding: { id: B, weddingDate: '2026-06-13', coupleNames: 'Bea & Bo' }, settings: null },
  { wedding: { id: C, weddingDate: '2026-06-30', coupleNames: 'Cy & Cat' }, settings: s() },
  { wedding: { id: D, weddingDate: '2026-09-08', coupleNames: 'Di & Dan' }, settings: s() },
  { wedding: { id: E, weddingDate: '2026-06-03', coupleNames: 'Ed & Em' }, settings: s() },
];

function config(offsite = false, timeZone = 'UTC'): ScheduleConfig {
  return {
    timeZone,
    dailyFull: cronSchedule('0 2 * * *', timeZone),
    weeklyOffsite: cronSchedule('0 3 * * 0', timeZone),
    offsiteConfigured: offsite,
  };
}

describe('planSchedule', () => {
  const plan = planSchedule({ now: NOW, hours: 24, weddings: WEDDINGS, config: config() });

  it('grades the five weddings with exact levels, frequencies and priorities', () => {
    const byId = new Map(plan.weddings.map((w) => [w.weddingId, w]));
    const pick = (id: string) => {
      const w = byId.get(id)!;
      return [w.level, w.frequencyMinutes, w.priority, w.realtime, w.offsiteRequired];
    };
    expect(pick(A)).toEqual(['wedding-day', 15, 9, true, true]);
    expect(pick(B)).toEqual(['this-week', 30, 8, true, true]);
    expect(pick(C)).toEqual(['this-month', 60, 6, false, true]);
    expect(pick(D)).toEqual(['later', null, 4, false, false]);
    expect(pick(E)).toEqual(['past', null, 2, false, false]);
    expect(plan.weddings.map((w) => w.weddingId)).toEqual([A, B, C, D, E]);
  });

  it('lists tier 1 for the two weddings in their high-priority period, starting now', () => {
    const t1 = plan.entries.filter((e) => e.tier === 1);
    expect(t1.map((e) => [e.weddingIds[0], e.at, e.until, e.priority, e.lane])).toEqual([
      [A, NOW.toISOString(), '2026-06-12T00:00:00.000Z', 9, 'urgent'],
      [B, NOW.toISOString(), '2026-06-15T00:00:00.000Z', 8, 'urgent'],
    ]);
    expect(t1[0]!.slotKey).toBe(`t1:${A}:2026-06-03T00:00:00.000Z`);
  });

  it('plans tier 2 at each wedding frequency, weddings due together in one job', () => {
    const t2 = plan.entries.filter((e) => e.tier === 2);
    // Today: A every 15 min from 09:15 to 23:45 (59 slots); tomorrow (the day after, still high
    // priority) A and B every 30 min from 00:00 to 09:00 (19 slots).
    expect(t2).toHaveLength(59 + 19);
    const at = (iso: string) => t2.find((e) => e.at === iso)!;
    expect(t2[0]).toMatchObject({ at: '2026-06-10T09:15:00.000Z', weddingIds: [A], priority: 9, lane: 'urgent', slotKey: 't2:2026-06-10T09:15:00.000Z' });
    expect(at('2026-06-10T09:30:00.000Z').weddingIds).toEqual([A, B]);
    expect(at('2026-06-10T10:00:00.000Z')).toMatchObject({ weddingIds: [A, B, C], priority: 9 });
    expect(at('2026-06-11T00:30:00.000Z')).toMatchObject({ weddingIds: [A, B], priority: 8 });
    expect(at('2026-06-11T01:00:00.000Z').weddingIds).toEqual([A, B, C]);
    expect(t2.some((e) => e.weddingIds.includes(D) || e.weddingIds.includes(E))).toBe(false);
    expect(at('2026-06-10T10:00:00.000Z').reason).toContain('Ada & Alan (0000000a): wedding-day, every 15 min');
  });

  it('plans the daily full on its cron slot; off-site only weekly and skipped without a repository', () => {
    expect(plan.entries.filter((e) => e.tier === 3).map((e) => [e.at, e.priority, e.lane])).toEqual([['2026-06-11T02:00:00.000Z', 3, 'routine']]);
    expect(plan.entries.filter((e) => e.tier === 4)).toEqual([]);
    const week = planSchedule({ now: NOW, hours: 24 * 7, weddings: WEDDINGS, config: config() });
    const t4 = week.entries.filter((e) => e.tier === 4);
    expect(t4.map((e) => e.at)).toEqual(['2026-06-14T03:00:00.000Z']);
    expect(t4[0]!.skipped).toMatch(/no off-site repository/);
    // On Sunday the 14th: B (the day after its wedding, still high priority) and C.
    expect(t4[0]!.reason).toMatch(/2 weddings within 30 days require one/);
    const withOffsite = planSchedule({ now: NOW, hours: 24 * 7, weddings: WEDDINGS, config: config(true) });
    expect(withOffsite.entries.find((e) => e.tier === 4)!.skipped).toBeUndefined();
  });

  it('is deterministic for a given now', () => {
    expect(planSchedule({ now: NOW, hours: 24, weddings: WEDDINGS, config: config() })).toEqual(plan);
    expect(plan.entries.map((e) => e.at)).toEqual([...plan.entries.map((e) => e.at)].sort());
  });

  it('reads cron patterns in the agent time zone', () => {
    const london = planSchedule({ now: NOW, hours: 24, weddings: [], config: config(false, 'Europe/London') });
    expect(london.entries.map((e) => e.at)).toEqual(['2026-06-11T01:00:00.000Z']); // 02:00 BST
  });
});

describe('dueJobs', () => {
  it('on a normal tick yields only the slot just reached', () => {
    const now = new Date('2026-06-10T10:00:10Z');
    const due = dueJobs({ now, since: { 2: new Date('2026-06-10T09:45:00Z'), 3: new Date('2026-06-10T02:00:00Z') }, weddings: WEDDINGS, config: config() });
    const t2 = due.filter((d) => d.tier === 2);
    expect(t2).toHaveLength(1);
    expect(t2[0]).toMatchObject({ slotKey: 't2:2026-06-10T10:00:00.000Z', weddingIds: [A, B, C], priority: 9, collapsedSlots: 1, retentionDays: 30 });
    expect(due.filter((d) => d.tier === 3)).toEqual([]);
    expect(due.filter((d) => d.tier === 1).map((d) => d.weddingIds[0])).toEqual([A, B]);
  });

  it('after a 2-day outage creates one job per tier, not one per missed slot', () => {
    const lastSeen = new Date('2026-06-08T09:00:00Z');
    const now = new Date('2026-06-10T09:07:00Z');
    const due = dueJobs({ now, since: { 2: lastSeen, 3: new Date('2026-06-08T02:00:00Z'), 4: new Date('2026-06-07T03:00:00Z') }, weddings: WEDDINGS, config: config(true) });
    const perTier = (t: number) => due.filter((d) => d.tier === t);
    expect(perTier(2)).toHaveLength(1);
    expect(perTier(2)[0]).toMatchObject({ scheduledAt: new Date('2026-06-10T09:00:00Z'), weddingIds: [A, B, C], priority: 9 });
    expect(perTier(2)[0]!.collapsedSlots).toBeGreaterThan(100);
    expect(perTier(2)[0]!.reason).toMatch(/catch-up: \d+ missed slots/);
    expect(perTier(3)).toHaveLength(1);
    expect(perTier(3)[0]).toMatchObject({ slotKey: 't3:2026-06-10T02:00:00.000Z', collapsedSlots: 2 });
    expect(perTier(4)).toEqual([]); // the weekly slot (Sunday 7th) was already planned
    expect(due).toHaveLength(2 + 1 + 1); // two tier 1 periods, one tier 2, one tier 3
  });

  it('plans the newest slot at first start (nothing planned ever)', () => {
    const due = dueJobs({ now: NOW, since: {}, weddings: WEDDINGS, config: config(true) });
    expect(due.filter((d) => d.tier === 3).map((d) => d.slotKey)).toEqual(['t3:2026-06-10T02:00:00.000Z']);
    expect(due.filter((d) => d.tier === 4).map((d) => d.slotKey)).toEqual(['t4:2026-06-07T03:00:00.000Z']);
    expect(due.filter((d) => d.tier === 2)).toHaveLength(1);
  });

  it('is idempotent: the same instant gives the same slot keys', () => {
    const a = dueJobs({ now: NOW, since: {}, weddings: WEDDINGS, config: config(true) }).map((d) => d.slotKey);
    const b = dueJobs({ now: NOW, since: {}, weddings: WEDDINGS, config: config(true) }).map((d) => d.slotKey);
    expect(a).toEqual(b);
  });
});

describe('nextRuns', () => {
  it('gives the next slot of each tier, as the plan does', () => {
    const next = nextRuns({ now: NOW, hours: 24 * 8, weddings: WEDDINGS, config: config(true) });
    expect(next).toEqual({
      1: NOW,
      2: new Date('2026-06-10T09:15:00Z'),
      3: new Date('2026-06-11T02:00:00Z'),
      4: new Date('2026-06-14T03:00:00Z'),
    });
    expect(nextRuns({ now: NOW, hours: 24, weddings: [], config: config(false) })).toEqual({ 1: null, 2: null, 3: new Date('2026-06-11T02:00:00Z'), 4: null });
  });

  it("finds tier 2's first slot without building every slot: the same instant as tier2Slots' smallest, at any time and zone", () => {
    // Every wedding alone and all together, every 7 hours 13 minutes across three weeks, in two zones.
    const sets = [WEDDINGS, ...WEDDINGS.map((w) => [w]), []];
    for (const timeZone of ['UTC', 'America/New_York']) {
      for (let t = Date.parse('2026-05-28T00:00:00Z'); t < Date.parse('2026-06-18T00:00:00Z'); t += 433 * 60_000) {
        const from = new Date(t);
        const to = new Date(t + 24 * 3_600_000);
        for (const weddings of sets) {
          const keys = [...tier2Slots(weddings, from, to, timeZone).keys()];
          expect(firstTier2Slot(weddings, from, to, timeZone)).toBe(keys.length ? Math.min(...keys) : null);
        }
      }
    }
  });
});
