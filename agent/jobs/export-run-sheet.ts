import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import type { OfflineRow, OfflineWedding, RunSheetFormat } from '../contract/offline.js';

/**
 * The printable run sheet of a wedding day — guest list, timeline, vendor contacts — from the
 * cached wedding (jobs/offline.ts), as CSV, JSON or PDF. Works with no network.
 *
 * The sheet picks the sample schema's columns it knows (first_name, starts_at, phone, …); a
 * deployment whose tables have other columns still gets every column, in table order.
 *
 * CSV: one file, three sections ("Guests", "Timeline", "Vendors"), each a title line, a header
 * row and its rows, separated by a blank line (RFC 4180 quoting). JSON: the sheet plus the raw
 * cached rows. PDF: A4 pages with the three tables (pdfkit, built-in Helvetica: no font files).
 */
export interface SheetSection {
  title: string;
  columns: string[];
  rows: string[][];
}

export interface RunSheet {
  weddingId: string;
  title: string;
  date: string | null;
  venue: string | null;
  /** How current the data is, for the footer: "cache as of …". */
  asOf: string;
  sections: SheetSection[];
}

const GUEST_COLUMNS: Array<[string, (r: OfflineRow) => string]> = [
  ['Name', (r) => [r.first_name, r.last_name].filter(Boolean).join(' ')],
  ['RSVP', (r) => r.rsvp_status ?? ''],
  ['Table', (r) => r.table_number ?? ''],
  ['Plus one', (r) => (r.plus_one === 't' ? 'yes' : r.plus_one === 'f' ? '' : (r.plus_one ?? ''))],
  ['Dietary', (r) => r.dietary_requirements ?? ''],
  ['Phone', (r) => r.phone ?? ''],
  ['Email', (r) => r.email ?? ''],
];

/** "2026-06-01 14:30:00+00" → "14:30" (the time as stored; the sheet is for the venue's day). */
function hhmm(v: string | null | undefined): string {
  const m = /\d{4}-\d{2}-\d{2}[ T](\d{2}:\d{2})/.exec(v ?? '');
  return m ? m[1]! : (v ?? '');
}

function sections(w: OfflineWedding): SheetSection[] {
  const vendorName = new Map(w.vendors.map((v) => [v.id ?? '', v.name ?? '']));
  const known = (rows: OfflineRow[], need: string[], cols: Array<[string, (r: OfflineRow) => string]>, title: string): SheetSection => {
    const first = rows[0];
    if (first && !need.every((c) => c in first)) {
      // Not the sample schema: every column, as cached.
      const names = Object.keys(first);
      return { title, columns: names, rows: rows.map((r) => names.map((n) => r[n] ?? '')) };
    }
    return { title, columns: cols.map((c) => c[0]), rows: rows.map((r) => cols.map((c) => c[1](r))) };
  };
  return [
    known(w.guests, ['first_name'], GUEST_COLUMNS, 'Guests'),
    known(
      w.timeline,
      ['title', 'starts_at'],
      [
        ['Start', (r) => hhmm(r.starts_at)],
        ['End', (r) => hhmm(r.ends_at)],
        ['What', (r) => r.title ?? ''],
        ['Where', (r) => r.location ?? ''],
        ['Vendor', (r) => vendorName.get(r.vendor_id ?? '') ?? ''],
        ['Notes', (r) => r.notes ?? ''],
      ],
      'Timeline',
    ),
    known(
      w.vendors,
      ['name', 'category'],
      [
        ['Category', (r) => r.category ?? ''],
        ['Vendor', (r) => r.name ?? ''],
        ['Contact', (r) => r.contact_name ?? ''],
        ['Phone', (r) => r.phone ?? ''],
        ['Email', (r) => r.email ?? ''],
        ['Notes', (r) => r.notes ?? ''],
      ],
      'Vendors',
    ),
  ];
}

export function buildRunSheet(w: OfflineWedding, now: Date = new Date()): RunSheet {
  const asOf = w.cache.lastChangeAt ?? w.cache.baseAt ?? now.toISOString();
  return {
    weddingId: w.weddingId,
    title: w.wedding.couple_names ?? `Wedding ${w.weddingId}`,
    date: w.wedding.wedding_date ?? null,
    venue: w.wedding.venue_name ?? null,
    asOf,
    sections: sections(w),
  };
}

function csvField(v: string): string {
  return /[",\r\n]/.test(v) || /^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function runSheetCsv(sheet: RunSheet): string {
  const lines = [csvField(`Run sheet: ${sheet.title}`), csvField(`${sheet.date ?? ''}${sheet.venue ? ` at ${sheet.venue}` : ''}`), csvField(`data as of ${sheet.asOf}`), ''];
  for (const s of sheet.sections) {
    lines.push(csvField(s.title), s.columns.map(csvField).join(','), ...s.rows.map((r) => r.map(csvField).join(',')), '');
  }
  return `${lines.join('\r\n')}`;
}

export function runSheetJson(sheet: RunSheet, w: OfflineWedding): string {
  return `${JSON.stringify({ runSheet: sheet, wedding: w }, null, 2)}\n`;
}

/**
 * Unicode fonts the machine may have (Linux, macOS, Windows). The PDF's built-in Helvetica only
 * encodes Windows-1252: without one of these, other letters are written without their accents
 * (Dvořák → Dvorak) rather than as garbage.
 */
const FONT_CANDIDATES: Array<[string, string]> = [
  ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'],
  ['/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf', '/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf'],
  ['/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf', '/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf'],
  ['/System/Library/Fonts/Supplemental/Arial.ttf', '/System/Library/Fonts/Supplemental/Arial Bold.ttf'],
  ['C:\\Windows\\Fonts\\arial.ttf', 'C:\\Windows\\Fonts\\arialbd.ttf'],
];

const WIN_ANSI_EXTRA = new Set([...'€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ']);

/** Text the built-in fonts can show: accents dropped where the letter is not in Windows-1252. */
export function winAnsiText(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code <= 0xff || WIN_ANSI_EXTRA.has(ch)) out += ch;
    else {
      const base = ch.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
      out += [...base].every((c) => c.codePointAt(0)! <= 0xff) ? base : '?';
    }
  }
  return out;
}

/** Column widths: short columns keep their natural width, long ones share the rest. */
function widths(s: SheetSection, total: number, measure: (text: string, bold: boolean) => number): number[] {
  const natural = s.columns.map((c, i) => Math.min(250, Math.max(measure(c, true), ...s.rows.slice(0, 300).map((r) => measure(r[i] ?? '', false))) + 6));
  const sum = natural.reduce((a, b) => a + b, 0);
  if (sum <= total) return natural.map((n) => (n * total) / sum);
  const fixed = natural.map((n) => n <= 70);
  const fixedSum = natural.reduce((a, n, i) => a + (fixed[i] ? n : 0), 0);
  const flexSum = sum - fixedSum;
  return natural.map((n, i) => (fixed[i] ? n : (n / flexSum) * Math.max(total - fixedSum, total * 0.3)));
}

export async function runSheetPdf(sheet: RunSheet): Promise<Buffer> {
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({ size: 'A4', margin: 40, info: { Title: `Run sheet: ${sheet.title}`, Creator: 'WedSync Backup' } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const { existsSync } = await import('node:fs');
  const unicode = FONT_CANDIDATES.find(([regular, bold]) => existsSync(regular) && existsSync(bold));
  if (unicode) {
    doc.registerFont('body', unicode[0]);
    doc.registerFont('bold', unicode[1]);
  }
  const font = (bold: boolean) => doc.font(unicode ? (bold ? 'bold' : 'body') : bold ? 'Helvetica-Bold' : 'Helvetica');
  const t = (text: string) => (unicode ? text : winAnsiText(text));
  const left = doc.page.margins.left;
  const width = doc.page.width - doc.page.margins.left - doc.page.margins.right;
  const bottom = () => doc.page.height - doc.page.margins.bottom;
  font(true).fontSize(18).text(t(`Run sheet: ${sheet.title}`));
  font(false).fontSize(10).fillColor('#444').text(t(`${sheet.date ?? ''}${sheet.venue ? `  ·  ${sheet.venue}` : ''}   (data as of ${sheet.asOf})`));
  doc.fillColor('black').moveDown();
  const measure = (text: string, bold: boolean) => font(bold).fontSize(8).widthOfString(t(text));
  for (const s of sheet.sections) {
    if (doc.y > bottom() - 60) doc.addPage();
    font(true).fontSize(13).text(`${s.title} (${s.rows.length})`, left);
    doc.moveDown(0.3);
    const w = widths(s, width, measure);
    const row = (cells: string[], bold: boolean) => {
      font(bold).fontSize(8);
      const texts = cells.map((c) => t(c));
      const h = Math.max(...texts.map((c, i) => doc.heightOfString(c || ' ', { width: w[i]! - 4 })), 10);
      if (doc.y + h > bottom()) doc.addPage();
      const y = doc.y;
      let x = left;
      texts.forEach((c, i) => {
        doc.text(c, x, y, { width: w[i]! - 4, lineBreak: true });
        x += w[i]!;
      });
      doc.y = y + h + 3;
      doc.x = left;
    };
    row(s.columns, true);
    for (const r of s.rows) row(r, false);
    doc.moveDown();
  }
  doc.end();
  return done;
}

export async function renderRunSheet(w: OfflineWedding, format: RunSheetFormat, now?: Date): Promise<Buffer> {
  const sheet = buildRunSheet(w, now);
  if (format === 'csv') return Buffer.from(runSheetCsv(sheet), 'utf8');
  if (format === 'json') return Buffer.from(runSheetJson(sheet, w), 'utf8');
  return runSheetPdf(sheet);
}

/** Writes `bytes` to `path` atomically (a temporary file renamed into place): never half a file. */
export async function writeFileAtomic(path: string, bytes: Buffer): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
