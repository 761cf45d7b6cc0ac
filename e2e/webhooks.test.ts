/**
 * Admission webhooks in a cluster that runs pods in Docker: the example
 * webhook (examples/admission-webhook.ts, run by the nanokube/nanokube:1
 * image from /app/dist) as a Deployment behind a Service, its serving
 * certificate made here with base/pki.ts and mounted from a
 * kubernetes.io/tls Secret. The apiserver finds it through the Service's
 * Endpoints and dials the pod; the real kubectl sees a ConfigMap with a bad
 * key refused with the webhook's message and a label added by the mutating
 * webhook. With the Deployment scaled to zero, failurePolicy Fail refuses
 * writes with a clear Status and Ignore lets them through.
 *
 * Needs the nanokube image built from this dist/ (`npm run build`, then
 * `bash deploy/images/build.sh` under the e2e lock).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCA, issueCert } from '../base/pki.js';
import { type DockerCluster, startDockerCluster } from '../testing/docker-cluster.js';
import { type Api, kubectl, makeTempDir, waitFor } from '../testing/harness.js';
import { ready } from './kubelet-cluster.js';

let cluster: DockerCluster;
let client: Api;
let kubeconfig: string;
let caBundle: string;
const ns = 'default';
const service = 'admission-webhook';
const label = 'example.nanokube.io/mutated';

const k = (args: string[], input?: string) => kubectl(args, { kubeconfig, input });

function configuration(kind: 'Validating' | 'Mutating', failurePolicy: 'Fail' | 'Ignore') {
  const lower = kind.toLowerCase();
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: `${kind}WebhookConfiguration`,
    metadata: { name: `example-${lower}` },
    webhooks: [
      {
        name: `${lower}.example.nanokube.io`,
        clientConfig: {
          service: { namespace: ns, name: service, path: kind === 'Validating' ? '/validate' : '/mutate' },
          caBundle,
        },
        rules: [
          {
            operations: ['CREATE', 'UPDATE'],
            apiGroups: [''],
            apiVersions: ['v1'],
            resources: ['configmaps'],
          },
        ],
        // Only namespaces that ask for it: the cluster's own writes never wait on the webhook.
        namespaceSelector: { matchLabels: { 'webhooks.nanokube.io/example': 'on' } },
        failurePolicy,
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 5,
      },
    ],
  };
}

async function endpointAddresses(): Promise<number> {
  const eps = (await client.get(`/api/v1/namespaces/${ns}/endpoints/${service}`)).body;
  return (eps.subsets ?? []).reduce((n: number, s: any) => n + (s.addresses ?? []).length, 0);
}

beforeAll(async () => {
  cluster = await startDockerCluster('webhooks');
  ({ client, kubeconfig } = cluster);
  const dir = makeTempDir('nanokube-webhooks-pki-');
  const ca = await ensureCA(dir, 'example-webhook-ca');
  const cert = await issueCert(dir, {
    name: 'tls',
    commonName: `${service}.${ns}.svc`,
    sans: [`DNS:${service}.${ns}.svc`, `DNS:${service}.${ns}.svc.cluster.local`],
  });
  caBundle = readFileSync(ca.cert).toString('base64');
  const secret = await k([
    'create',
    'secret',
    'tls',
    'webhook-tls',
    '-n',
    ns,
    `--cert=${cert.cert}`,
    `--key=${cert.key}`,
  ]);
  expect(secret.code, secret.stderr).toBe(0);
  const manifests = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: service, namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: service } },
        template: {
          metadata: { labels: { app: service } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: 'webhook',
                image: 'nanokube/nanokube:1',
                args: ['/app/dist/examples/admission-webhook.js'],
                ports: [{ name: 'https', containerPort: 8443 }],
                volumeMounts: [{ name: 'certs', mountPath: '/certs', readOnly: true }],
                readinessProbe: { tcpSocket: { port: 8443 }, periodSeconds: 1 },
              },
            ],
            volumes: [{ name: 'certs', secret: { secretName: 'webhook-tls' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: service, namespace: ns },
      spec: { selector: { app: service }, ports: [{ name: 'https', port: 443, targetPort: 'https' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'hooked', labels: { 'webhooks.nanokube.io/example': 'on' } },
    },
  ];
  const applied = await k(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }),
  );
  expect(applied.code, applied.stderr).toBe(0);
  await waitFor(
    async () => {
      const pods = (await client.get(`/api/v1/namespaces/${ns}/pods?labelSelector=app%3D${service}`)).body
        .items;
      return pods.some((p: any) => ready(p)) && (await endpointAddresses()) > 0;
    },
    { timeoutMs: 120_000, intervalMs: 500, what: 'the webhook pod Ready and in the Endpoints' },
  ).catch(async (err) => {
    const logs = await k(['logs', '-n', ns, `deployment/${service}`, '--tail=20']);
    throw new Error(`${err.message}\n${logs.stdout}${logs.stderr}`);
  });
  for (const kind of ['Validating', 'Mutating'] as const) {
    const r = await k(['apply', '-f', '-'], JSON.stringify(configuration(kind, 'Fail')));
    expect(r.code, r.stderr).toBe(0);
  }
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
}, 90_000);

describe('the example webhook in the cluster', () => {
  it('refuses a ConfigMap with a bad key: kubectl shows the webhook message', async () => {
    const refused = await waitFor(
      async () => {
        const r = await k([
          'create',
          'configmap',
          `probe-${Date.now()}`,
          '-n',
          'hooked',
          '--from-literal=my-bad-key=1',
        ]);
        return r.code !== 0 && r.stderr.includes('denied') ? r : undefined;
      },
      { timeoutMs: 20_000, what: 'the validating webhook in effect' },
    );
    expect(refused.stderr).toContain(
      'admission webhook "validating.example.nanokube.io" denied the request: ConfigMap keys may not contain "bad": my-bad-key',
    );
  });

  it('adds its label to a ConfigMap', async () => {
    const r = await k(['create', 'configmap', 'labelled', '-n', 'hooked', '--from-literal=good=1']);
    expect(r.code, r.stderr).toBe(0);
    const got = await k(['get', 'configmap', 'labelled', '-n', 'hooked', '-o', 'json']);
    expect(JSON.parse(got.stdout).metadata.labels).toEqual({ [label]: 'true' });
    // Outside the selected namespaces nothing is called.
    const other = await k(['create', 'configmap', 'plain', '-n', ns, '--from-literal=bad=1', '-o', 'json']);
    expect(other.code, other.stderr).toBe(0);
    expect(JSON.parse(other.stdout).metadata.labels).toBeUndefined();
  });

  it('with the webhook down, Fail refuses with a clear Status and Ignore lets writes through', async () => {
    const scaled = await k(['scale', `deployment/${service}`, '-n', ns, '--replicas=0']);
    expect(scaled.code, scaled.stderr).toBe(0);
    await waitFor(async () => (await endpointAddresses()) === 0, {
      timeoutMs: 60_000,
      what: 'no ready webhook endpoint',
    });
    const refused = await client.post('/api/v1/namespaces/hooked/configmaps', {
      metadata: { name: 'while-down' },
      data: { good: '1' },
    });
    expect(refused.status).toBe(500);
    expect(refused.body).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
    expect(refused.body.message).toMatch(
      /^Internal error occurred: failed calling webhook "(validating|mutating).example.nanokube.io": failed to call webhook: Post "https:\/\/admission-webhook.default.svc:443\/(validate|mutate)\?timeout=5s": no endpoints available for service "admission-webhook"$/,
    );
    const viaKubectl = await k([
      'create',
      'configmap',
      'while-down',
      '-n',
      'hooked',
      '--from-literal=good=1',
    ]);
    expect(viaKubectl.code).not.toBe(0);
    expect(viaKubectl.stderr).toContain('failed calling webhook');

    for (const kind of ['Validating', 'Mutating'] as const) {
      const r = await k(['apply', '-f', '-'], JSON.stringify(configuration(kind, 'Ignore')));
      expect(r.code, r.stderr).toBe(0);
    }
    const through = await waitFor(
      async () => {
        const r = await k([
          'create',
          'configmap',
          `down-${Date.now()}`,
          '-n',
          'hooked',
          '--from-literal=bad=1',
          '-o',
          'json',
        ]);
        return r.code === 0 ? JSON.parse(r.stdout) : undefined;
      },
      { timeoutMs: 20_000, what: 'a write let through with the webhook down' },
    );
    // Neither webhook ran: the bad key stayed and no label was added.
    expect(through.data).toEqual({ bad: '1' });
    expect(through.metadata.labels).toBeUndefined();
  });
});
