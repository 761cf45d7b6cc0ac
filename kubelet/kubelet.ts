/**
 * The kubelet, assembled: registers the Node and keeps its status and
 * Lease, waits for the node's podCIDR and makes the pod network (a Docker
 * bridge with that subnet), then runs the pods bound to this node through
 * the pod workers, serves logs on the kubelet port and health on the
 * healthz port. `runKubelet` returns when the signal aborts; containers are
 * left running (a restarted kubelet adopts them).
 */
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import type { Lease } from '../api/types/coordination.js';
import type { ConfigMap } from '../api/types/core.js';
import { builtinRegistry } from '../api/types/index.js';
import type { Node } from '../api/types/node.js';
import type { Pod } from '../api/types/pod.js';
import type { Secret, ServiceAccount } from '../api/types/secret.js';
import type { Service } from '../api/types/service.js';
import type { PersistentVolume, PersistentVolumeClaim } from '../api/types/storage.js';
import { type Clock, realClock } from '../client/clock.js';
import { type ConnectFlags, connect } from '../client/connect.js';
import { EventRecorder, newEventClient } from '../client/events.js';
import { HealthServer, newMetricsRegistry } from '../client/health.js';
import { InformerFactory } from '../client/informer.js';
import { ResourceClient } from '../client/resource.js';
import { newKubeletGate, WebhookAuthorizer } from './auth.js';
import { Backoff } from './backoff.js';
import { bootstrapClientCertificate, ensureSelfSignedServingCert } from './bootstrap.js';
import { ContainerRunner } from './container-runner.js';
import { execUpgradeHandler } from './exec.js';
import { systemShuttingDown, terminatePodsForShutdown } from './node-shutdown.js';
import { NodeStatusManager } from './node-status.js';
import { PodSyncer } from './pod-sync.js';
import { PodWorkers } from './pod-workers.js';
import { portForwardUpgradeHandler } from './portforward.js';
import { ProbeManager } from './probes.js';
import { DockerRuntime } from './runtime/docker.js';
import { Labels, type Runtime } from './runtime/runtime.js';
import type { TokenRequest } from './sa-token.js';
import { KubeletServer } from './server.js';
import { StaticPodSource } from './static-pods.js';
import { VolumeManager, type VolumeSource } from './volumes.js';

export interface KubeletConfig {
  connect: ConnectFlags;
  /** TLS bootstrapping (bootstrap.ts): a bootstrap-token kubeconfig to ask for credentials with. */
  bootstrap?: { bootstrapKubeconfig: string; certDir: string; clientCA?: Buffer };
  nodeName: string;
  rootDir: string;
  /** The node's pod range when the Node has none yet (until node IPAM gives one). */
  podCIDR?: string;
  nodeIP: string;
  /** Where the kubelet server listens; the node IP by default. */
  address: string;
  port: number;
  /** The kubelet port's certificate and key, and the CA of its callers' certificates; absent: plain HTTP. */
  tls?: { cert: Buffer; key: Buffer; clientCA?: Buffer };
  /** Let callers without a client certificate in (always so without a client CA). */
  anonymousAuth: boolean;
  authorizationMode: 'AlwaysAllow' | 'Webhook';
  healthzBindAddress: string;
  healthzPort: number;
  /** Where hostPorts without a hostIP listen; every address when undefined. */
  hostPortAddress?: string;
  clusterDNS: string[];
  clusterDomain: string;
  pauseImage: string;
  dockerSocket?: string;
  syncFrequencyMs: number;
  nodeStatusUpdateFrequencyMs: number;
  /** A folder of static pod manifests; none when undefined. */
  podManifestPath?: string;
  /**
   * Graceful node shutdown: when the machine shuts down, pods are marked
   * terminated, and the kubelet waits up to this long (at most 5 s) for
   * Services to drop them before it exits; 0 turns it off (node-shutdown.ts).
   */
  shutdownGracePeriodMs?: number;
}

function resource<T extends KubeObject>(
  rest: ConstructorParameters<typeof ResourceClient>[0],
  plural: string,
  group = '',
  ns?: string,
) {
  const rt = builtinRegistry.all.find((r) => r.plural === plural && r.group === group);
  if (!rt) throw new Error(`the registry has no ${plural}`);
  return new ResourceClient<T>(rest, rt, ns);
}

/**
 * Reads ConfigMaps and Secrets straight from the apiserver when a pod needs
 * them, and asks it for service account tokens (TokenRequest).
 */
function apiObjectSource(rest: ConstructorParameters<typeof ResourceClient>[0]): VolumeSource {
  const cms = resource<ConfigMap & KubeObject>(rest, 'configmaps');
  const secrets = resource<Secret & KubeObject>(rest, 'secrets');
  const pvcs = resource<PersistentVolumeClaim & KubeObject>(rest, 'persistentvolumeclaims');
  const pvs = resource<PersistentVolume & KubeObject>(rest, 'persistentvolumes');
  const services = resource<Service & KubeObject>(rest, 'services');
  const serviceAccounts = resource<ServiceAccount & KubeObject>(rest, 'serviceaccounts');
  const get = async <T>(p: Promise<T>) => {
    try {
      return await p;
    } catch (err) {
      if (err instanceof StatusError && err.code === 404) return undefined;
      throw err;
    }
  };
  return {
    configMap: (ns, name) => get(cms.in(ns).get(name)) as Promise<ConfigMap | undefined>,
    secret: (ns, name) => get(secrets.in(ns).get(name)) as Promise<Secret | undefined>,
    persistentVolumeClaim: (ns, name) => get(pvcs.in(ns).get(name)),
    persistentVolume: (name) => get(pvs.get(name)),
    services: async (ns) => (await services.in(ns).list()).items,
    serviceAccountToken: (ns, name, request) =>
      rest.request<TokenRequest>({
        method: 'POST',
        path: serviceAccounts.in(ns).objectPath(name, 'token'),
        body: request,
      }),
  };
}

export async function runKubelet(
  cfg: KubeletConfig,
  deps: {
    signal: AbortSignal;
    logger: Logger;
    clock?: Clock;
    runtime?: Runtime;
    /** Whether the machine is shutting down (not only the kubelet stopping); systemd's word by default. */
    nodeShuttingDown?: () => Promise<boolean>;
  },
): Promise<void> {
  const { logger } = deps;
  // Our own signal: anything failing below stops every loop, not only the caller's abort.
  const ac = new AbortController();
  const stop = () => ac.abort();
  deps.signal.addEventListener('abort', stop, { once: true });
  if (deps.signal.aborted) stop();
  const signal = ac.signal;
  const clock = deps.clock ?? realClock;
  const runtime = deps.runtime ?? new DockerRuntime({ socketPath: cfg.dockerSocket, logger });
  if (cfg.bootstrap) cfg = await bootstrapped(cfg, cfg.bootstrap, logger, signal);
  const rest = connect(cfg.connect, `nk-kubelet/${cfg.nodeName}`, logger);
  await mkdir(cfg.rootDir, { recursive: true });
  const allocatable = NodeStatusManager.capacity();
  const events = new EventRecorder({
    client: newEventClient(rest),
    component: 'kubelet',
    host: cfg.nodeName,
    clock,
    logger,
  });
  const nodeStatus = new NodeStatusManager({
    nodeName: cfg.nodeName,
    nodes: resource<Node & KubeObject>(rest, 'nodes'),
    leases: resource<Lease & KubeObject>(rest, 'leases', 'coordination.k8s.io', 'kube-node-lease'),
    runtime,
    hostIP: cfg.nodeIP,
    port: cfg.port,
    podCIDR: cfg.podCIDR,
    rootDir: cfg.rootDir,
    clock,
    logger,
    statusIntervalMs: cfg.nodeStatusUpdateFrequencyMs,
  });
  const podClient = resource<Pod & KubeObject>(rest, 'pods');
  const factory = new InformerFactory({ rest, registry: builtinRegistry, logger, clock });
  const informer = factory.forResource<Pod & KubeObject>('pods', {
    fieldSelector: `spec.nodeName=${cfg.nodeName}`,
  });
  const source = apiObjectSource(rest);
  const volumes = new VolumeManager({ rootDir: cfg.rootDir, source, allocatable, logger, clock });
  let workers: PodWorkers | undefined;
  const probes = new ProbeManager({
    runtime,
    clock,
    logger,
    events,
    onChange: (uid) => workers?.enqueue(uid),
  });
  const runner = new ContainerRunner({
    runtime,
    node: cfg.nodeName,
    hostIP: cfg.nodeIP,
    clock,
    logger,
    events,
    source,
    imageBackoff: new Backoff(10_000, 300_000, clock),
    allocatable,
    podDir: (uid) => volumes.podDir(uid),
  });
  const network = `nanokube-${cfg.nodeName}`;
  const syncer = new PodSyncer({
    runtime,
    runner,
    volumes,
    probes,
    events,
    node: cfg.nodeName,
    hostIP: cfg.nodeIP,
    network: () => network,
    hostPortAddress: cfg.hostPortAddress,
    pauseImage: cfg.pauseImage,
    clusterDNS: cfg.clusterDNS,
    clusterDomain: cfg.clusterDomain,
    crashBackoff: new Backoff(10_000, 300_000, clock),
    clock,
    logger,
  });
  workers = new PodWorkers({
    node: cfg.nodeName,
    pods: podClient,
    informer: informer,
    syncer,
    runtime,
    clock,
    logger,
    resyncMs: cfg.syncFrequencyMs,
    nodeRef: async () => nodeStatus.nodeRef(),
  });
  const staticPods =
    cfg.podManifestPath !== undefined
      ? new StaticPodSource({
          dir: cfg.podManifestPath,
          node: cfg.nodeName,
          clock,
          logger: logger.child({ part: 'static-pods' }),
          onChange: (pods) => workers?.setStaticPods(pods),
        })
      : undefined;
  const server: KubeletServer = new KubeletServer({
    bindAddress: cfg.address,
    port: cfg.port,
    node: cfg.nodeName,
    runtime,
    pods: () => workers.running,
    logger,
    tls: cfg.tls,
    gate:
      cfg.tls?.clientCA || cfg.authorizationMode === 'Webhook'
        ? newKubeletGate({
            anonymous: cfg.anonymousAuth,
            authorizer:
              cfg.authorizationMode === 'Webhook'
                ? new WebhookAuthorizer({ rest, node: cfg.nodeName })
                : undefined,
          })
        : undefined,
    onUpgrade: upgradeHandler({ server: () => server, runtime, logger }),
  });
  const health = new HealthServer({
    bindAddress: cfg.healthzBindAddress,
    port: cfg.healthzPort,
    logger,
    live: {
      runtime: async () => {
        await runtime.version();
        return true;
      },
    },
    ready: { pods: () => informer.hasSynced() },
    metrics: newMetricsRegistry('kubelet'),
  });
  const healthPort = await health.listen();
  const port = await server.listen();
  logger.info({ node: cfg.nodeName, port, healthPort }, 'kubelet serving');
  const background: Promise<void>[] = [];
  try {
    await nodeStatus.register(signal);
    background.push(nodeStatus.runLeaseLoop(signal), nodeStatus.runStatusLoop(signal));
    if (!(await nodeStatus.waitForPodCIDR(signal))) return;
    const podCIDR = nodeStatus.podCIDR()!;
    await runtime.ensureNetwork(network, podCIDR, { [Labels.node]: cfg.nodeName });
    logger.info({ network, podCIDR }, 'pod network ready');
    // Static pods are known before the workers start, so no mirror looks orphaned meanwhile.
    if (staticPods) {
      workers.setStaticPods(await staticPods.read());
      background.push(staticPods.run(signal));
    }
    factory.start(signal);
    background.push(factory.done(), workers.run(signal));
    await Promise.all(background);
  } finally {
    ac.abort();
    deps.signal.removeEventListener('abort', stop);
    probes.stopAll();
    await Promise.allSettled(background);
    const grace = cfg.shutdownGracePeriodMs ?? 0;
    if (grace > 0 && deps.signal.aborted && (await (deps.nodeShuttingDown ?? systemShuttingDown)())) {
      await terminatePodsForShutdown({
        pods: workers.running.values(),
        writeStatus: async (pod, status) => {
          await podClient
            .in(pod.metadata?.namespace ?? 'default')
            .patch(pod.metadata?.name ?? '', 'merge', { status }, { subresource: 'status' });
        },
        clock,
        logger,
        drainMs: Math.min(grace, 5000),
      });
    }
    await events.flush();
    await server.close();
    await health.close();
    rest.close();
  }
}

/**
 * The config after TLS bootstrapping: --kubeconfig holds a client
 * certificate, and the kubelet port has a (self-signed) serving certificate.
 */
async function bootstrapped(
  cfg: KubeletConfig,
  b: NonNullable<KubeletConfig['bootstrap']>,
  logger: Logger,
  signal: AbortSignal,
): Promise<KubeletConfig> {
  await bootstrapClientCertificate({
    bootstrapKubeconfig: b.bootstrapKubeconfig,
    kubeconfig: cfg.connect.kubeconfig!,
    certDir: b.certDir,
    nodeName: cfg.nodeName,
    logger,
    signal,
  });
  if (cfg.tls) return cfg;
  const serving = await ensureSelfSignedServingCert(b.certDir, cfg.nodeName, cfg.nodeIP);
  return { ...cfg, tls: { ...serving, clientCA: b.clientCA } };
}

/** Websocket and SPDY upgrades on the kubelet server: port-forward, or exec/attach. */
function upgradeHandler(o: Parameters<typeof execUpgradeHandler>[0]) {
  const exec = execUpgradeHandler(o);
  const portForward = portForwardUpgradeHandler(o);
  return (req: import('node:http').IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) =>
    (req.url?.startsWith('/portforward/') ? portForward : exec)(req, socket, head);
}
