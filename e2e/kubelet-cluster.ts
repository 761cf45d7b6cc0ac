/**
 * One small cluster for a kubelet e2e file: real etcd, apiserver and a
 * kubelet on Docker (a node name and pod CIDR of the file's own), with the
 * pod helpers the tests share. `stop` deletes what is left, waits for the
 * kubelet to remove its containers, stops the processes and removes any
 * container or network still labelled for the node.
 * NK_E2E_KEEP_LOGS=<dir> keeps the kubelet's log there.
 */
import { copyFileSync } from 'node:fs';
import { expect } from 'vitest';
import {
  type Api,
  api,
  cleanup,
  type Kubelet,
  makeTempDir,
  startApiserver,
  startEtcd,
  startKubelet,
  waitFor,
  writeKubeconfig,
} from '../testing/harness.js';
import {
  freePodCIDR,
  nodeContainers,
  removeNodeContainers,
  testNodeName,
} from '../testing/kubelet-helpers.js';

export const busybox = 'nanokube/busybox:1';
const podsPath = '/api/v1/namespaces/default/pods';

export function containerStatus(pod: any, name: string): any {
  return pod.status?.containerStatuses?.find((s: any) => s.name === name);
}

export const running = (pod: any) => pod.status?.phase === 'Running';
export const ready = (pod: any) =>
  pod.status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True';

export class KubeletCluster {
  private constructor(
    readonly node: string,
    readonly podCIDR: string,
    readonly client: Api,
    readonly kubeconfig: string,
    readonly kubelet: Kubelet,
    readonly apiserverUrl: string,
  ) {}

  static async start(prefix: string, kubeletArgs: string[] = []): Promise<KubeletCluster> {
    const node = testNodeName(prefix);
    const podCIDR = await freePodCIDR();
    const etcd = await startEtcd();
    const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
    const kubeconfig = await writeKubeconfig(makeTempDir(), apiserver.url);
    const kubelet = await startKubelet({
      apiserverUrl: apiserver.url,
      nodeName: node,
      podCIDR,
      extraArgs: kubeletArgs,
    });
    return new KubeletCluster(node, podCIDR, api(apiserver.url), kubeconfig, kubelet, apiserver.url);
  }

  /** Creates a pod bound to this node (grace period 2 s unless the spec says otherwise). */
  async createPod(name: string, spec: Record<string, unknown>) {
    const res = await this.client.post(podsPath, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { nodeName: this.node, terminationGracePeriodSeconds: 2, ...spec },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  }

  async createObject(plural: string, kind: string, obj: Record<string, unknown>) {
    const res = await this.client.post(`/api/v1/namespaces/default/${plural}`, {
      apiVersion: 'v1',
      kind,
      ...obj,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }

  async getPod(name: string): Promise<any> {
    return (await this.client.get(`${podsPath}/${name}`)).body;
  }

  /** Polls the pod until `check` holds; the error names the last status seen. */
  /** Pod `web`: container `httpd` serves `hello-from-pod` on port 8080; waits until it is Running and Ready. */
  async startWebPod(): Promise<void> {
    await this.createPod('web', {
      containers: [
        {
          name: 'httpd',
          image: busybox,
          command: [
            'sh',
            '-c',
            'mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 8080 -h /www',
          ],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        },
      ],
    });
    await this.waitPod('web', (p) => running(p) && ready(p), 'Running and Ready');
  }

  async waitPod(name: string, check: (pod: any) => boolean, what: string, timeoutMs = 30_000): Promise<any> {
    let last: any;
    try {
      return await waitFor(
        async () => {
          last = await this.getPod(name);
          return check(last) ? last : undefined;
        },
        { timeoutMs, intervalMs: 200, what: `pod ${name}: ${what}` },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}`);
    }
  }

  /** Deletes a pod gracefully and waits until the kubelet has finished it and the object is gone. */
  async deletePod(name: string): Promise<void> {
    await this.client.del(`${podsPath}/${name}`);
    await waitFor(async () => (await this.client.get(`${podsPath}/${name}`)).status === 404, {
      timeoutMs: 30_000,
      what: `pod ${name} gone`,
    });
  }

  async events(podName: string): Promise<any[]> {
    const items = (await this.client.get('/api/v1/namespaces/default/events')).body.items ?? [];
    return items.filter((e: any) => e.involvedObject.name === podName);
  }

  async stop(): Promise<void> {
    const left = (await this.client.get(podsPath)).body.items ?? [];
    await Promise.all(
      left.map((p: any) => this.client.del(`${podsPath}/${p.metadata.name}`, { gracePeriodSeconds: 0 })),
    );
    await waitFor(async () => (await nodeContainers(this.node)).length === 0 || undefined, {
      timeoutMs: 20_000,
      what: 'the kubelet removing every container',
    }).catch(() => undefined);
    if (process.env.NK_E2E_KEEP_LOGS)
      copyFileSync(this.kubelet.logPath, `${process.env.NK_E2E_KEEP_LOGS}/${this.node}.log`);
    await cleanup();
    await removeNodeContainers(this.node);
  }
}
