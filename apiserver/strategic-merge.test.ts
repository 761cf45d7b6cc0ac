import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AtomicList, Int, List, MapList, RetainKeys, SetList, Str, StrMap, Struct } from '../api/schema.js';
import { StatusError } from '../api/status.js';
import { appsTypes } from '../api/types/apps.js';
import { childSchema, patchMetaOf, strategicMergePatch } from './strategic-merge.js';

const Port = Struct({ containerPort: Int(), protocol: Str(), name: Str() });
const Env = Struct({ name: Str(), value: Str() });
const Container = Struct({
  name: Str(),
  image: Str(),
  args: List(Str()),
  ports: MapList(Port, ['containerPort', 'protocol'], undefined, { mergeKey: 'containerPort' }),
  env: MapList(Env, ['name']),
});
const Volume = Struct({
  name: Str(),
  emptyDir: Struct({ medium: Str() }),
  hostPath: Struct({ path: Str() }),
});
const schema = Struct({
  metadata: Struct({
    labels: StrMap(),
    finalizers: SetList(Str(), undefined, { merge: true }),
  }),
  spec: Struct({
    containers: MapList(Container, ['name']),
    volumes: MapList(Volume, ['name'], undefined, { retainKeys: true }),
    tolerations: AtomicList(Struct({ key: Str() })),
    strategy: RetainKeys(Struct({ type: Str(), rollingUpdate: Struct({ maxSurge: Int() }) })),
  }),
});

const c = (name: string, extra: object = {}) => ({ name, image: `${name}:1`, ...extra });

describe('strategicMergePatch', () => {
  it.each([
    {
      name: 'maps merge key by key and null deletes a key',
      original: { metadata: { labels: { a: '1', b: '2' } } },
      patch: { metadata: { labels: { b: null, c: '3' } } },
      want: { metadata: { labels: { a: '1', c: '3' } } },
    },
    {
      name: 'a null for a missing key is dropped, not stored',
      original: { spec: {} },
      patch: { spec: { strategy: null, containers: [c('a', { image: null })] } },
      want: { spec: { containers: [{ name: 'a' }] } },
    },
    {
      name: 'lists of maps merge by merge key, new items appended',
      original: { spec: { containers: [c('a'), c('b')] } },
      patch: { spec: { containers: [{ name: 'b', image: 'b:2' }, c('z')] } },
      want: { spec: { containers: [c('a'), { name: 'b', image: 'b:2' }, c('z')] } },
    },
    {
      name: 'nested keyed lists merge by their own key (env by name)',
      original: {
        spec: {
          containers: [
            c('a', {
              env: [
                { name: 'X', value: '1' },
                { name: 'Y', value: '2' },
              ],
            }),
          ],
        },
      },
      patch: { spec: { containers: [{ name: 'a', env: [{ name: 'Y', value: '3' }] }] } },
      want: {
        spec: {
          containers: [
            c('a', {
              env: [
                { name: 'X', value: '1' },
                { name: 'Y', value: '3' },
              ],
            }),
          ],
        },
      },
    },
    {
      name: 'ports merge by containerPort',
      original: { spec: { containers: [c('a', { ports: [{ containerPort: 80, name: 'http' }] })] } },
      patch: { spec: { containers: [{ name: 'a', ports: [{ containerPort: 80, protocol: 'TCP' }] }] } },
      want: {
        spec: { containers: [c('a', { ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }] })] },
      },
    },
    {
      name: '$patch: delete in a list item removes the matching item',
      original: { spec: { containers: [c('a'), c('b')] } },
      patch: { spec: { containers: [{ name: 'a', $patch: 'delete' }] } },
      want: { spec: { containers: [c('b')] } },
    },
    {
      name: '$patch: replace in a list makes the patch the whole list',
      original: { spec: { containers: [c('a'), c('b')] } },
      patch: { spec: { containers: [c('z'), { $patch: 'replace' }] } },
      want: { spec: { containers: [c('z')] } },
    },
    {
      name: '$patch: replace in a map replaces the map',
      original: { metadata: { labels: { a: '1' } } },
      patch: { metadata: { labels: { b: '2', $patch: 'replace' } } },
      want: { metadata: { labels: { b: '2' } } },
    },
    {
      name: '$patch: delete in a map empties it',
      original: { metadata: { labels: { a: '1' } }, spec: {} },
      patch: { metadata: { labels: { $patch: 'delete' } } },
      want: { metadata: { labels: {} }, spec: {} },
    },
    {
      name: 'lists without a strategy are replaced whole (atomic)',
      original: { spec: { tolerations: [{ key: 'a' }, { key: 'b' }] } },
      patch: { spec: { tolerations: [{ key: 'c' }] } },
      want: { spec: { tolerations: [{ key: 'c' }] } },
    },
    {
      name: 'primitive lists without a strategy are replaced',
      original: { spec: { containers: [c('a', { args: ['x', 'y'] })] } },
      patch: { spec: { containers: [{ name: 'a', args: ['z'] }] } },
      want: { spec: { containers: [c('a', { args: ['z'] })] } },
    },
    {
      name: 'primitive lists with merge strategy become a union: patch items in patch order, then the rest',
      original: { metadata: { finalizers: ['a', 'b'] } },
      patch: { metadata: { finalizers: ['c', 'a'] } },
      want: { metadata: { finalizers: ['c', 'a', 'b'] } },
    },
    {
      name: '$deleteFromPrimitiveList removes values from a merged primitive list',
      original: { metadata: { finalizers: ['a', 'b', 'c'] } },
      patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'] } },
      want: { metadata: { finalizers: ['a', 'c'] } },
    },
    {
      name: '$setElementOrder orders the merged list as kubectl asks',
      original: { spec: { containers: [c('a'), c('b'), c('c')] } },
      patch: {
        spec: {
          '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }, { name: 'b' }],
          containers: [{ name: 'a', image: 'a:2' }],
        },
      },
      want: { spec: { containers: [c('c'), { name: 'a', image: 'a:2' }, c('b')] } },
    },
    {
      name: '$setElementOrder keeps server-only items in their live place',
      original: { spec: { containers: [c('a'), c('server'), c('b')] } },
      patch: { spec: { '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }] } },
      want: { spec: { containers: [c('a'), c('server'), c('b')] } },
    },
    {
      name: '$retainKeys clears the keys of a map that it does not list (deployment strategy)',
      original: { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } },
      patch: { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
      want: { spec: { strategy: { type: 'Recreate' } } },
    },
    {
      name: '$retainKeys inside a keyed list item switches a volume source',
      original: { spec: { volumes: [{ name: 'v', emptyDir: {} }] } },
      patch: {
        spec: { volumes: [{ name: 'v', $retainKeys: ['hostPath', 'name'], hostPath: { path: '/x' } }] },
      },
      want: { spec: { volumes: [{ name: 'v', hostPath: { path: '/x' } }] } },
    },
    {
      name: 'a value of another type replaces the original',
      original: { spec: { containers: [c('a')] } },
      patch: { spec: 'x' },
      want: { spec: 'x' },
    },
    {
      name: 'directives are stripped from values that are added whole',
      original: {},
      patch: { spec: { containers: [c('a'), { name: 'b', $patch: 'delete' }] } },
      want: { spec: { containers: [c('a')] } },
    },
    {
      name: 'a null inside a keyed item deletes that field of the matching item',
      original: { spec: { containers: [c('a', { args: ['x'] })] } },
      patch: { spec: { containers: [{ name: 'a', args: null }] } },
      want: { spec: { containers: [c('a')] } },
    },
    {
      name: 'the patch kubectl apply sends when a port, an env value and a label change',
      original: {
        metadata: { labels: { app: 'web', tier: 'front' } },
        spec: {
          containers: [
            c('a', {
              env: [{ name: 'MODE', value: 'prod' }],
              ports: [
                { containerPort: 80, protocol: 'TCP' },
                { containerPort: 9090, protocol: 'TCP' },
              ],
            }),
          ],
        },
      },
      patch: {
        metadata: { labels: { tier: null } },
        spec: {
          '$setElementOrder/containers': [{ name: 'a' }],
          containers: [
            {
              name: 'a',
              image: 'a:2',
              '$setElementOrder/env': [{ name: 'MODE' }],
              env: [{ name: 'MODE', value: 'debug' }],
              '$setElementOrder/ports': [{ containerPort: 80 }],
              ports: [{ $patch: 'delete', containerPort: 9090 }],
            },
          ],
        },
      },
      want: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'a',
              image: 'a:2',
              env: [{ name: 'MODE', value: 'debug' }],
              ports: [{ containerPort: 80, protocol: 'TCP' }],
            },
          ],
        },
      },
    },
    {
      name: '$setElementOrder orders a merged primitive list',
      original: { metadata: { finalizers: ['a', 'b'] } },
      patch: { metadata: { '$setElementOrder/finalizers': ['b', 'c', 'a'], finalizers: ['c'] } },
      want: { metadata: { finalizers: ['b', 'c', 'a'] } },
    },
    {
      name: 'fields the schema does not know are merged as maps and replaced as lists',
      original: { extra: { a: [1, 2], m: { x: 1 } } },
      patch: { extra: { a: [3], m: { y: 2 } } },
      want: { extra: { a: [3], m: { x: 1, y: 2 } } },
    },
  ])('$name', ({ original, patch, want }) => {
    const before = structuredClone(original);
    expect(strategicMergePatch(original, patch, schema)).toEqual(want);
    expect(original).toEqual(before);
  });

  it.each([
    {
      name: 'an item of a keyed list without its merge key',
      patch: { spec: { containers: [{ image: 'x' }] } },
      code: 422,
    },
    { name: 'an unknown $patch value', patch: { spec: { $patch: 'frobnicate' } }, code: 400 },
    {
      name: '$patch: merge inside a list',
      patch: { spec: { containers: [{ $patch: 'merge' }] } },
      code: 400,
    },
    {
      name: 'a patched key missing from $retainKeys',
      patch: { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: {} } } },
      code: 400,
    },
    {
      name: 'a patch list out of the $setElementOrder order',
      patch: {
        spec: {
          '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }],
          containers: [{ name: 'b' }, { name: 'a' }],
        },
      },
      code: 400,
    },
    { name: 'a patch that is not an object', patch: [1], code: 400 },
  ])('rejects $name', ({ patch, code }) => {
    const original = { spec: { containers: [c('a'), c('b')], strategy: {} } };
    let err: unknown;
    try {
      strategicMergePatch(original, patch, schema);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).code).toBe(code);
  });
});

describe('the real schemas carry Kubernetes patch metadata', () => {
  const deployment = appsTypes.find((rt) => rt.kind === 'Deployment')!.schema as any;
  const podSpec = deployment.properties.spec.properties.template.properties.spec;
  const container = podSpec.properties.containers.items;
  it.each([
    { name: 'containers by name', s: podSpec.properties.containers, key: 'name', strategy: 'merge' },
    { name: 'volumes by name, retainKeys', s: podSpec.properties.volumes, key: 'name', strategy: 'merge' },
    {
      name: 'ports by containerPort',
      s: container.properties.ports,
      key: 'containerPort',
      strategy: 'merge',
    },
    { name: 'env by name', s: container.properties.env, key: 'name', strategy: 'merge' },
    {
      name: 'volumeMounts by mountPath',
      s: container.properties.volumeMounts,
      key: 'mountPath',
      strategy: 'merge',
    },
    { name: 'tolerations replaced', s: podSpec.properties.tolerations, key: undefined, strategy: undefined },
  ])('$name', ({ s, key, strategy }) => {
    const meta = patchMetaOf(s);
    expect(meta.mergeKey).toBe(key);
    expect(meta.strategy).toBe(strategy);
  });
  it('deployment strategy retains keys', () => {
    expect(patchMetaOf(deployment.properties.spec.properties.strategy).retainKeys).toBe(true);
  });
});

describe('strategic merge: objects from the wire cannot reach prototypes', () => {
  const polluting = ['polluted', 'x', 'apiGroups', 'resources', 'x-kubernetes-patch-strategy'];
  const proto = Object.prototype as Record<string, unknown>;
  afterEach(() => {
    for (const k of polluting) delete proto[k];
  });
  const unpolluted = () => {
    for (const k of polluting) expect(({} as Record<string, unknown>)[k], k).toBeUndefined();
  };
  const live = () => ({
    metadata: { labels: { app: 'web' }, finalizers: ['a'] },
    spec: { containers: [c('app')] },
  });

  it.each([
    '{"__proto__":{"polluted":"yes"}}',
    '{"metadata":{"__proto__":{"x":"yes"}}}',
    '{"constructor":{"prototype":{"apiGroups":["*"]}}}',
    '{"metadata":{"labels":{"__proto__":{"resources":["*"]},"constructor":{"prototype":{"x":1}}}}}',
    '{"spec":{"containers":[{"name":"app","__proto__":{"polluted":"yes"}}]}}',
    '{"spec":{"containers":[{"name":"new","__proto__":{"polluted":"yes"}}]}}',
    '{"spec":{"__proto__":{"x-kubernetes-patch-strategy":"merge"}}}',
    '{"$setElementOrder/__proto__":[{"name":"x"}],"__proto__":[{"name":"x"}]}',
    '{"$setElementOrder/constructor":[{"name":"x"}]}',
    '{"$deleteFromPrimitiveList/__proto__":["x"]}',
    '{"$retainKeys":["__proto__"],"__proto__":{"polluted":"yes"}}',
    '{"metadata":{"$patch":"replace","__proto__":{"polluted":"yes"}}}',
  ])('%s writes no prototype', (text) => {
    try {
      const out = strategicMergePatch(live(), JSON.parse(text), schema) as Record<string, any>;
      expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
      if (out.metadata) expect(Object.getPrototypeOf(out.metadata)).toBe(Object.prototype);
    } catch (err) {
      expect(err).toBeInstanceOf(StatusError);
      expect((err as StatusError).code).toBeLessThan(500);
    }
    unpolluted();
  });

  it('keeps __proto__ and constructor keys of a map as data', () => {
    const out = strategicMergePatch(
      live(),
      JSON.parse('{"metadata":{"labels":{"__proto__":"p","constructor":"c"}}}'),
      schema,
    ) as any;
    expect(JSON.parse(JSON.stringify(out.metadata.labels))).toEqual(
      JSON.parse('{"app":"web","__proto__":"p","constructor":"c"}'),
    );
    expect(Object.getPrototypeOf(out.metadata.labels)).toBe(Object.prototype);
  });

  it('finds no schema through a prototype key', () => {
    expect(childSchema(schema, '__proto__')).toBeUndefined();
    expect(childSchema(schema, 'constructor')).toBeUndefined();
    expect(childSchema(schema, 'hasOwnProperty')).toBeUndefined();
  });
});

describe('strategic merge of long lists is not quadratic', () => {
  // Counted as reads of the items' properties: a few per item when each list is indexed by
  // its merge key once, millions when every patch item scans the live list. The merge
  // clones its inputs first, and a clone drops the counting proxies, so here it does not.
  let reads = 0;
  beforeEach(() => {
    vi.spyOn(globalThis, 'structuredClone').mockImplementation((v) => v);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  const counted = <T extends object>(o: T): T =>
    new Proxy(o, {
      get(target, key, receiver) {
        reads++;
        return Reflect.get(target, key, receiver);
      },
    });

  it('merges 5000 keyed items into 5000 reading each item a bounded number of times', () => {
    const n = 5000;
    const containers = Array.from({ length: n }, (_, i) => counted(c(`c${i}`)));
    const patch = {
      spec: {
        containers: Array.from({ length: n }, (_, i) => counted({ name: `c${n - 1 - i}`, image: 'x' })),
      },
    };
    reads = 0;
    const out = strategicMergePatch({ spec: { containers } }, patch, schema) as any;
    expect(reads).toBeLessThan(100 * n);
    expect(out.spec.containers).toHaveLength(n);
    expect(out.spec.containers.every((x: { image: string }) => x.image === 'x')).toBe(true);
  });

  it('deletes 5000 keyed items with $patch: delete reading each item a bounded number of times', () => {
    const n = 5000;
    const containers = Array.from({ length: n }, (_, i) => counted(c(`c${i}`)));
    const patch = {
      spec: {
        containers: Array.from({ length: n - 1 }, (_, i) => counted({ name: `c${i}`, $patch: 'delete' })),
      },
    };
    reads = 0;
    const out = strategicMergePatch({ spec: { containers } }, patch, schema) as any;
    expect(reads).toBeLessThan(100 * n);
    expect(out.spec.containers).toEqual([c(`c${n - 1}`)]);
  });
});
