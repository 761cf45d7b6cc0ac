/**
 * core/v1 Secret and ServiceAccount: schemas, defaulting, validation and
 * Table columns. Secret values travel base64-encoded in `data`; `stringData`
 * is a write-only convenience that defaulting folds into `data`, so it is
 * never stored or returned.
 */
import type { Static } from '@sinclair/typebox';
import { LocalObjectReference, ObjectMeta, TypeMeta } from '../meta.js';
import { setOwn } from '../plain.js';
import { column } from '../printers.js';
import type { ResourceType } from '../registry.js';
import { AtomicList, Bool, MapList, Str, StrMap, Struct } from '../schema.js';
import type { FieldError } from '../status.js';
import { forbiddenError, invalidError, requiredError, tooLongError } from '../validation.js';
import { immutableField, isConfigMapKey, ObjectReference, sameValue } from './core-common.js';

export const Secret = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    type: Str(
      'What the data is for, e.g. Opaque (default), kubernetes.io/tls, kubernetes.io/dockerconfigjson.',
    ),
    data: StrMap('Secret values, base64-encoded; keys are letters, digits, "-", "_" and ".".'),
    stringData: StrMap('Write-only plain-text values, merged into data on write (winning over it).'),
    immutable: Bool('If true, data cannot be changed after creation.'),
  },
  'A small amount of sensitive data, such as a password, token or key.',
);
export type Secret = Static<typeof Secret>;

/** Largest total size of a Secret's decoded values: 1 MiB. */
export const maxSecretSize = 1024 * 1024;
/** Annotation naming the ServiceAccount a token Secret belongs to. */
export const serviceAccountNameKey = 'kubernetes.io/service-account.name';

export function defaultSecret(secret: Secret): void {
  if (secret.stringData) {
    secret.data ??= {};
    for (const [k, v] of Object.entries(secret.stringData))
      setOwn(secret.data, k, Buffer.from(v, 'utf8').toString('base64'));
    delete secret.stringData;
  }
  secret.type ||= 'Opaque';
}

const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes standard, padded base64 (as Go's encoding/json does for []byte); undefined when malformed. */
export function decodeBase64(value: string): Buffer | undefined {
  const s = value.replace(/[\r\n]/g, '');
  return base64.test(s) ? Buffer.from(s, 'base64') : undefined;
}

export function validateSecret(secret: Secret, old?: Secret): FieldError[] {
  const errs: FieldError[] = [];
  const decoded = new Map<string, Buffer>();
  let size = 0;
  for (const [k, v] of Object.entries(secret.data ?? {})) {
    if (!isConfigMapKey(k))
      errs.push(
        invalidError(
          'data',
          k,
          "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        ),
      );
    const bytes = decodeBase64(v);
    if (!bytes) errs.push(invalidError(`data[${k}]`, '<secret contents redacted>', 'must be base64-encoded'));
    else {
      decoded.set(k, bytes);
      size += bytes.length;
    }
  }
  if (size > maxSecretSize) errs.push(tooLongError('data', maxSecretSize));
  errs.push(...validateSecretType(secret, decoded));
  if (old) {
    errs.push(...immutableField('type', secret.type, old.type));
    if (old.immutable) {
      if (!secret.immutable)
        errs.push(forbiddenError('immutable', 'field is immutable when `immutable` is set'));
      if (!sameValue(secret.data ?? {}, old.data ?? {}))
        errs.push(forbiddenError('data', 'field is immutable when `immutable` is set'));
    }
  }
  return errs;
}

/** The keys each built-in Secret type requires. */
function validateSecretType(secret: Secret, data: Map<string, Buffer>): FieldError[] {
  const has = (k: string) => secret.data?.[k] !== undefined;
  switch (secret.type) {
    case 'kubernetes.io/service-account-token':
      return secret.metadata?.annotations?.[serviceAccountNameKey]
        ? []
        : [requiredError(`metadata.annotations[${serviceAccountNameKey}]`)];
    case 'kubernetes.io/dockercfg':
      return dockerConfig(data, '.dockercfg', has);
    case 'kubernetes.io/dockerconfigjson':
      return dockerConfig(data, '.dockerconfigjson', has);
    case 'kubernetes.io/basic-auth':
      return has('username') || has('password')
        ? []
        : [requiredError('data[username]'), requiredError('data[password]')];
    case 'kubernetes.io/ssh-auth':
      return data.get('ssh-privatekey')?.length ? [] : [requiredError('data[ssh-privatekey]')];
    case 'kubernetes.io/tls':
      return ['tls.crt', 'tls.key'].filter((k) => !has(k)).map((k) => requiredError(`data[${k}]`));
    default:
      return [];
  }
}

function dockerConfig(data: Map<string, Buffer>, key: string, has: (k: string) => boolean): FieldError[] {
  if (!has(key)) return [requiredError(`data[${key}]`)];
  const bytes = data.get(key);
  if (!bytes) return []; // already reported as bad base64
  try {
    const parsed = JSON.parse(bytes.toString('utf8'));
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return [];
  } catch {}
  return [invalidError(`data[${key}]`, '<secret contents redacted>', 'must be a JSON object')];
}

// ---- ServiceAccount ----

export const ServiceAccount = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    secrets: MapList(
      ObjectReference,
      ['name'],
      'Secrets pods running as this account may use (legacy token Secrets).',
    ),
    imagePullSecrets: AtomicList(
      LocalObjectReference,
      'Secrets added to the image pull credentials of its pods.',
    ),
    automountServiceAccountToken: Bool('Whether pods running as this account get an API token mounted.'),
  },
  'An identity for processes that run in pods, to talk to the API.',
);
export type ServiceAccount = Static<typeof ServiceAccount>;

export const secretTypes: ResourceType[] = [
  {
    group: '',
    version: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    singular: 'secret',
    shortNames: [],
    categories: [],
    namespaced: true,
    subresources: [],
    schema: Secret,
    defaults: (obj) => defaultSecret(obj as Secret),
    validate: (obj, old) => validateSecret(obj as Secret, old as Secret | undefined),
    fieldLabels: (obj) => ({ type: (obj as Secret).type ?? '' }),
    columns: [
      column('Type', 'Type of the secret.', (o) => (o as Secret).type ?? ''),
      column('Data', 'Number of entries in data.', (o) => Object.keys((o as Secret).data ?? {}).length, {
        type: 'integer',
      }),
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    singular: 'serviceaccount',
    shortNames: ['sa'],
    categories: [],
    namespaced: true,
    returnDeletedObject: true,
    subresources: ['token'],
    schema: ServiceAccount,
    columns: [
      column(
        'Secrets',
        'Number of secrets of the account.',
        (o) => (o as ServiceAccount).secrets?.length ?? 0,
        {
          type: 'integer',
        },
      ),
    ],
  },
];
