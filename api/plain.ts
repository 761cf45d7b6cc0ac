/**
 * Objects from the wire are plain data, and their keys are only ever own
 * properties. `obj[key]` reads through the prototype chain (`__proto__` is
 * Object.prototype, `constructor` is Object) and `obj[key] = v` with the key
 * `__proto__` replaces the prototype; code that walks user-supplied keys
 * reads with `own`/`hasOwn` and writes with `setOwn`, so that a request
 * can neither write to nor read from a prototype (Kubernetes, in Go, has no
 * prototypes: a `__proto__` key there is data, and here too).
 */

export type PlainObject = Record<string, unknown>;

export function isPlainObject(v: unknown): v is PlainObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const hasOwn = (obj: object, key: string): boolean => Object.hasOwn(obj, key);

/** The own property `key` of `obj`, or undefined. */
export function own<T = unknown>(obj: object, key: string): T | undefined {
  return Object.hasOwn(obj, key) ? ((obj as PlainObject)[key] as T) : undefined;
}

/** Sets an own data property; `__proto__` becomes a key as JSON.parse makes it, not a prototype. */
export function setOwn(obj: object, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else (obj as PlainObject)[key] = value;
}

/**
 * How deep objects from the wire may nest. Go's decoder stops at 10000;
 * V8's recursion (structuredClone, JSON.stringify, every walker) fails
 * between 2000 and 5000, so the apiserver stops at 256, as it does for YAML
 * flow collections: a real object is twenty deep, a CRD schema a hundred.
 */
export const maxObjectDepth = 256;

/** True when `value` nests arrays and objects deeper than `max`; iterative, so any depth is safe to ask. */
export function deeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d + 1 > max) return true;
    for (const x of Array.isArray(v) ? v : Object.values(v))
      if (typeof x === 'object' && x !== null) stack.push([x, d + 1]);
  }
  return false;
}
