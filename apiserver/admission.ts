/**
 * Admission: the ordered chain every write passes before storage. Decoding
 * checks (kind, apiVersion, schema, unknown fields per fieldValidation),
 * then mutation (defaults), then validation. Plain functions that tests
 * call without HTTP.
 */
import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import type { KubeObject } from '../api/meta.js';
import { apiVersionOf, type ResourceType } from '../api/registry.js';
import { type FieldError, type GroupResource, newBadRequest, newInvalid } from '../api/status.js';
import { validateObjectMeta, validateObjectMetaUpdate } from '../api/validation.js';
import type { UserInfo } from './authn.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export function parseFieldValidation(v: unknown): FieldValidation {
  if (v === undefined || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw newBadRequest(`fieldValidation must be one of "Ignore", "Warn" or "Strict", got "${String(v)}"`);
}

const checks = new WeakMap<TSchema, TypeCheck<TSchema>>();
function checkerFor(schema: TSchema): TypeCheck<TSchema> {
  let c = checks.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    checks.set(schema, c);
  }
  return c;
}

/** `/spec/containers/0/foo` → `spec.containers[0].foo` */
export function jsonPointerToField(path: string): string {
  let out = '';
  for (const raw of path.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

/**
 * Checks a decoded body against the kind's schema. Unknown fields are
 * rejected (Strict), reported as warnings (Warn) or dropped (Ignore); a value
 * of the wrong type is always a 400, as a decode error is in Kubernetes.
 * Returns the warnings to send back.
 */
export function checkSchema(
  rt: ResourceType,
  obj: KubeObject,
  mode: FieldValidation,
  patched = false,
): string[] {
  const check = checkerFor(rt.schema);
  const valid = check.Check(obj);
  if (valid && !rt.prune) return [];
  const unknown: string[] = [];
  const unknownPointers: string[] = [];
  const wrong: { field: string; message: string }[] = [];
  for (const e of valid ? [] : check.Errors(obj)) {
    if (e.type === ValueErrorType.ObjectAdditionalProperties) {
      unknown.push(jsonPointerToField(e.path));
      unknownPointers.push(e.path);
    } else if (e.type !== ValueErrorType.Union || !wrong.some((w) => e.path.startsWith(w.field))) {
      wrong.push({ field: e.path, message: e.message });
    }
  }
  if (wrong.length > 0) {
    const first = wrong[0];
    throw newBadRequest(
      `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: ${jsonPointerToField(first.field)}: ${first.message.toLowerCase()}`,
      wrong.map((w) => ({
        reason: 'FieldValueInvalid',
        field: jsonPointerToField(w.field),
        message: w.message,
      })),
    );
  }
  const cleaned = unknown.length > 0;
  // A custom resource's own schema: what it does not know is pruned (Kubernetes prunes before defaulting).
  if (rt.prune) unknown.push(...rt.prune(obj));
  if (unknown.length === 0) return [];
  if (mode === 'Strict') {
    const list = unknown.map((f) => `unknown field "${f}"`);
    // A decoded body's error names the kind; a patched object's does not (Kubernetes' create.go vs patch.go).
    const decoding = patched
      ? ''
      : `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: `;
    throw newBadRequest(
      `${decoding}strict decoding error: ${list.join(', ')}`,
      unknown.map((f) => ({ reason: 'FieldValueInvalid', field: f, message: `unknown field "${f}"` })),
    );
  }
  if (cleaned) {
    Value.Clean(rt.schema, obj);
    // Clean keeps a key that names a prototype member (`__proto__`); drop what it left.
    for (const p of unknownPointers) removeOwnAt(obj, p);
  }
  return mode === 'Warn' ? unknown.map((f) => `unknown field "${f}"`) : [];
}

/** Deletes the own property a JSON pointer names, if it is there. */
function removeOwnAt(doc: unknown, pointer: string): void {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let cur: unknown = doc;
  for (const part of parts.slice(0, -1)) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) return;
    cur = (cur as Record<string, unknown>)[part];
  }
  const last = parts.at(-1);
  if (last !== undefined && cur !== null && typeof cur === 'object' && Object.hasOwn(cur, last))
    delete (cur as Record<string, unknown>)[last];
}

/**
 * Checks apiVersion and kind of a body against the path it was sent to. A
 * decoded create or update body (`fromPath`) takes what it leaves out from
 * the path, as Kubernetes' decoder defaults a missing kind, and a missing
 * apiVersion, from the request's group, version and kind: clients send typed
 * objects without them. A patched or applied object must carry its own.
 */
export function checkTypeMeta(
  rt: ResourceType,
  obj: unknown,
  opts: { fromPath?: boolean } = {},
): asserts obj is KubeObject {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw newBadRequest(`the body of the request must be a JSON object of kind ${rt.kind}`);
  }
  const want = apiVersionOf(rt);
  const o = obj as Record<string, unknown>;
  if (opts.fromPath) {
    if (o.kind === undefined || o.kind === '') o.kind = rt.kind;
    if (o.apiVersion === undefined || o.apiVersion === '') o.apiVersion = want;
  }
  if (o.kind === undefined || o.kind === '') {
    throw newBadRequest(`Object 'Kind' is missing in '${JSON.stringify(obj).slice(0, 200)}'`);
  }
  if (o.kind !== rt.kind) {
    throw newBadRequest(
      `${String(o.kind)} in version "${String(o.apiVersion ?? '')}" cannot be handled as a ${rt.kind}: the object provided is unrecognized (must be of type ${rt.kind})`,
    );
  }
  if (o.apiVersion !== want) {
    throw newBadRequest(
      `the API version in the data (${String(o.apiVersion ?? '')}) does not match the expected API version (${want})`,
    );
  }
  if (o.metadata === undefined) o.metadata = {};
  if (o.metadata === null || typeof o.metadata !== 'object' || Array.isArray(o.metadata)) {
    throw newBadRequest(
      `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: metadata must be an object`,
    );
  }
}

/** Validation after defaults; throws 422 Invalid with every cause. `subresource` is the update's path. */
export function validate(rt: ResourceType, obj: KubeObject, old?: KubeObject, subresource?: string): void {
  const errs: FieldError[] = validateObjectMeta(obj.metadata, {
    namespaced: rt.namespaced,
    nameIsLabel: rt.nameIsLabel ?? false,
    validateName: rt.validateName,
    isCreate: old === undefined,
  });
  if (old) errs.push(...validateObjectMetaUpdate(obj.metadata, old.metadata));
  if (rt.validate) errs.push(...rt.validate(obj, old, subresource));
  if (errs.length > 0) {
    throw newInvalid(rt.kind, rt.group, obj.metadata.name ?? obj.metadata.generateName ?? '', errs);
  }
}

/** Runs defaults, as the mutating step of admission, and fills the kind's zeroStatus. */
export function applyDefaults(rt: ResourceType, obj: KubeObject): void {
  rt.defaults?.(obj);
  if (rt.zeroStatus)
    obj.status = { ...structuredClone(rt.zeroStatus), ...(obj.status as object | undefined) };
}

/**
 * What a validating admission plugin sees of a write, as Kubernetes'
 * admission.Attributes: the operation, the kind and subresource, the new
 * object (create, update) and the stored one (update, delete), and who
 * sent it. An eviction is a DELETE with subresource `eviction`.
 */
export interface AdmissionAttributes {
  /** CONNECT (pods/exec, attach, portforward) reaches only the admission webhooks, with the options as `obj`. */
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  rt: ResourceType;
  namespace: string;
  name: string;
  subresource: string;
  obj?: KubeObject;
  old?: KubeObject;
  user: UserInfo;
  dryRun: boolean;
  /** The response's Warning headers: a plugin may push to it (webhooks' warnings). */
  warnings?: string[];
}

/**
 * A validating admission plugin: throws a Status error to refuse. Every
 * store runs the same ordered chain, after defaults, mutation and
 * validation and before the write (on dry-run too); a plugin checks
 * `a.rt` itself and returns at once for kinds it does not handle. Writes
 * without a user (the apiserver's own) skip the chain.
 */
export type ValidatingAdmission = (a: AdmissionAttributes) => void | Promise<void>;

export async function runValidatingAdmission(
  chain: readonly ValidatingAdmission[],
  a: AdmissionAttributes,
): Promise<void> {
  for (const plugin of chain) await plugin(a);
}

/**
 * A mutating admission plugin (the mutating webhooks): may change `a.obj`
 * in place, or throw a Status error to refuse. Every store runs the same
 * ordered chain on every write by a user: on create and update after the
 * strategy, defaults and the kind's own mutation and before validation, so
 * what a plugin changes is validated (on dry-run too); on delete, where
 * there is no `a.obj` to change, before the validating chain. A plugin
 * keeps the object's identity (uid, name, namespace, kind); it checks
 * `a.rt` itself.
 */
export type MutatingAdmission = (a: AdmissionAttributes) => Promise<void>;

export async function runMutatingAdmission(
  chain: readonly MutatingAdmission[],
  a: AdmissionAttributes,
): Promise<void> {
  for (const plugin of chain) await plugin(a);
}

/**
 * A kind's own admission steps (declared in its entry under kinds/), in the
 * order the store runs them; every kind also passes the validating chain.
 */
export interface Admission {
  /**
   * Runs first on every delete, the apiserver's own included, and throws to
   * refuse it (NamespaceLifecycle keeps the system namespaces).
   */
  admitDelete?(name: string, gr: GroupResource): void;
  /**
   * Mutating admission of create only (the ServiceAccount plugin for pods):
   * runs after defaults and before validation, so what it adds is
   * validated, and on dry-run too. It may read other objects; it claims
   * nothing (that is `admit`).
   */
  mutateOnCreate?(obj: KubeObject): Promise<void>;
  /**
   * Validating admission of updates that depends on who writes (the
   * CertificateApproval and CertificateSigning plugins): runs after the
   * strategy and validation, on dry-run too, and throws to refuse. Writes
   * without a user (the apiserver's own) are not checked.
   */
  admitUpdate?(obj: KubeObject, old: KubeObject, subresource: string | undefined, user: UserInfo): void;
  /**
   * The last step before the write, not on dry-run: claims resources
   * outside the object (service IPs and node ports) and may fill fields;
   * its claims are rolled back if the write does not land. On create, and
   * on updates of the main resource.
   */
  admit?(obj: KubeObject, old: KubeObject | undefined): Promise<{ rollback(): Promise<void> }>;
}
