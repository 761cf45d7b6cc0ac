import { pino } from 'pino';
import { Registry as MetricsRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/meta.js';
import { StatusError } from '../../api/status.js';
import { defaultWebhooks, type MutatingWebhook } from '../../api/types/admissionregistration.js';
import { builtinRegistry } from '../../api/types/index.js';
import type { AdmissionAttributes } from '../admission.js';
import type { WebhookTarget } from './caller.js';
import { type WebhookConfiguration, WebhookDispatcher } from './dispatcher.js';
import { WebhookCallError } from './review.js';

const configmaps = builtinRegistry.get('', 'v1', 'configmaps')!;
const vwcs = builtinRegistry.get('admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations')!;

type Handler = (request: any) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** Webhooks served by functions, by the URL path they are configured with; each call is recorded. */
class FakeWebhooks {
  readonly calls: { path: string; request: any }[] = [];
  readonly handlers = new Map<string, Handler>();

  call = async (t: WebhookTarget, body: Buffer): Promise<Buffer> => {
    const review = JSON.parse(body.toString());
    const path = t.path.split('?')[0];
    this.calls.push({ path, request: review.request });
    const h = this.handlers.get(path);
    if (!h) throw new WebhookCallError(`failed to call webhook: Post "${t.url}": connection refused`);
    const response = { uid: review.request.uid, ...(await h(review.request)) };
    return Buffer.from(JSON.stringify({ apiVersion: review.apiVersion, kind: 'AdmissionReview', response }));
  };
}

function hook(name: string, path: string, extra: Partial<MutatingWebhook> = {}): MutatingWebhook {
  return {
    name,
    clientConfig: { url: `https://hooks.example.com${path}` },
    rules: [
      {
        operations: ['CREATE', 'UPDATE', 'DELETE'],
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['configmaps'],
      },
    ],
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    ...extra,
  };
}

function config(name: string, webhooks: MutatingWebhook[], mutating = false): WebhookConfiguration {
  const c = { metadata: { name }, webhooks };
  defaultWebhooks(c, mutating);
  return c;
}

function setup(o: { validating?: WebhookConfiguration[]; mutating?: WebhookConfiguration[] }) {
  const fake = new FakeWebhooks();
  const metrics = new MetricsRegistry();
  const d = new WebhookDispatcher({
    logger: pino({ level: 'silent' }),
    metrics,
    call: fake.call,
    source: {
      validatingConfigurations: () => o.validating ?? [],
      mutatingConfigurations: () => o.mutating ?? [],
      namespaceLabels: (ns): Record<string, string> | undefined =>
        ns === 'prod' ? { env: 'prod' } : ns === 'gone' ? undefined : {},
      versions: () => ['v1'],
      services: { service: () => undefined, endpoints: () => undefined },
    },
  });
  return { d, fake, metrics };
}

const cm = (labels?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'c',
    namespace: 'default',
    uid: 'uid-1',
    creationTimestamp: '2026-01-01T00:00:00Z',
    ...(labels ? { labels } : {}),
  },
  data: { a: '1' },
});

function attrs(o: Partial<AdmissionAttributes> = {}): AdmissionAttributes & { obj: KubeObject } {
  return {
    operation: 'CREATE',
    rt: configmaps,
    namespace: 'default',
    name: 'c',
    subresource: '',
    obj: cm(),
    user: { name: 'alice', groups: ['system:authenticated'] },
    dryRun: false,
    warnings: [],
    ...o,
  } as AdmissionAttributes & { obj: KubeObject };
}

const b64 = (ops: unknown) => Buffer.from(JSON.stringify(ops)).toString('base64');
const patchOf = (ops: unknown) => ({ allowed: true, patchType: 'JSONPatch', patch: b64(ops) });

async function refusal(p: unknown): Promise<StatusError> {
  const err = await Promise.resolve(p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StatusError);
  return err as StatusError;
}

describe('validating webhooks', () => {
  it('refuse with the webhook message and pass warnings on', async () => {
    const { d, fake } = setup({ validating: [config('v', [hook('keys.example.com', '/v')])] });
    fake.handlers.set('/v', () => ({
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: 'no' },
      warnings: ['careful'],
    }));
    const a = attrs();
    const err = await refusal(d.validate(a));
    expect(err.code).toBe(403);
    expect(err.message).toBe('admission webhook "keys.example.com" denied the request: no');
    expect(a.warnings).toEqual(['careful']);
    expect(fake.calls[0].request).toMatchObject({
      operation: 'CREATE',
      name: 'c',
      namespace: 'default',
      object: cm(),
    });
  });

  it('are all called, and the first refusal in order answers', async () => {
    const { d, fake } = setup({
      validating: [
        config('b', [hook('two.example.com', '/2')]),
        config('a', [hook('one.example.com', '/1')]),
      ],
    });
    fake.handlers.set('/1', () => ({ allowed: false, status: { message: 'one' } }));
    fake.handlers.set('/2', () => ({ allowed: false, status: { message: 'two' } }));
    const err = await refusal(d.validate(attrs()));
    expect(err.message).toMatch(/one.example.com/);
    expect(fake.calls.map((c) => c.path).sort()).toEqual(['/1', '/2']);
  });

  it('fail closed with an InternalError under failurePolicy Fail', async () => {
    const { d, metrics } = setup({ validating: [config('v', [hook('down.example.com', '/down')])] });
    const err = await refusal(d.validate(attrs()));
    expect(err.code).toBe(500);
    expect(err.reason).toBe('InternalError');
    expect(err.message).toBe(
      'Internal error occurred: failed calling webhook "down.example.com": failed to call webhook: Post "https://hooks.example.com/down?timeout=10s": connection refused',
    );
    expect(await metrics.metrics()).toMatch(
      /apiserver_admission_webhook_request_total\{name="down.example.com",type="validating",operation="CREATE",code="0",rejected="true"\} 1/,
    );
  });

  it('fail open under failurePolicy Ignore', async () => {
    const { d, metrics } = setup({
      validating: [config('v', [hook('down.example.com', '/down', { failurePolicy: 'Ignore' })])],
    });
    await d.validate(attrs());
    expect(await metrics.metrics()).toMatch(
      /apiserver_admission_webhook_fail_open_count\{name="down.example.com",type="validating"\} 1/,
    );
  });

  it('are not called for the webhook configurations themselves', async () => {
    const all = hook('all.example.com', '/all', {
      rules: [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }],
    });
    const { d, fake } = setup({ validating: [config('v', [all])] });
    await d.validate(attrs({ rt: vwcs, namespace: '', obj: { metadata: { name: 'v' } } }));
    expect(fake.calls).toEqual([]);
    await refusal(d.validate(attrs()));
    expect(fake.calls).toHaveLength(1);
  });

  it('refuse a dry run when the webhook has side effects, and take one when it has none', async () => {
    const { d, fake } = setup({
      validating: [config('v', [hook('effects.example.com', '/e', { sideEffects: 'Some' })])],
    });
    const err = await refusal(d.validate(attrs({ dryRun: true })));
    expect({ code: err.code, message: err.message }).toEqual({
      code: 400,
      message: 'admission webhook "effects.example.com" does not support dry run',
    });
    expect(fake.calls).toEqual([]);
    const ok = setup({
      validating: [config('v', [hook('none.example.com', '/n', { sideEffects: 'NoneOnDryRun' })])],
    });
    ok.fake.handlers.set('/n', () => ({ allowed: true }));
    await ok.d.validate(attrs({ dryRun: true }));
    expect(ok.fake.calls[0].request.dryRun).toBe(true);
  });

  it('skip what the namespaceSelector and objectSelector leave out', async () => {
    const { d, fake } = setup({
      validating: [
        config('v', [
          hook('prod.example.com', '/p', { namespaceSelector: { matchLabels: { env: 'prod' } } }),
          hook('labelled.example.com', '/l', { objectSelector: { matchLabels: { check: 'yes' } } }),
        ]),
      ],
    });
    fake.handlers.set('/p', () => ({ allowed: true }));
    fake.handlers.set('/l', () => ({ allowed: true }));
    await d.validate(attrs());
    expect(fake.calls).toEqual([]);
    await d.validate(attrs({ namespace: 'prod', obj: cm({ check: 'yes' }) }));
    expect(fake.calls.map((c) => c.path).sort()).toEqual(['/l', '/p']);
    expect((await refusal(d.validate(attrs({ namespace: 'gone' })))).code).toBe(404);
  });

  it('see the old object on delete', async () => {
    const { d, fake } = setup({ validating: [config('v', [hook('del.example.com', '/d')])] });
    fake.handlers.set('/d', () => ({ allowed: true }));
    await d.validate(attrs({ operation: 'DELETE', obj: undefined, old: cm() }));
    expect(fake.calls[0].request).toMatchObject({ operation: 'DELETE', object: null, oldObject: cm() });
  });
});

describe('CONNECT', () => {
  const pods = builtinRegistry.get('', 'v1', 'pods')!;
  const execOptions = {
    apiVersion: 'v1',
    kind: 'PodExecOptions',
    stdout: true,
    container: 'c',
    command: ['ls'],
  };
  const connect = () =>
    attrs({
      operation: 'CONNECT',
      rt: pods,
      name: 'p',
      subresource: 'exec',
      obj: execOptions as unknown as KubeObject,
    });
  const rules = [{ operations: ['CONNECT'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/exec'] }];

  it('sends the exec options as the object, under their own kind', async () => {
    const { d, fake } = setup({ validating: [config('v', [hook('exec.example.com', '/exec', { rules })])] });
    fake.handlers.set('/exec', () => ({ allowed: false, status: { code: 403, message: 'no exec here' } }));
    expect((await refusal(d.validate(connect()))).message).toBe(
      'admission webhook "exec.example.com" denied the request: no exec here',
    );
    expect(fake.calls[0].request).toMatchObject({
      operation: 'CONNECT',
      kind: { group: '', version: 'v1', kind: 'PodExecOptions' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      subResource: 'exec',
      name: 'p',
      object: execOptions,
    });
    expect(fake.calls[0].request.options).toBeUndefined();
  });

  it('lets no mutating webhook patch the options', async () => {
    const { d, fake } = setup({
      mutating: [config('m', [hook('exec.example.com', '/exec', { rules })], true)],
    });
    fake.handlers.set('/exec', () => patchOf([{ op: 'replace', path: '/command', value: ['rm'] }]));
    expect((await refusal(d.mutate(connect()))).message).toMatch(/attempted to modify the object/);
  });
});

describe('mutating webhooks', () => {
  it('apply patches in name order of configurations, each seeing the last', async () => {
    const { d, fake } = setup({
      mutating: [
        config('b', [hook('second.example.com', '/2')], true),
        config('a', [hook('first.example.com', '/1')], true),
      ],
    });
    fake.handlers.set('/1', () =>
      patchOf([{ op: 'add', path: '/metadata/labels', value: { first: 'yes' } }]),
    );
    fake.handlers.set('/2', (req) =>
      patchOf([{ op: 'add', path: '/metadata/labels/second', value: req.object.metadata.labels.first }]),
    );
    const a = attrs();
    await d.mutate(a);
    expect(a.obj.metadata.labels).toEqual({ first: 'yes', second: 'yes' });
    expect(fake.calls.map((c) => c.path)).toEqual(['/1', '/2']);
  });

  it('keep the object identity whatever the patch says', async () => {
    const { d, fake } = setup({ mutating: [config('m', [hook('evil.example.com', '/e')], true)] });
    fake.handlers.set('/e', () =>
      patchOf([
        { op: 'replace', path: '/metadata/uid', value: 'stolen' },
        { op: 'replace', path: '/metadata/name', value: 'other' },
        { op: 'add', path: '/metadata/__proto__', value: { polluted: true } },
        { op: 'add', path: '/__proto__', value: { polluted: true } },
        { op: 'add', path: '/data/b', value: '2' },
      ]),
    );
    const a = attrs();
    await d.mutate(a);
    expect(a.obj.metadata).toMatchObject({ uid: 'uid-1', name: 'c', namespace: 'default' });
    expect(a.obj.data).toEqual({ a: '1', b: '2' });
    expect(Object.hasOwn(a.obj, '__proto__')).toBe(false);
    expect(Object.hasOwn(a.obj.metadata, '__proto__')).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuse a patch that changes the kind, or one that does not apply', async () => {
    const { d, fake } = setup({ mutating: [config('m', [hook('kind.example.com', '/k')], true)] });
    fake.handlers.set('/k', () => patchOf([{ op: 'replace', path: '/kind', value: 'Secret' }]));
    const err = await refusal(d.mutate(attrs()));
    expect(err.code).toBe(500);
    expect(err.message).toMatch(
      /admission webhook "kind.example.com" returned a patch that changes the apiVersion or kind/,
    );
    fake.handlers.set('/k', () => patchOf([{ op: 'remove', path: '/spec/nothing' }]));
    expect((await refusal(d.mutate(attrs()))).reason).toBe('InternalError');
    fake.handlers.set('/k', () => patchOf([{ op: 'replace', path: '/data', value: 7 }]));
    expect((await refusal(d.mutate(attrs()))).message).toMatch(/does not fit the schema/);
  });

  it('refuse a patch that nests a value deeper than any body may', async () => {
    const { d, fake } = setup({ mutating: [config('m', [hook('deep.example.com', '/d')], true)] });
    let deep: unknown = 'x';
    for (let i = 0; i < 1_000; i++) deep = { a: deep };
    fake.handlers.set('/d', () => patchOf([{ op: 'add', path: '/metadata/labels', value: deep }]));
    const err = await refusal(d.mutate(attrs()));
    expect(err.code).toBe(500);
    expect(err.message).toMatch(/returned a patch that nests deeper than 256 levels/);
  });

  it('reinvoke an IfNeeded webhook once when a later one changed the object', async () => {
    const { d, fake } = setup({
      mutating: [
        config('a', [hook('again.example.com', '/again', { reinvocationPolicy: 'IfNeeded' })], true),
        config('b', [hook('later.example.com', '/later')], true),
      ],
    });
    fake.handlers.set('/again', () => ({ allowed: true }));
    fake.handlers.set('/later', () => patchOf([{ op: 'add', path: '/data/later', value: 'x' }]));
    const a = attrs();
    await d.mutate(a);
    expect(fake.calls.map((c) => c.path)).toEqual(['/again', '/later', '/again']);
    expect(fake.calls[2].request.object.data.later).toBe('x');
  });

  it('do not reinvoke a Never webhook, nor an IfNeeded one when nothing changed', async () => {
    const { d, fake } = setup({
      mutating: [
        config('a', [hook('never.example.com', '/never')], true),
        config('b', [hook('later.example.com', '/later')], true),
      ],
    });
    fake.handlers.set('/never', () => ({ allowed: true }));
    fake.handlers.set('/later', () => patchOf([{ op: 'add', path: '/data/later', value: 'x' }]));
    await d.mutate(attrs());
    expect(fake.calls.map((c) => c.path)).toEqual(['/never', '/later']);
  });

  it('refuse with the webhook status', async () => {
    const { d, fake } = setup({ mutating: [config('m', [hook('no.example.com', '/no')], true)] });
    fake.handlers.set('/no', () => ({ allowed: false, status: { code: 422, message: 'not today' } }));
    const err = await refusal(d.mutate(attrs()));
    expect({ code: err.code, message: err.message }).toEqual({
      code: 422,
      message: 'admission webhook "no.example.com" denied the request: not today',
    });
  });

  it('see deletes with the old object, may refuse them, and may not patch them', async () => {
    const { d, fake } = setup({ mutating: [config('m', [hook('del.example.com', '/del')], true)] });
    fake.handlers.set('/del', () => ({ allowed: false, status: { code: 403, message: 'keep it' } }));
    const del = () => attrs({ operation: 'DELETE', obj: undefined, old: cm() });
    expect((await refusal(d.mutate(del()))).message).toBe(
      'admission webhook "del.example.com" denied the request: keep it',
    );
    expect(fake.calls[0].request).toMatchObject({ operation: 'DELETE', object: null, oldObject: cm() });
    fake.handlers.set('/del', () => patchOf([{ op: 'add', path: '/data/x', value: 'y' }]));
    expect((await refusal(d.mutate(del()))).message).toBe(
      'Internal error occurred: admission webhook "del.example.com" attempted to modify the object, which is not supported for this operation',
    );
    fake.handlers.set('/del', () => ({ allowed: true }));
    await d.mutate(del());
  });

  it('are skipped on failure under Ignore, the object unchanged', async () => {
    const { d } = setup({
      mutating: [config('m', [hook('down.example.com', '/down', { failurePolicy: 'Ignore' })], true)],
    });
    const a = attrs();
    await d.mutate(a);
    expect(a.obj).toEqual(cm());
  });
});
