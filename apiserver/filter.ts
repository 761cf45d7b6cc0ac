/**
 * One compiled predicate for list and watch: namespace, label selector and
 * field selector together. The fields a kind can be selected on are
 * metadata.name, metadata.namespace and what its registry entry exposes.
 */
import type { KubeObject } from '../api/meta.js';
import type { ResourceType } from '../api/registry.js';
import { checkFieldSelectorFields, parseFieldSelector, parseLabelSelector } from '../api/selectors.js';

export interface ObjectFilter {
  /** True when nothing but the namespace is filtered. */
  readonly empty: boolean;
  matches(obj: KubeObject): boolean;
}

const allowedFields = new WeakMap<ResourceType, Set<string>>();

function fieldsAllowed(rt: ResourceType): Set<string> {
  let s = allowedFields.get(rt);
  if (!s) {
    let extra: string[] = [];
    try {
      extra = Object.keys(rt.fieldLabels?.({ metadata: {} }) ?? {});
    } catch {
      extra = [];
    }
    s = new Set(['metadata.name', 'metadata.namespace', ...extra]);
    allowedFields.set(rt, s);
  }
  return s;
}

export function fieldsOf(rt: ResourceType, obj: KubeObject): Record<string, string> {
  return {
    'metadata.name': obj.metadata.name ?? '',
    'metadata.namespace': obj.metadata.namespace ?? '',
    ...(rt.fieldLabels?.(obj) ?? {}),
  };
}

export function compileFilter(
  rt: ResourceType,
  namespace: string | undefined,
  labelSelector: string | undefined,
  fieldSelector: string | undefined,
): ObjectFilter {
  const labels = labelSelector ? parseLabelSelector(labelSelector) : undefined;
  const fields = fieldSelector ? parseFieldSelector(fieldSelector) : undefined;
  if (fields) checkFieldSelectorFields(fields, fieldsAllowed(rt), rt.kind);
  const hasLabels = labels !== undefined && !labels.empty();
  const hasFields = fields !== undefined && !fields.empty();
  const ns = rt.namespaced ? namespace : undefined;
  return {
    empty: !hasLabels && !hasFields,
    matches(obj) {
      if (ns && obj.metadata.namespace !== ns) return false;
      if (hasLabels && !labels.matches(obj.metadata.labels ?? {})) return false;
      if (hasFields && !fields.matches(fieldsOf(rt, obj))) return false;
      return true;
    },
  };
}
