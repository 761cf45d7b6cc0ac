/**
 * The simple JSON paths CRDs use for printer columns and the scale
 * subresource: `.spec.replicas`, `.spec.items[0].name`, `.spec.items[*].name`,
 * `.status.conditions[?(@.type=="Ready")].status`, and `.metadata.labels['a.b/c']`.
 * Pure; reads own properties only, so `__proto__` in a path finds nothing.
 */
import { isPlainObject, own, setOwn } from '../../api/plain.js';

type Step =
  | { field: string }
  | { index: number }
  | { all: true }
  | { filter: { path: string[]; value: string } };

const maxSteps = 32;

/** The steps of `path`, or undefined if it is not one of the simple forms. */
export function parseJsonPath(path: string): Step[] | undefined {
  const p = path.startsWith('{') && path.endsWith('}') ? path.slice(1, -1) : path;
  const steps: Step[] = [];
  let i = 0;
  while (i < p.length) {
    if (steps.length >= maxSteps) return undefined;
    if (p[i] === '.') {
      const m = /^[A-Za-z0-9_-]+/.exec(p.slice(i + 1));
      if (!m) return undefined;
      steps.push({ field: m[0] });
      i += 1 + m[0].length;
      continue;
    }
    if (p[i] !== '[') return undefined;
    const end = p.indexOf(']', i);
    if (end < 0) return undefined;
    const inner = p.slice(i + 1, end);
    i = end + 1;
    if (inner === '*') steps.push({ all: true });
    else if (/^\d+$/.test(inner)) steps.push({ index: Number(inner) });
    else if (/^'[^']*'$/.test(inner)) steps.push({ field: inner.slice(1, -1) });
    else {
      const m = /^\?\(@((?:\.[A-Za-z0-9_-]+)+)\s*==\s*(?:"([^"]*)"|'([^']*)')\)$/.exec(inner);
      if (!m) return undefined;
      steps.push({ filter: { path: m[1].slice(1).split('.'), value: m[2] ?? m[3] } });
    }
  }
  return steps;
}

function fieldOf(v: unknown, name: string): unknown {
  return isPlainObject(v) ? own(v, name) : undefined;
}

/** Every value `steps` select in `obj`, in document order. */
export function evaluate(steps: readonly Step[], obj: unknown): unknown[] {
  let cur: unknown[] = [obj];
  for (const s of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      if ('field' in s) {
        const f = fieldOf(v, s.field);
        if (f !== undefined) next.push(f);
      } else if ('index' in s) {
        if (Array.isArray(v) && s.index < v.length) next.push(v[s.index]);
      } else if ('all' in s) {
        if (Array.isArray(v)) next.push(...v);
        else if (isPlainObject(v)) next.push(...Object.values(v));
      } else if (Array.isArray(v)) {
        for (const item of v) {
          const got = s.filter.path.reduce<unknown>((o, k) => fieldOf(o, k), item);
          if (got !== undefined && String(got) === s.filter.value) next.push(item);
        }
      }
    }
    cur = next;
  }
  return cur;
}

/** The first value `path` selects, or undefined (also for a path that does not parse). */
export function firstValue(path: string, obj: unknown): unknown {
  const steps = parseJsonPath(path);
  return steps ? evaluate(steps, obj)[0] : undefined;
}

/** Sets the value at a path of plain fields (`.spec.replicas`), making objects on the way; false if it cannot. */
export function setValue(path: string, obj: unknown, value: unknown): boolean {
  const steps = parseJsonPath(path);
  if (!steps || steps.length === 0 || !steps.every((s) => 'field' in s)) return false;
  const names = steps.map((s) => (s as { field: string }).field);
  let cur = obj;
  for (const name of names.slice(0, -1)) {
    if (!isPlainObject(cur)) return false;
    if (own(cur, name) === undefined) setOwn(cur, name, {});
    cur = own(cur, name);
  }
  if (!isPlainObject(cur)) return false;
  setOwn(cur, names[names.length - 1], value);
  return true;
}
