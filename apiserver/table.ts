/**
 * Table responses (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`),
 * which is how `kubectl get` asks the server to print: one column
 * definition per registry column, Name first and Age after the default ones.
 */
import type { KubeObject } from '../api/meta.js';
import { ageColumn } from '../api/printers.js';
import type { ResourceType, TableColumn } from '../api/registry.js';

/** First column unless a kind places Name itself; Age follows the default columns unless listed. */
export const nameColumn: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace. Cannot be updated.',
  priority: 0,
  cell: (o) => o.metadata.name ?? '',
};

const columnsCache = new WeakMap<ResourceType, TableColumn[]>();

export function tableColumns(rt: ResourceType): TableColumn[] {
  let cols = columnsCache.get(rt);
  if (!cols && rt.columns.some((c) => c.name === 'Name')) {
    // A kind that places Name itself (events) lays out its own table.
    cols = rt.columns;
    columnsCache.set(rt, cols);
  }
  if (!cols) {
    const own = [...rt.columns];
    if (!own.some((c) => c.name === 'Age')) {
      const lastDefault = own.reduce((at, c, i) => (c.priority === 0 ? i + 1 : at), 0);
      own.splice(lastDefault, 0, ageColumn);
    }
    cols = [nameColumn, ...own];
    columnsCache.set(rt, cols);
  }
  return cols;
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function partialMetadata(obj: KubeObject, version: string): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: obj.metadata };
}

export function tableRow(
  rt: ResourceType,
  obj: KubeObject,
  include: IncludeObject,
  version: string,
  now: Date,
) {
  const cells = tableColumns(rt).map((c) => {
    try {
      return c.cell(obj, now);
    } catch {
      return '<error>';
    }
  });
  const row: Record<string, unknown> = { cells };
  if (include === 'Object') row.object = obj;
  else if (include === 'Metadata') row.object = partialMetadata(obj, version);
  return row;
}

export function toTable(
  rt: ResourceType,
  objs: KubeObject[],
  opts: {
    include: IncludeObject;
    version: string;
    resourceVersion?: string;
    continue?: string;
    remaining?: number;
    withColumns?: boolean;
  },
) {
  const now = new Date();
  const metadata: Record<string, unknown> = {};
  if (opts.resourceVersion) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  if (opts.remaining !== undefined) metadata.remainingItemCount = opts.remaining;
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${opts.version}`,
    metadata,
    columnDefinitions:
      opts.withColumns === false
        ? []
        : tableColumns(rt).map((c) => ({
            name: c.name,
            type: c.type,
            format: c.format ?? '',
            description: c.description,
            priority: c.priority,
          })),
    rows: objs.map((o) => tableRow(rt, o, opts.include, opts.version, now)),
  };
}

export function parseIncludeObject(v: unknown): IncludeObject {
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}
