/**
 * Discovery: /api, /apis, each group and group-version, in the classic form
 * and the aggregated form (apidiscovery.k8s.io v2 and v2beta1) that kubectl
 * 1.26+ asks for first. Built from the registry, again after each change
 * (custom resources come and go).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry, ResourceType } from '../api/registry.js';
import { newNotFound } from '../api/status.js';

export const servedSubresources: Record<
  string,
  { group: string; version: string; kind?: string; verbs: string[] }
> = {
  status: { group: '', version: '', verbs: ['get', 'patch', 'update'] },
  scale: { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
  binding: { group: '', version: 'v1', kind: 'Binding', verbs: ['create'] },
  eviction: { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] },
  finalize: { group: '', version: '', verbs: ['update'] },
  log: { group: '', version: '', verbs: ['get'] },
  exec: { group: '', version: '', kind: 'PodExecOptions', verbs: ['create', 'get'] },
  proxy: { group: '', version: '', kind: 'NodeProxyOptions', verbs: ['get'] },
  token: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] },
  approval: { group: '', version: '', verbs: ['get', 'patch', 'update'] },
  ephemeralcontainers: { group: '', version: '', verbs: ['get', 'patch', 'update'] },
};

const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const serverVersion = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-nanokube',
  gitCommit: 'nanokube',
  gitTreeState: 'clean',
  buildDate: '2026-11-23T00:00:00Z',
  goVersion: `node${process.versions.node}`,
  compiler: 'nanokube',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

function subresourcesOf(rt: ResourceType) {
  return rt.subresources.filter((s) => s in servedSubresources);
}

/**
 * A group-version's resources by name, as Kubernetes lists them; kubectl
 * keeps this order, so `get all` prints pods before services.
 */
function typesOf(registry: Registry, group: string, version: string): ResourceType[] {
  return registry.all
    .filter((r) => r.group === group && r.version === version)
    .sort((a, b) => (a.plural < b.plural ? -1 : a.plural > b.plural ? 1 : 0));
}

/** Resources served outside the registry (the review APIs): create only, never stored. */
export interface ExtraResource {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

const extrasOf = (extras: ExtraResource[], group: string, version: string) =>
  extras.filter((e) => e.group === group && e.version === version);

function resourceList(registry: Registry, group: string, version: string, extras: ExtraResource[] = []) {
  const resources: Record<string, unknown>[] = [];
  for (const e of extrasOf(extras, group, version))
    resources.push({
      name: e.plural,
      singularName: e.singular,
      namespaced: e.namespaced,
      kind: e.kind,
      verbs: e.verbs,
    });
  for (const rt of typesOf(registry, group, version)) {
    const entry: Record<string, unknown> = {
      name: rt.plural,
      singularName: rt.singular,
      namespaced: rt.namespaced,
      kind: rt.kind,
      verbs,
    };
    if (rt.shortNames.length) entry.shortNames = rt.shortNames;
    if (rt.categories.length) entry.categories = rt.categories;
    resources.push(entry);
    for (const sub of subresourcesOf(rt)) {
      const s = servedSubresources[sub];
      const r: Record<string, unknown> = {
        name: `${rt.plural}/${sub}`,
        singularName: '',
        namespaced: rt.namespaced,
        kind: s.kind ?? rt.kind,
        verbs: s.verbs,
      };
      if (s.kind) {
        r.group = s.group;
        r.version = s.version;
      }
      resources.push(r);
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

function versionsOf(registry: Registry, group: string, extras: ExtraResource[]): string[] {
  return [...new Set([...registry.all, ...extras].filter((r) => r.group === group).map((r) => r.version))];
}

function aggregatedGroup(registry: Registry, group: string, extras: ExtraResource[] = []) {
  const versions = versionsOf(registry, group, extras);
  return {
    metadata: group ? { name: group, creationTimestamp: null } : { creationTimestamp: null },
    versions: versions.map((version) => ({
      version,
      freshness: 'Current',
      resources: [
        ...extrasOf(extras, group, version).map((e) => ({
          resource: e.plural,
          responseKind: { group: e.group, version: e.version, kind: e.kind },
          scope: e.namespaced ? 'Namespaced' : 'Cluster',
          singularResource: e.singular,
          verbs: e.verbs,
        })),
        ...typesOf(registry, group, version).map((rt) => {
          const res: Record<string, unknown> = {
            resource: rt.plural,
            responseKind: { group: rt.group, version: rt.version, kind: rt.kind },
            scope: rt.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: rt.singular,
            verbs,
          };
          if (rt.shortNames.length) res.shortNames = rt.shortNames;
          if (rt.categories.length) res.categories = rt.categories;
          const subs = subresourcesOf(rt);
          if (subs.length) {
            res.subresources = subs.map((sub) => {
              const s = servedSubresources[sub];
              return {
                subresource: sub,
                responseKind: s.kind
                  ? { group: s.group, version: s.version, kind: s.kind }
                  : { group: rt.group, version: rt.version, kind: rt.kind },
                verbs: s.verbs,
              };
            });
          }
          return res;
        }),
      ],
    })),
  };
}

/** The aggregated discovery version the client asked for, if any. */
function aggregatedVersion(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    if (!part.includes('as=APIGroupDiscoveryList') || !part.includes('g=apidiscovery.k8s.io')) continue;
    if (/v=v2beta1/.test(part)) return 'v2beta1';
    if (/v=v2(;|$|\s)/.test(part)) return 'v2';
  }
  return undefined;
}

function sendAggregated(reply: FastifyReply, version: 'v2' | 'v2beta1', items: unknown[]) {
  reply
    .header('content-type', `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`)
    .header('vary', 'Accept')
    .send(
      JSON.stringify({
        kind: 'APIGroupDiscoveryList',
        apiVersion: `apidiscovery.k8s.io/${version}`,
        metadata: {},
        items,
      }),
    );
}

/**
 * Groups served by other servers (aggregated APIServices), already shaped
 * for each form of discovery; asked on every request, so they come and go
 * live. Listed after the registry's groups.
 */
export interface ExternalGroups {
  /** APIGroup entries of the classic /apis. */
  groups(): {
    name: string;
    versions: { groupVersion: string; version: string }[];
    preferredVersion: unknown;
  }[];
  /** APIGroupDiscovery items of aggregated discovery (the same shape in v2 and v2beta1). */
  aggregated(): unknown[];
}

const noExternalGroups: ExternalGroups = { groups: () => [], aggregated: () => [] };

/** Every discovery document, built once per registry generation. */
function discoveryView(registry: Registry, extras: ExtraResource[]) {
  const all = [...registry.all, ...extras];
  const groups = [...new Set(all.map((r) => r.group).filter((g) => g !== ''))].sort();
  const groupObject = (group: string) => {
    const versions = versionsOf(registry, group, extras);
    const gv = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
    return { name: group, versions: gv, preferredVersion: gv[0] };
  };
  const lists = new Map<string, unknown>();
  for (const r of all) {
    const gv = `${r.group}/${r.version}`;
    if (!lists.has(gv)) lists.set(gv, resourceList(registry, r.group, r.version, extras));
  }
  return {
    groups,
    groupList: { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupObject) },
    group: new Map(groups.map((g) => [g, { kind: 'APIGroup', apiVersion: 'v1', ...groupObject(g) }])),
    lists,
    aggregatedCore: [aggregatedGroup(registry, '')],
    aggregatedApis: groups.map((g) => aggregatedGroup(registry, g, extras)),
  };
}

export function registerDiscovery(
  app: FastifyInstance,
  registry: Registry,
  extras: ExtraResource[] = [],
  external: ExternalGroups = noExternalGroups,
): void {
  // Custom resources come and go: every document follows the registry's generation.
  const view = registry.derived((r) => discoveryView(r, extras));

  app.get('/version', async () => serverVersion);

  app.get('/api', async (req: FastifyRequest, reply) => {
    const agg = aggregatedVersion(req.headers.accept);
    if (agg) return sendAggregated(reply, agg, view().aggregatedCore);
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: req.host }],
    };
  });

  app.get('/apis', async (req: FastifyRequest, reply) => {
    const agg = aggregatedVersion(req.headers.accept);
    if (agg) return sendAggregated(reply, agg, [...view().aggregatedApis, ...external.aggregated()]);
    const list = view().groupList;
    return { ...list, groups: [...list.groups, ...external.groups()] };
  });

  app.get('/api/v1', async () => view().lists.get('/v1'));

  app.get<{ Params: { group: string } }>('/apis/:group', async (req) => {
    const group = view().group.get(req.params.group);
    if (group) return group;
    const ext = external.groups().find((g) => g.name === req.params.group);
    if (ext) return { kind: 'APIGroup', apiVersion: 'v1', ...ext };
    throw newNotFound({ group: '', resource: 'groups' }, req.params.group);
  });

  app.get<{ Params: { group: string; version: string } }>('/apis/:group/:version', async (req) => {
    const { group, version } = req.params;
    const list = group === '' ? undefined : view().lists.get(`${group}/${version}`);
    if (!list) throw newNotFound({ group: '', resource: 'groupversions' }, `${group}/${version}`);
    return list;
  });
}
