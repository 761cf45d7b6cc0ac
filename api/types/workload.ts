/**
 * What every kind with a pod template shares (apps/v1, batch/v1 and core/v1
 * ReplicationController): the selector and template checks, small number
 * checks, template defaulting, and the
 * Containers, Images and Selector columns `kubectl get -o wide` prints.
 */
import type { KubeObject } from '../meta.js';
import { column } from '../printers.js';
import type { TableColumn } from '../registry.js';
import { type LabelSelectorObject, labelSelectorFromObject, selectorToString } from '../selectors.js';
import type { FieldError } from '../status.js';
import {
  child,
  forbiddenError,
  invalidError,
  notSupportedError,
  requiredError,
  validateLabelSelector,
} from '../validation.js';
import { defaultPodSpec, type PodSpec, type PodTemplateSpec, validatePodTemplateSpec } from './pod.js';

export function nonNegative(field: string, value: number | undefined): FieldError[] {
  return value !== undefined && value < 0
    ? [invalidError(field, value, 'must be greater than or equal to 0')]
    : [];
}

/** "field is immutable" when the value changed (compared as JSON). */
export function immutable(field: string, now: unknown, before: unknown): FieldError[] {
  return JSON.stringify(now) === JSON.stringify(before)
    ? []
    : [invalidError(field, now ?? null, 'field is immutable')];
}

/** An int or a percent ("25%"), not negative; `atMost100` caps percents at 100%. */
export function intOrPercent(
  field: string,
  v: number | string | undefined,
  atMost100: boolean,
): FieldError[] {
  if (v === undefined) return [];
  if (typeof v === 'number') return nonNegative(field, v);
  if (!/^[0-9]+%$/.test(v)) {
    const detail =
      "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%')";
    return [invalidError(field, v, detail)];
  }
  return atMost100 && Number.parseInt(v, 10) > 100
    ? [invalidError(field, v, 'must not be greater than 100%')]
    : [];
}

/** True for an unset, 0 or "0%" int-or-percent. */
export const isZero = (v: number | string | undefined): boolean =>
  v === undefined || Number.parseInt(String(v), 10) === 0;

/**
 * The selector a controller finds its pods by: required, well formed, not
 * empty (when `kind` is given: apps kinds reject `{}`), and matching the
 * labels of the pod template, so that the controller sees the pods it makes.
 */
export function validateSelector(
  sel: LabelSelectorObject | undefined,
  tpl: PodTemplateSpec | undefined,
  path: string,
  kind?: string,
): FieldError[] {
  if (!sel) return [requiredError(child(path, 'selector'))];
  const errs = validateLabelSelector(sel, child(path, 'selector'));
  const empty = !Object.keys(sel.matchLabels ?? {}).length && !sel.matchExpressions?.length;
  if (empty && kind)
    errs.push(invalidError(child(path, 'selector'), sel, `empty selector is invalid for ${kind}`));
  if (errs.length) return errs;
  const labels = tpl?.metadata?.labels ?? {};
  if (!labelSelectorFromObject(sel).matches(labels)) {
    const field = child(path, 'template', 'metadata', 'labels');
    errs.push(invalidError(field, labels, '`selector` does not match template `labels`'));
  }
  return errs;
}

/**
 * The template of a controller of long-running pods (apps kinds and
 * ReplicationController): a valid pod template whose pods always restart and
 * never time out. `extraVolumes` are volumes the controller adds itself (a
 * StatefulSet's claim templates), so that mounts of them validate.
 */
export function validateControllerTemplate(
  tpl: PodTemplateSpec | undefined,
  kind: string,
  extraVolumes: string[] = [],
): FieldError[] {
  const path = 'spec.template';
  if (!tpl) return [requiredError(path)];
  const spec = tpl.spec ?? {};
  const withClaims = extraVolumes.length
    ? {
        ...tpl,
        spec: {
          ...spec,
          volumes: [
            ...(spec.volumes ?? []),
            ...extraVolumes.map((name) => ({ name, persistentVolumeClaim: { claimName: name } })),
          ],
        },
      }
    : tpl;
  const errs = validatePodTemplateSpec(withClaims, path);
  if (spec.restartPolicy !== 'Always')
    errs.push(notSupportedError(child(path, 'spec', 'restartPolicy'), spec.restartPolicy ?? '', ['Always']));
  if (spec.activeDeadlineSeconds !== undefined)
    errs.push(
      forbiddenError(
        child(path, 'spec', 'activeDeadlineSeconds'),
        `activeDeadlineSeconds in ${kind} is not Supported`,
      ),
    );
  return errs;
}

/** Fills the pod defaults of a template that has a spec. */
export function defaultTemplate(tpl: PodTemplateSpec | undefined): void {
  if (tpl?.spec) defaultPodSpec(tpl.spec);
}

/** A count from a status, 0 when unset (Go prints the zero value). */
export const count = (n: number | undefined): number => n ?? 0;

export function templateColumns(specOf: (o: KubeObject) => PodSpec | undefined): TableColumn[] {
  const joined = (o: KubeObject, f: 'name' | 'image') =>
    (specOf(o)?.containers ?? []).map((c) => c[f] ?? '').join(',');
  return [
    column('Containers', 'Names of the containers in the pod template.', (o) => joined(o, 'name'), {
      priority: 1,
    }),
    column('Images', 'Images of the containers in the pod template.', (o) => joined(o, 'image'), {
      priority: 1,
    }),
  ];
}

export function selectorColumn(selOf: (o: KubeObject) => LabelSelectorObject | undefined): TableColumn {
  return column('Selector', 'Label query that finds the pods.', (o) => selectorToString(selOf(o)), {
    priority: 1,
  });
}

/** labels.FormatLabels: sorted `k=v` pairs, `<none>` when there are none. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${labels?.[k]}`).join(',') : '<none>';
}
