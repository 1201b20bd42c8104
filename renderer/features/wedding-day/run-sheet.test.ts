import { describe, expect, it } from 'vitest';
import { csvField, runSheetCsv } from './run-sheet.js';

describe('run sheet CSV', () => {
  it('quotes what needs quoting and defuses spreadsheet formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a, "b"')).toBe('"a, ""b"""');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField(null)).toBe('');
  });

  it('writes guests, timeline (with vendor names) and vendors', () => {
    const stream = { mode: 'offline' as const, detail: '', slot: null, weddings: 1, lastCommitAt: null, caughtUpAt: null, retainedWalBytes: null, alerts: [] };
    const csv = runSheetCsv({
      weddingId: 'w',
      wedding: { couple_names: 'A & B', wedding_date: '2026-06-01', venue_name: 'Hall' },
      guests: [{ first_name: 'Ann', last_name: 'Lee', rsvp_status: 'accepted', dietary_requirements: 'vegan', table_number: '3', plus_one: 'f', phone: null, email: null }],
      timeline: [{ id: 't', starts_at: '2026-06-01 14:00:00+00', ends_at: null, title: 'Ceremony', location: 'Garden', vendor_id: 'v' }],
      vendors: [{ id: 'v', name: 'Florist', category: 'florist', contact_name: 'Jo', phone: '1', email: 'f@x' }],
      photos: [],
      cache: { state: 'ready', baseSnapshotId: null, baseAt: null, lastChangeAt: null, stream },
    });
    expect(csv).toContain('guest,Ann Lee,accepted,vegan,3,f,,\r\n');
    expect(csv).toContain('timeline,2026-06-01 14:00:00+00,,Ceremony,Garden,Florist\r\n');
    expect(csv).toContain('vendor,Florist,florist,Jo,1,f@x\r\n');
  });
});
