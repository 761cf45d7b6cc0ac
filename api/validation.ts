/**
 * Kubernetes name rules and the generic checks on ObjectMeta that every kind
 * shares. The `is*` functions return a list of problems (empty when the value
 * is fine) worded exactly as Kubernetes words them, so `kubectl` users see the
 * messages they know; `validate*` functions return FieldErrors with paths.
 *
 * Field paths are plain strings (`metadata.ownerReferences[0].uid`); build them
 * with `child`, `index` and `key` so every kind spells them the same way.
 */
import type { ObjectMeta, OwnerReference } from './meta.js';
import type { FieldError } from './status.js';

// ---- field paths and field errors ------------------------------------------------

/** `child('metadata', 'name')` is `metadata.name`; an empty path yields just the names. */
export function child(path: string, ...names: string[]): string {
  return [path, ...names].filter((p) => p !== '').join('.');
}

/** `index('spec.containers', 0)` is `spec.containers[0]`. */
export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}

/** `key('metadata.labels', 'app')` is `metadata.labels[app]`, a map entry. */
export function key(path: string, k: string): string {
  return `${path}[${k}]`;
}

export function requiredError(field: string, detail = ''): FieldError {
  return { type: 'FieldValueRequired', field, detail };
}

export function invalidError(field: string, value: unknown, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field, value, detail };
}

export function forbiddenError(field: string, detail: string): FieldError {
  return { type: 'FieldValueForbidden', field, detail };
}

export function duplicateError(field: string, value: unknown): FieldError {
  return { type: 'FieldValueDuplicate', field, value, detail: '' };
}

export function notSupportedError(field: string, value: unknown, supported: readonly string[]): FieldError {
  const detail = supported.length
    ? `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`
    : '';
  return { type: 'FieldValueNotSupported', field, value, detail };
}

/** The value itself is left out of the message, as Kubernetes does for oversized values. */
export function tooLongError(field: string, maxBytes: number): FieldError {
  return {
    type: 'FieldValueTooLong',
    field,
    detail: `may not be more than ${maxBytes} ${maxBytes === 1 ? 'byte' : 'bytes'}`,
  };
}

/** One field error as text, as `field.Error.Error()` renders it: `path: Invalid value: "x": detail`. */
export { formatFieldError } from './status.js';

// ---- name rules ------------------------------------------------------------------

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Builds a message as `validation.RegexError` does, double spaces between examples included. */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  const shown = examples.map((e, i) => `${i > 0 ? ' or ' : ''}'${e}', `).join('');
  return `${msg} (e.g. ${shown}regex used for validation is '${fmt}')`;
}

/** Names count characters; label keys and values count bytes (Kubernetes words them differently). */
const maxLenError = (n: number, unit: 'characters' | 'bytes' = 'characters') =>
  `must be no more than ${n} ${unit}`;

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123LabelRe = new RegExp(`^${dns1123LabelFmt}$`);
const dns1123LabelErrMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
export const DNS1123LabelMaxLength = 63;

const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1123SubdomainRe = new RegExp(`^${dns1123SubdomainFmt}$`);
const dns1123SubdomainErrMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
export const DNS1123SubdomainMaxLength = 253;

const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const dns1035LabelRe = new RegExp(`^${dns1035LabelFmt}$`);
const dns1035LabelErrMsg =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
export const DNS1035LabelMaxLength = 63;

const labelKeyFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const labelKeyRe = new RegExp(`^${labelKeyFmt}$`);
const labelKeyErrMsg =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const labelKeyMaxLength = 63;

const labelValueFmt = `(${labelKeyFmt})?`;
const labelValueRe = new RegExp(`^${labelValueFmt}$`);
const labelValueErrMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
export const LabelValueMaxLength = 63;

/** A DNS label (RFC 1123): namespace names, and names of kinds that become hostnames. */
export function isDNS1123Label(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > DNS1123LabelMaxLength) errs.push(maxLenError(DNS1123LabelMaxLength));
  if (!dns1123LabelRe.test(value)) {
    if (dns1123SubdomainRe.test(value)) errs.push('must not contain dots');
    else errs.push(regexError(dns1123LabelErrMsg, dns1123LabelFmt, 'my-name', '123-abc'));
  }
  return errs;
}

function dns1123Subdomain(value: string, unit: 'characters' | 'bytes'): string[] {
  const errs: string[] = [];
  if (byteLength(value) > DNS1123SubdomainMaxLength) errs.push(maxLenError(DNS1123SubdomainMaxLength, unit));
  if (!dns1123SubdomainRe.test(value))
    errs.push(regexError(dns1123SubdomainErrMsg, dns1123SubdomainFmt, 'example.com'));
  return errs;
}

/** A DNS subdomain (RFC 1123): the name rule of most kinds. */
export function isDNS1123Subdomain(value: string): string[] {
  return dns1123Subdomain(value, 'characters');
}

/** A DNS-1035 label: must start with a letter (Service names). */
export function isDNS1035Label(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > DNS1035LabelMaxLength) errs.push(maxLenError(DNS1035LabelMaxLength));
  if (!dns1035LabelRe.test(value))
    errs.push(regexError(dns1035LabelErrMsg, dns1035LabelFmt, 'my-name', 'abc-123'));
  return errs;
}

/**
 * A qualified name: label and annotation keys, finalizers. An optional DNS
 * subdomain prefix and '/', then a name part of at most 63 bytes.
 */
export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else errs.push(...dns1123Subdomain(prefix, 'bytes').map((m) => `prefix part ${m}`));
  } else {
    return [
      `a valid label key ${regexError(labelKeyErrMsg, labelKeyFmt, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (byteLength(name) > labelKeyMaxLength)
    errs.push(`name part ${maxLenError(labelKeyMaxLength, 'bytes')}`);
  if (!labelKeyRe.test(name))
    errs.push(`name part ${regexError(labelKeyErrMsg, labelKeyFmt, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

/** A label value: empty, or up to 63 bytes of alphanumerics, '-', '_' and '.'. */
export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > LabelValueMaxLength) errs.push(maxLenError(LabelValueMaxLength, 'bytes'));
  if (!labelValueRe.test(value))
    errs.push(regexError(labelValueErrMsg, labelValueFmt, 'MyValue', 'my_value', '12345'));
  return errs;
}

/** Checks a name, or with `prefix` a generateName (which may end in '-'). */
export type NameValidator = (name: string, prefix: boolean) => string[];

/**
 * A generateName may end in '-'; Kubernetes checks it by replacing the last
 * two characters with 'a', and so do we, so the same prefixes pass.
 */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name;
}

export const nameIsDNSSubdomain: NameValidator = (name, prefix) =>
  isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name);
export const nameIsDNSLabel: NameValidator = (name, prefix) =>
  isDNS1123Label(prefix ? maskTrailingDash(name) : name);
/**
 * RBAC object names, Kubernetes' `IsValidPathSegmentName`: anything but "."
 * and "..", without "/" or "%". A generateName is held to the same rule.
 */
export const nameIsPathSegment: NameValidator = (name) => {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  return ['/', '%'].filter((c) => name.includes(c)).map((c) => `may not contain '${c}'`);
};
export const nameIsDNS1035Label: NameValidator = (name, prefix) =>
  isDNS1035Label(prefix ? maskTrailingDash(name) : name);

// ---- metadata parts --------------------------------------------------------------

export const TotalAnnotationSizeLimitB = 256 * 1024;
const immutable = 'field is immutable';

export function validateLabels(labels: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const m of isQualifiedName(k)) errs.push(invalidError(path, k, m));
    for (const m of isValidLabelValue(v)) errs.push(invalidError(path, v, m));
  }
  return errs;
}

export function validateAnnotations(
  annotations: Record<string, string> | undefined,
  path: string,
): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    // Annotation keys may use upper case in the prefix, so Kubernetes checks the lowered key.
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(invalidError(path, k, m));
    size += byteLength(k) + byteLength(v);
  }
  if (size > TotalAnnotationSizeLimitB) errs.push(tooLongError(path, TotalAnnotationSizeLimitB));
  return errs;
}

/** `""` is fine ("v1" style), `group/version` is fine; more slashes or no version is not. */
function isValidApiVersion(apiVersion: string): boolean {
  if (apiVersion === '/') return false;
  const parts = apiVersion.split('/');
  if (parts.length === 1) return true;
  return parts.length === 2 && parts[1] !== '';
}

function validateOwnerReference(ref: OwnerReference, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const apiVersion = ref.apiVersion ?? '';
  if (!apiVersion) errs.push(requiredError(child(path, 'apiVersion'), 'must not be empty'));
  else if (!isValidApiVersion(apiVersion))
    errs.push(invalidError(child(path, 'apiVersion'), apiVersion, 'must be <group>/<version> or <version>'));
  if (!ref.kind) errs.push(requiredError(child(path, 'kind'), 'must not be empty'));
  if (!ref.name) errs.push(requiredError(child(path, 'name'), 'must not be empty'));
  if (!ref.uid) errs.push(requiredError(child(path, 'uid'), 'must not be empty'));
  if (apiVersion === 'v1' && ref.kind === 'Event')
    errs.push(invalidError(path, ref, '/v1, Kind=Event is disallowed from being an owner'));
  return errs;
}

export function validateOwnerReferences(refs: OwnerReference[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let firstController = '';
  (refs ?? []).forEach((ref, i) => {
    errs.push(...validateOwnerReference(ref, index(path, i)));
    if (ref.controller !== true) return;
    const name = `${ref.kind}/${ref.name}`;
    if (!firstController) firstController = name;
    else
      errs.push(
        invalidError(
          path,
          refs,
          `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${name}`,
        ),
      );
  });
  return errs;
}

export function validateFinalizers(finalizers: string[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of finalizers ?? []) for (const m of isQualifiedName(f)) errs.push(invalidError(path, f, m));
  if (finalizers?.includes('orphan') && finalizers.includes('foregroundDeletion'))
    errs.push(invalidError(path, finalizers, 'finalizer orphan and foregroundDeletion cannot be both set'));
  return errs;
}

/** Checks a metav1.LabelSelector as written in a spec (Deployment, Service...). */
export function validateLabelSelector(
  sel:
    | {
        matchLabels?: Record<string, string>;
        matchExpressions?: { key?: string; operator?: string; values?: string[] }[];
      }
    | undefined,
  path: string,
): FieldError[] {
  if (!sel) return [];
  const errs = validateLabels(sel.matchLabels, child(path, 'matchLabels'));
  (sel.matchExpressions ?? []).forEach((expr, i) => {
    const p = index(child(path, 'matchExpressions'), i);
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0)
          errs.push(
            requiredError(child(p, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"),
          );
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0)
          errs.push(
            forbiddenError(
              child(p, 'values'),
              "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
          );
        break;
      default:
        errs.push(invalidError(child(p, 'operator'), expr.operator ?? '', 'not a valid selector operator'));
    }
    for (const m of isQualifiedName(expr.key ?? ''))
      errs.push(invalidError(child(p, 'key'), expr.key ?? '', m));
    values.forEach((v, j) => {
      for (const m of isValidLabelValue(v)) errs.push(invalidError(index(child(p, 'values'), j), v, m));
    });
  });
  return errs;
}

// ---- ObjectMeta ------------------------------------------------------------------

export interface ObjectMetaOptions {
  /**
   * Namespaced kinds have their namespace's format checked here. Whether it is
   * present (namespaced) or dropped (cluster-scoped) is the apiserver's call.
   */
  namespaced: boolean;
  /** Names must be DNS-1123 labels (63 chars) rather than subdomains. */
  nameIsLabel?: boolean;
  /** A kind's own name rule (e.g. nameIsDNS1035Label for Services); wins over nameIsLabel. */
  validateName?: NameValidator;
  /** On create a name may still be missing when generateName will make one. */
  isCreate?: boolean;
}

/** Generic checks on an object's metadata, as Kubernetes' ValidateObjectMeta does them. */
export function validateObjectMeta(meta: ObjectMeta | undefined, opts: ObjectMetaOptions): FieldError[] {
  const m = meta ?? {};
  const path = 'metadata';
  const nameFn = opts.validateName ?? (opts.nameIsLabel ? nameIsDNSLabel : nameIsDNSSubdomain);
  const errs: FieldError[] = [];
  if (m.generateName) {
    for (const msg of nameFn(m.generateName, true))
      errs.push(invalidError(child(path, 'generateName'), m.generateName, msg));
  }
  if (!m.name) {
    if (!(opts.isCreate && m.generateName))
      errs.push(requiredError(child(path, 'name'), 'name or generateName is required'));
  } else {
    for (const msg of nameFn(m.name, false)) errs.push(invalidError(child(path, 'name'), m.name, msg));
  }
  if (opts.namespaced && m.namespace) {
    for (const msg of nameIsDNSLabel(m.namespace, false))
      errs.push(invalidError(child(path, 'namespace'), m.namespace, msg));
  }
  if (m.generation !== undefined && m.generation < 0)
    errs.push(invalidError(child(path, 'generation'), m.generation, 'must be greater than or equal to 0'));
  errs.push(...validateLabels(m.labels, child(path, 'labels')));
  errs.push(...validateAnnotations(m.annotations, child(path, 'annotations')));
  errs.push(...validateOwnerReferences(m.ownerReferences, child(path, 'ownerReferences')));
  errs.push(...validateFinalizers(m.finalizers, child(path, 'finalizers')));
  return errs;
}

/** Go's `%#v` of a []string, which Kubernetes puts in the no-new-finalizers message. */
const goStringSlice = (xs: string[]): string => `[]string{${xs.map((x) => JSON.stringify(x)).join(', ')}}`;

const unset = (v: unknown): boolean => v === undefined || v === null || v === '';

function immutableField(path: string, newVal: unknown, oldVal: unknown): FieldError[] {
  if (unset(newVal) && unset(oldVal)) return [];
  return newVal === oldVal ? [] : [invalidError(path, newVal ?? '', immutable)];
}

/** For fields the server owns: leaving them out of an update keeps the old value. */
function immutableIfSet(path: string, newVal: unknown, oldVal: unknown): FieldError[] {
  return unset(newVal) ? [] : immutableField(path, newVal, oldVal);
}

/**
 * Checks an update of metadata: identity (name, namespace, uid,
 * creationTimestamp) may not change, no finalizer may be added once deletion
 * began, and the new labels, annotations, owners and finalizers must be well
 * formed. generateName may change freely: it only matters on create.
 *
 * A uid or creationTimestamp left out of the update counts as unchanged: the
 * apiserver copies the stored values over, as Kubernetes' BeforeUpdate does,
 * so `kubectl replace -f` of a file without them works.
 */
export function validateObjectMetaUpdate(
  newMeta: ObjectMeta | undefined,
  oldMeta: ObjectMeta | undefined,
): FieldError[] {
  const n = newMeta ?? {};
  const o = oldMeta ?? {};
  const path = 'metadata';
  const errs: FieldError[] = [];
  if (o.deletionTimestamp) {
    const old = new Set(o.finalizers ?? []);
    const extra = [...new Set((n.finalizers ?? []).filter((f) => !old.has(f)))].sort();
    if (extra.length)
      errs.push(
        forbiddenError(
          child(path, 'finalizers'),
          `no new finalizers can be added if the object is being deleted, found new finalizers ${goStringSlice(extra)}`,
        ),
      );
  }
  if (n.generation !== undefined && n.generation < 0)
    errs.push(invalidError(child(path, 'generation'), n.generation, 'must be greater than or equal to 0'));
  errs.push(...immutableField(child(path, 'name'), n.name, o.name));
  errs.push(...immutableField(child(path, 'namespace'), n.namespace, o.namespace));
  errs.push(...immutableIfSet(child(path, 'uid'), n.uid, o.uid));
  errs.push(...immutableIfSet(child(path, 'creationTimestamp'), n.creationTimestamp, o.creationTimestamp));
  errs.push(...validateLabels(n.labels, child(path, 'labels')));
  errs.push(...validateAnnotations(n.annotations, child(path, 'annotations')));
  errs.push(...validateOwnerReferences(n.ownerReferences, child(path, 'ownerReferences')));
  errs.push(...validateFinalizers(n.finalizers, child(path, 'finalizers')));
  return errs;
}
