/**
 * Pieces shared by the core/v1 kinds beside core.ts: object references,
 * nullable timestamps, and the field checks their validation uses besides
 * those of ../validation.ts (IPs, CIDRs, ports, enum values, immutability),
 * worded as Kubernetes words them
 * (`spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive`).
 */
import { isIP } from 'node:net';
import type { Static } from '@sinclair/typebox';
import { Str, Struct, T, Time } from '../schema.js';
import { stableJson } from '../stable-json.js';
import type { FieldError } from '../status.js';
import { invalidError, notSupportedError } from '../validation.js';

/** A metav1.Time that Go marshals as null when it is zero (no omitempty on a struct). */
export const MaybeTime = (description?: string) =>
  T.Union([Time(), T.Null()], description ? { description } : {});

export const ObjectReference = Struct(
  {
    kind: Str('Kind of the referent.'),
    namespace: Str('Namespace of the referent.'),
    name: Str('Name of the referent.'),
    uid: Str('UID of the referent.'),
    apiVersion: Str('API version of the referent.'),
    resourceVersion: Str('Specific resourceVersion of the referent, if any.'),
    fieldPath: Str('Part of the object meant, e.g. spec.containers{app}.'),
  },
  'Points at another object, possibly at one field of it.',
);
export type ObjectReference = Static<typeof ObjectReference>;

export const SecretReference = Struct(
  {
    name: Str('Name of the Secret.'),
    namespace: Str('Namespace of the Secret.'),
  },
  'Names a Secret in any namespace.',
);

// ---- field checks (error builders and name rules live in ../validation.ts) ----

/** Unsupported-value error when `value` is set and not one of `allowed`. */
export function oneOf(field: string, value: string | undefined, allowed: readonly string[]): FieldError[] {
  return value === undefined || allowed.includes(value) ? [] : [notSupportedError(field, value, allowed)];
}

/** Deep equality of JSON values, ignoring key order; undefined members count as absent. */
export function sameValue(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}

/** "field is immutable" when `now` differs from `before`. */
export function immutableField(field: string, now: unknown, before: unknown): FieldError[] {
  return sameValue(now, before) ? [] : [invalidError(field, now, 'field is immutable')];
}

/** Runs a name rule (isDNS1123Label, isQualifiedName...) and turns its messages into errors. */
export function checkName(field: string, value: string, rule: (v: string) => string[]): FieldError[] {
  return rule(value).map((m) => invalidError(field, value, m));
}

/** A key of a ConfigMap or Secret: letters, digits, '-', '_', '.'; not '.' or '..'. */
export function isConfigMapKey(s: string): boolean {
  return s.length <= 253 && /^[-._a-zA-Z0-9]+$/.test(s) && s !== '.' && s !== '..' && !s.startsWith('..');
}

export function validateIP(value: string, field: string): FieldError[] {
  return isIP(value)
    ? []
    : [invalidError(field, value, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')];
}

export function isCIDR(value: string): boolean {
  const [ip, bits, ...rest] = value.split('/');
  if (rest.length > 0 || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const family = isIP(ip);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}

export function validateCIDR(value: string, field: string): FieldError[] {
  return isCIDR(value)
    ? []
    : [invalidError(field, value, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)')];
}

export function validatePortNumber(port: number | undefined, field: string): FieldError[] {
  return port !== undefined && Number.isInteger(port) && port >= 1 && port <= 65535
    ? []
    : [invalidError(field, port ?? 0, 'must be between 1 and 65535, inclusive')];
}

/** An IANA service name: up to 15 lowercase letters, digits and single inner '-', with a letter. */
export function isPortName(name: string): boolean {
  return (
    name.length >= 1 &&
    name.length <= 15 &&
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) &&
    !name.includes('--') &&
    /[a-z]/.test(name)
  );
}

/** A port given as a number (1-65535) or as the name of a container port. */
export function validatePortNumOrName(port: number | string | undefined, field: string): FieldError[] {
  if (typeof port === 'number') return validatePortNumber(port, field);
  if (port === undefined || isPortName(port)) return [];
  return [
    invalidError(
      field,
      port,
      'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), at most 15 characters, with at least one letter',
    ),
  ];
}

export const protocols = ['SCTP', 'TCP', 'UDP'] as const;
