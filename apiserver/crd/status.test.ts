import { describe, expect, it } from 'vitest';
import type { CustomResourceDefinition } from './definition.js';
import { desiredStatus, namesConflict, takenNames } from './status.js';

const crd = (name: string, plural: string, kind: string, extra: Partial<CustomResourceDefinition> = {}) =>
  ({
    metadata: { name: `${plural}.example.com` },
    spec: {
      group: 'example.com',
      names: { plural, singular: plural.slice(0, -1), kind, listKind: `${kind}List`, shortNames: [name] },
      versions: [{ name: 'v1', served: true, storage: true }],
    },
    ...extra,
  }) as CustomResourceDefinition;

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-02T00:00:00Z');

describe('CRD names', () => {
  const builtins = [
    {
      group: 'apps',
      plural: 'deployments',
      singular: 'deployment',
      shortNames: ['deploy'],
      kind: 'Deployment',
    },
  ];

  it.each([
    ['plural', { plural: 'widgets' }, 'PluralConflict'],
    ['singular', { plural: 'others', singular: 'widget' }, 'SingularConflict'],
    ['short name', { plural: 'others', shortNames: ['wg'] }, 'ShortNamesConflict'],
    ['kind', { plural: 'others', kind: 'Widget' }, 'KindConflict'],
    ['list kind', { plural: 'others', kind: 'Other', listKind: 'WidgetList' }, 'ListKindConflict'],
  ])('a %s taken by another CRD is a conflict', (_n, names, reason) => {
    const accepted = crd('wg', 'widgets', 'Widget');
    accepted.status = { acceptedNames: accepted.spec!.names };
    const taken = takenNames('example.com', 'others.example.com', [accepted], builtins);
    expect(namesConflict(names, taken)?.reason).toBe(reason);
  });

  it('built-in names of the same group are taken; other groups are not', () => {
    expect(namesConflict({ plural: 'deployments' }, takenNames('apps', 'x', [], builtins))?.reason).toBe(
      'PluralConflict',
    );
    expect(
      namesConflict({ plural: 'deployments' }, takenNames('example.com', 'x', [], builtins)),
    ).toBeUndefined();
  });

  it('a CRD never conflicts with itself', () => {
    const self = crd('wg', 'widgets', 'Widget');
    self.status = { acceptedNames: self.spec!.names };
    expect(
      namesConflict(self.spec!.names!, takenNames('example.com', self.metadata!.name!, [self], [])),
    ).toBeUndefined();
  });
});

describe('desiredStatus', () => {
  const none = { resources: new Set<string>(), kinds: new Set<string>() };

  it('accepts free names, establishes, records the storage version', () => {
    const s = desiredStatus(crd('wg', 'widgets', 'Widget'), none, t0);
    expect(s.acceptedNames?.plural).toBe('widgets');
    expect(s.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual([
      'NamesAccepted=True',
      'Established=True',
    ]);
    expect(s.storedVersions).toEqual(['v1']);
  });

  it('keeps transition times when nothing changed, and stored versions it once had', () => {
    const c = crd('wg', 'widgets', 'Widget');
    c.status = desiredStatus(c, none, t0);
    c.spec!.versions = [{ name: 'v2', served: true, storage: true }];
    const s = desiredStatus(c, none, t1);
    expect(s.conditions?.every((x) => x.lastTransitionTime === '2026-01-01T00:00:00Z')).toBe(true);
    expect(s.storedVersions).toEqual(['v1', 'v2']);
  });

  it('a conflict leaves names unaccepted and the CRD not established', () => {
    const taken = { resources: new Set(['widgets']), kinds: new Set<string>() };
    const s = desiredStatus(crd('wg', 'widgets', 'Widget'), taken, t0);
    expect(s.acceptedNames).toEqual({});
    expect(s.conditions?.find((x) => x.type === 'Established')?.status).toBe('False');
  });

  it('a later conflict keeps the names already accepted, and the CRD established', () => {
    const c = crd('wg', 'widgets', 'Widget');
    c.status = desiredStatus(c, none, t0);
    c.spec!.names!.shortNames = ['taken'];
    const s = desiredStatus(c, { resources: new Set(['taken']), kinds: new Set<string>() }, t1);
    expect(s.acceptedNames?.shortNames).toEqual(['wg']);
    expect(s.conditions?.map((x) => `${x.type}=${x.status}`)).toEqual([
      'NamesAccepted=False',
      'Established=True',
    ]);
  });
});
