/**
 * A whole one-node cluster on Docker and iptables for e2e tests and
 * benchmarks: etcd, apiserver, every controller, the scheduler, a kubelet
 * and kube-proxy, with add-ons from deploy/manifests applied as asked. The
 * node's address is its pod bridge's gateway (a network made here first),
 * so pods reach the apiserver through the `kubernetes` Service and the node
 * address is one this test made. `stop` deletes the workloads, stops the
 * processes, removes kube-proxy's rules and the node's containers.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { componentArgs } from '../base/command-lines.js';
import { firstHost } from '../base/docker.js';
import type { CertRequest } from '../base/pki.js';
import { DockerRuntime } from '../kubelet/runtime/docker.js';
import { Labels } from '../kubelet/runtime/runtime.js';
import {
  type Api,
  api,
  cleanup,
  freePort,
  kubectl,
  makeTempDir,
  run,
  sleep,
  startApiserver,
  startControllerManager,
  startEtcd,
  startKubelet,
  startScheduler,
  waitFor,
  writeKubeconfig,
} from './harness.js';
import { freePodCIDR, removeNodeContainers, testNodeName } from './kubelet-helpers.js';
import { type SecureApiserver, secureAccess, securePki } from './secure-apiserver.js';

export interface DockerCluster {
  node: string;
  nodeIP: string;
  /** The admin's client, on the plain loopback port. */
  client: Api;
  kubeconfig: string;
  /** With `secure`: the TLS port (RBAC, client certificates, front proxy) and its users. */
  secure?: Omit<SecureApiserver, 'apiserver'>;
  stop(): Promise<void>;
}

/**
 * Starts the cluster. With `secure`, the apiserver also serves TLS on the
 * node's address with Node,RBAC authorization, client certificates for
 * `secure.users` and the front-proxy certificates (securePki); the
 * components still use the plain loopback port.
 */
export async function startDockerCluster(
  prefix: string,
  addons: string[] = [],
  opts: { secure?: { users?: CertRequest[] } } = {},
): Promise<DockerCluster> {
  const node = testNodeName(prefix);
  const podCIDR = await freePodCIDR();
  const nodeIP = firstHost(podCIDR);
  await new DockerRuntime().ensureNetwork(`nanokube-${node}`, podCIDR, { [Labels.node]: node });
  const etcd = await startEtcd();
  let secureArgs: string[] = [];
  let secure: DockerCluster['secure'];
  if (opts.secure) {
    const dir = makeTempDir('nanokube-secure-');
    const pki = await securePki(dir, { sans: [`IP:${nodeIP}`, 'IP:127.0.0.1'], users: opts.secure.users });
    const securePort = await freePort();
    secureArgs = pki.args(securePort, 'Node,RBAC');
    secure = secureAccess(`https://${nodeIP}:${securePort}`, dir, pki.caCert);
  }
  const apiserver = await startApiserver({
    etcdServers: etcd.endpoints,
    extraArgs: ['--bind-address', '0.0.0.0', '--advertise-address', nodeIP, ...secureArgs],
  });
  const client = api(apiserver.url);
  const kubeconfig = await writeKubeconfig(makeTempDir(), apiserver.url);
  await startKubelet({
    apiserverUrl: apiserver.url,
    nodeName: node,
    podCIDR,
    extraArgs: ['--node-ip', nodeIP, '--address', nodeIP],
  });
  await startControllerManager({ apiserverUrl: apiserver.url });
  await startScheduler({ apiserverUrl: apiserver.url });
  const proxyJs = path.resolve('dist/kube-proxy/main.js');
  const healthPort = await freePort();
  const proxy = spawn(
    process.execPath,
    [
      proxyJs,
      ...componentArgs({
        component: 'kube-proxy',
        api: { master: apiserver.url },
        nodeName: node,
        healthzBindAddress: `127.0.0.1:${healthPort}`,
        iptablesMinSyncPeriod: '200ms',
      }),
    ],
    { stdio: 'ignore' },
  );
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${healthPort}/healthz`).catch(() => undefined))?.ok,
    {
      timeoutMs: 20_000,
      what: 'kube-proxy healthy',
    },
  );
  for (const addon of addons) {
    const r = await kubectl(['apply', '-f', path.resolve('deploy/manifests', addon)], { kubeconfig });
    if (r.code !== 0) throw new Error(`applying ${addon}: ${r.stderr}`);
  }
  return {
    node,
    nodeIP,
    client,
    kubeconfig,
    secure,
    async stop() {
      for (const kind of ['deployments', 'daemonsets', 'statefulsets'])
        for (const ns of ['default', 'kube-system'])
          await client
            .del(`/apis/apps/v1/namespaces/${ns}/${kind}?propagationPolicy=Background`)
            .catch(() => undefined);
      proxy.kill('SIGTERM');
      await sleep(500);
      await cleanup();
      await run(process.execPath, [proxyJs, '--cleanup']);
      await removeNodeContainers(node);
    },
  };
}
