import { describe, expect, it } from 'vitest';
import type { APIService } from '../../api/objects.js';
import { AggregatedDiscovery, parseResourceList } from './discovery.js';

const list = (resources: unknown, groupVersion = 'example.com/v1') =>
  Buffer.from(JSON.stringify({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources }));

const flunders = {
  name: 'flunders',
  singularName: 'flunder',
  namespaced: true,
  kind: 'Flunder',
  verbs: ['get', 'list'],
};

describe('parseResourceList', () => {
  it('keeps the known fields of each resource', () => {
    const r = parseResourceList(
      list([{ ...flunders, shortNames: ['fl'], storageVersionHash: 'x', evil: {} }]),
      'example.com/v1',
    );
    expect(r).toEqual([{ ...flunders, shortNames: ['fl'] }]);
  });

  it.each([
    { name: 'not JSON', body: Buffer.from('<html>'), err: /JSON/ },
    { name: 'an array', body: Buffer.from('[]'), err: /not an APIResourceList/ },
    { name: 'another group-version', body: list([flunders], 'other/v1'), err: /"other\/v1"/ },
    { name: 'no resources', body: list(undefined), err: /no resources/ },
    { name: 'a resource without verbs', body: list([{ ...flunders, verbs: 'get' }]), err: /lacks/ },
    {
      name: 'too many resources',
      body: list(Array.from({ length: 501 }, () => flunders)),
      err: /more than 500/,
    },
    { name: 'a huge name', body: list([{ ...flunders, name: 'x'.repeat(1000) }]), err: /lacks/ },
  ])('refuses $name', ({ body, err }) => {
    expect(() => parseResourceList(body, 'example.com/v1')).toThrow(err);
  });
});

describe('AggregatedDiscovery', () => {
  const a = (version: string, versionPriority: number): APIService => ({
    metadata: { name: `${version}.example.com` },
    spec: { group: 'example.com', version, groupPriorityMinimum: 100, versionPriority },
  });

  it('lists one group with its versions by priority, and the resources in aggregated form', () => {
    const d = new AggregatedDiscovery();
    d.set(a('v1beta1', 5), [flunders]);
    d.set(a('v1', 20), [
      flunders,
      { ...flunders, name: 'flunders/status', singularName: '', verbs: ['get'] },
    ]);
    expect(d.groups()).toEqual([
      {
        name: 'example.com',
        versions: [
          { groupVersion: 'example.com/v1', version: 'v1' },
          { groupVersion: 'example.com/v1beta1', version: 'v1beta1' },
        ],
        preferredVersion: { groupVersion: 'example.com/v1', version: 'v1' },
      },
    ]);
    const [group] = d.aggregated() as any[];
    expect(group.versions[0].resources).toEqual([
      {
        resource: 'flunders',
        responseKind: { group: 'example.com', version: 'v1', kind: 'Flunder' },
        scope: 'Namespaced',
        singularResource: 'flunder',
        verbs: ['get', 'list'],
        subresources: [
          {
            subresource: 'status',
            responseKind: { group: 'example.com', version: 'v1', kind: 'Flunder' },
            verbs: ['get'],
          },
        ],
      },
    ]);
    d.delete('v1.example.com');
    d.delete('v1beta1.example.com');
    expect(d.groups()).toEqual([]);
  });
});
