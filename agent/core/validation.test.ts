import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { packInSubset, statusOf, worseStatus } from './validation.js';
import { countCopyRows, decodeCopyField, scanCopyRows } from './validation-copy.js';
import { validateWeddingData, weddingDayWindow, zonedMidnight, type WeddingData } from './validation-rules.js';

describe('statusOf', () => {
  it('is valid with only warnings, incomplete with only missing things, corrupted when anything is wrong', () => {
    expect(statusOf([])).toBe('valid');
    expect(statusOf([{ severity: 'warning', kind: 'unreferenced-pack' }])).toBe('valid');
    expect(statusOf([{ severity: 'error', kind: 'pack-missing' }, { severity: 'error', kind: 'blob-missing-from-index' }])).toBe('incomplete');
    expect(statusOf([{ severity: 'error', kind: 'pack-missing' }, { severity: 'error', kind: 'blob-corrupt' }])).toBe('corrupted');
    expect(worseStatus('incomplete', 'corrupted')).toBe('corrupted');
    expect(worseStatus('valid', 'incomplete')).toBe('incomplete');
  });
});

describe('packInSubset', () => {
  const ids = Array.from({ length: 2000 }, (_, i) => createHash('sha256').update(String(i)).digest('hex'));
  it('picks about the fraction asked, the same packs every time, and a bigger fraction only adds packs', () => {
    const ten = ids.filter((id) => packInSubset(id, 0.1));
    const twenty = ids.filter((id) => packInSubset(id, 0.2));
    expect(ten.length).toBeGreaterThan(150);
    expect(ten.length).toBeLessThan(250);
    expect(ids.filter((id) => packInSubset(id, 0.1))).toEqual(ten);
    expect(ten.every((id) => twenty.includes(id))).toBe(true);
    expect(ids.every((id) => packInSubset(id, 1))).toBe(true);
  });
});

describe('COPY text', () => {
  it('counts rows and notices a cut-off last row', () => {
    expect(countCopyRows(Buffer.from('a\tb\nc\td\n'))).toEqual({ rows: 2, unterminated: false });
    expect(countCopyRows(Buffer.from('a\tb\nc\t'))).toEqual({ rows: 1, unterminated: true });
    expect(countCopyRows(Buffer.alloc(0))).toEqual({ rows: 0, unterminated: false });
  });

  it('decodes NULL and every backslash escape', () => {
    const f = (s: string) => decodeCopyField(Buffer.from(s), 0, Buffer.byteLength(s));
    expect(f('\\N')).toBeNull();
    expect(f('plain')).toBe('plain');
    expect(f('a\\tb\\nc\\\\d')).toBe('a\tb\nc\\d');
    expect(f('\\101\\x42\\r')).toBe('AB\r');
    expect(f('caf\u00e9')).toBe('café');
  });

  it('hands over the wanted columns of each row and counts rows with the wrong field count', () => {
    const seen: Array<(string | null)[]> = [];
    const data = Buffer.from('1\tw1\tx\n2\t\\N\ty\n3\tw3\n4\tw4\tz\n');
    const r = scanCopyRows(data, 3, [1, 0, 1], (values) => seen.push([...values]));
    expect(seen).toEqual([
      ['w1', '1', 'w1'],
      [null, '2', null],
      ['w4', '4', 'w4'],
    ]);
    expect(r).toEqual({ rows: 4, badRows: 1, firstBad: { line: 3, fields: 2 } });
  });
});

describe('wedding data rules', () => {
  it('measures the wedding day in the venue zone, across DST changes', () => {
    expect(new Date(zonedMidnight('2026-06-13', 'Europe/Dublin')).toISOString()).toBe('2026-06-12T23:00:00.000Z');
    expect(new Date(zonedMidnight('2026-01-13', 'Europe/Dublin')).toISOString()).toBe('2026-01-13T00:00:00.000Z');
    // The night the clocks go forward in New York.
    expect(new Date(zonedMidnight('2026-03-08', 'America/New_York')).toISOString()).toBe('2026-03-08T05:00:00.000Z');
    const day = weddingDayWindow('2026-06-13', 'standard', 'UTC');
    expect([new Date(day.start).toISOString(), new Date(day.end).toISOString()]).toEqual(['2026-06-13T00:00:00.000Z', '2026-06-14T04:00:00.000Z']);
    const multi = weddingDayWindow('2026-06-13', 'multi_day', 'UTC');
    expect(new Date(multi.start).toISOString()).toBe('2026-06-12T00:00:00.000Z');
  });

  it('finds nothing in clean data and each fault once', () => {
    const at = (h: number) => Date.parse('2026-06-13T00:00:00Z') + h * 3_600_000;
    const clean: WeddingData = {
      wedding: { id: 'w', coupleNames: 'A & B', weddingDate: '2026-06-13', type: 'standard' },
      guests: [
        { id: 'g1', firstName: 'Ann', lastName: null, email: 'a@x', tableNumber: 1 },
        { id: 'g2', firstName: 'Bo', lastName: 'C', email: 'b@x', tableNumber: 2 },
      ],
      timeline: [
        { id: 'e1', title: 'Ceremony', location: 'Garden', startsAt: at(12), endsAt: at(13), vendorId: 'v1', vendorWeddingId: 'w' },
        { id: 'e2', title: 'Dinner', location: 'Garden', startsAt: at(13), endsAt: at(15), vendorId: null, vendorWeddingId: null },
      ],
      vendorCount: 1,
      photoCount: 0,
    };
    expect(validateWeddingData(clean, { timeZone: 'UTC' })).toEqual([]);
    const broken = structuredClone(clean);
    broken.timeline[1]!.startsAt = at(12.5);
    broken.timeline.push({ id: 'e3', title: 'Brunch', location: null, startsAt: at(30), endsAt: at(31), vendorId: 'v9', vendorWeddingId: 'other' });
    broken.guests[1]!.email = ' A@X ';
    expect(validateWeddingData(broken, { timeZone: 'UTC' }).map((f) => `${f.severity}:${f.kind}:${f.rowId}`).sort()).toEqual([
      'error:event-outside-wedding-day:e3',
      'error:vendor-other-wedding:e3',
      'warning:duplicate-guest-email:g1',
      'warning:events-overlap:e1',
    ]);
  });
});
