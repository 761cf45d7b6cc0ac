// docs/extending.md, run: the Widget CRD applied with the real kubectl, the
// example controller (examples/widget-controller.ts, client-node only)
// keeping each widget's ConfigMap and status, kubectl scale through the scale
// subresource, the garbage collector removing the ConfigMap with its widget;
// and two CRDs of the size and shape of cert-manager's and the Prometheus
// operator's applied server-side, an object of each served and explained.
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { runWidgetController } from '../examples/widget-controller.js';
import { certificateCrd, scrapeMonitorCrd } from '../testing/crd-fixtures.js';
import {
  type Api,
  api,
  cleanup,
  kubectl,
  makeTempDir,
  type RunResult,
  run,
  startApiserver,
  startControllerManager,
  startEtcd,
  waitFor,
  writeKubeconfig,
} from '../testing/harness.js';
import { repoRoot } from '../testing/tree.js';

let client: Api;
let kubeconfig: string;
let apiserverUrl: string;
const stopController = new AbortController();
const controllerLog: string[] = [];
let controllerDone: Promise<void> | undefined;

beforeAll(async () => {
  const etcd = await startEtcd();
  const server = await startApiserver({ etcdServers: etcd.endpoints });
  await startControllerManager({ apiserverUrl: server.url, controllers: ['garbagecollector'] });
  client = api(server.url);
  apiserverUrl = server.url;
  kubeconfig = await writeKubeconfig(makeTempDir('nanokube-extending-'), server.url);
}, 60_000);

afterAll(async () => {
  stopController.abort();
  await controllerDone?.catch(() => {});
  await cleanup();
});

const k = (args: string[], input?: string): Promise<RunResult> => kubectl(args, { kubeconfig, input });

async function ok(args: string[], input?: string): Promise<string> {
  const r = await k(args, input);
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Waits until kubectl serves `resource` (discovery picked the new CRD up). */
const served = (resource: string) =>
  waitFor(async () => (await k(['get', resource, '-A'])).code === 0, { timeoutMs: 20_000 });

describe('the Widget example', () => {
  const widgets = '/apis/example.nanokube.dev/v1/namespaces/default/widgets';

  it('the CRD applies and the controller reconciles a widget', async () => {
    await ok(['apply', '-f', path.join(repoRoot, 'examples/widget-crd.yaml')]);
    await served('widgets');
    // client-node's watch takes plain HTTP only from a cluster marked skipTLSVerify.
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'local', server: apiserverUrl, skipTLSVerify: true }],
      users: [{ name: 'admin' }],
      contexts: [{ name: 'local', cluster: 'local', user: 'admin' }],
      currentContext: 'local',
    });
    controllerDone = runWidgetController(kc, 'default', stopController.signal, (l) => controllerLog.push(l));
    await ok(
      ['apply', '-f', '-'],
      YAML.stringify({
        apiVersion: 'example.nanokube.dev/v1',
        kind: 'Widget',
        metadata: { name: 'blue-one' },
        spec: { color: 'blue' },
      }),
    );
    const cm = await waitFor(
      async () => {
        const r = await client.get('/api/v1/namespaces/default/configmaps/blue-one-widget');
        return r.status === 200 ? r.body : undefined;
      },
      {
        timeoutMs: 20_000,
        what: `the widget's ConfigMap; the controller said: ${controllerLog.join(' | ')}`,
      },
    );
    // The schema's defaults reached the controller: replicas 1, greeting hello.
    expect(cm.data).toEqual({ color: 'blue', greeting: 'hello', replicas: '1' });
    expect(cm.metadata.ownerReferences[0]).toMatchObject({
      kind: 'Widget',
      name: 'blue-one',
      controller: true,
    });
    const w = await waitFor(
      async () => {
        const r = await client.get(`${widgets}/blue-one`);
        return r.body.status?.phase === 'Ready' ? r.body : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(w.status).toMatchObject({ replicas: 1, configMap: 'blue-one-widget', observedGeneration: 1 });
  });

  it('kubectl shows the printer columns and scales through the scale subresource', async () => {
    const table = await ok(['get', 'widgets']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+COLOR\s+REPLICAS\s+PHASE\s+AGE$/);
    expect(table).toMatch(/blue-one\s+blue\s+1\s+Ready\s+\d+s/);
    await ok(['scale', 'widget/blue-one', '--replicas=3']);
    await waitFor(
      async () => {
        const r = await client.get('/api/v1/namespaces/default/configmaps/blue-one-widget');
        return r.body.data?.replicas === '3';
      },
      { timeoutMs: 20_000 },
    );
    // The controller writes the status after the ConfigMap.
    const w = await waitFor(
      async () => {
        const r = await client.get(`${widgets}/blue-one`);
        return r.body.status?.replicas === 3 ? r.body : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(w.status).toMatchObject({ replicas: 3, phase: 'Ready', observedGeneration: 2 });
  });

  it('a widget the schema refuses is refused with the field named', async () => {
    const r = await k(
      ['apply', '-f', '-'],
      YAML.stringify({
        apiVersion: 'example.nanokube.dev/v1',
        kind: 'Widget',
        metadata: { name: 'pink-one' },
        spec: { color: 'pink', replicas: 11 },
      }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.color: Unsupported value: "pink"');
    expect(r.stderr).toContain('spec.replicas: Invalid value: 11');
  });

  it('the Python client creates, patches the status of, lists, watches and deletes widgets', async () => {
    await ok(['create', 'namespace', 'python']);
    const script = `
import json, sys
from kubernetes import client, config, watch
config.load_kube_config(sys.argv[1])
api = client.CustomObjectsApi()
g, v, ns, p = 'example.nanokube.dev', 'v1', 'python', 'widgets'
out = {}
body = {'apiVersion': g + '/' + v, 'kind': 'Widget', 'metadata': {'name': 'py-one'}, 'spec': {'color': 'green'}}
out['created'] = api.create_namespaced_custom_object(g, v, ns, p, body)['spec']
api.patch_namespaced_custom_object_status(g, v, ns, p, 'py-one', {'status': {'phase': 'Checked'}})
out['phase'] = api.get_namespaced_custom_object(g, v, ns, p, 'py-one')['status']['phase']
out['listed'] = [i['metadata']['name'] for i in api.list_namespaced_custom_object(g, v, ns, p)['items']]
events = []
for ev in watch.Watch().stream(api.list_namespaced_custom_object, g, v, ns, p, timeout_seconds=2):
    events.append([ev['type'], ev['object']['metadata']['name']])
out['watched'] = events
api.delete_namespaced_custom_object(g, v, ns, p, 'py-one')
print(json.dumps(out))
`;
    const r = await run('/usr/bin/python3', ['-c', script, kubeconfig], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      created: { color: 'green', replicas: 1, greeting: 'hello' },
      phase: 'Checked',
      listed: ['py-one'],
      watched: [['ADDED', 'py-one']],
    });
  });

  it('deleting the widget takes its ConfigMap with it (garbage collector)', async () => {
    await ok(['delete', 'widget', 'blue-one']);
    await waitFor(
      async () => (await client.get('/api/v1/namespaces/default/configmaps/blue-one-widget')).status === 404,
      { timeoutMs: 30_000 },
    );
    expect(controllerLog.filter((l) => /retrying/.test(l))).toEqual([]);
  });
});

describe('CRDs of the size and shape operators ship', () => {
  const crds = [certificateCrd(), scrapeMonitorCrd()];

  it('apply server-side, serve an object of each, and explain a nested field', async () => {
    const manifest = crds.map((c) => YAML.stringify(c)).join('---\n');
    expect(manifest.length).toBeGreaterThan(60_000);
    await ok(['apply', '--server-side', '-f', '-'], manifest);
    await served('certificates.certs.nanokube.test');
    await served('scrapemonitors.monitoring.nanokube.test');
    await ok(
      ['apply', '--server-side', '-f', '-'],
      YAML.stringify({
        apiVersion: 'certs.nanokube.test/v1',
        kind: 'Certificate',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          secretName: 'web-tls',
          dnsNames: ['web.example.test'],
          issuerRef: { name: 'ca' },
          privateKey: { algorithm: 'ECDSA' },
          usages: ['server auth'],
        },
      }),
    );
    await ok(
      ['apply', '--server-side', '-f', '-'],
      YAML.stringify({
        apiVersion: 'monitoring.nanokube.test/v1',
        kind: 'ScrapeMonitor',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          endpoints: [
            {
              port: 'metrics',
              targetPort: 9090,
              interval: '30s',
              relabelings: [{ sourceLabels: ['__name__'] }],
            },
          ],
        },
      }),
    );
    const cert = (await client.get('/apis/certs.nanokube.test/v1/namespaces/default/certificates/web')).body;
    // Defaults from the schema, deep in the object.
    expect(cert.spec.privateKey).toEqual({ algorithm: 'ECDSA', encoding: 'PKCS1', rotationPolicy: 'Always' });
    const smon = (await client.get('/apis/monitoring.nanokube.test/v1/namespaces/default/scrapemonitors/web'))
      .body;
    expect(smon.spec.endpoints[0].relabelings[0].action).toBe('replace');
    // Short names and categories come from discovery.
    expect(await ok(['get', 'cert'])).toMatch(/^NAME\s+READY\s+SECRET\s+AGE\nweb\s+web-tls\s+\d+s/);
    expect(await ok(['get', 'smon', '-o', 'name'])).toBe('scrapemonitor.monitoring.nanokube.test/web\n');
    expect(await ok(['get', 'monitoring-example', '-o', 'name'])).toContain(
      'scrapemonitor.monitoring.nanokube.test/web',
    );
    const explained = await ok(['explain', 'certificates.spec.privateKey.rotationPolicy']);
    expect(explained).toContain('KIND:       Certificate');
    expect(explained).toContain('rotationPolicy');
    expect(explained).toMatch(/ENUM:\s+Never\s+Always/);
    const nested = await ok(['explain', 'scrapemonitors.spec.endpoints.tlsConfig.ca.secret']);
    expect(nested).toMatch(/key\s+<string> -required-/);
  });

  it('an object the big schema refuses names the field', async () => {
    const r = await k(
      ['apply', '--server-side', '-f', '-'],
      YAML.stringify({
        apiVersion: 'monitoring.nanokube.test/v1',
        kind: 'ScrapeMonitor',
        metadata: { name: 'bad', namespace: 'default' },
        spec: { selector: {}, endpoints: [{ scheme: 'gopher', interval: '5 minutes' }] },
      }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.endpoints[0].scheme: Unsupported value: "gopher"');
    expect(r.stderr).toContain('spec.endpoints[0].interval: Invalid value: "5 minutes"');
  });
});
