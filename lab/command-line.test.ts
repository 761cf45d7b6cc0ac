import { describe, expect, it } from 'vitest';
import { labCommandLine } from './command-line.js';

// The flags each lab container ran with when deploy/lab/entrypoint.sh spelled them itself.
const env = {
  ETCD_CLUSTER: 'etcd-1=https://etcd-1:2380,etcd-2=https://etcd-2:2380',
  ETCD_SERVERS: 'https://etcd-1:2379,https://etcd-2:2379',
  MASTER: 'http://balancer:6443',
  NODE_MONITOR_GRACE_PERIOD: '20s',
  LOG_LEVEL: 'debug',
  NODE_NAME: 'worker-1',
  NODE_IP: '172.20.0.5',
};
const flags = (role: string, more: Record<string, string> = {}, exists = (_: string) => false) =>
  labCommandLine(role, { ...env, ...more }, exists).split('\n');

describe('lab command lines', () => {
  it('etcd: TLS with etcd-only certificates, both ways', () => {
    expect(flags('etcd', { ETCD_DATA_DIR: '/var/lib/etcd/data' })).toEqual([
      ...['--name', 'worker-1', '--data-dir', '/var/lib/etcd/data'],
      ...['--listen-client-urls', 'https://0.0.0.0:2379', '--advertise-client-urls', 'https://worker-1:2379'],
      ...[
        '--listen-peer-urls',
        'https://0.0.0.0:2380',
        '--initial-advertise-peer-urls',
        'https://worker-1:2380',
      ],
      ...['--initial-cluster', env.ETCD_CLUSTER, '--initial-cluster-state', 'new'],
      ...['--initial-cluster-token', 'nanokube-lab'],
      ...['--cert-file', '/pki/etcd-server.crt', '--key-file', '/pki/etcd-server.key'],
      ...['--trusted-ca-file', '/pki/etcd/ca.crt', '--client-cert-auth'],
      ...['--peer-cert-file', '/pki/etcd-peer.crt', '--peer-key-file', '/pki/etcd-peer.key'],
      ...['--peer-trusted-ca-file', '/pki/etcd/ca.crt', '--peer-client-cert-auth'],
      ...['--logger', 'zap'],
    ]);
  });

  it('the control plane over the balancer', () => {
    expect(flags('apiserver')).toEqual([
      ...['--etcd-servers', env.ETCD_SERVERS, '--etcd-cafile', '/pki/etcd/ca.crt'],
      ...[
        '--etcd-certfile',
        '/pki/apiserver-etcd-client.crt',
        '--etcd-keyfile',
        '/pki/apiserver-etcd-client.key',
      ],
      ...['--bind-address', '0.0.0.0', '--port', '8080', '--advertise-address', '172.20.0.5'],
      ...['--log-level', 'debug'],
    ]);
    expect(flags('controller-manager')).toEqual([
      ...['--master', env.MASTER, '--node-monitor-grace-period', '20s'],
      ...['--bind-address', '0.0.0.0', '--log-level', 'debug'],
    ]);
    expect(flags('controller-manager', { NODE_MONITOR_GRACE_PERIOD: '', LOG_LEVEL: '' })).toContain('40s');
    expect(flags('scheduler')).toEqual([
      '--master',
      env.MASTER,
      '--bind-address',
      '0.0.0.0',
      '--log-level',
      'debug',
    ]);
  });

  const node = ['--node-name', 'worker-1', '--node-ip', '172.20.0.5', '--address', '172.20.0.5'];
  const health = ['--healthz-bind-address', '0.0.0.0', '--log-level', 'debug'];
  const proxyTail = [
    '--node-name',
    'worker-1',
    '--healthz-bind-address',
    '0.0.0.0:10256',
    '--log-level',
    'debug',
  ];

  it('a worker without PKI_DIR: plain HTTP to MASTER', () => {
    expect(flags('kubelet')).toEqual(['--master', env.MASTER, ...node, ...health]);
    expect(flags('kube-proxy')).toEqual(['--master', env.MASTER, ...proxyTail]);
  });

  it("a worker with the node's certificates in PKI_DIR", () => {
    expect(flags('kubelet', { PKI_DIR: '/p' })).toEqual([
      ...['--kubeconfig', '/p/kubelet.kubeconfig'],
      ...['--tls-cert-file', '/p/kubelet.crt', '--tls-private-key-file', '/p/kubelet.key'],
      ...['--client-ca-file', '/p/ca.crt', '--authorization-mode', 'Webhook'],
      ...node,
      ...health,
    ]);
    expect(flags('kube-proxy', { PKI_DIR: '/p' })).toEqual([
      '--kubeconfig',
      '/p/kube-proxy.kubeconfig',
      ...proxyTail,
    ]);
  });

  it('a joining worker: the kubelet bootstraps, kube-proxy uses what it gets', () => {
    const bootstrap = (f: string) => f === '/p/bootstrap-kubelet.kubeconfig';
    expect(flags('kubelet', { PKI_DIR: '/p' }, bootstrap)).toEqual([
      ...['--bootstrap-kubeconfig', '/p/bootstrap-kubelet.kubeconfig'],
      ...['--kubeconfig', '/var/lib/nanokube/kubelet.kubeconfig', '--cert-dir', '/var/lib/nanokube/pki'],
      ...['--client-ca-file', '/p/ca.crt', '--authorization-mode', 'Webhook'],
      ...node,
      ...health,
    ]);
    expect(flags('kube-proxy', { PKI_DIR: '/p' }, bootstrap)).toEqual([
      ...['--kubeconfig', '/var/lib/nanokube/kubelet.kubeconfig'],
      ...proxyTail,
    ]);
  });

  it('refuses an unknown role and a missing setting', () => {
    expect(() => flags('balancer')).toThrow(/unknown role "balancer"/);
    expect(() => labCommandLine('apiserver', { ...env, ETCD_SERVERS: '' })).toThrow(/needs ETCD_SERVERS/);
  });
});
