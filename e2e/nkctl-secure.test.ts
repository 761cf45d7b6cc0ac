// The cluster `nkctl up` starts is secure by default: every component talks
// TLS with a certificate of its own, RBAC and the Node authorizer decide, the
// kubelet's port wants a client certificate, pods get a service account token
// that works through the kubernetes Service once a RoleBinding allows it, and
// Secrets are encrypted in etcd. Against a real one-host cluster, with the
// real kubectl.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, etcdctl, kubectl, run, waitFor } from '../testing/harness.js';
import { nkctlEnv, removeNodeContainers, testNodeName } from '../testing/kubelet-helpers.js';

const nkctlJs = path.resolve('dist/cli/main.js');
let env: NodeJS.ProcessEnv;
let home: string;
let kubeconfig: string;
let node: string;
let etcdPort: number;
let apiPort: number;
let kubeletPort: number;
let nodeIP: string;

const nkctl = (args: string[]) => run(process.execPath, [nkctlJs, ...args], { env, timeoutMs: 180_000 });
const k = (args: string[], input?: string) => kubectl(args, { kubeconfig, input });
const pki = (f: string) => path.join(home, 'pki', f);

/** An HTTPS GET checked against the cluster CA, with an optional client certificate (a name in pki/). */
function get(
  url: string,
  client?: string,
  headers: Record<string, string> = {},
): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const cert = client
      ? { cert: readFileSync(pki(`${client}.crt`)), key: readFileSync(pki(`${client}.key`)) }
      : {};
    const req = https.get(
      url,
      { ca: readFileSync(pki('ca.crt')), ...cert, headers, timeout: 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

beforeAll(async () => {
  node = testNodeName('secure');
  let ports: Record<string, number>;
  ({ env, home, kubeconfig, ports } = await nkctlEnv({ prefix: 'nkctl-secure-', node }));
  ({ etcd: etcdPort, api: apiPort, kubelet: kubeletPort } = ports);
  nodeIP = String(env.NANOKUBE_POD_CIDR).replace(/\.0\/24$/, '.1');
  const up = await nkctl(['up']);
  if (up.code !== 0) throw new Error(`nkctl up failed:\n${up.stderr}`);
}, 240_000);

afterAll(async () => {
  await nkctl(['down', '--purge']);
  await cleanup();
  await removeNodeContainers(node);
});

describe('nkctl up is secure by default', () => {
  it('serves the API only over TLS: no plain HTTP, and no credentials is 401 (health stays public)', async () => {
    const api = `https://${nodeIP}:${apiPort}`;
    await expect(
      fetch(`http://${nodeIP}:${apiPort}/api`, { signal: AbortSignal.timeout(5000) }),
    ).rejects.toThrow();
    const anon = await get(`${api}/api/v1/namespaces/default/pods`);
    expect(anon.code).toBe(401);
    expect(JSON.parse(anon.body)).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect((await get(`${api}/readyz`)).code).toBe(200);
    expect((await get(`${api}/api/v1/namespaces/default/pods`, 'admin')).code).toBe(200);
  });

  it('runs every component with its own certificate: each one acts as its own user', async () => {
    const pidOf = (name: string) => readFileSync(path.join(home, 'run', `${name}.pid`), 'utf8').trim();
    // Each with a certificate of its own identity, not the admin's.
    const users: Record<string, string> = {
      'controller-manager': 'CN=system:kube-controller-manager',
      scheduler: 'CN=system:kube-scheduler',
      kubelet: `O=system:nodes\nCN=system:node:${node}`,
      'kube-proxy': 'CN=system:kube-proxy',
    };
    for (const [c, subject] of Object.entries(users)) {
      const args = readFileSync(`/proc/${pidOf(c)}/cmdline`, 'utf8').split('\0');
      expect(args, c).toContain('--kubeconfig');
      expect(args, c).not.toContain('--master');
      const file = readFileSync(args[args.indexOf('--kubeconfig') + 1], 'utf8');
      expect(file, c).toContain(`server: https://${nodeIP}:${apiPort}`);
      const certData = /client-certificate-data: (\S+)/.exec(file)?.[1] ?? '';
      const cert = new X509Certificate(Buffer.from(certData, 'base64'));
      expect(cert.subject.split('\n').sort(), c).toEqual(subject.split('\n').sort());
      expect(cert.checkIssued(new X509Certificate(readFileSync(pki('ca.crt')))), c).toBe(true);
    }
    // The audit log names who wrote: each component under its own name.
    await waitFor(
      () => {
        const users = new Set(
          readFileSync(path.join(home, 'logs', 'audit.log'), 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l).user?.username),
        );
        return ['system:kube-controller-manager', 'system:kube-scheduler', `system:node:${node}`].every((u) =>
          users.has(u),
        );
      },
      { timeoutMs: 30_000, what: 'writes by the controller-manager, scheduler and kubelet in the audit log' },
    );
  });

  it('the kubelet refuses a request without a client certificate, and asks the apiserver about the rest', async () => {
    const kubelet = `https://${nodeIP}:${kubeletPort}`;
    const none = await get(`${kubelet}/pods`);
    expect(none.code).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ kind: 'Status', reason: 'Unauthorized' });
    // kube-proxy's certificate is the cluster's, but RBAC gives it no nodes/proxy.
    const proxy = await get(`${kubelet}/pods`, 'kube-proxy');
    expect(proxy.code).toBe(403);
    expect(JSON.parse(proxy.body).message).toBe(
      'Forbidden (user=system:kube-proxy, verb=get, resource=nodes, subresource=pods)',
    );
    const admin = await get(`${kubelet}/pods`, 'admin');
    expect(admin.code).toBe(200);
    expect(JSON.parse(admin.body).kind).toBe('PodList');
  });

  it('kubectl logs and exec reach the kubelet through the apiserver over TLS', async () => {
    const created = await k([
      'run',
      'talker',
      '--image=nanokube/busybox:1',
      '--restart=Never',
      '--',
      'sh',
      '-c',
      'echo hello over tls; sleep 600',
    ]);
    expect(created.code, created.stderr).toBe(0);
    await waitFor(async () => (await k(['logs', 'talker'])).stdout === 'hello over tls\n', {
      timeoutMs: 60_000,
      what: 'the pod log',
    });
    const exec = await k([
      'exec',
      'talker',
      '--',
      'cat',
      '/var/run/secrets/kubernetes.io/serviceaccount/namespace',
    ]);
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout).toBe('default');
    await k(['delete', 'pod', 'talker', '--grace-period=0']);
  });

  it('a pod lists pods with its service account token through the kubernetes Service, once a RoleBinding allows it', async () => {
    // Every second: GET its namespace's pods as its service account, print the status code.
    const script = [
      "const fs = require('fs'), https = require('https');",
      "const d = '/var/run/secrets/kubernetes.io/serviceaccount';",
      'const tick = () => https.get({',
      '  host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT,',
      "  path: '/api/v1/namespaces/' + fs.readFileSync(d + '/namespace', 'utf8') + '/pods',",
      "  ca: fs.readFileSync(d + '/ca.crt'),",
      "  headers: { authorization: 'Bearer ' + fs.readFileSync(d + '/token', 'utf8') },",
      "}, (r) => { r.resume(); console.log('status ' + r.statusCode); }).on('error', (e) => console.log('error ' + e.message));",
      'tick(); setInterval(tick, 1000); setTimeout(() => process.exit(0), 300000);',
    ].join('\n');
    const manifest = `apiVersion: v1
kind: ServiceAccount
metadata: { name: lister }
---
apiVersion: v1
kind: Pod
metadata: { name: lister }
spec:
  serviceAccountName: lister
  restartPolicy: Never
  containers:
  - name: app
    image: nanokube/nanokube:1
    command: [node, -e, ${JSON.stringify(script)}]
`;
    const applied = await k(['apply', '-f', '-'], manifest);
    expect(applied.code, applied.stderr).toBe(0);
    const logs = async () => (await k(['logs', 'lister'])).stdout;
    await waitFor(async () => (await logs()).includes('status 403'), {
      timeoutMs: 90_000,
      what: 'the pod to be refused (403) before any RoleBinding',
    });
    expect(await logs()).not.toContain('status 200');
    const bound = await k([
      'create',
      'rolebinding',
      'lister-view',
      '--clusterrole=view',
      '--serviceaccount=default:lister',
    ]);
    expect(bound.code, bound.stderr).toBe(0);
    await waitFor(async () => (await logs()).includes('status 200'), {
      timeoutMs: 30_000,
      what: 'the pod to list pods (200) after the RoleBinding',
    });
    expect(await logs()).not.toMatch(/status 401|error /);
    const pod = JSON.parse((await k(['get', 'pod', 'lister', '-o', 'json'])).stdout);
    const volume = pod.spec.volumes.find((v: any) => v.name.startsWith('kube-api-access-'));
    expect(volume.projected.sources.map((s: any) => Object.keys(s)[0])).toEqual([
      'serviceAccountToken',
      'configMap',
      'downwardAPI',
    ]);
    await k(['delete', 'pod', 'lister', '--grace-period=0']);
  });

  it('nkctl token create, list and delete manage bootstrap tokens that authenticate as system:bootstrap:ID', async () => {
    const created = await nkctl(['token', 'create', '--ttl', '1h', '--description', 'e2e join']);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const id = token.split('.')[0];
    const list = await nkctl(['token', 'list']);
    expect(list.stdout.split('\n')[0]).toMatch(
      /^TOKEN\s+TTL\s+EXPIRES\s+USAGES\s+DESCRIPTION\s+EXTRA GROUPS$/,
    );
    expect(list.stdout).toMatch(
      new RegExp(
        `^${token.replace('.', '\\.')}\\s+(59m|1h)\\s+\\S+Z\\s+authentication,signing\\s+e2e join\\s+system:bootstrappers:kubeadm:default-node-token$`,
        'm',
      ),
    );
    const server = `https://${nodeIP}:${apiPort}`;
    const whoami = (t: string) =>
      kubectl(
        [
          '--server',
          server,
          '--certificate-authority',
          pki('ca.crt'),
          '--token',
          t,
          'auth',
          'whoami',
          '-o',
          'json',
        ],
        {
          kubeconfig: '/dev/null',
        },
      );
    const me = await whoami(token);
    expect(me.code, me.stderr).toBe(0);
    const info = JSON.parse(me.stdout).status.userInfo;
    expect(info.username).toBe(`system:bootstrap:${id}`);
    expect(info.groups).toEqual(
      expect.arrayContaining(['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token']),
    );
    const deleted = await nkctl(['token', 'delete', id]);
    expect(deleted.stdout).toBe(`bootstrap token "${id}" deleted\n`);
    await waitFor(async () => (await whoami(token)).code !== 0, {
      timeoutMs: 10_000,
      what: 'the deleted token to stop working',
    });
    expect((await whoami(token)).stderr).toContain('Unauthorized');
    const bad = await nkctl(['token', 'create', 'not-a-token']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('error: token "not-a-token" is not of the form [a-z0-9]{6}.[a-z0-9]{16}');
  });

  it('keeps Secrets encrypted in etcd and serves them decrypted', async () => {
    const created = await k([
      'create',
      'secret',
      'generic',
      'db',
      '--from-literal=password=hunter2-in-clear',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const raw = await etcdctl(['get', '/registry/secrets/default/db', '--print-value-only'], {
      endpoints: [`https://127.0.0.1:${etcdPort}`],
      tls: {
        ca: pki('etcd/ca.crt'),
        cert: pki('apiserver-etcd-client.crt'),
        key: pki('apiserver-etcd-client.key'),
      },
    });
    expect(raw.stdout.startsWith('k8s:enc:aesgcm:v1:key1:')).toBe(true);
    expect(raw.stdout).not.toContain('hunter2');
    expect(raw.stdout).not.toContain(Buffer.from('hunter2-in-clear').toString('base64'));
    const back = await k(['get', 'secret', 'db', '-o', 'jsonpath={.data.password}']);
    expect(Buffer.from(back.stdout, 'base64').toString()).toBe('hunter2-in-clear');
  });
});
