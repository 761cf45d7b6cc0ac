import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { buildServicePorts, type ServicePort } from './model.js';
import { isOurs, renderCleanup, renderRules, sepChain, svcChain } from './rules.js';

const svc = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec,
});
const slice = (
  svcName: string,
  eps: { ip: string; ready?: boolean }[],
  port = 8080,
  portName = '',
): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `${svcName}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': svcName } },
  addressType: 'IPv4',
  endpoints: eps.map((e) => ({
    addresses: [e.ip],
    conditions: { ready: e.ready ?? true },
  })),
  ports: [{ name: portName, port, protocol: 'TCP' }],
});

const web = () =>
  buildServicePorts(
    [svc('web', { clusterIP: '10.96.0.20', ports: [{ port: 80, protocol: 'TCP' }] })],
    [
      slice('web', [
        { ip: '10.244.0.3' },
        { ip: '10.244.0.2' },
        { ip: '10.244.0.4' },
        { ip: '10.244.0.9', ready: false },
      ]),
    ],
  );

describe('buildServicePorts', () => {
  it('joins services and slices by the service-name label and port name', () => {
    const [p] = web();
    expect(p.id).toBe('default/web');
    expect(p.endpoints.map((e) => `${e.ip}:${e.port}:${e.ready}`)).toEqual([
      '10.244.0.2:8080:true',
      '10.244.0.3:8080:true',
      '10.244.0.4:8080:true',
      '10.244.0.9:8080:false',
    ]);
  });

  it.each([
    { name: 'headless', spec: { clusterIP: 'None', ports: [{ port: 80 }] } },
    {
      name: 'external name',
      spec: { type: 'ExternalName', externalName: 'x.example', ports: [{ port: 80 }] },
    },
  ])('skips $name services', ({ spec }) => {
    expect(buildServicePorts([svc('h', spec)], [])).toEqual([]);
  });
});

describe('renderRules', () => {
  it('balances across ready endpoints with falling probabilities and DNATs each', () => {
    const [p] = web();
    const { text } = renderRules([p], { clusterCIDR: '10.244.0.0/16' });
    const s = svcChain(p);
    const lines = text.split('\n').filter((l) => l.startsWith(`-A ${s} `) && l.includes('KUBE-SEP'));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('--probability 0.3333333333');
    expect(lines[1]).toContain('--probability 0.5000000000');
    expect(lines[2]).not.toContain('--probability');
    expect(text).toContain(
      `-A KUBE-SERVICES -m comment --comment "default/web cluster IP" -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -j ${s}`,
    );
    expect(text).toContain(
      `-A ${sepChain(p, '10.244.0.2', 8080)} -m comment --comment "default/web" -p tcp -m tcp -j DNAT --to-destination 10.244.0.2:8080`,
    );
    expect(text).not.toContain('10.244.0.9');
    expect(text).toContain(`! -s 10.244.0.0/16 -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ`);
    expect(text).toContain(
      `-A ${sepChain(p, '10.244.0.2', 8080)} -m comment --comment "default/web" -s 10.244.0.2/32 -j KUBE-MARK-MASQ`,
    );
  });

  it('rejects traffic to a service with no ready endpoints', () => {
    const ports = buildServicePorts(
      [svc('empty', { clusterIP: '10.96.0.30', type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] })],
      [],
    );
    const { text } = renderRules(ports, { clusterCIDR: '10.244.0.0/16' });
    expect(text).toContain(
      '-A KUBE-SERVICES -m comment --comment "default/empty has no endpoints" -d 10.96.0.30/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
    );
    expect(text).toMatch(/-A KUBE-EXTERNAL-SERVICES .* --dport 30080 -j REJECT/);
    expect(text).not.toContain('KUBE-SVC-');
  });

  it('sends NodePort traffic through a masquerading KUBE-EXT chain', () => {
    const ports = buildServicePorts(
      [svc('np', { clusterIP: '10.96.0.40', type: 'NodePort', ports: [{ port: 80, nodePort: 30081 }] })],
      [slice('np', [{ ip: '10.244.1.2' }])],
    );
    const { text } = renderRules(ports, { clusterCIDR: '10.244.0.0/16' });
    expect(text).toMatch(
      /-A KUBE-NODEPORTS -m comment --comment "default\/np" -p tcp -m tcp --dport 30081 -j KUBE-EXT-[A-Z0-9]{16}/,
    );
    expect(
      text
        .trimEnd()
        .split('\n')
        .filter((l) => l.startsWith('-A KUBE-SERVICES'))
        .pop(),
    ).toContain('--dst-type LOCAL -j KUBE-NODEPORTS');
  });

  it('keeps a client on one endpoint with sessionAffinity ClientIP', () => {
    const ports = buildServicePorts(
      [svc('sticky', { clusterIP: '10.96.0.50', sessionAffinity: 'ClientIP', ports: [{ port: 80 }] })],
      [slice('sticky', [{ ip: '10.244.0.2' }, { ip: '10.244.0.3' }])],
    );
    const { text } = renderRules(ports, { clusterCIDR: '10.244.0.0/16' });
    expect(text).toMatch(/-m recent --name KUBE-SEP-\w+ --rcheck --seconds 10800 --reap/);
    expect(text).toMatch(/-m recent --name KUBE-SEP-\w+ --set -p tcp -m tcp -j DNAT/);
  });

  it('a partial render writes the changed service port alone, keeping the jumps to the others', () => {
    const ports = buildServicePorts(
      [
        svc('a', { clusterIP: '10.96.0.60', ports: [{ port: 80 }] }),
        svc('b', { clusterIP: '10.96.0.61', ports: [{ port: 80 }] }),
      ],
      [slice('a', [{ ip: '10.244.0.2' }, { ip: '10.244.0.3' }]), slice('b', [{ ip: '10.244.0.4' }])],
    );
    const [a, b] = ports;
    const full = renderRules(ports, { clusterCIDR: '10.244.0.0/16' });
    // a loses an endpoint; only a's chains are written, its old endpoint chain deleted.
    const shrunk = { ...a, endpoints: a.endpoints.slice(1) };
    const r = renderRules([shrunk, b], {
      clusterCIDR: '10.244.0.0/16',
      existingChains: full.chains,
      only: new Set([a.id]),
    });
    const lines = r.text.split('\n');
    expect(lines).toContain(`:${svcChain(a)} - [0:0]`);
    expect(lines).toContain(`:${sepChain(a, '10.244.0.3', 8080)} - [0:0]`);
    expect(lines).toContain(`-X ${sepChain(a, '10.244.0.2', 8080)}`);
    expect(lines.filter((l) => l.includes(svcChain(b)))).toEqual([
      `-A KUBE-SERVICES -m comment --comment "default/b cluster IP" -d 10.96.0.61/32 -p tcp -m tcp --dport 80 -j ${svcChain(b)}`,
    ]);
    expect(r.text).not.toContain(sepChain(b, '10.244.0.4', 8080));
    expect(r.chains.nat).toContain(sepChain(b, '10.244.0.4', 8080));
    expect(r.chains.nat).not.toContain(sepChain(a, '10.244.0.2', 8080));
    expect(r.totalRules).toBe(r.ruleCount + 4); // b: masquerade and jump in KUBE-SVC, two in KUBE-SEP
  });

  it('declares and deletes chains that no longer have a service', () => {
    const { text } = renderRules([], {
      clusterCIDR: '10.244.0.0/16',
      existingChains: {
        nat: ['KUBE-SVC-AAAAAAAAAAAAAAAA', 'DOCKER', 'KUBE-SERVICES'],
        filter: ['DOCKER-USER'],
      },
    });
    expect(text).toContain(':KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]');
    expect(text).toContain('-X KUBE-SVC-AAAAAAAAAAAAAAAA');
    expect(text).not.toContain('DOCKER');
  });

  it('names chains stably', () => {
    const [a] = web();
    const [b] = web();
    expect(svcChain(a)).toBe(svcChain(b));
    expect(svcChain({ ...a, id: 'other/web' } as ServicePort)).not.toBe(svcChain(a));
  });

  it('cleanup removes only our chains', () => {
    const text = renderCleanup({
      nat: ['KUBE-SERVICES', 'KUBE-SEP-BBBBBBBBBBBBBBBB', 'DOCKER'],
      filter: ['KUBE-FORWARD', 'DOCKER-USER'],
    });
    expect(text).toContain('-X KUBE-SEP-BBBBBBBBBBBBBBBB');
    expect(text).toContain('-X KUBE-FORWARD');
    expect(text).not.toContain('DOCKER');
    expect(isOurs('KUBE-MARK-MASQ')).toBe(true);
    expect(isOurs('KUBE-PROXY-CANARY')).toBe(false);
  });
});
