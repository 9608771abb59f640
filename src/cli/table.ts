/** A column of a table: its header and how a row shows in it. */
export interface Column<T> {
  header: string;
  cell: (row: T) => string;
  /** Right-aligned (numbers). */
  right?: boolean;
}

/** Plain-text table for a terminal: a header line, then one line per row, columns padded to fit. */
export function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = rows.map((row) => columns.map((c) => c.cell(row)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (columns[i].right ? v.padStart(widths[i]) : i === values.length - 1 ? v : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}
