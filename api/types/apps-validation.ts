/**
 * Validation of the apps/v1 kinds, with the field paths and messages of
 * Kubernetes' pkg/apis/apps/validation. Re-exported from `apps.ts`.
 */
import type { FieldError } from '../status.js';
import {
  child,
  forbiddenError,
  index,
  invalidError,
  notSupportedError,
  requiredError,
} from '../validation.js';
import type { DaemonSet, Deployment, ReplicaSet, StatefulSet } from './apps-schema.js';
import {
  immutable,
  intOrPercent,
  isZero,
  nonNegative,
  validateControllerTemplate,
  validateSelector,
} from './workload.js';

function validateDeploymentStrategy(strategy: NonNullable<Deployment['spec']>['strategy']): FieldError[] {
  const path = 'spec.strategy';
  const ru = strategy?.rollingUpdate;
  switch (strategy?.type) {
    case 'Recreate':
      return ru
        ? [
            forbiddenError(
              child(path, 'rollingUpdate'),
              "may not be specified when strategy `type` is 'Recreate'",
            ),
          ]
        : [];
    case 'RollingUpdate': {
      if (!ru)
        return [requiredError(child(path, 'rollingUpdate'), 'this should be defaulted and never be nil')];
      const errs = [
        ...intOrPercent(child(path, 'rollingUpdate', 'maxUnavailable'), ru.maxUnavailable, true),
        ...intOrPercent(child(path, 'rollingUpdate', 'maxSurge'), ru.maxSurge, false),
      ];
      if (isZero(ru.maxUnavailable) && isZero(ru.maxSurge))
        errs.push(
          invalidError(
            child(path, 'rollingUpdate', 'maxUnavailable'),
            ru.maxUnavailable ?? 0,
            'may not be 0 when `maxSurge` is 0',
          ),
        );
      return errs;
    }
    default:
      return [notSupportedError(child(path, 'type'), strategy?.type ?? '', ['Recreate', 'RollingUpdate'])];
  }
}

export function validateDeployment(d: Deployment, old?: Deployment): FieldError[] {
  const s = d.spec ?? {};
  const errs = [
    ...nonNegative('spec.replicas', s.replicas),
    ...validateSelector(s.selector, s.template, 'spec', 'deployment'),
    ...validateControllerTemplate(s.template, 'Deployment'),
    ...validateDeploymentStrategy(s.strategy),
    ...nonNegative('spec.minReadySeconds', s.minReadySeconds),
    ...nonNegative('spec.revisionHistoryLimit', s.revisionHistoryLimit),
    ...nonNegative('spec.progressDeadlineSeconds', s.progressDeadlineSeconds),
  ];
  if (s.progressDeadlineSeconds !== undefined && s.progressDeadlineSeconds <= (s.minReadySeconds ?? 0))
    errs.push(
      invalidError(
        'spec.progressDeadlineSeconds',
        s.progressDeadlineSeconds,
        'must be greater than minReadySeconds',
      ),
    );
  if (old) errs.push(...immutable('spec.selector', s.selector, old.spec?.selector));
  return errs;
}

export function validateReplicaSet(rs: ReplicaSet, old?: ReplicaSet): FieldError[] {
  const s = rs.spec ?? {};
  const errs = [
    ...nonNegative('spec.replicas', s.replicas),
    ...nonNegative('spec.minReadySeconds', s.minReadySeconds),
    ...validateSelector(s.selector, s.template, 'spec', 'replicaset'),
    ...validateControllerTemplate(s.template, 'ReplicaSet'),
  ];
  if (old) errs.push(...immutable('spec.selector', s.selector, old.spec?.selector));
  return errs;
}

/** Spec fields of a StatefulSet that an update may change; any other change is forbidden. */
const statefulSetMutable = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'revisionHistoryLimit',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
] as const;

function validateStatefulSetStrategy(s: NonNullable<StatefulSet['spec']>): FieldError[] {
  const path = 'spec.updateStrategy';
  const ru = s.updateStrategy?.rollingUpdate;
  switch (s.updateStrategy?.type) {
    case undefined:
    case '':
      return [requiredError(path)];
    case 'OnDelete':
      return ru
        ? [invalidError(child(path, 'rollingUpdate'), ru, "only allowed for updateStrategy 'RollingUpdate'")]
        : [];
    case 'RollingUpdate': {
      const errs = nonNegative(child(path, 'rollingUpdate', 'partition'), ru?.partition);
      const maxUnavailable = child(path, 'rollingUpdate', 'maxUnavailable');
      if (ru?.maxUnavailable !== undefined) {
        errs.push(...intOrPercent(maxUnavailable, ru.maxUnavailable, true));
        if (isZero(ru.maxUnavailable))
          errs.push(invalidError(maxUnavailable, ru.maxUnavailable, 'cannot be 0'));
      }
      return errs;
    }
    default:
      return [invalidError(path, s.updateStrategy, "must be 'RollingUpdate' or 'OnDelete'")];
  }
}

export function validateStatefulSet(sts: StatefulSet, old?: StatefulSet): FieldError[] {
  const s = sts.spec ?? {};
  const errs: FieldError[] = [];
  if (!s.podManagementPolicy) errs.push(requiredError('spec.podManagementPolicy'));
  else if (s.podManagementPolicy !== 'OrderedReady' && s.podManagementPolicy !== 'Parallel')
    errs.push(
      invalidError('spec.podManagementPolicy', s.podManagementPolicy, "must be 'OrderedReady' or 'Parallel'"),
    );
  errs.push(...validateStatefulSetStrategy(s));
  const retention = s.persistentVolumeClaimRetentionPolicy ?? {};
  for (const f of ['whenDeleted', 'whenScaled'] as const)
    if (retention[f] !== 'Retain' && retention[f] !== 'Delete')
      errs.push(
        notSupportedError(child('spec.persistentVolumeClaimRetentionPolicy', f), retention[f] ?? '', [
          'Retain',
          'Delete',
        ]),
      );
  errs.push(
    ...nonNegative('spec.replicas', s.replicas),
    ...nonNegative('spec.minReadySeconds', s.minReadySeconds),
    ...nonNegative('spec.ordinals.start', s.ordinals?.start),
    ...validateSelector(s.selector, s.template, 'spec', 'statefulset'),
  );
  const claims = s.volumeClaimTemplates ?? [];
  claims.forEach((c, i) => {
    if (!c.metadata?.name)
      errs.push(requiredError(child(index('spec.volumeClaimTemplates', i), 'metadata', 'name')));
  });
  errs.push(
    ...validateControllerTemplate(
      s.template,
      'StatefulSet',
      claims.flatMap((c) => (c.metadata?.name ? [c.metadata.name] : [])),
    ),
  );
  if (old) {
    const rest = (spec: StatefulSet['spec']) => {
      const copy: Record<string, unknown> = { ...spec };
      for (const f of statefulSetMutable) delete copy[f];
      return copy;
    };
    if (JSON.stringify(rest(s)) !== JSON.stringify(rest(old.spec)))
      errs.push(
        forbiddenError(
          'spec',
          `updates to statefulset spec for fields other than ${statefulSetMutable
            .slice(0, -1)
            .map((f) => `'${f}'`)
            .join(', ')} and 'minReadySeconds' are forbidden`,
        ),
      );
  }
  return errs;
}

export function validateDaemonSet(ds: DaemonSet, old?: DaemonSet): FieldError[] {
  const s = ds.spec ?? {};
  const errs = [
    ...validateSelector(s.selector, s.template, 'spec', 'daemonset'),
    ...validateControllerTemplate(s.template, 'DaemonSet'),
    ...nonNegative('spec.minReadySeconds', s.minReadySeconds),
    ...nonNegative('spec.revisionHistoryLimit', s.revisionHistoryLimit),
  ];
  const path = 'spec.updateStrategy';
  const type = s.updateStrategy?.type;
  const ru = s.updateStrategy?.rollingUpdate;
  if (type !== 'RollingUpdate' && type !== 'OnDelete')
    errs.push(notSupportedError(child(path, 'type'), type ?? '', ['OnDelete', 'RollingUpdate']));
  if (type === 'RollingUpdate') {
    const p = child(path, 'rollingUpdate');
    errs.push(
      ...intOrPercent(child(p, 'maxUnavailable'), ru?.maxUnavailable, true),
      ...intOrPercent(child(p, 'maxSurge'), ru?.maxSurge, true),
    );
    const unavailable = !isZero(ru?.maxUnavailable);
    const surge = !isZero(ru?.maxSurge);
    if (unavailable && surge)
      errs.push(
        invalidError(child(p, 'maxSurge'), ru?.maxSurge, 'may not be set when maxUnavailable is non-zero'),
      );
    if (!unavailable && !surge)
      errs.push(requiredError(child(p, 'maxUnavailable'), 'cannot be 0 when maxSurge is 0'));
  }
  if (old) errs.push(...immutable('spec.selector', s.selector, old.spec?.selector));
  return errs;
}
