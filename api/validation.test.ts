import { describe, expect, it } from 'vitest';
import type { ObjectMeta } from './meta.js';
import type { FieldError } from './status.js';
import {
  child,
  formatFieldError,
  index,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  key,
  nameIsDNS1035Label,
  notSupportedError,
  regexError,
  tooLongError,
  validateLabelSelector,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from './validation.js';

const subdomainMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const labelMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const dns1035Msg =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const namePartMsg =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const labelValueMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

describe('field paths', () => {
  it.each([
    { name: 'child', got: child('metadata', 'name'), want: 'metadata.name' },
    { name: 'nested child', got: child('spec', 'template', 'spec'), want: 'spec.template.spec' },
    { name: 'child of root', got: child('', 'spec'), want: 'spec' },
    { name: 'index', got: index('spec.containers', 2), want: 'spec.containers[2]' },
    { name: 'key', got: key('metadata.labels', 'app'), want: 'metadata.labels[app]' },
    {
      name: 'child of index',
      got: child(index('spec.containers', 0), 'image'),
      want: 'spec.containers[0].image',
    },
  ])('$name', ({ got, want }) => {
    expect(got).toBe(want);
  });
});

describe('regexError', () => {
  it.each([
    { name: 'no examples', args: ['m', 'x'] as const, want: "m (regex used for validation is 'x')" },
    {
      name: 'one example',
      args: ['m', 'x', 'a'] as const,
      want: "m (e.g. 'a', regex used for validation is 'x')",
    },
    {
      name: 'two examples, Kubernetes spacing',
      args: ['m', 'x', 'a', 'b'] as const,
      want: "m (e.g. 'a',  or 'b', regex used for validation is 'x')",
    },
  ])('$name', ({ args, want }) => {
    const [msg, fmt, ...examples] = args;
    expect(regexError(msg, fmt, ...examples)).toBe(want);
  });
});

describe('isDNS1123Label', () => {
  it.each([
    { name: 'simple', value: 'a', errs: [] },
    { name: 'dashes', value: 'my-name', errs: [] },
    { name: 'digits first', value: '123-abc', errs: [] },
    { name: '63 chars', value: 'a'.repeat(63), errs: [] },
    { name: '64 chars', value: 'a'.repeat(64), errs: ['must be no more than 63 characters'] },
    { name: 'dots', value: 'a.b', errs: ['must not contain dots'] },
    { name: 'upper case', value: 'A', errs: [labelMsg] },
    { name: 'empty', value: '', errs: [labelMsg] },
    { name: 'leading dash', value: '-a', errs: [labelMsg] },
    { name: 'trailing dash', value: 'a-', errs: [labelMsg] },
    { name: 'underscore', value: 'a_b', errs: [labelMsg] },
  ])('$name', ({ value, errs }) => {
    expect(isDNS1123Label(value)).toEqual(errs);
  });
});

describe('isDNS1123Subdomain', () => {
  it.each([
    { name: 'simple', value: 'example.com', errs: [] },
    { name: 'label', value: 'a', errs: [] },
    { name: 'many labels', value: 'a.b-c.d1', errs: [] },
    { name: '253 chars', value: `${'a'.repeat(63)}.`.repeat(3) + 'a'.repeat(61), errs: [] },
    {
      name: '254 chars',
      value: `${'a'.repeat(63)}.`.repeat(3) + 'a'.repeat(62),
      errs: ['must be no more than 253 characters'],
    },
    { name: 'upper case', value: 'Example.com', errs: [subdomainMsg] },
    { name: 'double dot', value: 'a..b', errs: [subdomainMsg] },
    { name: 'trailing dot', value: 'a.', errs: [subdomainMsg] },
    { name: 'empty', value: '', errs: [subdomainMsg] },
    { name: 'unicode', value: 'ü', errs: [subdomainMsg] },
  ])('$name', ({ value, errs }) => {
    expect(isDNS1123Subdomain(value)).toEqual(errs);
  });
});

describe('isDNS1035Label', () => {
  it.each([
    { name: 'simple', value: 'my-svc', errs: [] },
    { name: 'digit first', value: '1abc', errs: [dns1035Msg] },
    { name: 'dots', value: 'a.b', errs: [dns1035Msg] },
    { name: 'too long', value: 'a'.repeat(64), errs: ['must be no more than 63 characters'] },
  ])('$name', ({ value, errs }) => {
    expect(isDNS1035Label(value)).toEqual(errs);
  });
});

describe('isQualifiedName', () => {
  it.each([
    { name: 'simple', value: 'app', errs: [] },
    { name: 'mixed case and symbols', value: 'My_Name.x-1', errs: [] },
    { name: 'prefixed', value: 'app.kubernetes.io/name', errs: [] },
    { name: 'finalizer', value: 'kubernetes.io/pv-protection', errs: [] },
    { name: '63-char name part', value: `example.com/${'a'.repeat(63)}`, errs: [] },
    {
      name: '64-char name part',
      value: 'a'.repeat(64),
      errs: ['name part must be no more than 63 bytes'],
    },
    { name: 'empty', value: '', errs: ['name part must be non-empty', namePartMsg] },
    {
      name: 'empty name after prefix',
      value: 'example.com/',
      errs: ['name part must be non-empty', namePartMsg],
    },
    { name: 'empty prefix', value: '/name', errs: ['prefix part must be non-empty'] },
    {
      name: 'bad prefix',
      value: 'Example.com/name',
      errs: [`prefix part ${subdomainMsg}`],
    },
    {
      name: 'long prefix counts bytes',
      value: `${'a'.repeat(254)}/name`,
      errs: ['prefix part must be no more than 253 bytes'],
    },
    { name: 'bad name part', value: '-app', errs: [namePartMsg] },
    {
      name: 'two slashes',
      value: 'a/b/c',
      errs: [
        "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
      ],
    },
  ])('$name', ({ value, errs }) => {
    expect(isQualifiedName(value)).toEqual(errs);
  });
});

describe('isValidLabelValue', () => {
  it.each([
    { name: 'empty is fine', value: '', errs: [] },
    { name: 'simple', value: 'MyValue', errs: [] },
    { name: 'symbols inside', value: 'a-b_c.d', errs: [] },
    { name: '63 bytes', value: 'a'.repeat(63), errs: [] },
    { name: '64 bytes', value: 'a'.repeat(64), errs: ['must be no more than 63 bytes'] },
    { name: 'slash', value: 'a/b', errs: [labelValueMsg] },
    { name: 'leading dot', value: '.a', errs: [labelValueMsg] },
    { name: 'space', value: 'a b', errs: [labelValueMsg] },
  ])('$name', ({ value, errs }) => {
    expect(isValidLabelValue(value)).toEqual(errs);
  });
});

describe('formatFieldError', () => {
  it.each([
    {
      name: 'invalid',
      e: { type: 'FieldValueInvalid', field: 'metadata.name', value: 'A', detail: 'bad' },
      want: 'metadata.name: Invalid value: "A": bad',
    },
    {
      name: 'required',
      e: { type: 'FieldValueRequired', field: 'metadata.name', detail: 'name or generateName is required' },
      want: 'metadata.name: Required value: name or generateName is required',
    },
    {
      name: 'number value',
      e: { type: 'FieldValueInvalid', field: 'metadata.generation', value: -1, detail: 'x' },
      want: 'metadata.generation: Invalid value: -1: x',
    },
    {
      name: 'not supported',
      e: notSupportedError('spec.restartPolicy', 'Sometimes', ['Always', 'Never']),
      want: 'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never"',
    },
    {
      name: 'too long',
      e: tooLongError('metadata.annotations', 262144),
      want: 'metadata.annotations: Too long: may not be more than 262144 bytes',
    },
  ])('$name', ({ e, want }) => {
    expect(formatFieldError(e as FieldError)).toBe(want);
  });
});

const fields = (errs: FieldError[]) => errs.map((e) => `${e.type} ${e.field}`);

describe('validateObjectMeta', () => {
  const ns = { namespaced: true, isCreate: true };
  it.each<{ name: string; meta: ObjectMeta; opts?: object; want: string[] }>([
    { name: 'minimal namespaced', meta: { name: 'web', namespace: 'default' }, want: [] },
    { name: 'subdomain name', meta: { name: 'web.v1', namespace: 'default' }, want: [] },
    {
      name: 'subdomain name where a label is needed',
      meta: { name: 'web.v1', namespace: 'default' },
      opts: { nameIsLabel: true },
      want: ['FieldValueInvalid metadata.name'],
    },
    {
      name: 'custom name rule',
      meta: { name: '1svc', namespace: 'default' },
      opts: { validateName: nameIsDNS1035Label },
      want: ['FieldValueInvalid metadata.name'],
    },
    { name: 'missing name', meta: { namespace: 'default' }, want: ['FieldValueRequired metadata.name'] },
    {
      name: 'generateName instead of name on create',
      meta: { generateName: 'web-', namespace: 'x' },
      want: [],
    },
    {
      name: 'generateName is not enough on update-style checks',
      meta: { generateName: 'web-', namespace: 'x' },
      opts: { isCreate: false },
      want: ['FieldValueRequired metadata.name'],
    },
    {
      name: 'bad generateName',
      meta: { generateName: 'Web-', namespace: 'x' },
      want: ['FieldValueInvalid metadata.generateName'],
    },
    { name: 'generateName without dash', meta: { generateName: 'web', namespace: 'x' }, want: [] },
    {
      name: 'uppercase name',
      meta: { name: 'Web', namespace: 'default' },
      want: ['FieldValueInvalid metadata.name'],
    },
    {
      name: 'bad namespace',
      meta: { name: 'web', namespace: 'my.ns' },
      want: ['FieldValueInvalid metadata.namespace'],
    },
    {
      name: 'namespace of a cluster-scoped kind is left to the apiserver',
      meta: { name: 'node1', namespace: 'Whatever' },
      opts: { namespaced: false },
      want: [],
    },
    { name: 'missing namespace is the apiserver business', meta: { name: 'web' }, want: [] },
    {
      name: 'negative generation',
      meta: { name: 'web', generation: -1 },
      want: ['FieldValueInvalid metadata.generation'],
    },
    {
      name: 'good labels and annotations',
      meta: {
        name: 'web',
        labels: { app: 'web', 'app.kubernetes.io/part-of': '' },
        annotations: { 'Example.com/Note': 'any text at all, even / and spaces' },
      },
      want: [],
    },
    {
      name: 'bad label key and value',
      meta: { name: 'web', labels: { '-x': 'ok', y: 'no way' } },
      want: ['FieldValueInvalid metadata.labels', 'FieldValueInvalid metadata.labels'],
    },
    {
      name: 'bad annotation key',
      meta: { name: 'web', annotations: { 'a b': '' } },
      want: ['FieldValueInvalid metadata.annotations'],
    },
    {
      name: 'annotations over 256 KiB',
      meta: { name: 'web', annotations: { a: 'x'.repeat(256 * 1024) } },
      want: ['FieldValueTooLong metadata.annotations'],
    },
    {
      name: 'annotations at exactly 256 KiB',
      meta: { name: 'web', annotations: { a: 'x'.repeat(256 * 1024 - 1) } },
      want: [],
    },
    {
      name: 'good finalizers',
      meta: { name: 'web', finalizers: ['kubernetes.io/pvc-protection', 'foregroundDeletion'] },
      want: [],
    },
    {
      name: 'bad finalizer',
      meta: { name: 'web', finalizers: ['not valid'] },
      want: ['FieldValueInvalid metadata.finalizers'],
    },
    {
      name: 'orphan with foregroundDeletion',
      meta: { name: 'web', finalizers: ['orphan', 'foregroundDeletion'] },
      want: ['FieldValueInvalid metadata.finalizers'],
    },
    {
      name: 'good owner reference',
      meta: {
        name: 'web-1',
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'u1', controller: true },
        ],
      },
      want: [],
    },
    {
      name: 'empty owner reference',
      meta: { name: 'web-1', ownerReferences: [{}] },
      want: [
        'FieldValueRequired metadata.ownerReferences[0].apiVersion',
        'FieldValueRequired metadata.ownerReferences[0].kind',
        'FieldValueRequired metadata.ownerReferences[0].name',
        'FieldValueRequired metadata.ownerReferences[0].uid',
      ],
    },
    {
      name: 'bad owner apiVersion',
      meta: { name: 'web-1', ownerReferences: [{ apiVersion: 'a/b/c', kind: 'K', name: 'n', uid: 'u' }] },
      want: ['FieldValueInvalid metadata.ownerReferences[0].apiVersion'],
    },
    {
      name: 'owner apiVersion without version',
      meta: { name: 'web-1', ownerReferences: [{ apiVersion: 'apps/', kind: 'K', name: 'n', uid: 'u' }] },
      want: ['FieldValueInvalid metadata.ownerReferences[0].apiVersion'],
    },
    {
      name: 'event as owner',
      meta: { name: 'web-1', ownerReferences: [{ apiVersion: 'v1', kind: 'Event', name: 'n', uid: 'u' }] },
      want: ['FieldValueInvalid metadata.ownerReferences[0]'],
    },
    {
      name: 'two controllers',
      meta: {
        name: 'web-1',
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', uid: '1', controller: true },
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'b', uid: '2', controller: false },
          { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'c', uid: '3', controller: true },
        ],
      },
      want: ['FieldValueInvalid metadata.ownerReferences'],
    },
  ])('$name', ({ meta, opts, want }) => {
    expect(fields(validateObjectMeta(meta, { ...ns, ...opts }))).toEqual(want);
  });

  it('words errors as Kubernetes does', () => {
    const errs = validateObjectMeta(
      {
        name: 'Web',
        ownerReferences: [
          { apiVersion: 'v1', kind: 'A', name: 'a', uid: '1', controller: true },
          { apiVersion: 'v1', kind: 'B', name: 'b', uid: '2', controller: true },
        ],
      },
      ns,
    );
    expect(errs.map(formatFieldError)).toEqual([
      `metadata.name: Invalid value: "Web": ${subdomainMsg}`,
      expect.stringMatching(
        /^metadata\.ownerReferences: Invalid value: \[.*\]: Only one reference can have Controller set to true\. Found "true" in references for A\/a and B\/b$/,
      ),
    ]);
    expect(validateObjectMeta({}, ns).map(formatFieldError)).toEqual([
      'metadata.name: Required value: name or generateName is required',
    ]);
  });
});

describe('validateObjectMetaUpdate', () => {
  const old: ObjectMeta = {
    name: 'web',
    namespace: 'default',
    uid: 'u1',
    resourceVersion: '5',
    creationTimestamp: '2024-01-01T00:00:00Z',
    generateName: 'we',
    finalizers: ['a.io/x'],
  };
  it.each<{ name: string; meta: ObjectMeta; oldMeta?: ObjectMeta; want: string[] }>([
    { name: 'unchanged', meta: { ...old }, want: [] },
    { name: 'labels may change', meta: { ...old, labels: { a: 'b' } }, want: [] },
    { name: 'generateName changes are ignored', meta: { ...old, generateName: 'other-' }, want: [] },
    { name: 'name is immutable', meta: { ...old, name: 'web2' }, want: ['FieldValueInvalid metadata.name'] },
    {
      name: 'namespace is immutable',
      meta: { ...old, namespace: 'kube-system' },
      want: ['FieldValueInvalid metadata.namespace'],
    },
    { name: 'uid is immutable', meta: { ...old, uid: 'u2' }, want: ['FieldValueInvalid metadata.uid'] },
    { name: 'uid left out keeps the old one', meta: { ...old, uid: undefined }, want: [] },
    {
      name: 'creationTimestamp is immutable',
      meta: { ...old, creationTimestamp: '2025-01-01T00:00:00Z' },
      want: ['FieldValueInvalid metadata.creationTimestamp'],
    },
    {
      name: 'creationTimestamp left out keeps the old one',
      meta: { ...old, creationTimestamp: null },
      want: [],
    },
    {
      name: 'cluster-scoped empty namespace both sides',
      meta: { name: 'n1', namespace: '' },
      oldMeta: { name: 'n1' },
      want: [],
    },
    {
      name: 'bad new label',
      meta: { ...old, labels: { a: '?' } },
      want: ['FieldValueInvalid metadata.labels'],
    },
    {
      name: 'bad new finalizer',
      meta: { ...old, finalizers: ['a b'] },
      want: ['FieldValueInvalid metadata.finalizers'],
    },
    {
      name: 'finalizers may be removed while deleting',
      meta: { ...old, finalizers: [] },
      oldMeta: { ...old, deletionTimestamp: '2024-02-01T00:00:00Z' },
      want: [],
    },
    {
      name: 'no new finalizers while deleting',
      meta: { ...old, finalizers: ['a.io/x', 'b.io/y'] },
      oldMeta: { ...old, deletionTimestamp: '2024-02-01T00:00:00Z' },
      want: ['FieldValueForbidden metadata.finalizers'],
    },
    {
      name: 'new finalizers before deletion are fine',
      meta: { ...old, finalizers: ['a.io/x', 'b.io/y'] },
      want: [],
    },
  ])('$name', ({ meta, oldMeta, want }) => {
    expect(fields(validateObjectMetaUpdate(meta, oldMeta ?? old))).toEqual(want);
  });

  it('words errors as Kubernetes does', () => {
    const deleting = { ...old, deletionTimestamp: '2024-02-01T00:00:00Z' };
    const errs = validateObjectMetaUpdate(
      { ...old, name: 'x', finalizers: ['b.io/z', 'a.io/y', 'a.io/x'] },
      deleting,
    );
    expect(errs.map(formatFieldError)).toEqual([
      'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"a.io/y", "b.io/z"}',
      'metadata.name: Invalid value: "x": field is immutable',
    ]);
  });
});

describe('validateLabelSelector', () => {
  it.each<{ name: string; sel: Parameters<typeof validateLabelSelector>[0]; want: string[] }>([
    { name: 'missing', sel: undefined, want: [] },
    { name: 'labels', sel: { matchLabels: { app: 'web' } }, want: [] },
    {
      name: 'good expressions',
      sel: {
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['x'] },
          { key: 'b', operator: 'Exists' },
        ],
      },
      want: [],
    },
    {
      name: 'In without values',
      sel: { matchExpressions: [{ key: 'a', operator: 'In' }] },
      want: ['FieldValueRequired spec.selector.matchExpressions[0].values'],
    },
    {
      name: 'Exists with values',
      sel: { matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: ['x'] }] },
      want: ['FieldValueForbidden spec.selector.matchExpressions[0].values'],
    },
    {
      name: 'bad operator, key and value',
      sel: { matchExpressions: [{ key: '-a', operator: 'Gt', values: ['?'] }] },
      want: [
        'FieldValueInvalid spec.selector.matchExpressions[0].operator',
        'FieldValueInvalid spec.selector.matchExpressions[0].key',
        'FieldValueInvalid spec.selector.matchExpressions[0].values[0]',
      ],
    },
    {
      name: 'bad match label',
      sel: { matchLabels: { a: '?' } },
      want: ['FieldValueInvalid spec.selector.matchLabels'],
    },
  ])('$name', ({ sel, want }) => {
    expect(fields(validateLabelSelector(sel, 'spec.selector'))).toEqual(want);
  });
});
