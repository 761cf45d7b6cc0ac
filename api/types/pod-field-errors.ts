/**
 * Field error constructors and name-format checks for pod validation, worded
 * as Kubernetes words them. Kept local to the pod files on purpose (the
 * shared api/validation.ts is written separately); not re-exported from
 * `pod.ts`.
 */
import type { FieldError } from '../status.js';

export const required = (field: string, detail = ''): FieldError => ({
  type: 'FieldValueRequired',
  field,
  detail,
});
export const invalid = (field: string, value: unknown, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  value,
  detail,
});
export const duplicate = (field: string, value: unknown): FieldError => ({
  type: 'FieldValueDuplicate',
  field,
  value,
  detail: '',
});
export const forbidden = (field: string, detail: string): FieldError => ({
  type: 'FieldValueForbidden',
  field,
  detail,
});
export const notFound = (field: string, value: unknown): FieldError => ({
  type: 'FieldValueNotFound',
  field,
  value,
  detail: '',
});

/** Checks that `value` is one of `supported`; Required when empty. */
export function oneOf(
  errs: FieldError[],
  field: string,
  value: string | undefined,
  supported: string[],
): void {
  if (!value) errs.push(required(field));
  else if (!supported.includes(value))
    errs.push({
      type: 'FieldValueNotSupported',
      field,
      value,
      detail: `supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
    });
}

const labelRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const subdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Problems with `value` as a DNS-1123 label (container, volume and host names). */
export function dns1123LabelErrors(value: string): string[] {
  const out: string[] = [];
  if (value.length > 63) out.push('must be no more than 63 characters');
  if (!labelRe.test(value))
    out.push(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
  return out;
}

export function dns1123SubdomainErrors(value: string): string[] {
  const out: string[] = [];
  if (value.length > 253) out.push('must be no more than 253 characters');
  if (!subdomainRe.test(value))
    out.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  return out;
}

/** Problems with `value` as an IANA service name (a named port). */
export function portNameErrors(value: string): string[] {
  const out: string[] = [];
  if (value.length > 15) out.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(value))
    out.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (value.includes('--')) out.push('must not contain consecutive hyphens');
  if (!/[a-z]/.test(value)) out.push('must contain at least one letter (a-z)');
  if (value.startsWith('-') || value.endsWith('-')) out.push('must not begin or end with a hyphen');
  return out;
}

export function checkName(
  errs: FieldError[],
  field: string,
  value: string | undefined,
  check = dns1123LabelErrors,
) {
  if (!value) errs.push(required(field));
  else for (const msg of check(value)) errs.push(invalid(field, value, msg));
}

export const portRange = 'must be between 1 and 65535, inclusive';

export function checkPortNumber(errs: FieldError[], field: string, port: number | string | undefined): void {
  if (port === undefined || port === '' || port === 0) errs.push(required(field));
  else if (typeof port === 'number') {
    if (port < 1 || port > 65535) errs.push(invalid(field, port, portRange));
  } else for (const msg of portNameErrors(port)) errs.push(invalid(field, port, msg));
}
