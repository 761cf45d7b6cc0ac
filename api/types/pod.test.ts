import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import {
  type ContainerStatus,
  imageTag,
  type Pod,
  type PodSpec,
  podDefaults,
  podFieldLabels,
  podQOSClass,
  podSummary,
  podType,
  quantityNanos,
  validatePod,
  validatePodTemplateSpec,
} from './pod.js';

// Whoever validates requests registers the formats; the schema test needs date-time.
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => !Number.isNaN(Date.parse(v)));

const now = new Date('2024-05-01T12:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000).toISOString();

function pod(spec: Partial<PodSpec> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default' },
    spec: { containers: [{ name: 'app', image: 'nginx:1.25' }], ...spec },
  };
}

function defaulted(spec: Partial<PodSpec> = {}): Pod {
  const p = pod(spec);
  podDefaults(p);
  return p;
}

describe('Pod schema', () => {
  it('accepts a realistic manifest', () => {
    const p = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'nginx',
            ports: [{ containerPort: 80, name: 'http' }],
            env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
            resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: 0.25 } },
            readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 5 },
            lifecycle: { preStop: { sleep: { seconds: 5 } } },
            securityContext: { capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
            volumeMounts: [{ name: 'data', mountPath: '/data', recursiveReadOnly: 'Disabled' }],
          },
        ],
        volumes: [
          { name: 'data', emptyDir: { sizeLimit: '1Gi' } },
          { name: 'tok', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
        ],
        affinity: {
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname' } },
            ],
          },
        },
        tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }],
      },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null }],
        containerStatuses: [{ name: 'app', state: { running: { startedAt: minutesAgo(1) } }, ready: true }],
      },
    };
    expect([...Value.Errors(podType.schema, p)].map((e) => e.path)).toEqual([]);
  });

  it.each([
    { name: 'unknown container field', spec: { containers: [{ name: 'a', imag: 'x' }] } },
    { name: 'unknown spec field', spec: { containers: [], restartPolicyy: 'Always' } },
    { name: 'port as string', spec: { containers: [{ name: 'a', ports: [{ containerPort: '80' }] }] } },
  ])('rejects $name', ({ spec }) => {
    expect(Value.Check(podType.schema, { metadata: { name: 'x' }, spec })).toBe(false);
  });
});

describe('podDefaults', () => {
  it('fills the spec, container and status defaults', () => {
    const p = defaulted({
      containers: [
        {
          name: 'app',
          image: 'nginx',
          ports: [{ containerPort: 80 }],
          livenessProbe: { httpGet: { port: 80 } },
          env: [{ name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        },
      ],
      volumes: [{ name: 'cm', configMap: { name: 'c' } }, { name: 'bare' }],
    });
    expect(p.spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      terminationGracePeriodSeconds: 30,
      securityContext: {},
      enableServiceLinks: true,
      priority: 0,
      preemptionPolicy: 'PreemptLowerPriority',
      volumes: [
        { name: 'cm', configMap: { name: 'c', defaultMode: 420 } },
        { name: 'bare', emptyDir: {} },
      ],
    });
    expect(p.spec?.containers?.[0]).toMatchObject({
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'Always',
      ports: [{ containerPort: 80, protocol: 'TCP' }],
      env: [{ valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } }],
      livenessProbe: {
        httpGet: { path: '/', port: 80, scheme: 'HTTP' },
        timeoutSeconds: 1,
        periodSeconds: 10,
        successThreshold: 1,
        failureThreshold: 3,
      },
    });
    expect(p.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    // The ServiceAccount admission plugin names the account, on create only.
    expect(p.spec?.serviceAccountName).toBeUndefined();
  });

  it('keeps values that are set and copies limits into missing requests', () => {
    const p = defaulted({
      restartPolicy: 'Never',
      serviceAccountName: 'builder',
      containers: [
        {
          name: 'a',
          image: 'busybox:1.36',
          resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1' } },
        },
      ],
    });
    expect(p.spec?.restartPolicy).toBe('Never');
    expect(p.spec?.serviceAccountName).toBe('builder');
    expect(p.spec?.containers?.[0].resources?.requests).toEqual({ cpu: '1', memory: '1Gi' });
    expect(p.status?.qosClass).toBe('Guaranteed');
  });

  it.each([
    { name: 'no tag', image: 'nginx', tag: 'latest' },
    { name: 'tag', image: 'nginx:1.25', tag: '1.25' },
    { name: 'registry port, no tag', image: 'localhost:5000/app', tag: 'latest' },
    { name: 'registry port and tag', image: 'localhost:5000/app:v1', tag: 'v1' },
    { name: 'digest only', image: 'nginx@sha256:abc', tag: '' },
    { name: 'explicit latest', image: 'nginx:latest', tag: 'latest' },
  ])('imageTag: $name', ({ image, tag }) => {
    expect(imageTag(image)).toBe(tag);
  });
});

describe('podQOSClass', () => {
  const res = (requests?: Record<string, string>, limits?: Record<string, string>) => ({
    name: 'c',
    image: 'x',
    resources: { requests, limits },
  });
  it.each([
    { name: 'no resources', containers: [res()], qos: 'BestEffort' },
    {
      name: 'only non-compute resources',
      containers: [res({ 'ephemeral-storage': '1Gi' })],
      qos: 'BestEffort',
    },
    { name: 'requests only', containers: [res({ cpu: '100m' })], qos: 'Burstable' },
    {
      name: 'equal requests and limits',
      containers: [res({ cpu: '500m', memory: '1Gi' }, { cpu: '0.5', memory: '1024Mi' })],
      qos: 'Guaranteed',
    },
    { name: 'limits missing memory', containers: [res({ cpu: '1' }, { cpu: '1' })], qos: 'Burstable' },
    {
      name: 'one container without limits',
      containers: [res({ cpu: '1', memory: '1Gi' }, { cpu: '1', memory: '1Gi' }), res()],
      qos: 'Burstable',
    },
    {
      name: 'requests below limits',
      containers: [res({ cpu: '1', memory: '1Gi' }, { cpu: '2', memory: '1Gi' })],
      qos: 'Burstable',
    },
  ])('$name is $qos', ({ containers, qos }) => {
    expect(podQOSClass({ containers })).toBe(qos);
  });

  it.each([
    { q: '250m', n: 250_000_000n },
    { q: '1Ki', n: 1024n * 1_000_000_000n },
    { q: 1.5, n: 1_500_000_000n },
    { q: '1e3', n: 1000n * 1_000_000_000n },
    { q: '1n', n: 1n },
    { q: 'abc', n: undefined },
  ])('quantityNanos($q)', ({ q, n }) => {
    expect(quantityNanos(q)).toBe(n);
  });
});

describe('validatePod', () => {
  it('accepts a defaulted pod', () => {
    expect(validatePod(defaulted())).toEqual([]);
  });

  it.each<{ name: string; spec: Partial<PodSpec>; field: string; type: string }>([
    { name: 'no containers', spec: { containers: [] }, field: 'spec.containers', type: 'FieldValueRequired' },
    {
      name: 'container without name',
      spec: { containers: [{ image: 'x' }] },
      field: 'spec.containers[0].name',
      type: 'FieldValueRequired',
    },
    {
      name: 'container name not a label',
      spec: { containers: [{ name: 'App_1', image: 'x' }] },
      field: 'spec.containers[0].name',
      type: 'FieldValueInvalid',
    },
    {
      name: 'container without image',
      spec: { containers: [{ name: 'a' }] },
      field: 'spec.containers[0].image',
      type: 'FieldValueRequired',
    },
    {
      name: 'duplicate container names',
      spec: {
        containers: [
          { name: 'a', image: 'x' },
          { name: 'a', image: 'y' },
        ],
      },
      field: 'spec.containers[1].name',
      type: 'FieldValueDuplicate',
    },
    {
      name: 'init container named like an app container',
      spec: { initContainers: [{ name: 'app', image: 'x' }] },
      field: 'spec.initContainers[0].name',
      type: 'FieldValueDuplicate',
    },
    {
      name: 'port out of range',
      spec: { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 70000 }] }] },
      field: 'spec.containers[0].ports[0].containerPort',
      type: 'FieldValueInvalid',
    },
    {
      name: 'duplicate port names',
      spec: {
        containers: [
          {
            name: 'a',
            image: 'x',
            ports: [
              { name: 'http', containerPort: 80 },
              { name: 'http', containerPort: 81 },
            ],
          },
        ],
      },
      field: 'spec.containers[0].ports[1].name',
      type: 'FieldValueDuplicate',
    },
    {
      name: 'unknown protocol',
      spec: { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 80, protocol: 'ICMP' }] }] },
      field: 'spec.containers[0].ports[0].protocol',
      type: 'FieldValueNotSupported',
    },
    {
      name: 'unknown restartPolicy',
      spec: { restartPolicy: 'Sometimes' },
      field: 'spec.restartPolicy',
      type: 'FieldValueNotSupported',
    },
    {
      name: 'unknown dnsPolicy',
      spec: { dnsPolicy: 'Google' },
      field: 'spec.dnsPolicy',
      type: 'FieldValueNotSupported',
    },
    {
      name: 'unknown imagePullPolicy',
      spec: { containers: [{ name: 'a', image: 'x', imagePullPolicy: 'Maybe' }] },
      field: 'spec.containers[0].imagePullPolicy',
      type: 'FieldValueNotSupported',
    },
    {
      name: 'duplicate volume names',
      spec: {
        volumes: [
          { name: 'v', emptyDir: {} },
          { name: 'v', emptyDir: {} },
        ],
      },
      field: 'spec.volumes[1].name',
      type: 'FieldValueDuplicate',
    },
    {
      name: 'two volume sources',
      spec: { volumes: [{ name: 'v', emptyDir: {}, hostPath: { path: '/tmp' } }] },
      field: 'spec.volumes[0].hostPath',
      type: 'FieldValueForbidden',
    },
    {
      name: 'mount of a missing volume',
      spec: { containers: [{ name: 'a', image: 'x', volumeMounts: [{ name: 'nope', mountPath: '/d' }] }] },
      field: 'spec.containers[0].volumeMounts[0].name',
      type: 'FieldValueNotFound',
    },
    {
      name: 'probe without handler',
      spec: { containers: [{ name: 'a', image: 'x', livenessProbe: { periodSeconds: 5 } }] },
      field: 'spec.containers[0].livenessProbe',
      type: 'FieldValueRequired',
    },
    {
      name: 'request above limit',
      spec: {
        containers: [{ name: 'a', image: 'x', resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }],
      },
      field: 'spec.containers[0].resources.requests',
      type: 'FieldValueInvalid',
    },
    {
      name: 'Exists toleration with a value',
      spec: { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] },
      field: 'spec.tolerations[0].operator',
      type: 'FieldValueInvalid',
    },
    {
      name: 'ephemeral containers on create',
      spec: { ephemeralContainers: [{ name: 'debug', image: 'busybox' }] },
      field: 'spec.ephemeralContainers',
      type: 'FieldValueForbidden',
    },
  ])('reports $name', ({ spec, field, type }) => {
    const errs = validatePod(defaulted(spec));
    expect(errs).toContainEqual(expect.objectContaining({ field, type }));
  });

  it.each<{ name: string; change: (s: PodSpec) => void; ok: boolean }>([
    {
      name: 'changing an image',
      change: (s) => {
        s.containers![0].image = 'nginx:1.26';
      },
      ok: true,
    },
    {
      name: 'lowering activeDeadlineSeconds',
      change: (s) => {
        s.activeDeadlineSeconds = 10;
      },
      ok: true,
    },
    {
      name: 'adding a toleration',
      change: (s) => {
        s.tolerations = [...(s.tolerations ?? []), { key: 'k', operator: 'Exists' }];
      },
      ok: true,
    },
    {
      name: 'changing a command',
      change: (s) => {
        s.containers![0].command = ['sh'];
      },
      ok: false,
    },
    {
      name: 'changing restartPolicy',
      change: (s) => {
        s.restartPolicy = 'Never';
      },
      ok: false,
    },
    {
      name: 'adding a container',
      change: (s) => {
        s.containers!.push({ ...s.containers![0], name: 'b' });
      },
      ok: false,
    },
  ])('on update, $name is allowed: $ok', ({ change, ok }) => {
    const old = defaulted();
    const next = structuredClone(old);
    change(next.spec!);
    const errs = validatePod(next, old);
    if (ok) expect(errs).toEqual([]);
    else {
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({ type: 'FieldValueForbidden', field: 'spec' });
      expect(errs[0].detail).toMatch(
        /^pod updates may not change fields other than `spec.containers\[\*\].image`/,
      );
    }
  });

  it('validates templates under the given path', () => {
    const errs = validatePodTemplateSpec({ spec: { containers: [{ name: 'a' }] } }, 'spec.template');
    expect(errs.map((e) => e.field)).toContain('spec.template.spec.containers[0].image');
  });
});

describe('podSummary', () => {
  const running = (name: string, ready = true, restartCount = 0): ContainerStatus => ({
    name,
    ready,
    restartCount,
    state: { running: { startedAt: minutesAgo(10) } },
  });
  const waiting = (name: string, reason: string): ContainerStatus => ({
    name,
    ready: false,
    state: { waiting: { reason } },
  });
  const terminated = (name: string, exitCode: number, reason?: string, signal?: number): ContainerStatus => ({
    name,
    ready: false,
    state: { terminated: { exitCode, reason, signal } },
  });
  const two = [
    { name: 'a', image: 'x' },
    { name: 'b', image: 'x' },
  ];
  const inits = [
    { name: 'i1', image: 'x' },
    { name: 'i2', image: 'x' },
  ];

  it.each<{ name: string; pod: Pod; ready: string; status: string; restarts?: string }>([
    {
      name: 'pending, no statuses',
      pod: { metadata: {}, spec: { containers: two }, status: { phase: 'Pending' } },
      ready: '0/2',
      status: 'Pending',
    },
    {
      name: 'all running',
      pod: {
        metadata: {},
        spec: { containers: two },
        status: { phase: 'Running', containerStatuses: [running('a'), running('b')] },
      },
      ready: '2/2',
      status: 'Running',
    },
    {
      name: 'one creating',
      pod: {
        metadata: {},
        spec: { containers: two },
        status: { phase: 'Pending', containerStatuses: [running('a'), waiting('b', 'ContainerCreating')] },
      },
      ready: '1/2',
      status: 'ContainerCreating',
    },
    {
      name: 'crash loop',
      pod: {
        metadata: {},
        spec: { containers: two },
        status: {
          phase: 'Running',
          containerStatuses: [waiting('a', 'CrashLoopBackOff'), running('b', true, 4)],
        },
      },
      ready: '1/2',
      status: 'CrashLoopBackOff',
      restarts: '4',
    },
    {
      name: 'completed',
      pod: {
        metadata: {},
        spec: { containers: [two[0]] },
        status: { phase: 'Succeeded', containerStatuses: [terminated('a', 0, 'Completed')] },
      },
      ready: '0/1',
      status: 'Completed',
    },
    {
      name: 'completed beside a running, unready pod',
      pod: {
        metadata: {},
        spec: { containers: two },
        status: { phase: 'Running', containerStatuses: [terminated('a', 0, 'Completed'), running('b')] },
      },
      ready: '1/2',
      status: 'NotReady',
    },
    {
      name: 'killed by a signal',
      pod: {
        metadata: {},
        spec: { containers: [two[0]] },
        status: { phase: 'Failed', containerStatuses: [terminated('a', 137, '', 9)] },
      },
      ready: '0/1',
      status: 'Signal:9',
    },
    {
      name: 'exit code without reason',
      pod: {
        metadata: {},
        spec: { containers: [two[0]] },
        status: { phase: 'Failed', containerStatuses: [terminated('a', 2)] },
      },
      ready: '0/1',
      status: 'ExitCode:2',
    },
    {
      name: 'second init container running',
      pod: {
        metadata: {},
        spec: { initContainers: inits, containers: two },
        status: {
          phase: 'Pending',
          initContainerStatuses: [terminated('i1', 0, 'Completed'), running('i2', false)],
        },
      },
      ready: '0/2',
      status: 'Init:1/2',
    },
    {
      name: 'init container crash looping',
      pod: {
        metadata: {},
        spec: { initContainers: inits, containers: two },
        status: {
          phase: 'Pending',
          initContainerStatuses: [waiting('i1', 'CrashLoopBackOff'), waiting('i2', 'PodInitializing')],
        },
      },
      ready: '0/2',
      status: 'Init:CrashLoopBackOff',
    },
    {
      name: 'init container failed',
      pod: {
        metadata: {},
        spec: { initContainers: inits, containers: two },
        status: { phase: 'Failed', initContainerStatuses: [terminated('i1', 1, 'Error')] },
      },
      ready: '0/2',
      status: 'Init:Error',
    },
    {
      name: 'sidecar counts as a container',
      pod: {
        metadata: {},
        spec: { initContainers: [{ name: 's', image: 'x', restartPolicy: 'Always' }], containers: [two[0]] },
        status: {
          phase: 'Running',
          conditions: [{ type: 'Initialized', status: 'True' }],
          initContainerStatuses: [{ ...running('s'), started: true }],
          containerStatuses: [running('a')],
        },
      },
      ready: '2/2',
      status: 'Running',
    },
    {
      name: 'being deleted',
      pod: {
        metadata: { deletionTimestamp: minutesAgo(0) },
        spec: { containers: [two[0]] },
        status: { phase: 'Running', containerStatuses: [running('a')] },
      },
      ready: '1/1',
      status: 'Terminating',
    },
    {
      name: 'gated',
      pod: {
        metadata: {},
        spec: { containers: [two[0]] },
        status: {
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }],
        },
      },
      ready: '0/1',
      status: 'SchedulingGated',
    },
    {
      name: 'evicted',
      pod: { metadata: {}, spec: { containers: [two[0]] }, status: { phase: 'Failed', reason: 'Evicted' } },
      ready: '0/1',
      status: 'Evicted',
    },
    {
      name: 'restart time known',
      pod: {
        metadata: {},
        spec: { containers: [two[0]] },
        status: {
          phase: 'Running',
          containerStatuses: [
            {
              ...running('a', true, 5),
              lastState: { terminated: { exitCode: 1, finishedAt: minutesAgo(5) } },
            },
          ],
        },
      },
      ready: '1/1',
      status: 'Running',
      restarts: '5 (5m ago)',
    },
  ])('$name: $status', ({ pod: p, ready, status, restarts }) => {
    const row = podSummary(p, now);
    expect(row.ready).toBe(ready);
    expect(row.status).toBe(status);
    if (restarts) expect(row.restarts).toBe(restarts);
  });

  it('prints the wide columns with <none> when unset', () => {
    const p = defaulted({ readinessGates: [{ conditionType: 'x/ok' }] });
    const cells = Object.fromEntries(podType.columns.map((c) => [c.name, c.cell(p as never, now)]));
    expect(cells).toMatchObject({
      IP: '<none>',
      Node: '<none>',
      'Nominated Node': '<none>',
      'Readiness Gates': '0/1',
    });
    expect(podType.columns.map((c) => c.name)).toEqual([
      'Ready',
      'Status',
      'Restarts',
      'Age',
      'IP',
      'Node',
      'Nominated Node',
      'Readiness Gates',
    ]);
  });
});

describe('podFieldLabels', () => {
  it('gives the selectable fields', () => {
    const p = defaulted({ nodeName: 'n1', hostNetwork: true, serviceAccountName: 'default' });
    p.status = { phase: 'Running', podIP: '10.244.0.5' };
    expect(podFieldLabels(p as never)).toEqual({
      'spec.nodeName': 'n1',
      'spec.restartPolicy': 'Always',
      'spec.schedulerName': 'default-scheduler',
      'spec.serviceAccountName': 'default',
      'spec.hostNetwork': 'true',
      'status.phase': 'Running',
      'status.podIP': '10.244.0.5',
      'status.nominatedNodeName': '',
    });
  });
});
