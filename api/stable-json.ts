/**
 * JSON with object keys sorted (by UTF-16 code unit, as Array.prototype.sort
 * does) and undefined members left out, so equal values give equal text:
 * for comparing objects whatever their key order, and for hashes that must
 * not change between releases (the pod-template-hash). For JSON values
 * (no Dates, Maps or toJSON); an undefined array element is null, as in
 * JSON.stringify.
 */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : stableJson(x))).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
