import { describe, expect, it } from 'vitest';
import type { ConfigMap } from '../api/types/core.js';
import type { Pod } from '../api/types/pod.js';
import type { Secret } from '../api/types/secret.js';
import { ConfigError, containerEnv, expand, type ObjectSource, resourceFieldValue } from './env.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

class FakeSource implements ObjectSource {
  configMaps = new Map<string, ConfigMap>();
  secrets = new Map<string, Secret>();
  async configMap(ns: string, name: string) {
    return this.configMaps.get(`${ns}/${name}`);
  }
  async secret(ns: string, name: string) {
    return this.secrets.get(`${ns}/${name}`);
  }
}

const pod = (env: any[], envFrom: any[] = [], resources: any = {}): Pod => ({
  metadata: { name: 'web', namespace: 'ns1', uid: 'u1', labels: { app: 'a' } },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i', env, envFrom, resources }] },
  status: { podIP: '10.244.1.5', hostIP: '127.0.0.1' },
});

async function envOf(p: Pod, source = new FakeSource()) {
  return (
    await containerEnv({
      pod: p,
      container: p.spec!.containers![0],
      source,
      allocatable: { cpu: '2', memory: '1Gi' },
    })
  ).env;
}

describe('expand', () => {
  it.each([
    ['known variable', 'a-$(X)-b', 'a-1-b'],
    ['unknown variable kept', '$(NOPE)', '$(NOPE)'],
    ['escaped dollar', '$$(X)', '$(X)'],
    ['lone dollar', 'cost $5', 'cost $5'],
    ['unterminated', '$(X', '$(X'],
  ])('%s', (_name, input, want) => {
    expect(expand(input, { X: '1' })).toBe(want);
  });
});

describe('containerEnv', () => {
  it('resolves literals, pod fields, resources and references, in order, later names winning', async () => {
    const src = new FakeSource();
    src.configMaps.set('ns1/cfg', { metadata: { name: 'cfg' }, data: { MODE: 'fast', COLOR: 'red' } });
    src.secrets.set('ns1/sec', { metadata: { name: 'sec' }, data: { PASSWORD: b64('s3cret') } });
    const p = pod(
      [
        { name: 'A', value: 'x' },
        { name: 'B', value: '$(A)-$(MODE)' },
        { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 'sec', key: 'PASSWORD' } } },
        { name: 'COLOR', value: 'blue' },
      ],
      [{ configMapRef: { name: 'cfg' } }],
      { limits: { memory: '64Mi' } },
    );
    expect(await envOf(p, src)).toEqual([
      'MODE=fast',
      'COLOR=blue',
      'A=x',
      'B=x-fast',
      'NAME=web',
      'IP=10.244.1.5',
      'APP=a',
      'MEM=64',
      'PW=s3cret',
    ]);
  });

  it('fails with a ConfigError for a missing ConfigMap or key, unless optional', async () => {
    await expect(envOf(pod([], [{ configMapRef: { name: 'nope' } }]))).rejects.toBeInstanceOf(ConfigError);
    await expect(
      envOf(pod([{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }])),
    ).rejects.toThrow('secret "nope" not found');
    expect(
      await envOf(
        pod([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } }]),
      ),
    ).toEqual([]);
  });
});

describe('resourceFieldValue', () => {
  const c = { name: 'c', resources: { requests: { cpu: '250m' }, limits: { memory: '128Mi' } } };
  it.each([
    ['cpu request rounded up to cores', 'requests.cpu', undefined, '1'],
    ['cpu request in millicores', 'requests.cpu', '1m', '250'],
    ['memory limit in bytes', 'limits.memory', undefined, String(128 * 1024 * 1024)],
    ['unset cpu limit is allocatable', 'limits.cpu', undefined, '2'],
  ])('%s', (_n, resource, divisor, want) => {
    expect(resourceFieldValue(c, resource, divisor, { cpu: '2', memory: '1Gi' })).toBe(want);
  });
});

describe('service environment variables', () => {
  const svc = (ns: string, name: string, ip: string, ports: any[]) => ({
    metadata: { name, namespace: ns },
    spec: { clusterIP: ip, ports },
  });
  class WithServices extends FakeSource {
    services = async (ns: string) =>
      ns === 'default'
        ? [svc('default', 'kubernetes', '10.96.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }])]
        : [
            svc('ns1', 'web-front', '10.96.0.20', [
              { name: 'http', port: 80, protocol: 'TCP' },
              { name: 'dns', port: 53, protocol: 'UDP' },
            ]),
            svc('ns1', 'headless', 'None', [{ port: 80 }]),
          ];
  }

  it("gives the namespace's services and kubernetes, after the container's own, which win", async () => {
    const env = await envOf(
      pod([
        { name: 'WEB_FRONT_SERVICE_HOST', value: 'mine' },
        { name: 'X', value: '$(KUBERNETES_SERVICE_HOST)' },
      ]),
      new WithServices(),
    );
    expect(env.slice(0, 2)).toEqual(['WEB_FRONT_SERVICE_HOST=mine', 'X=10.96.0.1']);
    expect(env).toEqual(
      expect.arrayContaining([
        'KUBERNETES_SERVICE_HOST=10.96.0.1',
        'KUBERNETES_SERVICE_PORT=443',
        'KUBERNETES_SERVICE_PORT_HTTPS=443',
        'KUBERNETES_PORT=tcp://10.96.0.1:443',
        'KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443',
        'KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1',
        'WEB_FRONT_SERVICE_PORT=80',
        'WEB_FRONT_SERVICE_PORT_DNS=53',
        'WEB_FRONT_PORT_53_UDP=udp://10.96.0.20:53',
        'WEB_FRONT_PORT_53_UDP_PROTO=udp',
      ]),
    );
    expect(env.filter((e) => e.startsWith('WEB_FRONT_SERVICE_HOST='))).toEqual([
      'WEB_FRONT_SERVICE_HOST=mine',
    ]);
    expect(env.some((e) => e.startsWith('HEADLESS_'))).toBe(false);
  });

  it('with enableServiceLinks false gives only kubernetes', async () => {
    const p = pod([]);
    p.spec!.enableServiceLinks = false;
    const env = await envOf(p, new WithServices());
    expect(env.some((e) => e.startsWith('WEB_FRONT_'))).toBe(false);
    expect(env).toContain('KUBERNETES_SERVICE_HOST=10.96.0.1');
  });
});
