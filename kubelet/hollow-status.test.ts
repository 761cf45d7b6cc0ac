import { describe, expect, it } from 'vitest';
import type { Pod } from '../api/objects.js';
import {
  hollowNode,
  hollowNodeIP,
  hollowPodRange,
  isReportedRunning,
  PodIPAllocator,
  runningPodStatus,
} from './hollow-status.js';

const pod = (): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', uid: 'u1' },
  spec: {
    nodeName: 'n0',
    initContainers: [{ name: 'init', image: 'busybox' }],
    containers: [
      { name: 'a', image: 'nginx' },
      { name: 'b', image: 'redis' },
    ],
  },
  status: {
    phase: 'Pending',
    qosClass: 'BestEffort',
    conditions: [{ type: 'PodScheduled', status: 'True' }],
  },
});

describe('hollow node object', () => {
  it('is Ready, with capacity mirrored to allocatable, labels and taints', () => {
    const n = hollowNode(
      {
        name: 'n3',
        index: 3,
        capacity: { cpu: '4', memory: '8Gi', pods: 110 },
        labels: { zone: 'a' },
        taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }],
      },
      Date.parse('2026-01-01T00:00:00Z'),
    );
    expect(n.status?.capacity).toMatchObject({ cpu: '4', memory: '8Gi', pods: '110' });
    expect(n.status?.allocatable).toEqual(n.status?.capacity);
    expect(n.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(n.metadata.labels).toMatchObject({ zone: 'a', 'kubernetes.io/hostname': 'n3' });
    expect(n.spec?.taints).toEqual([{ key: 'k', value: 'v', effect: 'NoSchedule' }]);
    expect(n.status?.addresses?.[0]).toEqual({ type: 'InternalIP', address: '127.0.0.5' });
    expect(n.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^hollow:\/\//);
  });

  it.each([
    ['first', 0, '127.0.0.2', '100.64.0'],
    ['past 255', 300, '127.0.1.46', '100.65.44'],
  ])('addresses and ranges: %s', (_, index, ip, range) => {
    expect(hollowNodeIP(index)).toBe(ip);
    expect(hollowPodRange(index)).toBe(range);
  });
});

describe('PodIPAllocator', () => {
  it('hands out the lowest free address, the same one again for the same pod, and reuses released ones', () => {
    const a = new PodIPAllocator('100.64.0');
    expect(a.allocate('p1')).toBe('100.64.0.1');
    expect(a.allocate('p2')).toBe('100.64.0.2');
    expect(a.allocate('p1')).toBe('100.64.0.1');
    a.release('p1');
    expect(a.allocate('p3')).toBe('100.64.0.1');
    expect(a.size).toBe(2);
  });

  it('adopts an address a pod already has, only from its own range and only if free', () => {
    const a = new PodIPAllocator('100.64.0');
    expect(a.adopt('p1', '100.64.0.7')).toBe(true);
    expect(a.adopt('p2', '100.64.0.7')).toBe(false);
    expect(a.adopt('p2', '100.64.1.7')).toBe(false);
    expect(a.allocate('p1')).toBe('100.64.0.7');
  });

  it('runs out after 254 pods', () => {
    const a = new PodIPAllocator('100.64.0');
    for (let i = 0; i < 254; i++) expect(a.allocate(`p${i}`)).toBeDefined();
    expect(a.allocate('one-more')).toBeUndefined();
  });
});

describe('running pod status', () => {
  it('reports every container running and ready, init containers completed, and keeps PodScheduled and qosClass', () => {
    const p = pod();
    expect(isReportedRunning(p)).toBe(false);
    const status = runningPodStatus(p, '127.0.0.2', '100.64.0.1', Date.parse('2026-01-01T00:00:00Z'));
    expect(status).toMatchObject({
      phase: 'Running',
      hostIP: '127.0.0.2',
      podIP: '100.64.0.1',
      podIPs: [{ ip: '100.64.0.1' }],
      qosClass: 'BestEffort',
      startTime: '2026-01-01T00:00:00Z',
    });
    expect(status.containerStatuses?.map((c) => [c.name, c.ready, !!c.state?.running])).toEqual([
      ['a', true, true],
      ['b', true, true],
    ]);
    expect(status.initContainerStatuses?.[0].state?.terminated?.reason).toBe('Completed');
    const types = Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c.status]));
    expect(types).toEqual({
      PodReadyToStartContainers: 'True',
      Initialized: 'True',
      ContainersReady: 'True',
      Ready: 'True',
      PodScheduled: 'True',
    });
    expect(isReportedRunning({ ...p, status })).toBe(true);
  });
});
