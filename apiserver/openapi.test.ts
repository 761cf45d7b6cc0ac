import { describe, expect, it } from 'vitest';
import { builtinRegistry } from '../api/types/index.js';
import { openapiDocument, schemaName } from './openapi.js';
import { encodeDocument, openapiV2Document } from './openapi-v2.js';

/** Paths of fields (to `depth` levels) that have no description, as `kubectl explain` would show them. */
function undescribed(s: any, path: string, depth: number, out: string[] = []): string[] {
  if (depth === 0 || !s) return out;
  if (s.type === 'array') return undescribed(s.items, path, depth, out);
  for (const [k, v] of Object.entries<any>(s.properties ?? {})) {
    if (!v.description) out.push(`${path}.${k}`);
    undescribed(v, `${path}.${k}`, depth - 1, out);
  }
  return out;
}

describe('OpenAPI', () => {
  it.each(builtinRegistry.all.map((rt) => ({ kind: rt.kind, rt })))(
    '$kind and its fields to two levels (spec.x, status.x) have descriptions for kubectl explain',
    ({ rt }) => {
      expect(rt.schema.description).toBeTruthy();
      const skip =
        /status\.(daemonEndpoints|config|features|resourceClaimStatuses|extendedResourceClaimStatus|modifyVolumeStatus)|spec\.(podPreemptionPolicy|resources)$|PersistentVolume(Claim)?\.status$/;
      expect(undescribed(rt.schema, rt.kind, 2).filter((p) => !skip.test(p))).toEqual([]);
    },
  );

  it('publishes list types and patch strategies in v3 and v2 (JSON and protobuf)', () => {
    const v3 = openapiDocument(builtinRegistry, 'apps', 'v1') as any;
    const deployment = v3.components.schemas['io.k8s.api.apps.v1.Deployment'];
    const containers = deployment.properties.spec.properties.template.properties.spec.properties.containers;
    expect(containers).toMatchObject({
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      'x-kubernetes-patch-merge-key': 'name',
      'x-kubernetes-patch-strategy': 'merge',
    });
    const rt = builtinRegistry.byKind('apps', 'Deployment')!;
    const v2 = openapiV2Document(builtinRegistry);
    const def = v2.definitions[schemaName(rt)] as any;
    expect(def.properties.spec.properties.strategy['x-kubernetes-patch-strategy']).toBe('retainKeys');
    const ports =
      def.properties.spec.properties.template.properties.spec.properties.containers.items.properties.ports;
    expect(ports['x-kubernetes-list-map-keys']).toEqual(['containerPort', 'protocol']);
    // The protobuf form carries the extensions as named YAML values.
    const proto = encodeDocument(v2).toString('latin1');
    expect(proto).toContain('x-kubernetes-patch-merge-key');
    expect(proto).toContain('containerPort');
  });
});
