import { describe, expect, it } from 'vitest';
import {
  admissionReview,
  parseReviewResponse,
  rejection,
  reviewVersion,
  WebhookCallError,
} from './review.js';

const cm = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c', namespace: 'ns' },
  data: { a: '1' },
};

describe('the AdmissionReview request', () => {
  it('carries what Kubernetes sends', () => {
    const { uid, review } = admissionReview(
      'v1',
      {
        kind: { group: '', version: 'v1', kind: 'ConfigMap' },
        resource: { group: '', version: 'v1', resource: 'configmaps' },
        subresource: '',
        requestKind: { group: '', version: 'v1', kind: 'ConfigMap' },
        requestResource: { group: '', version: 'v1', resource: 'configmaps' },
        name: 'c',
        namespace: 'ns',
        operation: 'CREATE',
        user: { name: 'alice', groups: ['system:authenticated'] },
        obj: cm,
        dryRun: true,
      },
      'u-1',
    );
    expect(uid).toBe('u-1');
    expect(review).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'u-1',
        kind: { group: '', version: 'v1', kind: 'ConfigMap' },
        resource: { group: '', version: 'v1', resource: 'configmaps' },
        requestKind: { group: '', version: 'v1', kind: 'ConfigMap' },
        requestResource: { group: '', version: 'v1', resource: 'configmaps' },
        name: 'c',
        namespace: 'ns',
        operation: 'CREATE',
        userInfo: { username: 'alice', groups: ['system:authenticated'] },
        object: cm,
        oldObject: null,
        dryRun: true,
        options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', dryRun: ['All'] },
      },
    });
  });

  it('names the subresource', () => {
    const { review } = admissionReview('v1beta1', {
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      subresource: 'status',
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: 'p',
      namespace: 'ns',
      operation: 'UPDATE',
      user: { name: 'kubelet', groups: [] },
      dryRun: false,
    });
    expect(review).toMatchObject({
      apiVersion: 'admission.k8s.io/v1beta1',
      request: { subResource: 'status', requestSubResource: 'status', options: { kind: 'UpdateOptions' } },
    });
  });

  it('picks the first review version the apiserver speaks', () => {
    expect(reviewVersion(['v2', 'v1beta1', 'v1'])).toBe('v1beta1');
    expect(reviewVersion(['v2'])).toBeUndefined();
  });
});

const answer = (response: unknown, extra: Record<string, unknown> = {}) =>
  Buffer.from(
    JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response, ...extra }),
  );
const patch = (ops: unknown) => Buffer.from(JSON.stringify(ops)).toString('base64');

describe('the answer', () => {
  const o = { version: 'v1' as const, uid: 'u-1', mutating: true };

  it('reads allowed, status, patch and warnings', () => {
    const ops = [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }];
    const r = parseReviewResponse(
      answer({
        uid: 'u-1',
        allowed: true,
        patchType: 'JSONPatch',
        patch: patch(ops),
        warnings: ['first', 'two\nlines', 7],
      }),
      o,
    );
    expect(r).toMatchObject({ allowed: true, patch: ops, warnings: ['first', 'two lines'] });
  });

  it('takes a missing allowed as a refusal', () => {
    expect(parseReviewResponse(answer({ uid: 'u-1' }), o).allowed).toBe(false);
  });

  it.each([
    {
      name: 'garbage',
      body: Buffer.from('{"apiVersion":'),
      want: /failed to call webhook: the response is not JSON/,
    },
    {
      name: 'an array',
      body: Buffer.from('[]'),
      want: /received invalid webhook response: the response is not an object/,
    },
    {
      name: 'the wrong kind',
      body: Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'Status' })),
      want: /expected webhook response of admission.k8s.io\/v1, Kind=AdmissionReview, got v1, Kind=Status/,
    },
    { name: 'no response', body: answer(undefined), want: /webhook response was absent/ },
    {
      name: 'another uid',
      body: answer({ uid: 'u-2', allowed: true }),
      want: /expected response.uid="u-1", got "u-2"/,
    },
    {
      name: 'a patch without patchType',
      body: answer({ uid: 'u-1', allowed: true, patch: patch([]) + 'W10=' }),
      want: /webhook returned response.patch but not response.patchType/,
    },
    {
      name: 'another patchType',
      body: answer({ uid: 'u-1', allowed: true, patchType: 'MergePatch', patch: patch({}) }),
      want: /webhook returned invalid response.patchType of "MergePatch"/,
    },
    {
      name: 'a patch that is not a list',
      body: answer({ uid: 'u-1', allowed: true, patchType: 'JSONPatch', patch: patch({ op: 'add' }) }),
      want: /not a JSON patch/,
    },
    {
      name: 'allowed as a string',
      body: answer({ uid: 'u-1', allowed: 'true' }),
      want: /response.allowed is not a boolean/,
    },
    {
      name: 'nesting past the limit',
      body: Buffer.from(
        `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u-1","x":${'['.repeat(1000)}${']'.repeat(1000)}}}`,
      ),
      want: /nests deeper than/,
    },
  ])('fails the call on $name', ({ body, want }) => {
    const call = () => parseReviewResponse(body, o);
    expect(call).toThrow(WebhookCallError);
    expect(call).toThrow(want);
  });

  it('refuses a patch from a validating webhook', () => {
    const body = answer({ uid: 'u-1', allowed: true, patchType: 'JSONPatch', patch: patch([]) + 'W10=' });
    expect(() => parseReviewResponse(body, { ...o, mutating: false })).toThrow(
      /validating webhook may not return response.patch/,
    );
  });

  it('keeps a __proto__ key as data', () => {
    const body = Buffer.from(
      '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u-1","allowed":true,"__proto__":{"allowed":false},"auditAnnotations":{"__proto__":"x"}}}',
    );
    const r = parseReviewResponse(body, o);
    expect(r.allowed).toBe(true);
    expect(r.auditAnnotations.get('__proto__')).toBe('x');
    expect(({} as Record<string, unknown>).allowed).toBeUndefined();
  });
});

describe('a refusal', () => {
  it.each([
    {
      name: 'message and code',
      status: { code: 403, reason: 'Forbidden', message: 'no bad keys' },
      want: {
        code: 403,
        reason: 'Forbidden',
        message: 'admission webhook "a.b.c" denied the request: no bad keys',
      },
    },
    {
      name: 'reason only, code below 400',
      status: { code: 200, reason: 'NoWay' },
      want: { code: 400, reason: 'NoWay', message: 'admission webhook "a.b.c" denied the request: NoWay' },
    },
    {
      name: 'nothing',
      status: undefined,
      want: {
        code: 400,
        reason: '',
        message: 'admission webhook "a.b.c" denied the request without explanation',
      },
    },
  ])('$name', ({ status, want }) => {
    const e = rejection('a.b.c', status);
    expect({ code: e.code, reason: e.reason, message: e.message }).toEqual(want);
  });
});
