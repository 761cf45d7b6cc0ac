import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../meta.js';
import type { FieldError } from '../status.js';
import {
  dropNonEphemeralContainerUpdates,
  type EphemeralContainer,
  type Pod,
  podDefaults,
  podType,
  validatePodEphemeralContainersUpdate,
} from './pod.js';

/** A stored pod: defaulted, as the apiserver keeps it. */
function stored(ephemeral: EphemeralContainer[] = []): Pod {
  const p: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: {
      nodeName: 'n1',
      initContainers: [{ name: 'setup', image: 'busybox' }],
      containers: [{ name: 'app', image: 'nginx:1.25' }],
      volumes: [{ name: 'data', emptyDir: {} }],
      ...(ephemeral.length ? { ephemeralContainers: ephemeral } : {}),
    },
    status: { phase: 'Running' },
  };
  podDefaults(p);
  return p;
}

/** `old` with `ephemeral` as its ephemeral containers, defaulted as an update is before validation. */
function withEphemeral(old: Pod, ephemeral: EphemeralContainer[]): Pod {
  const p = structuredClone(old);
  p.spec!.ephemeralContainers = structuredClone(ephemeral);
  podDefaults(p);
  return p;
}

const debug: EphemeralContainer = { name: 'debugger', image: 'busybox', command: ['sleep', '3600'] };

const obj = (p: Pod) => p as KubeObject;

const fields = (errs: FieldError[]) => errs.map((e) => `${e.type} ${e.field}`);

describe('validatePodEphemeralContainersUpdate', () => {
  it.each<{ name: string; before: EphemeralContainer[]; after: EphemeralContainer[] }>([
    { name: 'adding the first', before: [], after: [debug] },
    { name: 'adding one beside another', before: [debug], after: [debug, { name: 'two', image: 'busybox' }] },
    {
      name: 'reordering (a patch need not keep the order)',
      before: [debug, { name: 'two', image: 'b' }],
      after: [{ name: 'two', image: 'b' }, debug],
    },
    {
      name: 'one that targets an app container',
      before: [],
      after: [{ ...debug, targetContainerName: 'app' }],
    },
    {
      name: 'one that targets an init container',
      before: [],
      after: [{ ...debug, targetContainerName: 'setup' }],
    },
    { name: 'kubectl debug’s empty resources', before: [], after: [{ ...debug, resources: {} }] },
    {
      name: 'env, mounts, security context, stdin and tty',
      before: [],
      after: [
        {
          ...debug,
          env: [{ name: 'A', value: 'b' }],
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
          securityContext: { capabilities: { add: ['SYS_PTRACE'] } },
          stdin: true,
          tty: true,
        },
      ],
    },
  ])('allows $name', ({ before, after }) => {
    const old = stored(before);
    expect(validatePodEphemeralContainersUpdate(withEphemeral(old, after), old)).toEqual([]);
  });

  it.each<{ name: string; before: EphemeralContainer[]; after: EphemeralContainer[]; want: string[] }>([
    {
      name: 'removing one',
      before: [debug],
      after: [],
      want: ['FieldValueForbidden spec.ephemeralContainers'],
    },
    {
      name: 'changing the image of one',
      before: [debug],
      after: [{ ...debug, image: 'alpine' }],
      want: ['FieldValueForbidden spec.ephemeralContainers'],
    },
    {
      name: 'changing the command of one',
      before: [debug],
      after: [{ ...debug, command: ['sh'] }],
      want: ['FieldValueForbidden spec.ephemeralContainers'],
    },
    {
      name: 'a name an app container has',
      before: [],
      after: [{ ...debug, name: 'app' }],
      want: ['FieldValueDuplicate spec.ephemeralContainers[0].name'],
    },
    {
      name: 'a name an init container has',
      before: [],
      after: [{ ...debug, name: 'setup' }],
      want: ['FieldValueDuplicate spec.ephemeralContainers[0].name'],
    },
    {
      name: 'two of one name',
      before: [],
      after: [debug, { ...debug }],
      want: ['FieldValueDuplicate spec.ephemeralContainers[1].name'],
    },
    {
      name: 'a target that is no container of the pod',
      before: [],
      after: [{ ...debug, targetContainerName: 'nope' }],
      want: ['FieldValueNotFound spec.ephemeralContainers[0].targetContainerName'],
    },
    {
      name: 'a target that is another ephemeral container',
      before: [debug],
      after: [debug, { name: 'two', image: 'b', targetContainerName: 'debugger' }],
      want: ['FieldValueNotFound spec.ephemeralContainers[1].targetContainerName'],
    },
    {
      name: 'ports',
      before: [],
      after: [{ ...debug, ports: [{ containerPort: 80 }] }],
      want: ['FieldValueForbidden spec.ephemeralContainers[0].ports'],
    },
    {
      name: 'resources',
      before: [],
      after: [{ ...debug, resources: { limits: { cpu: '1' } } }],
      want: ['FieldValueForbidden spec.ephemeralContainers[0].resources'],
    },
    {
      name: 'a restart policy',
      before: [],
      after: [{ ...debug, restartPolicy: 'Always' }],
      want: ['FieldValueForbidden spec.ephemeralContainers[0].restartPolicy'],
    },
    {
      name: 'probes and a lifecycle',
      before: [],
      after: [
        {
          ...debug,
          livenessProbe: { exec: { command: ['true'] } },
          readinessProbe: { exec: { command: ['true'] } },
          startupProbe: { exec: { command: ['true'] } },
          lifecycle: { preStop: { exec: { command: ['true'] } } },
        },
      ],
      want: [
        'FieldValueForbidden spec.ephemeralContainers[0].livenessProbe',
        'FieldValueForbidden spec.ephemeralContainers[0].readinessProbe',
        'FieldValueForbidden spec.ephemeralContainers[0].startupProbe',
        'FieldValueForbidden spec.ephemeralContainers[0].lifecycle',
      ],
    },
    {
      name: 'a subPath mount',
      before: [],
      after: [{ ...debug, volumeMounts: [{ name: 'data', mountPath: '/d', subPath: 'x' }] }],
      want: ['FieldValueForbidden spec.ephemeralContainers[0].volumeMounts[0].subPath'],
    },
    {
      name: 'no image',
      before: [],
      after: [{ name: 'debugger' }],
      want: ['FieldValueRequired spec.ephemeralContainers[0].image'],
    },
  ])('refuses $name', ({ before, after, want }) => {
    const old = stored(before);
    expect(fields(validatePodEphemeralContainersUpdate(withEphemeral(old, after), old))).toEqual(want);
  });

  it('says which container may not be removed or changed, as Kubernetes does', () => {
    const old = stored([debug, { name: 'two', image: 'b' }]);
    const errs = validatePodEphemeralContainersUpdate(
      withEphemeral(old, [{ ...debug, image: 'alpine' }]),
      old,
    );
    expect(errs.map((e) => e.detail)).toEqual([
      expect.stringMatching(/^existing ephemeral containers "debugger" may not be changed\n/),
      'existing ephemeral containers "two" may not be removed\n',
    ]);
  });

  it('refuses any ephemeral container in a static pod’s mirror', () => {
    const old = stored();
    old.metadata!.annotations = { 'kubernetes.io/config.mirror': 'abc' };
    const errs = validatePodEphemeralContainersUpdate(withEphemeral(old, [debug]), old);
    expect(errs).toEqual([
      expect.objectContaining({
        type: 'FieldValueForbidden',
        detail: 'static pods do not support ephemeral containers',
      }),
    ]);
  });

  it('is what the Pod kind validates through the ephemeralcontainers subresource', () => {
    const old = stored([debug]);
    const errs = podType.validate!(obj(withEphemeral(old, [])), obj(old), 'ephemeralcontainers');
    expect(fields(errs)).toEqual(['FieldValueForbidden spec.ephemeralContainers']);
  });

  it('leaves a plain pod update unable to add ephemeral containers', () => {
    const old = stored();
    const errs = podType.validate!(obj(withEphemeral(old, [debug])), obj(old));
    expect(fields(errs)).toEqual(['FieldValueForbidden spec']);
  });
});

describe('dropNonEphemeralContainerUpdates', () => {
  it('keeps only the new ephemeral containers: spec, status, labels and annotations stay as stored', () => {
    const old = stored();
    const next = withEphemeral(old, [debug]);
    next.spec!.containers![0].image = 'nginx:2';
    next.spec!.activeDeadlineSeconds = 5;
    next.status = { phase: 'Failed' };
    next.metadata!.labels = { app: 'other' };
    next.metadata!.annotations = { a: 'b' };
    dropNonEphemeralContainerUpdates(next, old);
    expect(next.spec).toEqual({ ...old.spec, ephemeralContainers: next.spec!.ephemeralContainers });
    expect(next.spec!.ephemeralContainers!.map((c) => c.name)).toEqual(['debugger']);
    expect(next.status).toEqual(old.status);
    expect(next.metadata!.labels).toEqual({ app: 'web' });
    expect(next.metadata!.annotations).toBeUndefined();
  });

  it('removes the ephemeral containers when the body has none (validation then refuses)', () => {
    const old = stored([debug]);
    const next = structuredClone(old);
    delete next.spec!.ephemeralContainers;
    dropNonEphemeralContainerUpdates(next, old);
    expect(next.spec!.ephemeralContainers).toBeUndefined();
  });
});
