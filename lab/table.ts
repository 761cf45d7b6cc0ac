import type { DrillResult } from './drills.js';

/** The drills' figures as a table: drill, measure, value. */
export function table(results: DrillResult[]): string {
  const rows: string[][] = [['DRILL', 'MEASURE', 'VALUE']];
  for (const r of results) {
    for (const [k, v] of Object.entries(r.measures)) rows.push([r.drill, k, String(v)]);
    rows.push([r.drill, 'result', r.problems.length === 0 ? 'passed' : `FAILED: ${r.problems.join('; ')}`]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows
    .map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('   '))
    .join('\n');
}
