import { describe, expect, it } from 'vitest';
import { componentArgs } from './command-lines.js';

describe('componentArgs', () => {
  it('adds no flag for a setting left out, and puts extra last', () => {
    expect(
      componentArgs({ component: 'scheduler', api: { master: 'http://a' }, extra: ['--v', '2'] }),
    ).toEqual(['--master', 'http://a', '--v', '2']);
  });

  it('spells leader election as pflag does: bare when on, =false when off', () => {
    const le = (leaderElect?: boolean) =>
      componentArgs({ component: 'controller-manager', api: { kubeconfig: '/k' }, leaderElect });
    expect(le(true)).toEqual(['--kubeconfig', '/k', '--leader-elect']);
    expect(le(false)).toEqual(['--kubeconfig', '/k', '--leader-elect=false']);
    expect(le(undefined)).toEqual(['--kubeconfig', '/k']);
  });

  it('joins lists the way the flags take them', () => {
    expect(
      componentArgs({ component: 'apiserver', etcdServers: ['http://e1', 'http://e2'], port: 8080 }),
    ).toEqual(['--etcd-servers', 'http://e1,http://e2', '--port', '8080']);
    const hollow = componentArgs({
      component: 'hollow-nodes',
      api: { master: 'http://a' },
      nodes: 2,
      nodeNamePrefix: 'h-',
      firstIndex: 0,
      cpu: '4',
      memory: '16Gi',
      pods: 110,
      nodeLabels: { a: 'b', c: 'd' },
      registerWithTaints: [],
    });
    expect(hollow).toContain('a=b,c=d');
    expect(hollow).not.toContain('--register-with-taints');
  });

  it('etcd with TLS asks for client certificates of its CA from clients and peers', () => {
    const args = componentArgs({
      component: 'etcd',
      dataDir: '/d',
      listenClientUrls: 'https://0.0.0.0:2379',
      advertiseClientUrls: 'https://m:2379',
      listenPeerUrls: 'https://0.0.0.0:2380',
      initialAdvertisePeerUrls: 'https://m:2380',
      initialCluster: 'm=https://m:2380',
      tls: {
        ca: '/ca.crt',
        server: { cert: '/s.crt', key: '/s.key' },
        peer: { cert: '/p.crt', key: '/p.key' },
      },
    });
    expect(args).toContain('--client-cert-auth');
    expect(args).toContain('--peer-client-cert-auth');
    expect(args.filter((a) => a === '/ca.crt')).toHaveLength(2);
    expect(args).not.toContain('--name');
    expect(args).not.toContain('--log-level');
  });
});
