/**
 * Discovery of aggregated group-versions: each available APIService's
 * resources, as its backend's `/apis/{group}/{version}` (an
 * APIResourceList) lists them, cached here and refreshed by the
 * availability loop (available.ts) on every pass and on every change of an
 * APIService. What a backend answers is hostile: the body is bounded, the
 * list is bounded, and only the known fields of each resource are kept,
 * checked for type. The cache hands /apis and aggregated discovery their
 * entries (discovery.ts's ExternalGroups).
 */
import type { APIService } from '../../api/objects.js';
import type { ExternalGroups } from '../discovery.js';

/** Bounds on what one backend's discovery may bring in. */
export const maxDiscoveryBytes = 1024 * 1024;
const maxResources = 500;
const maxListItems = 50;
const maxString = 256;

/** One resource of an APIResourceList, as kept. */
export interface APIResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  group?: string;
  version?: string;
}

interface Entry {
  group: string;
  version: string;
  groupPriorityMinimum: number;
  versionPriority: number;
  resources: APIResource[];
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length <= maxString ? v : undefined;
const strList = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.length <= maxListItems && v.every((x) => str(x) !== undefined)
    ? (v as string[])
    : undefined;

/**
 * The resources of a backend's APIResourceList for `groupVersion`; throws
 * when it is not one (wrong kind of JSON, another group-version, too many).
 */
export function parseResourceList(body: Buffer, groupVersion: string): APIResource[] {
  const doc = JSON.parse(body.toString('utf8')) as unknown;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not an APIResourceList');
  const { groupVersion: gv, resources } = doc as { groupVersion?: unknown; resources?: unknown };
  if (gv !== groupVersion) throw new Error(`the list is for "${String(gv).slice(0, maxString)}"`);
  if (!Array.isArray(resources)) throw new Error('the list has no resources');
  if (resources.length > maxResources) throw new Error(`more than ${maxResources} resources`);
  const out: APIResource[] = [];
  for (const r of resources as unknown[]) {
    if (!r || typeof r !== 'object') throw new Error('a resource is not an object');
    const o = r as Record<string, unknown>;
    const name = str(o.name);
    const kind = str(o.kind);
    const verbs = strList(o.verbs);
    if (!name || kind === undefined || !verbs || typeof o.namespaced !== 'boolean')
      throw new Error('a resource lacks name, kind, namespaced or verbs');
    const res: APIResource = {
      name,
      singularName: str(o.singularName) ?? '',
      namespaced: o.namespaced,
      kind,
      verbs,
    };
    const shortNames = strList(o.shortNames);
    const categories = strList(o.categories);
    if (shortNames?.length) res.shortNames = shortNames;
    if (categories?.length) res.categories = categories;
    if (str(o.group) !== undefined) res.group = str(o.group);
    if (str(o.version) !== undefined) res.version = str(o.version);
    out.push(res);
  }
  return out;
}

/** The cache: one entry per available APIService with a service. */
export class AggregatedDiscovery implements ExternalGroups {
  private readonly entries = new Map<string, Entry>();

  /** Records what `a`'s backend lists (after a successful discovery check). */
  set(a: APIService, resources: APIResource[]): void {
    this.entries.set(a.metadata.name!, {
      group: a.spec?.group ?? '',
      version: a.spec?.version ?? '',
      groupPriorityMinimum: a.spec?.groupPriorityMinimum ?? 0,
      versionPriority: a.spec?.versionPriority ?? 0,
      resources,
    });
  }

  /** Forgets an APIService that went away or is no longer available. */
  delete(name: string): void {
    this.entries.delete(name);
  }

  /** Every cached name, so the loop can drop those whose APIService is gone. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Versions by group, each group's by versionPriority, highest first (the preferred one). */
  private byGroup(): Map<string, Entry[]> {
    const out = new Map<string, Entry[]>();
    const sorted = [...this.entries.values()].sort(
      (a, b) =>
        b.groupPriorityMinimum - a.groupPriorityMinimum ||
        a.group.localeCompare(b.group) ||
        b.versionPriority - a.versionPriority ||
        a.version.localeCompare(b.version),
    );
    for (const e of sorted) out.set(e.group, [...(out.get(e.group) ?? []), e]);
    return out;
  }

  groups() {
    return [...this.byGroup()].map(([name, entries]) => {
      const versions = entries.map((e) => ({ groupVersion: `${name}/${e.version}`, version: e.version }));
      return { name, versions, preferredVersion: versions[0] };
    });
  }

  aggregated() {
    return [...this.byGroup()].map(([name, entries]) => ({
      metadata: { name, creationTimestamp: null },
      versions: entries.map((e) => ({
        version: e.version,
        freshness: 'Current',
        resources: aggregatedResources(e),
      })),
    }));
  }
}

/** An APIResourceList's entries as aggregated discovery's APIResourceDiscovery: subresources under their parent. */
function aggregatedResources(e: Entry) {
  const top = e.resources.filter((r) => !r.name.includes('/'));
  return top.map((r) => {
    const out: Record<string, unknown> = {
      resource: r.name,
      responseKind: { group: r.group ?? e.group, version: r.version ?? e.version, kind: r.kind },
      scope: r.namespaced ? 'Namespaced' : 'Cluster',
      singularResource: r.singularName,
      verbs: r.verbs,
    };
    if (r.shortNames) out.shortNames = r.shortNames;
    if (r.categories) out.categories = r.categories;
    const subs = e.resources.filter((s) => s.name.startsWith(`${r.name}/`));
    if (subs.length)
      out.subresources = subs.map((s) => ({
        subresource: s.name.slice(r.name.length + 1),
        responseKind: { group: s.group ?? e.group, version: s.version ?? e.version, kind: s.kind },
        verbs: s.verbs,
      }));
    return out;
  });
}
