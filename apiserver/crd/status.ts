/**
 * The status a CustomResourceDefinition should have, as a pure function of
 * it and of what else is served: Kubernetes' NamingConditionController
 * (acceptedNames, NamesAccepted), EstablishingController (Established) and
 * the storedVersions the apiserver records. The controller writes it.
 */
import { metaTime } from '../../api/time.js';
import type { CrdNames, CustomResourceDefinition } from './definition.js';

export type CrdCondition = NonNullable<NonNullable<CustomResourceDefinition['status']>['conditions']>[number];

/** What other definitions and the built-in kinds already use, in the CRD's group. */
export interface TakenNames {
  /** Resource names (plural, singular, short names) in use in the group, by who uses them. */
  resources: ReadonlySet<string>;
  /** Kinds (and list kinds) in use in the group. */
  kinds: ReadonlySet<string>;
}

/** Names in use in `group`: by built-in kinds, and by other CRDs' accepted names. */
export function takenNames(
  group: string,
  self: string,
  crds: Iterable<CustomResourceDefinition>,
  builtins: Iterable<{ group: string; plural: string; singular: string; shortNames: string[]; kind: string }>,
): TakenNames {
  const resources = new Set<string>();
  const kinds = new Set<string>();
  for (const b of builtins) {
    if (b.group !== group) continue;
    for (const n of [b.plural, b.singular, ...b.shortNames]) resources.add(n);
    kinds.add(b.kind);
    kinds.add(`${b.kind}List`);
  }
  for (const c of crds) {
    if (c.metadata?.name === self || c.spec?.group !== group) continue;
    const a = c.status?.acceptedNames ?? {};
    for (const n of [a.plural, a.singular, ...(a.shortNames ?? [])]) if (n) resources.add(n);
    for (const k of [a.kind, a.listKind]) if (k) kinds.add(k);
  }
  return { resources, kinds };
}

/** The first conflict of `names` with `taken`: its condition reason and message, or undefined. */
export function namesConflict(
  names: CrdNames,
  taken: TakenNames,
): { reason: string; message: string } | undefined {
  const used = (n: string | undefined, set: ReadonlySet<string>) => n !== undefined && n !== '' && set.has(n);
  if (used(names.plural, taken.resources))
    return { reason: 'PluralConflict', message: `"${names.plural}" is already in use` };
  if (used(names.singular, taken.resources))
    return { reason: 'SingularConflict', message: `"${names.singular}" is already in use` };
  const short = (names.shortNames ?? []).find((s) => taken.resources.has(s));
  if (short !== undefined) return { reason: 'ShortNamesConflict', message: `"${short}" is already in use` };
  if (used(names.kind, taken.kinds))
    return { reason: 'KindConflict', message: `"${names.kind}" is already in use` };
  if (used(names.listKind, taken.kinds))
    return { reason: 'ListKindConflict', message: `"${names.listKind}" is already in use` };
  return undefined;
}

/** Sets condition `c` in `conditions`, keeping lastTransitionTime when its status did not change. */
export function setCondition(
  conditions: CrdCondition[],
  c: Omit<CrdCondition, 'lastTransitionTime'>,
  now: Date,
) {
  const at = conditions.findIndex((x) => x.type === c.type);
  const prev = at >= 0 ? conditions[at] : undefined;
  const next: CrdCondition = {
    type: c.type,
    status: c.status,
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : metaTime(now.getTime()),
    reason: c.reason,
    message: c.message,
  };
  if (at >= 0) conditions[at] = next;
  else conditions.push(next);
}

export function conditionTrue(crd: CustomResourceDefinition, type: string): boolean {
  return (crd.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

/** The status `crd` should have given the names in use; its own status is the starting point. */
export function desiredStatus(
  crd: CustomResourceDefinition,
  taken: TakenNames,
  now: Date,
): NonNullable<CustomResourceDefinition['status']> {
  const status = structuredClone(crd.status ?? {});
  status.conditions ??= [];
  const conditions = status.conditions;
  const names = crd.spec?.names ?? {};
  const conflict = namesConflict(names, taken);
  if (conflict) {
    setCondition(conditions, { type: 'NamesAccepted', status: 'False', ...conflict }, now);
  } else {
    status.acceptedNames = structuredClone(names);
    setCondition(
      conditions,
      { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' },
      now,
    );
  }
  status.acceptedNames ??= {};
  // Established once names were accepted, and for good: a later conflict leaves the served names be.
  if (status.acceptedNames.plural)
    setCondition(
      conditions,
      {
        type: 'Established',
        status: 'True',
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
      },
      now,
    );
  else
    setCondition(
      conditions,
      { type: 'Established', status: 'False', reason: 'NotAccepted', message: 'not all names are accepted' },
      now,
    );
  const storage = crd.spec?.versions?.find((v) => v.storage)?.name;
  status.storedVersions ??= [];
  if (storage && !status.storedVersions.includes(storage)) status.storedVersions.push(storage);
  return status;
}
