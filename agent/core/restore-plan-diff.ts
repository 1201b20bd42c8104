import type { RestoreCounts } from '../contract/restore.js';

/**
 * Row-level diff between a snapshot's rows and the live rows, both in PostgreSQL COPY text
 * format (one row per line, tab-separated, `\N` for NULL, backslash escapes; see export.ts).
 * Rows are matched by primary key: equal key and equal line = unchanged, equal key and another
 * line = updated, key only live = deleted, key only in the snapshot = inserted. Tables without a
 * primary key compare whole rows as a multiset (no updates, only deletes and inserts).
 *
 * Pure and cheap: a line is split only as far as its key columns; values are decoded only for
 * the rows a user asks to see.
 */

export type ChangeKind = 'inserted' | 'updated' | 'deleted';

export interface RowChange {
  change: ChangeKind;
  /** The live row's COPY line (updated, deleted). */
  before: string | null;
  /** The snapshot's COPY line (inserted, updated). */
  after: string | null;
}

export interface RowDiff {
  counts: RestoreCounts;
  snapshotRows: number;
  liveRows: number;
  /** Only when asked for: deleted and updated in live order, then inserted in snapshot order. */
  changes?: RowChange[];
}

/** Lines of COPY text, without their '\n' (a segment always ends with one). */
export function copyLines(text: string): string[] {
  if (!text) return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Positions of the primary key columns in `columns`, or null (no primary key: whole rows are compared). */
export function keyIndexes(columns: Array<{ name: string }>, primaryKey: string[]): number[] | null {
  if (!primaryKey.length) return null;
  return primaryKey.map((k) => {
    const i = columns.findIndex((c) => c.name === k);
    if (i < 0) throw new Error(`primary key column ${k} is not among the columns`);
    return i;
  });
}

/**
 * The key of a row: its key columns' raw field text joined by a tab. Tabs inside values are
 * escaped as `\t` in COPY text, so a raw tab always separates fields.
 */
export function rowKey(line: string, idx: number[] | null): string {
  if (idx === null) return line;
  if (idx.length === 1 && idx[0] === 0) {
    const tab = line.indexOf('\t');
    return tab < 0 ? line : line.slice(0, tab);
  }
  const fields = line.split('\t');
  return idx.map((i) => fields[i] ?? '').join('\t');
}

export function diffRows(snapshotLines: string[], liveLines: string[], idx: number[] | null, collect = false): RowDiff {
  const counts: RestoreCounts = { inserted: 0, updated: 0, deleted: 0, unchanged: 0 };
  const changes: RowChange[] | undefined = collect ? [] : undefined;
  if (idx === null) {
    // Multiset of whole rows.
    const want = new Map<string, number>();
    for (const l of snapshotLines) want.set(l, (want.get(l) ?? 0) + 1);
    for (const l of liveLines) {
      const n = want.get(l) ?? 0;
      if (n > 0) {
        want.set(l, n - 1);
        counts.unchanged++;
      } else {
        counts.deleted++;
        changes?.push({ change: 'deleted', before: l, after: null });
      }
    }
    for (const l of snapshotLines) {
      const n = want.get(l) ?? 0;
      if (n > 0) {
        want.set(l, n - 1);
        counts.inserted++;
        changes?.push({ change: 'inserted', before: null, after: l });
      }
    }
  } else {
    const snap = new Map<string, string>();
    for (const l of snapshotLines) snap.set(rowKey(l, idx), l);
    const seen = new Set<string>();
    for (const l of liveLines) {
      const k = rowKey(l, idx);
      const s = snap.get(k);
      if (s === undefined) {
        counts.deleted++;
        changes?.push({ change: 'deleted', before: l, after: null });
      } else {
        seen.add(k);
        if (s === l) counts.unchanged++;
        else {
          counts.updated++;
          changes?.push({ change: 'updated', before: l, after: s });
        }
      }
    }
    for (const [k, l] of snap) {
      if (seen.has(k)) continue;
      counts.inserted++;
      changes?.push({ change: 'inserted', before: null, after: l });
    }
  }
  return { counts, snapshotRows: snapshotLines.length, liveRows: liveLines.length, ...(changes ? { changes } : {}) };
}

export function addCounts(into: RestoreCounts, c: RestoreCounts): RestoreCounts {
  into.inserted += c.inserted;
  into.updated += c.updated;
  into.deleted += c.deleted;
  into.unchanged += c.unchanged;
  return into;
}

export const zeroCounts = (): RestoreCounts => ({ inserted: 0, updated: 0, deleted: 0, unchanged: 0 });

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

/** One COPY text field as its value: `\N` → null, backslash escapes (\n, \t, \\, octal, \xHH) decoded. */
export function decodeCopyField(raw: string): string | null {
  if (raw === '\\N') return null;
  if (!raw.includes('\\')) return raw;
  return raw.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === 'x' && e.length > 1) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]+$/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ESCAPES[e] ?? e;
  });
}

/** A COPY line as column name → value. */
export function decodeCopyRow(line: string, columns: Array<{ name: string }>): Record<string, string | null> {
  const fields = line.split('\t');
  const out: Record<string, string | null> = {};
  columns.forEach((c, i) => {
    out[c.name] = decodeCopyField(fields[i] ?? '\\N');
  });
  return out;
}
