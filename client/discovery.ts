/**
 * What the server serves now, from aggregated discovery (apidiscovery.k8s.io
 * v2, one request for every group): the resources beyond a client's built-in
 * registry, such as custom resources, which come and go at run time. The
 * namespace controller empties a namespace of these too, as Kubernetes'
 * does from discovery.
 */
import type { ResourceRef } from './resource.js';
import type { RestClient } from './rest.js';

const aggregated = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

interface DiscoveredResource {
  resource?: string;
  scope?: string;
  verbs?: string[];
  responseKind?: { kind?: string };
}
interface DiscoveredGroup {
  metadata?: { name?: string };
  versions?: { version?: string; resources?: DiscoveredResource[] }[];
}

/** Every resource of the groups under /apis, in each group's preferred (first) version, with the verbs it has. */
export async function discoverResources(
  rest: RestClient,
  signal?: AbortSignal,
): Promise<(ResourceRef & { verbs: string[] })[]> {
  const list = await rest.request<{ items?: DiscoveredGroup[] }>({
    method: 'GET',
    path: '/apis',
    accept: aggregated,
    signal,
  });
  const out: (ResourceRef & { verbs: string[] })[] = [];
  for (const g of list?.items ?? []) {
    const group = g.metadata?.name ?? '';
    const preferred = g.versions?.[0];
    if (!group || !preferred?.version) continue;
    for (const r of preferred.resources ?? []) {
      if (!r.resource || !r.responseKind?.kind) continue;
      out.push({
        group,
        version: preferred.version,
        plural: r.resource,
        kind: r.responseKind.kind,
        namespaced: r.scope === 'Namespaced',
        verbs: r.verbs ?? [],
      });
    }
  }
  return out;
}
