/**
 * discovery.k8s.io/v1 EndpointSlice: a slice of the endpoints behind a
 * Service, the form kube-proxy and cluster DNS read.
 */
import { isIP } from 'node:net';
import type { Static } from '@sinclair/typebox';
import { ObjectMeta, TypeMeta } from '../meta.js';
import { ageColumn, column } from '../printers.js';
import type { ResourceType } from '../registry.js';
import { Bool, Int, List, Str, StrMap, Struct } from '../schema.js';
import type { FieldError } from '../status.js';
import {
  child,
  duplicateError,
  index,
  invalidError,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  notSupportedError,
  requiredError,
  validateLabels,
} from '../validation.js';
import { ObjectReference } from './core-common.js';

export const addressTypes = ['FQDN', 'IPv4', 'IPv6'] as const;
export const portProtocols = ['SCTP', 'TCP', 'UDP'] as const;
const maxEndpoints = 1000;
const maxAddresses = 100;
const maxPorts = 20000;
const maxTopologyLabels = 16;
const maxHints = 8;

export const EndpointConditions = Struct(
  {
    ready: Bool('The endpoint can take traffic now; false while terminating.'),
    serving: Bool('Like ready, but also true while the endpoint is terminating.'),
    terminating: Bool('The endpoint is shutting down.'),
  },
  'The state of an endpoint; an unset condition is read as unknown.',
);

const ZoneHint = Struct({ name: Str('Zone name.') });
const NodeHint = Struct({ name: Str('Node name.') });

export const Endpoint = Struct(
  {
    addresses: List(Str(), 'Addresses of the endpoint, of the slice addressType; consumers use the first.'),
    conditions: EndpointConditions,
    hostname: Str('Hostname of the endpoint, a DNS label; used in DNS records of headless services.'),
    targetRef: ObjectReference,
    deprecatedTopology: StrMap('Topology labels of v1beta1; kept for round trips, not written by new code.'),
    nodeName: Str('Node that hosts the endpoint.'),
    zone: Str('Zone the endpoint is in.'),
    hints: Struct(
      {
        forZones: List(ZoneHint, 'Zones whose clients should use this endpoint.'),
        forNodes: List(NodeHint, 'Nodes whose clients should use this endpoint.'),
      },
      'Topology-aware routing hints.',
    ),
  },
  'One backend of a service: its addresses and state.',
);
export type Endpoint = Static<typeof Endpoint>;

export const EndpointPort = Struct(
  {
    name: Str('Port name; unique in the slice, empty only when there is one port.'),
    protocol: Str('TCP (default), UDP or SCTP.'),
    port: Int('Port number; unset means all ports.'),
    appProtocol: Str('Application protocol, e.g. http or kubernetes.io/h2c.'),
  },
  'A port that every endpoint of the slice serves.',
);
export type EndpointPort = Static<typeof EndpointPort>;

export const EndpointSlice = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    addressType: Str('IPv4, IPv6 or FQDN; every address in the slice is of this type.'),
    endpoints: List(Endpoint, 'The endpoints, at most 1000.'),
    ports: List(EndpointPort, 'The ports every endpoint serves.'),
  },
  'A set of endpoints of one address type that implement a service.',
);
export type EndpointSlice = Static<typeof EndpointSlice>;

export function defaultEndpointSlice(obj: EndpointSlice): void {
  for (const p of obj.ports ?? []) {
    p.name ??= '';
    p.protocol ??= 'TCP';
  }
}

function validateAddress(address: string, type: string | undefined, path: string): FieldError[] {
  switch (type) {
    case 'IPv4':
      return isIP(address) === 4 ? [] : [invalidError(path, address, 'must be a valid IPv4 address')];
    case 'IPv6':
      return isIP(address) === 6 ? [] : [invalidError(path, address, 'must be a valid IPv6 address')];
    case 'FQDN':
      return isDNS1123Subdomain(address).map((m) => invalidError(path, address, m));
    default:
      return [];
  }
}

function validateEndpoints(slice: EndpointSlice): FieldError[] {
  const endpoints = slice.endpoints ?? [];
  if (endpoints.length > maxEndpoints)
    return [invalidError('endpoints', endpoints.length, `must have at most ${maxEndpoints} items`)];
  const errs: FieldError[] = [];
  endpoints.forEach((ep, i) => {
    const p = index('endpoints', i);
    const addrs = ep.addresses ?? [];
    if (addrs.length === 0)
      errs.push(requiredError(child(p, 'addresses'), 'must contain at least 1 address'));
    else if (addrs.length > maxAddresses)
      errs.push(invalidError(child(p, 'addresses'), addrs.length, `must have at most ${maxAddresses} items`));
    addrs.forEach((a, j) => {
      errs.push(...validateAddress(a, slice.addressType, index(child(p, 'addresses'), j)));
    });
    if (ep.nodeName !== undefined)
      for (const m of isDNS1123Subdomain(ep.nodeName))
        errs.push(invalidError(child(p, 'nodeName'), ep.nodeName, m));
    if (ep.hostname !== undefined)
      for (const m of isDNS1123Label(ep.hostname))
        errs.push(invalidError(child(p, 'hostname'), ep.hostname, m));
    const topology = ep.deprecatedTopology ?? {};
    if (Object.keys(topology).length > maxTopologyLabels)
      errs.push(
        invalidError(child(p, 'deprecatedTopology'), Object.keys(topology).length, 'too many labels'),
      );
    errs.push(...validateLabels(topology, child(p, 'deprecatedTopology')));
    const zones = ep.hints?.forZones ?? [];
    if (zones.length > maxHints)
      errs.push(
        invalidError(child(p, 'hints', 'forZones'), zones.length, `must have at most ${maxHints} items`),
      );
    const seen = new Set<string>();
    zones.forEach((z, j) => {
      const zp = child(index(child(p, 'hints', 'forZones'), j), 'name');
      if (!z.name) errs.push(requiredError(zp));
      else if (seen.has(z.name)) errs.push(duplicateError(zp, z.name));
      else seen.add(z.name);
    });
  });
  return errs;
}

function validatePorts(ports: EndpointPort[]): FieldError[] {
  if (ports.length > maxPorts)
    return [invalidError('ports', ports.length, `must have at most ${maxPorts} items`)];
  const errs: FieldError[] = [];
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = index('ports', i);
    const name = port.name ?? '';
    if (name) for (const m of isDNS1123Label(name)) errs.push(invalidError(child(p, 'name'), name, m));
    if (names.has(name)) errs.push(duplicateError(child(p, 'name'), name));
    names.add(name);
    if (port.protocol === undefined) errs.push(requiredError(child(p, 'protocol')));
    else if (!(portProtocols as readonly string[]).includes(port.protocol))
      errs.push(notSupportedError(child(p, 'protocol'), port.protocol, portProtocols));
    if (port.port !== undefined && (port.port < 0 || port.port > 65535))
      errs.push(invalidError(child(p, 'port'), port.port, 'must be between 0 and 65535, inclusive'));
    if (port.appProtocol !== undefined)
      for (const m of isQualifiedName(port.appProtocol))
        errs.push(invalidError(child(p, 'appProtocol'), port.appProtocol, m));
  });
  return errs;
}

export function validateEndpointSlice(obj: EndpointSlice, old?: EndpointSlice): FieldError[] {
  const errs: FieldError[] = [];
  if (!obj.addressType) errs.push(requiredError('addressType'));
  else if (!(addressTypes as readonly string[]).includes(obj.addressType))
    errs.push(notSupportedError('addressType', obj.addressType, addressTypes));
  errs.push(...validateEndpoints(obj), ...validatePorts(obj.ports ?? []));
  if (old && obj.addressType !== old.addressType)
    errs.push(invalidError('addressType', obj.addressType, 'field is immutable'));
  return errs;
}

/** The first three items and a count of the rest, `<unset>` for none, as kubectl lists ports and endpoints. */
function firstThree(items: string[]): string {
  if (items.length === 0) return '<unset>';
  const shown = items.slice(0, 3).join(',');
  return items.length > 3 ? `${shown} + ${items.length - 3} more...` : shown;
}

export function endpointSlicePorts(obj: EndpointSlice): string {
  return firstThree((obj.ports ?? []).map((p) => (p.port !== undefined ? String(p.port) : (p.name ?? '*'))));
}

export function endpointSliceEndpoints(obj: EndpointSlice): string {
  return firstThree((obj.endpoints ?? []).flatMap((e) => e.addresses ?? []));
}

export const discoveryTypes: ResourceType[] = [
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    kind: 'EndpointSlice',
    plural: 'endpointslices',
    singular: 'endpointslice',
    shortNames: [],
    categories: [],
    namespaced: true,
    subresources: [],
    schema: EndpointSlice,
    defaults: (obj) => defaultEndpointSlice(obj as EndpointSlice),
    validate: (obj, old) => validateEndpointSlice(obj as EndpointSlice, old as EndpointSlice | undefined),
    columns: [
      column(
        'AddressType',
        'Type of address the slice holds.',
        (o) => (o as EndpointSlice).addressType ?? '',
      ),
      column('Ports', 'Ports the endpoints serve.', (o) => endpointSlicePorts(o as EndpointSlice)),
      column('Endpoints', 'Addresses of the endpoints.', (o) => endpointSliceEndpoints(o as EndpointSlice)),
      ageColumn,
    ],
  },
];
