/**
 * Small builders and probes shared by the apiserver e2e tests: objects of the
 * kinds under test, the etcd mod revision of a stored key, a Prometheus
 * gauge read from /metrics.
 */
import type { KubeObject } from '../api/meta.js';
import { type Api, etcdctl } from '../testing/harness.js';

type Labels = Record<string, string>;

export function configMap(name: string, data: Record<string, string> = {}, labels?: Labels): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(labels ? { labels } : {}) }, data };
}

export function pod(name: string, spec: Record<string, unknown> = {}, labels?: Labels): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec: { containers: [{ name: 'app', image: 'nginx:1.25' }], ...spec },
  };
}

export function namespace(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function deployment(name: string, replicas = 1): KubeObject {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] } },
    },
  };
}

export function replicaSet(name: string, replicas = 1): KubeObject {
  return { ...deployment(name, replicas), kind: 'ReplicaSet' };
}

export function statefulSet(name: string, replicas = 1): KubeObject {
  const d = deployment(name, replicas);
  return { ...d, kind: 'StatefulSet', spec: { ...(d.spec as object), serviceName: name } };
}

/** Creates `namespace` and returns its name (409 AlreadyExists is fine). */
export async function ensureNamespace(client: Api, name: string): Promise<string> {
  const res = await client.post('/api/v1/namespaces', namespace(name));
  if (res.status !== 201 && res.status !== 409)
    throw new Error(`create namespace ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return name;
}

/** Names of the items of a list response, sorted. */
export function names(list: { items: KubeObject[] }): string[] {
  return list.items.map((o) => o.metadata.name ?? '').sort();
}

/** mod_revision of `key` in etcd (via etcdctl), or undefined if the key is absent. */
export async function etcdModRevision(endpoints: string[], key: string): Promise<number | undefined> {
  const res = await etcdctl(['get', key, '--write-out=json'], { endpoints });
  if (res.code !== 0) throw new Error(`etcdctl get ${key}: ${res.stderr}`);
  const kvs = JSON.parse(res.stdout).kvs as { mod_revision: number }[] | undefined;
  return kvs?.[0]?.mod_revision;
}

/** The value of a gauge or counter sample from /metrics, or undefined if absent. */
export async function metricValue(client: Api, name: string, labels: Labels): Promise<number | undefined> {
  const res = await client.get('/metrics', { accept: 'text/plain' });
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of String(res.body).split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.indexOf('}');
    const have = line.slice(name.length + 1, close).split(',');
    if (want.every((w) => have.includes(w))) return Number(line.slice(close + 1).trim());
  }
  return undefined;
}
