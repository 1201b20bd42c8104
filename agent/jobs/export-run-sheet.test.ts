import { describe, expect, it } from 'vitest';
import type { OfflineWedding } from '../contract/offline.js';
import { buildRunSheet, runSheetCsv, runSheetPdf, winAnsiText } from './export-run-sheet.js';

const status = { mode: 'offline' as const, detail: '', slot: null, weddings: 1, lastCommitAt: null, caughtUpAt: null, retainedWalBytes: null, alerts: [] };
const wedding = (patch: Partial<OfflineWedding> = {}): OfflineWedding => ({
  weddingId: 'w',
  wedding: { id: 'w', couple_names: 'Ana & Bo', wedding_date: '2026-06-01', venue_name: 'Barn' },
  guests: [{ id: 'g', first_name: 'Zoë', last_name: 'Dvořák, "Jr"', rsvp_status: 'accepted', table_number: '3', plus_one: 't', dietary_requirements: null, phone: null, email: null }],
  timeline: [{ id: 't', title: 'Vows', starts_at: '2026-06-01 14:00:00+00', ends_at: '2026-06-01 14:30:00+00', location: 'Lawn', vendor_id: 'v', notes: null }],
  vendors: [{ id: 'v', name: 'Flowers Ltd', category: 'florist', contact_name: 'Kim', phone: '+44 1', email: null, notes: null }],
  photos: [],
  cache: { state: 'ready', baseSnapshotId: 's', baseAt: '2026-05-31T00:00:00Z', lastChangeAt: null, stream: status },
  ...patch,
});

describe('run sheet', () => {
  it('picks the known columns, names the timeline vendor, quotes CSV fields', () => {
    const sheet = buildRunSheet(wedding());
    expect(sheet.sections.map((s) => s.title)).toEqual(['Guests', 'Timeline', 'Vendors']);
    expect(sheet.sections[0]!.rows[0]).toEqual(['Zoë Dvořák, "Jr"', 'accepted', '3', 'yes', '', '', '']);
    expect(sheet.sections[1]!.rows[0]).toEqual(['14:00', '14:30', 'Vows', 'Lawn', 'Flowers Ltd', '']);
    expect(runSheetCsv(sheet)).toContain('"Zoë Dvořák, ""Jr""",accepted,3,yes');
  });

  it('a schema the sheet does not know still gets every column', () => {
    const sheet = buildRunSheet(wedding({ guests: [{ id: 'g', nombre: 'Lucía' }] }));
    expect(sheet.sections[0]).toMatchObject({ columns: ['id', 'nombre'], rows: [['g', 'Lucía']] });
  });

  it('built-in PDF fonts: letters outside Windows-1252 lose their accents, never become garbage', () => {
    expect(winAnsiText('Dvořák Nguyễn Wiśniewska Zoë – €')).toBe('Dvorák Nguyen Wisniewska Zoë – €');
    expect(winAnsiText('花')).toBe('?');
  });

  it('renders a PDF', async () => {
    const pdf = await runSheetPdf(buildRunSheet(wedding()));
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
  });
});
