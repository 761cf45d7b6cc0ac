/**
 * Admission webhooks against the real apiserver process and the real
 * kubectl, the webhooks served by this test over HTTPS on 127.0.0.1
 * (`clientConfig.url`, a certificate from base/pki.ts and its CA as the
 * caBundle): refusals with the webhook's message, labels added by a JSON
 * patch, warnings, dry run, failurePolicy Fail and Ignore with the webhook
 * down, the configurations never sent to webhooks, and the attacks: a
 * webhook that hangs (the timeout is honoured and the apiserver keeps
 * answering), one that answers 100 MiB, garbage, or a patch at
 * /metadata/uid and __proto__. e2e/webhooks.test.ts runs the example
 * webhook in the cluster behind a Service.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCA, issueCert } from '../base/pki.js';
import { mutate, validate } from '../examples/admission-webhook.js';
import {
  type Api,
  api,
  cleanup,
  freePort,
  kubectl,
  makeTempDir,
  run,
  sleep,
  startApiserver,
  startEtcd,
  waitFor,
  writeKubeconfig,
} from '../testing/harness.js';

let client: Api;
let apiserverUrl: string;
let kubeconfig: string;
let caBundle: string;
let hooks: https.Server;
let base: string;
let pki: string;
const hanging = new Set<import('node:http').ServerResponse>();
/** Requests the test webhooks received, by path. */
const received = new Map<string, number>();
const settings = { forbiddenKey: 'bad', label: 'example.nanokube.io/mutated=true' };

type Answer = (review: any, res: import('node:http').ServerResponse) => void;

const reply = (review: any, response: object) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: review.request.uid, ...response },
  });
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

/** The test's webhooks, by path. */
const answers: Record<string, Answer> = {
  '/validate': (r, res) => res.end(reply(r, validate(r.request, settings))),
  '/mutate': (r, res) => res.end(reply(r, mutate(r.request, settings))),
  '/warn': (r, res) => res.end(reply(r, { allowed: true, warnings: ['this ConfigMap is watched'] })),
  '/no-delete': (r, res) =>
    res.end(
      reply(r, { allowed: false, status: { code: 403, reason: 'Forbidden', message: 'this one stays' } }),
    ),
  '/no-exec': (r, res) =>
    res.end(
      reply(r, {
        allowed: false,
        status: {
          code: 403,
          message: `${r.request.kind.kind} ${JSON.stringify(r.request.object.command)} refused by the webhook`,
        },
      }),
    ),
  '/hang': (_r, res) => {
    hanging.add(res);
  },
  '/huge': (r, res) => {
    const chunk = Buffer.alloc(1024 * 1024, ' ');
    let sent = 0;
    res.on('error', () => {});
    const write = () => {
      while (sent < 100 && res.write(chunk)) sent++;
      if (sent < 100) res.once('drain', write);
      else res.end(reply(r, { allowed: true }));
    };
    write();
  },
  '/garbage': (_r, res) => res.end('{"apiVersion": "admission.k8s.io/v1", "kind": '),
  '/evil-patch': (r, res) =>
    res.end(
      reply(r, {
        allowed: true,
        patchType: 'JSONPatch',
        patch: b64([
          { op: 'replace', path: '/metadata/uid', value: 'stolen-uid' },
          { op: 'add', path: '/metadata/__proto__', value: { polluted: 'yes' } },
          { op: 'add', path: '/__proto__', value: { polluted: 'yes' } },
          { op: 'add', path: '/data/patched', value: 'yes' },
        ]),
      }),
    ),
};

beforeAll(async () => {
  const dir = makeTempDir('nanokube-webhooks-');
  pki = path.join(dir, 'pki');
  const ca = await ensureCA(pki);
  const cert = await issueCert(pki, {
    name: 'webhook',
    commonName: '127.0.0.1',
    sans: ['IP:127.0.0.1'],
  });
  caBundle = readFileSync(ca.cert).toString('base64');
  hooks = https.createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (req, res) => {
    const p = (req.url ?? '').split('?')[0];
    received.set(p, (received.get(p) ?? 0) + 1);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = answers[p];
      if (!answer) return res.writeHead(404).end();
      res.setHeader('content-type', 'application/json');
      answer(JSON.parse(Buffer.concat(chunks).toString()), res);
    });
  });
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
  const etcd = await startEtcd();
  const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  apiserverUrl = apiserver.url;
  client = api(apiserver.url);
  kubeconfig = await writeKubeconfig(dir, apiserver.url);
}, 60_000);

afterAll(async () => {
  for (const r of hanging) r.destroy();
  hooks?.closeAllConnections();
  hooks?.close();
  await cleanup();
});

const k = (args: string[], input?: string) => kubectl(args, { kubeconfig, input });

interface HookSpec {
  name: string;
  path?: string;
  url?: string;
  failurePolicy?: 'Fail' | 'Ignore';
  timeoutSeconds?: number;
  sideEffects?: string;
  namespaceSelector?: unknown;
  resources?: string[];
  operations?: string[];
}

function configuration(kind: 'Validating' | 'Mutating', name: string, specs: HookSpec[]) {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: `${kind}WebhookConfiguration`,
    metadata: { name },
    webhooks: specs.map((s) => ({
      name: s.name,
      clientConfig: { url: s.url ?? `${base}${s.path}`, caBundle },
      rules: [
        {
          operations: s.operations ?? ['CREATE', 'UPDATE'],
          apiGroups: [''],
          apiVersions: ['v1'],
          resources: s.resources ?? ['configmaps'],
        },
      ],
      failurePolicy: s.failurePolicy ?? 'Fail',
      sideEffects: s.sideEffects ?? 'None',
      timeoutSeconds: s.timeoutSeconds,
      namespaceSelector: s.namespaceSelector,
      admissionReviewVersions: ['v1'],
    })),
  };
}

const plural = (kind: 'Validating' | 'Mutating') =>
  `/apis/admissionregistration.k8s.io/v1/${kind.toLowerCase()}webhookconfigurations`;

/** Creates a configuration in a namespace of its own, and waits until a probe write shows it is in effect. */
async function install(kind: 'Validating' | 'Mutating', name: string, specs: HookSpec[]) {
  const r = await client.post(plural(kind), configuration(kind, name, specs));
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

async function remove(kind: 'Validating' | 'Mutating', name: string) {
  await client.del(`${plural(kind)}/${name}`);
}

async function namespace(name: string, labels: Record<string, string> = {}) {
  const r = await client.post('/api/v1/namespaces', { metadata: { name, labels } });
  expect(r.status).toBe(201);
}

const cmBody = (name: string, data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data,
});

async function metric(line: RegExp): Promise<number> {
  const text = (await client.get('/metrics', { accept: 'text/plain' })).body as unknown as string;
  const m = String(text)
    .split('\n')
    .find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
}

describe('admission webhooks served outside the cluster', () => {
  it('serves the configurations with defaults and refuses a bad one', async () => {
    const bad = configuration('Validating', 'bad', [{ name: 'short', path: '/validate' }]);
    const r = await client.post(plural('Validating'), bad);
    expect(r.status).toBe(422);
    expect(r.body.message).toContain(
      'webhooks[0].name: Invalid value: "short": should be a domain with at least three segments separated by dots',
    );
    await install('Validating', 'defaults', [
      { name: 'defaults.nanokube.test', path: '/validate', resources: ['nothing'] },
    ]);
    const got = await k(['get', 'validatingwebhookconfigurations', 'defaults', '-o', 'json']);
    expect(got.code, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout).webhooks[0]).toMatchObject({
      failurePolicy: 'Fail',
      matchPolicy: 'Equivalent',
      namespaceSelector: {},
      objectSelector: {},
      timeoutSeconds: 10,
      rules: [{ scope: '*' }],
    });
    const table = await k(['get', 'validatingwebhookconfigurations', 'defaults']);
    expect(table.stdout).toMatch(/NAME\s+WEBHOOKS\s+AGE\ndefaults\s+1\s+/);
    await remove('Validating', 'defaults');
  });

  it('a validating webhook refuses a ConfigMap with a bad key: kubectl shows its message', async () => {
    await namespace('wh-validate');
    await install('Validating', 'keys', [{ name: 'keys.nanokube.test', path: '/validate' }]);
    const refused = await waitFor(
      async () => {
        const r = await k([
          'create',
          'configmap',
          'probe',
          '-n',
          'wh-validate',
          '--from-literal=my-bad-key=1',
        ]);
        return r.code !== 0 ? r : undefined;
      },
      { timeoutMs: 10_000, what: 'the webhook in effect' },
    );
    expect(refused.stderr).toContain(
      'admission webhook "keys.nanokube.test" denied the request: ConfigMap keys may not contain "bad": my-bad-key',
    );
    const applied = await k(
      ['create', '-f', '-'],
      JSON.stringify({
        ...cmBody('applied', { 'also-bad': '1' }),
        metadata: { name: 'applied', namespace: 'wh-validate' },
      }),
    );
    expect(applied.stderr).toContain(
      'Error from server (Forbidden): error when creating "STDIN": admission webhook "keys.nanokube.test" denied the request: ConfigMap keys may not contain "bad": also-bad',
    );
    const ok = await k(['create', 'configmap', 'fine', '-n', 'wh-validate', '--from-literal=good=1']);
    expect(ok.code, ok.stderr).toBe(0);
    // Updates too: a patch that adds a bad key is refused.
    const patched = await k([
      'patch',
      'configmap',
      'fine',
      '-n',
      'wh-validate',
      '-p',
      '{"data":{"bad":"x"}}',
    ]);
    expect(patched.code).not.toBe(0);
    expect(patched.stderr).toContain('denied the request: ConfigMap keys may not contain "bad": bad');
    expect(
      await metric(/^apiserver_admission_webhook_request_total\{name="keys.nanokube.test".*rejected="true"/),
    ).toBeGreaterThan(0);
    await remove('Validating', 'keys');
  });

  it('a mutating webhook adds a label, on dry run too, and warnings reach kubectl', async () => {
    await namespace('wh-mutate');
    await install('Mutating', 'label', [{ name: 'label.nanokube.test', path: '/mutate' }]);
    await install('Validating', 'warn', [{ name: 'warn.nanokube.test', path: '/warn' }]);
    const made = await waitFor(
      async () => {
        const name = `c${Date.now()}`;
        const r = await k([
          'create',
          'configmap',
          name,
          '-n',
          'wh-mutate',
          '--from-literal=a=1',
          '-o',
          'json',
        ]);
        expect(r.code, r.stderr).toBe(0);
        const obj = JSON.parse(r.stdout);
        return obj.metadata.labels?.['example.nanokube.io/mutated'] === 'true' && r.stderr.includes('Warning')
          ? r
          : undefined;
      },
      { timeoutMs: 10_000, what: 'the mutating webhook in effect' },
    );
    expect(made.stderr).toContain('Warning: this ConfigMap is watched');
    const dry = await k([
      'create',
      'configmap',
      'dry',
      '-n',
      'wh-mutate',
      '--from-literal=a=1',
      '--dry-run=server',
      '-o',
      'json',
    ]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).metadata.labels).toEqual({ 'example.nanokube.io/mutated': 'true' });
    expect((await client.get('/api/v1/namespaces/wh-mutate/configmaps/dry')).status).toBe(404);
    await remove('Mutating', 'label');
    await remove('Validating', 'warn');
  });

  it('v1 refuses webhooks with side effects (a dry run could not skip them)', async () => {
    const cfg = configuration('Validating', 'effects', [
      { name: 'effects.nanokube.test', path: '/validate' },
    ]);
    (cfg.webhooks[0] as { sideEffects: string }).sideEffects = 'Some';
    const r = await client.post(plural('Validating'), cfg);
    expect(r.status).toBe(422);
    expect(r.body.message).toContain('webhooks[0].sideEffects: Unsupported value: "Some"');
  });

  it('failurePolicy Fail refuses writes with a clear Status while the webhook is down; Ignore lets them through', async () => {
    await namespace('wh-down');
    const down = 'https://127.0.0.1:1/down';
    await install('Validating', 'down-fail', [
      { name: 'fail.nanokube.test', url: down, failurePolicy: 'Fail' },
    ]);
    const refused = await waitFor(
      async () => {
        const r = await client.post(
          '/api/v1/namespaces/wh-down/configmaps',
          cmBody(`p${Date.now()}`, { a: '1' }),
        );
        return r.status !== 201 ? r : undefined;
      },
      { timeoutMs: 10_000, what: 'the webhook in effect' },
    );
    expect(refused.status).toBe(500);
    expect(refused.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'InternalError',
      code: 500,
      message:
        'Internal error occurred: failed calling webhook "fail.nanokube.test": failed to call webhook: Post "https://127.0.0.1:1/down?timeout=10s": dial tcp 127.0.0.1:1: connect: connection refused',
    });
    const viaKubectl = await k(['create', 'configmap', 'k', '-n', 'wh-down', '--from-literal=a=1']);
    expect(viaKubectl.stderr).toContain('failed calling webhook "fail.nanokube.test"');
    await remove('Validating', 'down-fail');

    await install('Validating', 'down-ignore', [
      { name: 'ignore.nanokube.test', url: down, failurePolicy: 'Ignore' },
    ]);
    const before = await metric(/^apiserver_admission_webhook_fail_open_count\{name="ignore.nanokube.test"/);
    await waitFor(
      async () => {
        const r = await client.post(
          '/api/v1/namespaces/wh-down/configmaps',
          cmBody(`i${Date.now()}`, { a: '1' }),
        );
        expect(r.status).toBe(201);
        return (
          (await metric(/^apiserver_admission_webhook_fail_open_count\{name="ignore.nanokube.test"/)) > before
        );
      },
      { timeoutMs: 10_000, what: 'a write let through with the webhook down' },
    );
    await remove('Validating', 'down-ignore');
  });

  it('never sends the webhook configurations to webhooks: a webhook refusing everything can be removed', async () => {
    const all = configuration('Validating', 'lockout', [
      { name: 'lockout.nanokube.test', url: 'https://127.0.0.1:1/x' },
    ]);
    all.webhooks[0].rules = [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'] }];
    expect((await client.post(plural('Validating'), all)).status).toBe(201);
    await waitFor(
      async () =>
        (await client.post('/api/v1/namespaces', { metadata: { name: `lock${Date.now()}` } })).status === 500,
      { timeoutMs: 10_000, what: 'the lockout in effect' },
    );
    const del = await k(['delete', 'validatingwebhookconfiguration', 'lockout']);
    expect(del.code, del.stderr).toBe(0);
  });

  it('a mutating webhook on DELETE sees the old object and may refuse', async () => {
    await namespace('wh-delete');
    expect(
      (await client.post('/api/v1/namespaces/wh-delete/configmaps', cmBody('keep', { a: '1' }))).status,
    ).toBe(201);
    await install('Mutating', 'no-delete', [
      { name: 'nodelete.nanokube.test', path: '/no-delete', operations: ['DELETE'] },
    ]);
    const refused = await waitFor(
      async () => {
        const r = await k(['delete', 'configmap', 'keep', '-n', 'wh-delete']);
        return r.code !== 0 ? r : undefined;
      },
      { timeoutMs: 10_000, what: 'the webhook in effect' },
    );
    expect(refused.stderr).toContain(
      'Error from server (Forbidden): admission webhook "nodelete.nanokube.test" denied the request: this one stays',
    );
    expect((await client.get('/api/v1/namespaces/wh-delete/configmaps/keep')).status).toBe(200);
    await remove('Mutating', 'no-delete');
  });

  it('a CONNECT (kubectl exec) goes to the webhooks with its options', async () => {
    await namespace('wh-exec');
    // Bound to a node that does not exist: without admission the exec would fail on the node instead.
    const pod = await client.post('/api/v1/namespaces/wh-exec/pods', {
      metadata: { name: 'p' },
      spec: { nodeName: 'ghost', containers: [{ name: 'c', image: 'nanokube/busybox:1' }] },
    });
    expect(pod.status, JSON.stringify(pod.body)).toBe(201);
    await install('Validating', 'no-exec', [
      { name: 'noexec.nanokube.test', path: '/no-exec', operations: ['CONNECT'], resources: ['pods/exec'] },
    ]);
    const refused = await waitFor(
      async () => {
        const r = await k(['exec', 'p', '-n', 'wh-exec', '-c', 'c', '--', 'ls', '/']);
        return r.stderr.includes('refused by the webhook') ? r : undefined;
      },
      { timeoutMs: 15_000, what: 'the exec refused by the webhook' },
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'admission webhook "noexec.nanokube.test" denied the request: PodExecOptions ["ls","/"] refused by the webhook',
    );
    await remove('Validating', 'no-exec');
  });

  it('only calls webhooks whose namespaceSelector matches', async () => {
    await namespace('wh-selected', { webhooks: 'on' });
    await namespace('wh-unselected');
    await install('Validating', 'selected', [
      {
        name: 'selected.nanokube.test',
        path: '/validate',
        namespaceSelector: { matchLabels: { webhooks: 'on' } },
      },
    ]);
    await waitFor(
      async () =>
        (
          await client.post(
            '/api/v1/namespaces/wh-selected/configmaps',
            cmBody(`b${Date.now()}`, { bad: '1' }),
          )
        ).status === 403,
      { timeoutMs: 10_000, what: 'the webhook in effect' },
    );
    const r = await client.post('/api/v1/namespaces/wh-unselected/configmaps', cmBody('b', { bad: '1' }));
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    await remove('Validating', 'selected');
  });
});

describe('the example webhook behind a Service', () => {
  /** An address of this host that pods, and an Endpoints object, may name (not loopback). */
  const hostIP = () =>
    Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

  it('clientConfig.service reaches dist/examples/admission-webhook.js through the Endpoints', async () => {
    const ip = hostIP();
    expect(ip, 'a non-loopback IPv4 address on this host').toBeDefined();
    const ns = 'wh-svc';
    await namespace(ns);
    const cert = await issueCert(pki, {
      name: 'example-hook',
      commonName: `example-hook.${ns}.svc`,
      sans: [`DNS:example-hook.${ns}.svc`],
    });
    const port = await freePort();
    const example = path.resolve('dist/examples/admission-webhook.js');
    void run(process.execPath, [example], {
      env: { PORT: String(port), TLS_CERT_FILE: cert.cert, TLS_KEY_FILE: cert.key },
      timeoutMs: 120_000,
    });
    const svc = await client.post(`/api/v1/namespaces/${ns}/services`, {
      metadata: { name: 'example-hook' },
      spec: { ports: [{ name: 'https', port: 443, targetPort: port }] },
    });
    expect(svc.status, JSON.stringify(svc.body)).toBe(201);
    const eps = await client.post(`/api/v1/namespaces/${ns}/endpoints`, {
      metadata: { name: 'example-hook' },
      subsets: [{ addresses: [{ ip }], ports: [{ name: 'https', port }] }],
    });
    expect(eps.status, JSON.stringify(eps.body)).toBe(201);
    const cfg = configuration('Validating', 'example', [
      { name: 'example.nanokube.test', path: '/validate' },
    ]);
    cfg.webhooks[0].clientConfig = {
      service: { namespace: ns, name: 'example-hook', path: '/validate' },
      caBundle,
    } as never;
    expect((await client.post(plural('Validating'), cfg)).status).toBe(201);
    const refused = await waitFor(
      async () => {
        const r = await k(['create', 'configmap', `p${Date.now()}`, '-n', ns, '--from-literal=bad-key=1']);
        return r.code !== 0 && r.stderr.includes('denied') ? r : undefined;
      },
      { timeoutMs: 15_000, what: 'the example webhook refusing' },
    );
    expect(refused.stderr).toContain(
      'admission webhook "example.nanokube.test" denied the request: ConfigMap keys may not contain "bad": bad-key',
    );
    const ok = await k(['create', 'configmap', 'fine', '-n', ns, '--from-literal=good=1']);
    expect(ok.code, ok.stderr).toBe(0);
    await remove('Validating', 'example');
  });
});

describe('attacks from webhooks', () => {
  it('a webhook that hangs: the timeout is honoured and the apiserver keeps answering', async () => {
    await namespace('wh-hang');
    await install('Validating', 'hang', [{ name: 'hang.nanokube.test', path: '/hang', timeoutSeconds: 5 }]);
    // A write that reaches the webhook (the first may pass before the configuration is in the cache).
    const pending = await waitFor(
      async () => {
        const before = received.get('/hang') ?? 0;
        const write = client.post(
          '/api/v1/namespaces/wh-hang/configmaps',
          cmBody(`h${Date.now()}`, { a: '1' }),
        );
        let answered = false;
        void write.finally(() => {
          answered = true;
        });
        while (!answered && (received.get('/hang') ?? 0) === before) await sleep(20);
        return answered ? undefined : { write };
      },
      { timeoutMs: 15_000, what: 'a write waiting on the hanging webhook' },
    );
    let settled = false;
    void pending.write.finally(() => {
      settled = true;
    });
    // While that write waits on the webhook, everything else is answered.
    expect((await client.get('/api/v1/namespaces/wh-hang/configmaps')).status).toBe(200);
    expect((await client.get('/readyz')).status).toBe(200);
    expect(settled).toBe(false);
    const r = await pending.write;
    expect(r.status).toBe(500);
    expect(r.body.message).toBe(
      `Internal error occurred: failed calling webhook "hang.nanokube.test": failed to call webhook: Post "${base}/hang?timeout=5s": context deadline exceeded`,
    );
    await remove('Validating', 'hang');
  });

  it.each([
    { path: '/huge', want: 'response body larger than 3145728 bytes' },
    { path: '/garbage', want: 'failed to call webhook: the response is not JSON' },
  ])('a webhook answering $path fails the call, and the apiserver lives on', async ({ path: p, want }) => {
    const ns = `wh${p.slice(1)}`;
    await namespace(ns);
    const name = `${p.slice(1)}.nanokube.test`;
    await install('Validating', p.slice(1), [{ name, path: p }]);
    const r = await waitFor(
      async () => {
        const res = await client.post(
          `/api/v1/namespaces/${ns}/configmaps`,
          cmBody(`x${Date.now()}`, { a: '1' }),
        );
        return res.status !== 201 ? res : undefined;
      },
      { timeoutMs: 15_000, what: 'the webhook in effect' },
    );
    expect(r.status).toBe(500);
    expect(r.body.message).toContain(`failed calling webhook "${name}"`);
    expect(r.body.message).toContain(want);
    expect((await client.get('/readyz')).status).toBe(200);
    await remove('Validating', p.slice(1));
  });

  it('a patch at /metadata/uid or __proto__ changes neither the identity nor any prototype', async () => {
    await namespace('wh-evil');
    await install('Mutating', 'evil', [{ name: 'evil.nanokube.test', path: '/evil-patch' }]);
    const made = await waitFor(
      async () => {
        const res = await fetch(`${apiserverUrl}/api/v1/namespaces/wh-evil/configmaps`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(cmBody(`e${Date.now()}`, { a: '1' })),
        });
        const text = await res.text();
        expect(res.status, text).toBe(201);
        return JSON.parse(text).data?.patched === 'yes' ? text : undefined;
      },
      { timeoutMs: 10_000, what: 'the mutating webhook in effect' },
    );
    const obj = JSON.parse(made);
    expect(obj.metadata.uid).not.toBe('stolen-uid');
    expect(obj.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(made).not.toContain('__proto__');
    expect(made).not.toContain('polluted');
    const stored = await fetch(`${apiserverUrl}/api/v1/namespaces/wh-evil/configmaps/${obj.metadata.name}`);
    const text = await stored.text();
    expect(text).not.toContain('polluted');
    expect(JSON.parse(text).metadata.uid).toBe(obj.metadata.uid);
    await remove('Mutating', 'evil');
  });
});
