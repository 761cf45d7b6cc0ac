/**
 * Cell helpers for Table columns, matching what `kubectl get` prints.
 */
import type { KubeObject } from './meta.js';
import type { TableColumn } from './registry.js';

/** Kubernetes' HumanDuration: 45s, 5m30s, 3h, 2d5h, 400d... */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** Age of a timestamp as kubectl prints it; `<unknown>` when unset. */
export function age(ts: string | null | undefined, now: Date): string {
  if (!ts) return '<unknown>';
  return humanDuration(now.getTime() - Date.parse(ts));
}

export const ageColumn: TableColumn = {
  name: 'Age',
  type: 'string',
  description: 'Time since the object was created.',
  priority: 0,
  cell: (obj, now) => age(obj.metadata.creationTimestamp, now),
};

/** Reads a dotted path from an object, for simple columns. */
export function at(obj: unknown, path: string): unknown {
  let cur: any = obj;
  for (const part of path.split('.')) {
    if (cur == null) return undefined;
    cur = cur[part];
  }
  return cur;
}

export function column(
  name: string,
  description: string,
  cell: (obj: KubeObject, now: Date) => string | number | boolean,
  opts: { type?: TableColumn['type']; priority?: number; format?: string } = {},
): TableColumn {
  return {
    name,
    description,
    cell,
    type: opts.type ?? 'string',
    priority: opts.priority ?? 0,
    format: opts.format,
  };
}
