/**
 * Reading segment plaintext back for validation. A segment is rows in PostgreSQL COPY *text*
 * format: one row per line ending in '\n', fields separated by a tab, `\N` for NULL, and
 * backslash escapes inside fields (`\\`, `\t`, `\n`, `\r`, `\b`, `\f`, `\v`, `\ooo` octal,
 * `\xhh` hex). A literal tab or newline inside a value is always escaped, so splitting on the
 * bytes 0x09 and 0x0A is exact. Pure: no I/O.
 */

const NL = 10;
const TAB = 9;
const BACKSLASH = 92;

/** Rows in a segment: its '\n' count. `unterminated`: bytes after the last '\n' (a cut-off row). */
export function countCopyRows(data: Uint8Array): { rows: number; unterminated: boolean } {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
  let rows = 0;
  let pos = buf.indexOf(NL, 0);
  while (pos !== -1) {
    rows++;
    pos = buf.indexOf(NL, pos + 1);
  }
  return { rows, unterminated: buf.length > 0 && buf[buf.length - 1] !== NL };
}

const SIMPLE_ESCAPES: Record<number, number> = {
  98: 8, // \b
  102: 12, // \f
  110: 10, // \n
  114: 13, // \r
  116: 9, // \t
  118: 11, // \v
};

/** One field's value: null for `\N`, else the unescaped text (UTF-8). */
export function decodeCopyField(buf: Buffer, start: number, end: number): string | null {
  if (end - start === 2 && buf[start] === BACKSLASH && buf[start + 1] === 78) return null;
  const first = buf.indexOf(BACKSLASH, start);
  if (first === -1 || first >= end) return buf.toString('utf8', start, end);
  const out: number[] = [];
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c !== BACKSLASH || i + 1 >= end) {
      out.push(c);
      continue;
    }
    const n = buf[++i]!;
    const simple = SIMPLE_ESCAPES[n];
    if (simple !== undefined) out.push(simple);
    else if (n >= 48 && n <= 55) {
      // up to three octal digits
      let v = n - 48;
      for (let k = 0; k < 2 && i + 1 < end && buf[i + 1]! >= 48 && buf[i + 1]! <= 55; k++) v = v * 8 + (buf[++i]! - 48);
      out.push(v & 0xff);
    } else if (n === 120 && i + 1 < end && isHex(buf[i + 1]!)) {
      let v = hexValue(buf[++i]!);
      if (i + 1 < end && isHex(buf[i + 1]!)) v = v * 16 + hexValue(buf[++i]!);
      out.push(v);
    } else out.push(n); // \\ and any other escaped byte stand for themselves
  }
  return Buffer.from(out).toString('utf8');
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function hexValue(c: number): number {
  return c <= 57 ? c - 48 : (c | 0x20) - 87;
}

export interface CopyScanResult {
  rows: number;
  /** Rows whose field count is not `columnCount`, or a trailing row without '\n'. */
  badRows: number;
  /** 1-based line of the first bad row and its field count. */
  firstBad: { line: number; fields: number } | null;
}

/**
 * Walks every row of a segment, checking it has exactly `columnCount` fields, and hands the
 * decoded values of the `wanted` column positions (in that order) to `onRow`. Bad rows are
 * counted, never thrown: validation reports them. `onRow` receives a reused array; copy what
 * you keep.
 */
export function scanCopyRows(
  data: Uint8Array,
  columnCount: number,
  wanted: readonly number[],
  onRow: (values: (string | null)[], line: number) => void,
): CopyScanResult {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
  // Column index → the output slots wanting it (a column may be wanted twice, e.g. an id that
  // is both the key and the wedding reference).
  const slotsOf: (number[] | undefined)[] = new Array<number[] | undefined>(Math.max(columnCount, 0));
  wanted.forEach((col, slot) => {
    if (col >= 0 && col < columnCount) (slotsOf[col] ??= []).push(slot);
  });
  const values: (string | null)[] = new Array<string | null>(wanted.length).fill(null);
  const result: CopyScanResult = { rows: 0, badRows: 0, firstBad: null };
  let start = 0;
  let line = 0;
  while (start < buf.length) {
    line++;
    let nl = buf.indexOf(NL, start);
    const terminated = nl !== -1;
    if (!terminated) nl = buf.length;
    values.fill(null);
    let field = 0;
    let fieldStart = start;
    for (;;) {
      const tab = buf.indexOf(TAB, fieldStart);
      const end = tab === -1 || tab > nl ? nl : tab;
      const slots = field < columnCount ? slotsOf[field] : undefined;
      if (slots) {
        const value = decodeCopyField(buf, fieldStart, end);
        for (const slot of slots) values[slot] = value;
      }
      field++;
      if (end === nl) break;
      fieldStart = end + 1;
    }
    result.rows++;
    if (field !== columnCount || !terminated) {
      result.badRows++;
      result.firstBad ??= { line, fields: field };
    } else {
      onRow(values, line);
    }
    start = nl + 1;
  }
  return result;
}
