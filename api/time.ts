/**
 * Timestamps as Kubernetes writes them: RFC 3339 in UTC with 'Z'.
 * metav1.Time has whole seconds (`2026-01-01T00:00:00Z`), metav1.MicroTime,
 * which events and leases use, six fractional digits
 * (`2026-01-01T00:00:00.123000Z`).
 */

/** metav1.Time of `ms` (now by default): whole seconds. */
export function metaTime(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** metav1.MicroTime of `ms` (now by default): microseconds, the last three digits 0. */
export function microTime(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}
