/**
 * A tiny controller for the Widget custom kind (examples/widget-crd.yaml),
 * written only with @kubernetes/client-node, as an operator outside this
 * project would write it; docs/extending.md walks through it.
 *
 * For every Widget it keeps a ConfigMap `<name>-widget` holding the widget's
 * colour, greeting and replicas, owned by the widget (so the garbage
 * collector removes it with the widget), and writes the widget's status
 * through the status subresource: replicas, phase Ready, the ConfigMap's
 * name and the generation it saw.
 *
 *   KUBECONFIG=... node dist/examples/widget-controller.js [NAMESPACE]
 */
import * as k8s from '@kubernetes/client-node';

const group = 'example.nanokube.dev';
const version = 'v1';
const plural = 'widgets';

export interface Widget extends k8s.KubernetesObject {
  spec?: { color?: string; replicas?: number; greeting?: string };
  status?: { replicas?: number; phase?: string; configMap?: string; observedGeneration?: number };
}

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

function isNotFound(err: unknown): boolean {
  return err instanceof k8s.ApiException && err.code === 404;
}

/** Brings one widget's ConfigMap and status to what its spec says. */
async function reconcile(core: k8s.CoreV1Api, custom: k8s.CustomObjectsApi, w: Widget): Promise<void> {
  const { name, namespace, uid, generation } = w.metadata ?? {};
  if (!name || !namespace || !uid || w.metadata?.deletionTimestamp) return;
  const cmName = `${name}-widget`;
  const data = {
    color: w.spec?.color ?? '',
    greeting: w.spec?.greeting ?? '',
    replicas: String(w.spec?.replicas ?? 0),
  };
  const owner = { apiVersion: `${group}/${version}`, kind: 'Widget', name, uid, controller: true };
  try {
    const cm = await core.readNamespacedConfigMap({ name: cmName, namespace });
    if (JSON.stringify(cm.data ?? {}) !== JSON.stringify(data))
      await core.replaceNamespacedConfigMap({ name: cmName, namespace, body: { ...cm, data } });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    const body = { metadata: { name: cmName, namespace, ownerReferences: [owner] }, data };
    await core.createNamespacedConfigMap({ namespace, body });
  }
  const status = {
    replicas: w.spec?.replicas ?? 0,
    phase: 'Ready',
    configMap: cmName,
    observedGeneration: generation,
  };
  if (JSON.stringify({ ...w.status }) === JSON.stringify({ ...w.status, ...status })) return;
  await custom.patchNamespacedCustomObjectStatus(
    { group, version, namespace, plural, name, body: { status } },
    mergePatch,
  );
}

/**
 * Runs the controller on `namespace` until `signal` aborts: an informer over
 * the widgets, and one reconcile at a time per widget (a change seen while
 * one runs is reconciled again after it; a failure is retried after a second).
 */
export async function runWidgetController(
  kc: k8s.KubeConfig,
  namespace: string,
  signal: AbortSignal,
  log: (line: string) => void = () => {},
): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const path = `/apis/${group}/${version}/namespaces/${namespace}/${plural}`;
  const informer = k8s.makeInformer<Widget>(kc, path, () =>
    custom.listNamespacedCustomObject({ group, version, namespace, plural }),
  );
  const running = new Set<string>();
  const again = new Set<string>();
  const sync = async (name: string): Promise<void> => {
    if (signal.aborted) return;
    if (running.has(name)) {
      again.add(name);
      return;
    }
    running.add(name);
    try {
      const w = informer.get(name, namespace);
      if (w) await reconcile(core, custom, w);
    } catch (err) {
      log(`widget ${namespace}/${name}: ${err instanceof Error ? err.message : String(err)}; retrying`);
      setTimeout(() => void sync(name), 1_000).unref();
    } finally {
      running.delete(name);
      if (again.delete(name)) void sync(name);
    }
  };
  const onChange = (w: Widget) => void sync(w.metadata?.name ?? '');
  informer.on('add', onChange);
  informer.on('update', onChange);
  informer.on('error', (err) => {
    log(`widget informer: ${String(err)}; restarting in 1 s`);
    if (!signal.aborted) setTimeout(() => void informer.start(), 1_000).unref();
  });
  await informer.start();
  log(`watching widgets in ${namespace}`);
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  await informer.stop();
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => stop.abort());
  await runWidgetController(kc, process.argv[2] ?? 'default', stop.signal, (line) => console.log(line));
}
