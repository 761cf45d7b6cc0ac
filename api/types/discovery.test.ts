import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../meta.js';
import { discoveryTypes, type EndpointSlice, validateEndpointSlice } from './discovery.js';

const now = new Date('2024-05-01T12:00:00Z');
const rt = discoveryTypes[0];

function slice(fields: Partial<EndpointSlice> = {}): EndpointSlice & KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'web-abc12',
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'web' },
      creationTimestamp: '2024-05-01T11:55:00Z',
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true } }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    ...fields,
  };
}

const errors = (o: EndpointSlice, old?: EndpointSlice) =>
  validateEndpointSlice(o, old).map((e) => `${e.type} ${e.field}`);

describe('EndpointSlice', () => {
  it('accepts a slice as the controller writes it', () => {
    const o = slice({
      endpoints: [
        {
          addresses: ['10.244.1.5'],
          conditions: { ready: true, serving: true, terminating: false },
          hostname: 'web-0',
          nodeName: 'node-1',
          zone: 'zone-a',
          targetRef: { kind: 'Pod', namespace: 'default', name: 'web-0', uid: 'u1' },
          hints: { forZones: [{ name: 'zone-a' }], forNodes: [{ name: 'node-1' }] },
        },
      ],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' }],
    });
    expect(Value.Check(rt.schema, o)).toBe(true);
    expect(errors(o)).toEqual([]);
  });

  it('defaults port name and protocol', () => {
    const o = slice({ ports: [{ port: 80 }] });
    rt.defaults?.(o);
    expect(o.ports).toEqual([{ name: '', port: 80, protocol: 'TCP' }]);
  });

  it.each([
    { name: 'no addressType', fields: { addressType: undefined }, want: 'FieldValueRequired addressType' },
    {
      name: 'the deprecated IP addressType',
      fields: { addressType: 'IP' },
      want: 'FieldValueNotSupported addressType',
    },
    {
      name: 'an endpoint without addresses',
      fields: { endpoints: [{ addresses: [] }] },
      want: 'FieldValueRequired endpoints[0].addresses',
    },
    {
      name: 'an IPv6 address in an IPv4 slice',
      fields: { endpoints: [{ addresses: ['fd00::1'] }] },
      want: 'FieldValueInvalid endpoints[0].addresses[0]',
    },
    {
      name: 'a bad FQDN',
      fields: { addressType: 'FQDN', endpoints: [{ addresses: ['Not_A_Name'] }] },
      want: 'FieldValueInvalid endpoints[0].addresses[0]',
    },
    {
      name: 'a bad hostname',
      fields: { endpoints: [{ addresses: ['10.0.0.1'], hostname: 'a.b' }] },
      want: 'FieldValueInvalid endpoints[0].hostname',
    },
    {
      name: 'a duplicate port name',
      fields: {
        ports: [
          { name: 'a', protocol: 'TCP' },
          { name: 'a', protocol: 'UDP' },
        ],
      },
      want: 'FieldValueDuplicate ports[1].name',
    },
    {
      name: 'an unknown protocol',
      fields: { ports: [{ name: 'a', protocol: 'ICMP' }] },
      want: 'FieldValueNotSupported ports[0].protocol',
    },
    {
      name: 'a missing protocol',
      fields: { ports: [{ name: 'a' }] },
      want: 'FieldValueRequired ports[0].protocol',
    },
  ])('rejects $name', ({ fields, want }) => {
    expect(errors(slice(fields as Partial<EndpointSlice>))).toContain(want);
  });

  it('keeps addressType immutable', () => {
    expect(errors(slice({ addressType: 'IPv6', endpoints: [] }), slice())).toEqual([
      'FieldValueInvalid addressType',
    ]);
  });

  it.each([
    {
      name: 'one endpoint',
      fields: {},
      want: { AddressType: 'IPv4', Ports: '8080', Endpoints: '10.244.1.5', Age: '5m' },
    },
    {
      name: 'nothing yet',
      fields: { endpoints: [], ports: [] },
      want: { Ports: '<unset>', Endpoints: '<unset>' },
    },
    {
      name: 'many of each',
      fields: {
        endpoints: [
          { addresses: ['10.0.0.1', '10.0.0.2'] },
          { addresses: ['10.0.0.3'] },
          { addresses: ['10.0.0.4', '10.0.0.5'] },
        ],
        ports: [{ port: 80 }, { port: 443 }, { name: 'dns' }, { port: 53 }],
      },
      want: { Ports: '80,443,dns + 1 more...', Endpoints: '10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...' },
    },
  ])('prints $name', ({ fields, want }) => {
    const o = slice(fields as Partial<EndpointSlice>);
    expect(Object.fromEntries(rt.columns.map((c) => [c.name, c.cell(o, now)]))).toMatchObject(want);
  });
});
