/**
 * Columns like kubectl's: left-aligned, three spaces apart (`gap`: the two
 * of kubectl's plainer tables, such as rollout history), no trailing spaces.
 */
export function formatTable(header: string[], rows: (string | number)[][], gap = 3): string {
  const all = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return (
    all
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
          .join(' '.repeat(gap))
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export function printTable(out: NodeJS.WritableStream, header: string[], rows: (string | number)[][]): void {
  out.write(formatTable(header, rows));
}
