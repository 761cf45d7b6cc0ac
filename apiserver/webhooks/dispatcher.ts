/**
 * The admission webhooks, as two plugins of the store's admission chains:
 * `mutate` (the mutating chain, after defaults and before validation) and
 * `validate` (the validating chain). For each write it picks the matching
 * webhooks of the configurations the apiserver holds in its watch caches
 * (never etcd per request), calls them with an AdmissionReview and acts on
 * the answers as Kubernetes' generic webhook dispatchers do:
 *
 * - mutating webhooks run one after another, configurations in name order
 *   and webhooks in their order, each seeing the object as the ones before
 *   left it; JSON patches are applied (json-patch.ts), the object keeps its
 *   identity (uid, name, namespace, kind) and is checked against its schema
 *   again. A webhook with reinvocationPolicy IfNeeded is called once more
 *   when a later webhook changed the object. On DELETE they see the old
 *   object and may refuse, not patch.
 * - validating webhooks are called in parallel; the first refusal in
 *   webhook order is the answer.
 * - `allowed: false` refuses the request with the webhook's status;
 *   warnings go to the response's Warning headers; a call that fails
 *   (refused, timed out, out of shape) refuses the request with an
 *   InternalError under failurePolicy Fail and is logged and skipped under
 *   Ignore. A dry run is refused for a webhook with side effects.
 * - writes of the configurations themselves are never sent to webhooks.
 */
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry as MetricsRegistry } from 'prom-client';
import type { KubeObject } from '../../api/meta.js';
import { deeperThan, isPlainObject, maxObjectDepth, own, setOwn } from '../../api/plain.js';
import { apiVersionOf, type ResourceType } from '../../api/registry.js';
import { stableJson } from '../../api/stable-json.js';
import { newBadRequest, newInternalError, newNotFound, StatusError } from '../../api/status.js';
import type { MutatingWebhook, MutatingWebhookConfiguration } from '../../api/types/admissionregistration.js';
import {
  type AdmissionAttributes,
  checkSchema,
  type MutatingAdmission,
  type ValidatingAdmission,
} from '../admission.js';
import { jsonPatch } from '../json-patch.js';
import { postReview, resolveTarget, type ServiceLookup, type WebhookTarget } from './caller.js';
import {
  type GroupVersionResource,
  isExempt,
  type MatchRequest,
  matchingResource,
  namespaceSelectorMatches,
  objectSelectorMatches,
} from './matching.js';
import {
  admissionReview,
  parseReviewResponse,
  type ReviewResult,
  rejection,
  reviewVersion,
  WebhookCallError,
} from './review.js';

/** A configuration as the caches hold it; validating ones have no reinvocationPolicy. */
export type WebhookConfiguration = Pick<MutatingWebhookConfiguration, 'metadata' | 'webhooks'>;

/** What the dispatcher reads, at request time, from the apiserver's caches. */
export interface WebhookSource {
  validatingConfigurations(): readonly WebhookConfiguration[];
  mutatingConfigurations(): readonly WebhookConfiguration[];
  /** The labels of a namespace; undefined when there is no such namespace. */
  namespaceLabels(namespace: string): Record<string, string> | undefined;
  /** The served versions of a group's resource (matchPolicy Equivalent). */
  versions(group: string, resource: string): readonly string[];
  services: ServiceLookup;
}

/** One HTTPS call; tests put a fake here. */
export type WebhookCall = (t: WebhookTarget, body: Buffer, timeoutMs: number) => Promise<Buffer>;

export interface WebhookDispatcherOptions {
  source: WebhookSource;
  logger: Logger;
  /** Where the webhook metrics are registered (/metrics); none: not counted. */
  metrics?: MetricsRegistry;
  call?: WebhookCall;
}

type HookType = 'admit' | 'validating';

interface Invocation {
  webhook: MutatingWebhook;
  name: string;
  resource: GroupVersionResource;
}

export class WebhookDispatcher {
  private readonly source: WebhookSource;
  private readonly log: Logger;
  private readonly callWebhook: WebhookCall;
  private readonly requests?: Counter<'name' | 'type' | 'operation' | 'code' | 'rejected'>;
  private readonly latency?: Histogram<'name' | 'type' | 'operation' | 'rejected'>;
  private readonly failOpen?: Counter<'name' | 'type'>;

  constructor(o: WebhookDispatcherOptions) {
    this.source = o.source;
    this.log = o.logger;
    this.callWebhook = o.call ?? postReview;
    if (o.metrics) {
      const registers = [o.metrics];
      this.requests = new Counter({
        name: 'apiserver_admission_webhook_request_total',
        help: 'Admission webhook calls by webhook, type, operation, HTTP code (0: no answer) and whether the request was rejected.',
        labelNames: ['name', 'type', 'operation', 'code', 'rejected'],
        registers,
      });
      this.latency = new Histogram({
        name: 'apiserver_admission_webhook_admission_duration_seconds',
        help: 'Admission webhook call latency by webhook, type, operation and whether the request was rejected.',
        labelNames: ['name', 'type', 'operation', 'rejected'],
        buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 25],
        registers,
      });
      this.failOpen = new Counter({
        name: 'apiserver_admission_webhook_fail_open_count',
        help: 'Failed webhook calls let through by failurePolicy Ignore.',
        labelNames: ['name', 'type'],
        registers,
      });
    }
  }

  /** The mutating chain's plugin. */
  readonly mutate: MutatingAdmission = async (a) => {
    const req = matchRequest(a);
    if (isExempt(req.resource)) return;
    const hooks = ordered(this.source.mutatingConfigurations());
    if (hooks.length === 0) return;
    const reinvoke = new Set<number>();
    const calledIfNeeded: number[] = [];
    for (let i = 0; i < hooks.length; i++) {
      const inv = this.match(hooks[i], { ...req, obj: a.obj });
      if (!inv) continue;
      if (await this.callMutating(inv, a)) for (const j of calledIfNeeded) reinvoke.add(j);
      if (inv.webhook.reinvocationPolicy === 'IfNeeded') calledIfNeeded.push(i);
    }
    // Reinvoked once each, in order; what they change does not call anyone again.
    for (const i of [...reinvoke].sort((x, y) => x - y)) {
      const inv = this.match(hooks[i], { ...req, obj: a.obj });
      if (inv) await this.callMutating(inv, a);
    }
  };

  /** The validating chain's plugin. */
  readonly validate: ValidatingAdmission = async (a) => {
    const req = matchRequest(a);
    if (isExempt(req.resource)) return;
    const invocations = ordered(this.source.validatingConfigurations())
      .map((h) => this.match(h, req))
      .filter((inv): inv is Invocation => inv !== undefined);
    if (invocations.length === 0) return;
    const errors = await Promise.all(
      invocations.map((inv) =>
        this.callValidating(inv, a).then(
          () => undefined,
          (err: unknown) => err,
        ),
      ),
    );
    const first = errors.find((e) => e !== undefined);
    if (first !== undefined) throw first;
  };

  /** The invocation of `hook` for `req`, or undefined when it does not match; throws for a dry run it cannot take. */
  private match(
    h: { config: string; webhook: MutatingWebhook },
    req: MatchRequest & { dryRun: boolean },
  ): Invocation | undefined {
    const w = h.webhook;
    const resource = matchingResource(
      w,
      req,
      this.source.versions(req.resource.group, req.resource.resource),
    );
    if (!resource) return undefined;
    const labels = () => {
      const l = this.source.namespaceLabels(req.namespace);
      if (l === undefined) throw newNotFound({ group: '', resource: 'namespaces' }, req.namespace);
      return l;
    };
    if (!namespaceSelectorMatches(w, req, labels)) return undefined;
    if (!objectSelectorMatches(w, req)) return undefined;
    const name = w.name ?? '';
    if (req.dryRun && w.sideEffects !== 'None' && w.sideEffects !== 'NoneOnDryRun')
      throw newBadRequest(`admission webhook ${JSON.stringify(name)} does not support dry run`);
    return { webhook: w, name, resource };
  }

  private async callValidating(inv: Invocation, a: AdmissionAttributes): Promise<void> {
    const res = await this.invoke(inv, a, a.obj, 'validating');
    if (!res) return;
    a.warnings?.push(...res.warnings);
    if (!res.allowed) throw rejection(inv.name, res.status);
  }

  /** Calls one mutating webhook and applies its patch to `a.obj`; true when the object changed. */
  private async callMutating(inv: Invocation, a: AdmissionAttributes): Promise<boolean> {
    const res = await this.invoke(inv, a, a.obj, 'admit');
    if (!res) return false;
    a.warnings?.push(...res.warnings);
    if (!res.allowed) throw rejection(inv.name, res.status);
    if (!res.patch || res.patch.length === 0) return false;
    const obj = a.operation === 'CONNECT' ? undefined : a.obj;
    if (!obj)
      throw newInternalError(
        new Error(
          `admission webhook ${JSON.stringify(inv.name)} attempted to modify the object, which is not supported for this operation`,
        ),
      );
    const before = stableJson(obj);
    let patched: unknown;
    try {
      patched = jsonPatch(obj, res.patch);
    } catch (err) {
      throw newInternalError(err);
    }
    const settled = settle(a.rt, obj, patched, inv.name);
    if (stableJson(settled) === before) return false;
    for (const k of Object.keys(obj)) delete (obj as Record<string, unknown>)[k];
    for (const [k, v] of Object.entries(settled)) setOwn(obj, k, v);
    return true;
  }

  /**
   * One call, measured: the answer, or undefined when the call failed and
   * the webhook's failurePolicy is Ignore. A failed call under Fail is an
   * InternalError naming the webhook.
   */
  private async invoke(
    inv: Invocation,
    a: AdmissionAttributes,
    obj: KubeObject | undefined,
    type: HookType,
  ): Promise<ReviewResult | undefined> {
    const w = inv.webhook;
    const started = performance.now();
    const labels = { name: inv.name, type, operation: a.operation };
    try {
      const res = await this.exchange(inv, a, obj, type === 'admit');
      const rejected = String(!res.allowed);
      this.requests?.inc({ ...labels, code: '200', rejected });
      this.latency?.observe({ ...labels, rejected }, (performance.now() - started) / 1000);
      return res;
    } catch (err) {
      this.requests?.inc({ ...labels, code: '0', rejected: 'true' });
      this.latency?.observe({ ...labels, rejected: 'true' }, (performance.now() - started) / 1000);
      if (!(err instanceof WebhookCallError)) throw err;
      const message = `failed calling webhook ${JSON.stringify(inv.name)}: ${err.message}`;
      if (w.failurePolicy === 'Ignore') {
        this.failOpen?.inc({ name: inv.name, type });
        this.log.warn({ webhook: inv.name, err: err.message }, 'failed calling webhook, failing open');
        return undefined;
      }
      this.log.warn({ webhook: inv.name, err: err.message }, 'failed calling webhook, failing closed');
      throw newInternalError(new Error(message));
    }
  }

  /** Builds the review, resolves where it goes, posts it and reads the answer. */
  private async exchange(
    inv: Invocation,
    a: AdmissionAttributes,
    obj: KubeObject | undefined,
    mutating: boolean,
  ): Promise<ReviewResult> {
    const w = inv.webhook;
    const version = reviewVersion(w.admissionReviewVersions);
    if (!version)
      throw new WebhookCallError(
        `webhook does not accept known AdmissionReview versions: ${JSON.stringify(w.admissionReviewVersions ?? [])}`,
      );
    const timeoutSeconds = w.timeoutSeconds ?? 10;
    const target = resolveTarget(w.clientConfig ?? {}, timeoutSeconds, this.source.services);
    const requestResource = { group: a.rt.group, version: a.rt.version, resource: a.rt.plural };
    const requestKind = { group: a.rt.group, version: a.rt.version, kind: a.rt.kind };
    // Another version matched (Equivalent): the object is sent in that version (conversion None).
    const asVersion = (o: KubeObject | undefined) =>
      o && inv.resource.version !== a.rt.version
        ? { ...o, apiVersion: apiVersionOf({ group: a.rt.group, version: inv.resource.version }) }
        : o;
    // A CONNECT's object is its options (PodExecOptions...), and the review names their kind.
    const kind =
      a.operation === 'CONNECT' ? { group: '', version: 'v1', kind: obj?.kind ?? '' } : requestKind;
    const { uid, review } = admissionReview(version, {
      kind: { ...kind, version: inv.resource.version },
      resource: inv.resource,
      subresource: a.subresource,
      requestKind: kind,
      requestResource,
      name: a.name,
      namespace: a.namespace,
      operation: a.operation,
      user: a.user,
      obj: asVersion(obj),
      old: asVersion(a.old),
      dryRun: a.dryRun,
    });
    const answer = await this.callWebhook(target, Buffer.from(JSON.stringify(review)), timeoutSeconds * 1000);
    return parseReviewResponse(answer, { version, uid, mutating });
  }
}

function matchRequest(a: AdmissionAttributes): MatchRequest & { dryRun: boolean } {
  return {
    operation: a.operation,
    resource: { group: a.rt.group, version: a.rt.version, resource: a.rt.plural },
    subresource: a.subresource,
    namespace: a.rt.namespaced ? a.namespace : '',
    obj: a.obj,
    old: a.old,
    dryRun: a.dryRun,
  };
}

/** Every webhook, configurations in name order and webhooks in their own order. */
function ordered(configs: readonly WebhookConfiguration[]): { config: string; webhook: MutatingWebhook }[] {
  return [...configs]
    .sort((x, y) => ((x.metadata?.name ?? '') < (y.metadata?.name ?? '') ? -1 : 1))
    .flatMap((c) => (c.webhooks ?? []).map((webhook) => ({ config: c.metadata?.name ?? '', webhook })));
}

/** System fields a webhook's patch may not change: they are put back as they were. */
const pinnedMeta = [
  'name',
  'namespace',
  'uid',
  'creationTimestamp',
  'resourceVersion',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
] as const;

/**
 * The patched object, made fit to continue: still an object of the same
 * apiVersion and kind, with the system fields of the object before the
 * patch, and checked against the kind's schema (fields the schema does not
 * know are dropped, as decoding drops them; a field of the wrong type
 * refuses the request).
 */
function settle(rt: ResourceType, was: KubeObject, patched: unknown, webhook: string): KubeObject {
  const fail = (why: string) =>
    newInternalError(new Error(`admission webhook ${JSON.stringify(webhook)} returned a patch that ${why}`));
  if (!isPlainObject(patched)) throw fail('does not leave an object');
  // The review's own depth was checked; the patch inside it was a string then.
  if (deeperThan(patched, maxObjectDepth)) throw fail(`nests deeper than ${maxObjectDepth} levels`);
  if (own(patched, 'apiVersion') !== was.apiVersion || own(patched, 'kind') !== was.kind)
    throw fail('changes the apiVersion or kind');
  const meta = own(patched, 'metadata');
  if (!isPlainObject(meta)) throw fail('removes metadata');
  const wasMeta = was.metadata as Record<string, unknown>;
  for (const k of pinnedMeta) {
    if (wasMeta[k] === undefined) delete meta[k];
    else setOwn(meta, k, wasMeta[k]);
  }
  const obj = patched as KubeObject;
  try {
    checkSchema(rt, obj, 'Ignore', true);
  } catch (err) {
    throw fail(`does not fit the schema: ${err instanceof StatusError ? err.message : String(err)}`);
  }
  return obj;
}
