/**
 * A benchmark's table for people: columns padded to their widest cell, three
 * spaces apart, no trailing blanks; `rule` puts a line of dashes under the
 * header row.
 */
export function table(rows: string[][], o: { rule?: boolean } = {}): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  const lines = rows.map((row) =>
    row
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('   ')
      .trimEnd(),
  );
  if (o.rule) lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('   '));
  return lines.join('\n');
}

/** Every number in a result, by its dotted path. */
export function figures(value: unknown, prefix = ''): [string, number][] {
  if (typeof value === 'number') return [[prefix, value]];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => figures(v, prefix ? `${prefix}.${k}` : k));
}

/** Two runs' figures side by side: the second over the first for each. */
export function compareTable(
  a: { node: string; result: unknown },
  b: { node: string; result: unknown },
): string {
  const theirs = new Map(figures(b.result));
  const rows = [['figure', a.node, b.node, `${b.node} / ${a.node}`]];
  for (const [key, mine] of figures(a.result)) {
    const other = theirs.get(key);
    if (other === undefined) continue;
    rows.push([
      key,
      String(mine),
      String(other),
      mine === 0 ? '' : String(Math.round((other / mine) * 1000) / 1000),
    ]);
  }
  return table(rows, { rule: true });
}
