import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { type Lookup, resolve } from './records.js';

const services: Record<string, KubeObject> = {
  'default/web': {
    metadata: { name: 'web', namespace: 'default' },
    spec: { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  },
  'default/db': {
    metadata: { name: 'db', namespace: 'default' },
    spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] },
  },
  'default/ext': {
    metadata: { name: 'ext', namespace: 'default' },
    spec: { type: 'ExternalName', externalName: 'example.org' },
  },
};
const slices: Record<string, KubeObject[]> = {
  'default/db': [
    {
      metadata: { name: 'db-1', namespace: 'default' },
      endpoints: [
        { addresses: ['10.244.0.5'], hostname: 'db-0', conditions: { ready: true } },
        { addresses: ['10.244.0.6'], hostname: 'db-1', conditions: { ready: true } },
        { addresses: ['10.244.0.7'], hostname: 'db-2', conditions: { ready: false } },
      ],
      ports: [{ name: 'pg', port: 5432 }],
    },
  ],
};
const lookup: Lookup = {
  service: (ns, n) => services[`${ns}/${n}`],
  slices: (ns, s) => slices[`${ns}/${s}`] ?? [],
  namespaceExists: (ns) => ns === 'default' || ns === 'kube-system',
};
const z = 'cluster.local';

describe('cluster DNS records', () => {
  it.each([
    { name: 'service A', q: 'web.default.svc.cluster.local', type: 'A', want: ['10.96.0.20'] },
    { name: 'trailing dot and case', q: 'WEB.default.svc.cluster.local.', type: 'A', want: ['10.96.0.20'] },
    {
      name: 'headless A: ready endpoints',
      q: 'db.default.svc.cluster.local',
      type: 'A',
      want: ['10.244.0.5', '10.244.0.6'],
    },
    {
      name: 'StatefulSet pod by hostname',
      q: 'db-1.db.default.svc.cluster.local',
      type: 'A',
      want: ['10.244.0.6'],
    },
    { name: 'pod by dashed IP', q: '10-244-0-9.default.pod.cluster.local', type: 'A', want: ['10.244.0.9'] },
    { name: 'AAAA of an IPv4 service: no data', q: 'web.default.svc.cluster.local', type: 'AAAA', want: [] },
    { name: 'a namespace exists', q: 'default.svc.cluster.local', type: 'A', want: [] },
  ])('$name', ({ q, type, want }) => {
    const r = resolve(q, type, z, lookup);
    expect(r.rcode).toBe('NOERROR');
    expect(r.answers.map((a) => a.data)).toEqual(want);
  });

  it.each([
    { name: 'missing service', q: 'nope.default.svc.cluster.local' },
    { name: 'missing namespace', q: 'other.svc.cluster.local' },
    { name: 'not-ready endpoint hostname', q: 'db-2.db.default.svc.cluster.local' },
    { name: 'unknown port', q: '_x._tcp.web.default.svc.cluster.local' },
  ])('NXDOMAIN for $name', ({ q }) => {
    expect(resolve(q, 'A', z, lookup).rcode).toBe('NXDOMAIN');
  });

  it('answers SRV for a named port of a ClusterIP service', () => {
    const r = resolve('_http._tcp.web.default.svc.cluster.local', 'SRV', z, lookup);
    expect(r.answers).toEqual([
      {
        name: '_http._tcp.web.default.svc.cluster.local',
        type: 'SRV',
        ttl: 5,
        data: { priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' },
      },
    ]);
  });

  it('answers one SRV per ready endpoint of a headless service', () => {
    const r = resolve('_pg._tcp.db.default.svc.cluster.local', 'SRV', z, lookup);
    expect(r.answers.map((a) => (a.data as { target: string }).target)).toEqual([
      'db-0.db.default.svc.cluster.local',
      'db-1.db.default.svc.cluster.local',
    ]);
  });

  it('answers a CNAME for an ExternalName service', () => {
    expect(resolve('ext.default.svc.cluster.local', 'A', z, lookup).answers[0]).toMatchObject({
      type: 'CNAME',
      data: 'example.org',
    });
  });
});
