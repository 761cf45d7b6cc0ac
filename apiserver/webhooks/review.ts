/**
 * The AdmissionReview exchanged with a webhook (admission.k8s.io/v1, or
 * v1beta1 for a webhook that lists only that; the two have the same
 * shape): the request the apiserver sends, and the checks Kubernetes'
 * `VerifyAdmissionResponse` makes of the answer. Every byte of an answer
 * is hostile: it is parsed from a bounded buffer, read through own
 * properties, and anything out of shape is a failed call (which the
 * webhook's failurePolicy then judges), worded as Kubernetes words it.
 */
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../api/meta.js';
import { deeperThan, isPlainObject, maxObjectDepth, own } from '../../api/plain.js';
import { StatusError, type StatusReason } from '../../api/status.js';
import type { UserInfo } from '../authn.js';
import type { GroupVersionResource, Operation } from './matching.js';

export type ReviewVersion = 'v1' | 'v1beta1';

/** The first version in the webhook's list that the apiserver speaks. */
export function reviewVersion(accepted: readonly string[] | undefined): ReviewVersion | undefined {
  return (accepted ?? []).find((v): v is ReviewVersion => v === 'v1' || v === 'v1beta1');
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** What the apiserver tells a webhook about one request. */
export interface ReviewRequestInput {
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subresource: string;
  /** The request's own kind and resource, when a matchPolicy Equivalent rule matched another version. */
  requestKind: GroupVersionKind;
  requestResource: GroupVersionResource;
  name: string;
  namespace: string;
  operation: Operation;
  user: UserInfo;
  obj?: KubeObject;
  old?: KubeObject;
  dryRun: boolean;
}

const optionsKind: Record<Operation, string> = {
  CREATE: 'CreateOptions',
  UPDATE: 'UpdateOptions',
  DELETE: 'DeleteOptions',
  CONNECT: '',
};

/** The AdmissionReview body and the uid its answer must carry. */
export function admissionReview(
  version: ReviewVersion,
  r: ReviewRequestInput,
  uid: string = randomUUID(),
): { uid: string; review: Record<string, unknown> } {
  const userInfo: Record<string, unknown> = { username: r.user.name };
  if (r.user.uid) userInfo.uid = r.user.uid;
  if (r.user.groups.length > 0) userInfo.groups = r.user.groups;
  if (r.user.extra && Object.keys(r.user.extra).length > 0) userInfo.extra = r.user.extra;
  const request: Record<string, unknown> = {
    uid,
    kind: r.kind,
    resource: r.resource,
    requestKind: r.requestKind,
    requestResource: r.requestResource,
    name: r.name,
    operation: r.operation,
    userInfo,
    object: r.obj ?? null,
    oldObject: r.old ?? null,
    dryRun: r.dryRun,
  };
  if (r.subresource) {
    request.subResource = r.subresource;
    request.requestSubResource = r.subresource;
  }
  if (r.namespace) request.namespace = r.namespace;
  const kind = optionsKind[r.operation];
  if (kind)
    request.options = { apiVersion: 'meta.k8s.io/v1', kind, ...(r.dryRun ? { dryRun: ['All'] } : {}) };
  return { uid, review: { apiVersion: `admission.k8s.io/${version}`, kind: 'AdmissionReview', request } };
}

/** A call that failed (refused, timed out, answered out of shape): the webhook's failurePolicy decides. */
export class WebhookCallError extends Error {
  override name = 'WebhookCallError';
}

/** The Status a webhook refuses with (code, reason, message as it sent them). */
export interface ReviewStatus {
  code?: number;
  reason?: string;
  message?: string;
  details?: unknown;
}

export interface ReviewResult {
  allowed: boolean;
  status?: ReviewStatus;
  /** JSON patch operations (mutating webhooks), parsed but not applied. */
  patch?: unknown[];
  warnings: string[];
  auditAnnotations: Map<string, string>;
}

/** At most this many warnings of at most this many characters each are passed on per webhook. */
const maxWarnings = 32;
const maxWarningLength = 1024;

function invalid(why: string): WebhookCallError {
  return new WebhookCallError(`received invalid webhook response: ${why}`);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A warning as a header can carry it: printable, one line, bounded. */
function cleanWarning(w: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
  const s = w.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  return s.length > maxWarningLength ? `${s.slice(0, maxWarningLength)}...` : s;
}

function parseStatus(v: unknown): ReviewStatus | undefined {
  if (!isPlainObject(v)) return undefined;
  const code = own(v, 'code');
  return {
    code: typeof code === 'number' && Number.isInteger(code) ? code : undefined,
    reason: str(own(v, 'reason')),
    message: str(own(v, 'message')),
    details: isPlainObject(own(v, 'details')) ? own(v, 'details') : undefined,
  };
}

/**
 * Checks and reads a webhook's answer; throws WebhookCallError when it is
 * not a well-formed AdmissionReview of `version` for request `uid`.
 */
export function parseReviewResponse(
  body: Buffer,
  o: { version: ReviewVersion; uid: string; mutating: boolean },
): ReviewResult {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new WebhookCallError(`failed to call webhook: the response is not JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(doc)) throw invalid('the response is not an object');
  if (deeperThan(doc, maxObjectDepth))
    throw invalid(`the response nests deeper than ${maxObjectDepth} levels`);
  const want = `admission.k8s.io/${o.version}`;
  const apiVersion = str(own(doc, 'apiVersion')) ?? '';
  const kind = str(own(doc, 'kind')) ?? '';
  if (apiVersion !== want || kind !== 'AdmissionReview')
    throw invalid(
      `expected webhook response of ${want}, Kind=AdmissionReview, got ${apiVersion}, Kind=${kind}`,
    );
  const r = own(doc, 'response');
  if (!isPlainObject(r)) throw invalid('webhook response was absent');
  const uid = str(own(r, 'uid')) ?? '';
  if (uid !== o.uid)
    throw invalid(`expected response.uid=${JSON.stringify(o.uid)}, got ${JSON.stringify(uid)}`);
  const allowed = own(r, 'allowed');
  if (allowed !== undefined && typeof allowed !== 'boolean')
    throw invalid('response.allowed is not a boolean');
  const patchType = own(r, 'patchType');
  if (patchType !== undefined && patchType !== null && patchType !== 'JSONPatch')
    throw invalid(`webhook returned invalid response.patchType of ${JSON.stringify(String(patchType))}`);
  const rawPatch = own(r, 'patch');
  const hasPatch = typeof rawPatch === 'string' && rawPatch !== '';
  if (rawPatch !== undefined && rawPatch !== null && typeof rawPatch !== 'string')
    throw invalid('response.patch is not a base64 string');
  let patch: unknown[] | undefined;
  if (!o.mutating) {
    if (hasPatch) throw invalid('validating webhook may not return response.patch');
    if (patchType !== undefined && patchType !== null)
      throw invalid('validating webhook may not return response.patchType');
  } else if (hasPatch) {
    if (patchType !== 'JSONPatch')
      throw invalid('webhook returned response.patch but not response.patchType');
    let ops: unknown;
    try {
      ops = JSON.parse(Buffer.from(rawPatch, 'base64').toString('utf8'));
    } catch (e) {
      throw invalid(`response.patch is not a JSON patch: ${(e as Error).message}`);
    }
    if (!Array.isArray(ops)) throw invalid('response.patch is not a JSON patch: not an array');
    patch = ops;
  }
  const warnings: string[] = [];
  const rawWarnings = own(r, 'warnings');
  if (Array.isArray(rawWarnings))
    for (const w of rawWarnings.slice(0, maxWarnings))
      if (typeof w === 'string' && w.trim()) warnings.push(cleanWarning(w));
  const auditAnnotations = new Map<string, string>();
  const rawAnnotations = own(r, 'auditAnnotations');
  if (isPlainObject(rawAnnotations))
    for (const [k, v] of Object.entries(rawAnnotations).slice(0, 32))
      if (typeof v === 'string') auditAnnotations.set(k.slice(0, 253), v.slice(0, 1024));
  return {
    allowed: allowed === true,
    status: parseStatus(own(r, 'status')),
    patch,
    warnings,
    auditAnnotations,
  };
}

const maxMessageLength = 32 * 1024;

/**
 * The error a refusal becomes, as Kubernetes' `ToStatusErr`: the webhook's
 * code (at least 400), its reason, and its message after `admission webhook
 * "NAME" denied the request`.
 */
export function rejection(webhook: string, s: ReviewStatus | undefined): StatusError {
  const deniedBy = `admission webhook ${JSON.stringify(webhook)} denied the request`;
  const code = s?.code !== undefined && s.code >= 400 && s.code <= 599 ? s.code : 400;
  const why = s?.message || s?.reason;
  const message = why ? `${deniedBy}: ${why}` : `${deniedBy} without explanation`;
  const reason = (s?.reason ?? '').slice(0, 128) as StatusReason;
  return new StatusError(code, reason, message.slice(0, maxMessageLength));
}
