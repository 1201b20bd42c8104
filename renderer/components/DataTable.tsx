import type { HTMLAttributes, ReactNode } from 'react';

/** One column of a DataTable: its header, how a row renders in it, and whether it is numeric (right-aligned). */
export interface Column<T> {
  key: string;
  header: ReactNode;
  cell: (row: T) => ReactNode;
  numeric?: boolean;
}

/**
 * The console's list table (Snapshots, Audit, …): labelled for screen readers, rows optionally
 * selectable (click anywhere on the row; the row's own link keeps keyboard access), the
 * selected row marked. Columns are data, so screens state what they show, not how to draw it.
 */
export function DataTable<T>({
  label,
  columns,
  rows,
  rowKey,
  selected,
  onSelect,
  rowProps,
}: {
  label: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  selected?: string | undefined;
  onSelect?: (row: T) => void;
  /** Extra attributes per row (data-* hooks for tests and styling). */
  rowProps?: (row: T) => HTMLAttributes<HTMLTableRowElement> & Record<`data-${string}`, string>;
}) {
  return (
    <div className="scroll">
      <table aria-label={label}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} className={c.numeric ? 'num' : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const key = rowKey(row);
            const classes = [onSelect ? 'selectable' : '', key === selected ? 'selected' : ''].filter(Boolean).join(' ');
            return (
              <tr key={key} className={classes || undefined} onClick={onSelect ? () => onSelect(row) : undefined} {...rowProps?.(row)}>
                {columns.map((c) => (
                  <td key={c.key} className={c.numeric ? 'num' : undefined}>
                    {c.cell(row)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
