import { describe, expect, it } from 'vitest';
import { conntrackArgs, staleUdpEntries } from './conntrack.js';
import type { Endpoint, ServicePort } from './model.js';

const ep = (ip: string, ready = true): Endpoint => ({ ip, port: 53, ready, serving: ready });
const port = (
  id: string,
  protocol: 'UDP' | 'TCP',
  endpoints: Endpoint[],
  nodePort?: number,
): ServicePort => ({
  id,
  namespace: 'ns',
  name: id,
  portName: '',
  protocol,
  clusterIP: '10.96.0.10',
  port: 53,
  nodePort,
  externalIPs: [],
  endpoints,
});

describe('staleUdpEntries', () => {
  it('deletes entries to a removed or no longer ready UDP endpoint, at the cluster IP and the node port', () => {
    const prev = [port('dns', 'UDP', [ep('10.244.1.2'), ep('10.244.1.3'), ep('10.244.1.4')], 30053)];
    const next = [port('dns', 'UDP', [ep('10.244.1.2'), ep('10.244.1.3', false)], 30053)];
    expect(staleUdpEntries(prev, next)).toEqual([
      { origDst: '10.96.0.10', dstNat: '10.244.1.3' },
      { origPort: 30053, dstNat: '10.244.1.3' },
      { origDst: '10.96.0.10', dstNat: '10.244.1.4' },
      { origPort: 30053, dstNat: '10.244.1.4' },
    ]);
  });

  it('clears a UDP service that gets its first endpoint, and leaves TCP alone', () => {
    const prev = [port('dns', 'UDP', []), port('web', 'TCP', [ep('10.244.1.9')])];
    const next = [port('dns', 'UDP', [ep('10.244.1.2')]), port('web', 'TCP', [])];
    expect(staleUdpEntries(prev, next)).toEqual([{ origDst: '10.96.0.10' }]);
  });

  it('deletes the entries of a UDP service that is gone', () => {
    expect(staleUdpEntries([port('dns', 'UDP', [ep('10.244.1.2')])], [])).toEqual([
      { origDst: '10.96.0.10', dstNat: '10.244.1.2' },
    ]);
  });

  it('changes nothing when nothing changed', () => {
    const p = [port('dns', 'UDP', [ep('10.244.1.2')])];
    expect(staleUdpEntries(p, p)).toEqual([]);
  });

  it('says it as conntrack takes it', () => {
    expect(conntrackArgs({ origDst: '10.96.0.10', dstNat: '10.244.1.3' })).toEqual([
      '-D',
      '-p',
      'udp',
      '--orig-dst',
      '10.96.0.10',
      '--dst-nat',
      '10.244.1.3',
    ]);
    expect(conntrackArgs({ origPort: 30053 })).toEqual(['-D', '-p', 'udp', '--orig-port-dst', '30053']);
  });
});
