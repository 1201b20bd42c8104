import type { OfflineWedding } from '../../../agent/contract/offline.js';

/** One CSV field (RFC 4180), with spreadsheet formula injection defused (a leading = + - @ gets a quote). */
export function csvField(v: string | null | undefined): string {
  let s = v ?? '';
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The printable run sheet as CSV: one section per data type, the columns a coordinator needs. */
export function runSheetCsv(w: OfflineWedding): string {
  const lines: string[] = [];
  const row = (...cells: (string | null | undefined)[]) => lines.push(cells.map(csvField).join(','));
  row('section', 'wedding', w.wedding.couple_names, w.wedding.wedding_date, w.wedding.venue_name);
  row('section', 'name', 'rsvp', 'dietary', 'table', 'plus_one', 'phone', 'email');
  for (const g of w.guests) row('guest', [g.first_name, g.last_name].filter(Boolean).join(' '), g.rsvp_status, g.dietary_requirements, g.table_number, g.plus_one, g.phone, g.email);
  row('section', 'starts', 'ends', 'title', 'location', 'vendor');
  for (const e of w.timeline) row('timeline', e.starts_at, e.ends_at, e.title, e.location, w.vendors.find((v) => v.id === e.vendor_id)?.name ?? '');
  row('section', 'vendor', 'category', 'contact', 'phone', 'email');
  for (const v of w.vendors) row('vendor', v.name, v.category, v.contact_name, v.phone, v.email);
  return `${lines.join('\r\n')}\r\n`;
}
