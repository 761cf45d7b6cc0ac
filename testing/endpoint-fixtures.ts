import type { Pod, Service } from '../api/objects.js';
/** Services and pods for the endpoints and endpointslice controller tests. */

export function svcOf(spec: Service['spec'] = {}, name = 'web'): Service {
  return {
    metadata: { name, namespace: 'ns', uid: `svc-${name}`, labels: { team: 'a' } },
    spec: {
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
      ...spec,
    },
  };
}

export function podOf(
  name: string,
  o: {
    ip?: string;
    ready?: boolean;
    port?: number;
    deleting?: boolean;
    phase?: string;
    labels?: Record<string, string>;
  } = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web' },
      ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
    },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'c', ports: [{ name: 'http', containerPort: o.port ?? 8080, protocol: 'TCP' }] }],
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.ip === ''
        ? {}
        : { podIP: o.ip ?? `10.244.0.${name.length + (name.charCodeAt(name.length - 1) % 50)}` }),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}
