/**
 * apiregistration.k8s.io/v1 APIService: a group-version served elsewhere.
 * With spec.service the apiserver proxies `/apis/{group}/{version}/...` to
 * that Service (apiserver/aggregator/); without it the group-version is
 * served locally (the built-in ones). The name is `{version}.{group}`;
 * status.conditions carries Available, written by the apiserver. Defaults
 * and validation are kube-aggregator's.
 */
import type { Static } from '@sinclair/typebox';
import { ObjectMeta, TypeMeta } from '../meta.js';
import { ageColumn, column } from '../printers.js';
import type { ResourceType } from '../registry.js';
import { Bool, Int, MapList, Str, Struct, T, Time } from '../schema.js';
import type { FieldError } from '../status.js';
import {
  child,
  invalidError,
  isDNS1035Label,
  isDNS1123Subdomain,
  nameIsPathSegment,
  notSupportedError,
  requiredError,
} from '../validation.js';
import { decodeBase64 } from './secret.js';

export const APIServiceCondition = Struct({
  type: Str('Type of the condition: Available.'),
  status: Str('True, False or Unknown.'),
  lastTransitionTime: Time('When the condition last changed status.'),
  reason: Str('One word, CamelCase, why the condition is as it is.'),
  message: Str('Why, for people.'),
});
export type APIServiceCondition = Static<typeof APIServiceCondition>;

export const ServiceReference = Struct(
  {
    namespace: Str('Namespace of the service.'),
    name: Str('Name of the service.'),
    port: Int('Port of the service that serves the API (default 443).'),
  },
  'The Service that serves the group-version.',
);

export const APIService = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    spec: Struct(
      {
        service: ServiceReference,
        group: Str('The API group name.'),
        version: Str('The API version.'),
        insecureSkipTLSVerify: Bool('Do not check the serving certificate of the service (discouraged).'),
        caBundle: T.String({
          format: 'byte',
          description: 'PEM CA bundle that checks the serving certificate.',
        }),
        groupPriorityMinimum: Int('Priority of the group (1-20000): higher sorts first in discovery.'),
        versionPriority: Int('Priority of the version within its group (1-1000).'),
      },
      'Where the group-version is served.',
    ),
    status: Struct(
      {
        conditions: MapList(APIServiceCondition, ['type'], 'Current service state of the APIService.'),
      },
      'Whether the APIService is available.',
    ),
  },
  'APIService represents a server for a particular GroupVersion.',
);
export type APIService = Static<typeof APIService>;

/** The name an APIService for group-version must have: `{version}.{group}` (`v1.` for core). */
export function apiServiceName(group: string, version: string): string {
  return `${version}.${group}`;
}

/** The APIService's condition of `type`, if it has one. */
export function apiServiceCondition(a: APIService, type = 'Available'): APIServiceCondition | undefined {
  return a.status?.conditions?.find((c) => c.type === type);
}

/** kube-aggregator's ValidateAPIService. */
export function validateAPIService(a: APIService): FieldError[] {
  const spec = a.spec ?? {};
  const group = spec.group ?? '';
  const version = spec.version ?? '';
  const errs: FieldError[] = [];
  const required = apiServiceName(group, version);
  const name = a.metadata?.name;
  if (name !== undefined && name !== required)
    errs.push(invalidError('metadata.name', name, `must be \`spec.version+"."+spec.group\`: "${required}"`));
  if (group === '' && version !== 'v1')
    errs.push(requiredError('spec.group', 'only v1 may have an empty group and it better be legacy kube'));
  if (group !== '')
    for (const m of isDNS1123Subdomain(group)) errs.push(invalidError('spec.group', group, m));
  for (const m of isDNS1035Label(version)) errs.push(invalidError('spec.version', version, m));
  const gpm = spec.groupPriorityMinimum ?? 0;
  if (gpm <= 0 || gpm > 20000)
    errs.push(invalidError('spec.groupPriorityMinimum', gpm, 'must be positive and less than 20000'));
  const vp = spec.versionPriority ?? 0;
  if (vp <= 0 || vp > 1000)
    errs.push(invalidError('spec.versionPriority', vp, 'must be positive and less than 1000'));
  const ca = spec.caBundle ?? '';
  const caBytes = ca === '' ? Buffer.alloc(0) : decodeBase64(ca);
  if (!caBytes) errs.push(invalidError('spec.caBundle', '<bytes>', 'must be base64-encoded'));
  const svc = spec.service;
  if (!svc) {
    if (caBytes?.length)
      errs.push(
        invalidError('spec.caBundle', `${caBytes.length} bytes`, 'local APIServices may not have a caBundle'),
      );
    if (spec.insecureSkipTLSVerify)
      errs.push(
        invalidError(
          'spec.insecureSkipTLSVerify',
          true,
          'local APIServices may not have insecureSkipTLSVerify',
        ),
      );
    return errs;
  }
  const path = 'spec.service';
  if (!svc.namespace) errs.push(requiredError(child(path, 'namespace')));
  if (!svc.name) errs.push(requiredError(child(path, 'name')));
  const port = svc.port ?? 0;
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535))
    errs.push(
      invalidError(child(path, 'port'), port, 'port is not valid: must be between 1 and 65535, inclusive'),
    );
  if (spec.insecureSkipTLSVerify && caBytes?.length)
    errs.push(invalidError('spec.insecureSkipTLSVerify', true, 'may not be true if caBundle is present'));
  return errs;
}

const conditionStatuses = ['True', 'False', 'Unknown'];

/** kube-aggregator's ValidateAPIServiceStatus: each condition's status is True, False or Unknown. */
export function validateAPIServiceStatus(a: APIService): FieldError[] {
  const errs: FieldError[] = [];
  (a.status?.conditions ?? []).forEach((c, i) => {
    if (!conditionStatuses.includes(c.status ?? ''))
      errs.push(notSupportedError(`status.conditions[${i}].status`, c.status ?? '', conditionStatuses));
  });
  return errs;
}

/** The SERVICE column: `namespace/name`, or Local. */
function serviceCell(a: APIService): string {
  const s = a.spec?.service;
  return s ? `${s.namespace ?? ''}/${s.name ?? ''}` : 'Local';
}

/** The AVAILABLE column as kube-aggregator prints it: True, `False (Reason)`, or Unknown. */
export function availableCell(a: APIService): string {
  const c = apiServiceCondition(a);
  if (!c) return 'Unknown';
  if (c.status === 'True') return 'True';
  return c.reason ? `${c.status} (${c.reason})` : (c.status ?? 'Unknown');
}

export const apiregistrationTypes: ResourceType[] = [
  {
    group: 'apiregistration.k8s.io',
    version: 'v1',
    kind: 'APIService',
    plural: 'apiservices',
    singular: 'apiservice',
    shortNames: [],
    categories: ['api-extensions'],
    namespaced: false,
    subresources: ['status'],
    schema: APIService,
    zeroStatus: {},
    validateName: nameIsPathSegment,
    defaults: (obj) => {
      const svc = (obj as APIService).spec?.service;
      if (svc && svc.port === undefined) svc.port = 443;
    },
    validate: (obj, _old, subresource) =>
      subresource === 'status'
        ? validateAPIServiceStatus(obj as APIService)
        : [...validateAPIService(obj as APIService), ...validateAPIServiceStatus(obj as APIService)],
    columns: [
      column('Service', 'The service that serves the group-version, or Local.', (o) =>
        serviceCell(o as APIService),
      ),
      column('Available', 'Whether the group-version is available.', (o) => availableCell(o as APIService)),
      ageColumn,
    ],
  },
];
