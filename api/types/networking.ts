/**
 * networking.k8s.io/v1 Ingress and IngressClass: HTTP routing from outside
 * the cluster to Services, carried out by an ingress controller.
 */
import { isIP } from 'node:net';
import type { Static } from '@sinclair/typebox';
import { ObjectMeta, TypeMeta } from '../meta.js';
import { ageColumn, column } from '../printers.js';
import type { ResourceType } from '../registry.js';
import { Int, List, Str, Struct } from '../schema.js';
import type { FieldError } from '../status.js';
import {
  child,
  forbiddenError,
  index,
  invalidError,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  notSupportedError,
  requiredError,
  tooLongError,
} from '../validation.js';
import { isPortName } from './core-common.js';

export const pathTypes = ['Exact', 'ImplementationSpecific', 'Prefix'] as const;
const ingressClassAnnotation = 'kubernetes.io/ingress.class';
const maxControllerLength = 250;

const TypedLocalObjectReference = Struct({
  apiGroup: Str('API group of the referent; empty for the core group.'),
  kind: Str('Kind of the referent.'),
  name: Str('Name of the referent.'),
});

export const IngressServiceBackend = Struct(
  {
    name: Str('Name of the Service, in the ingress namespace.'),
    port: Struct({
      name: Str('Name of the Service port.'),
      number: Int('Number of the Service port.'),
    }),
  },
  'A Service port to send matching requests to.',
);

export const IngressBackend = Struct(
  {
    service: IngressServiceBackend,
    resource: TypedLocalObjectReference,
  },
  'Where matching requests go: a Service port, or another object the controller knows; exactly one.',
);
export type IngressBackend = Static<typeof IngressBackend>;

export const HTTPIngressPath = Struct(
  {
    path: Str('Path to match against the request path; starts with "/".'),
    pathType: Str('Exact, Prefix (by path element) or ImplementationSpecific; required.'),
    backend: IngressBackend,
  },
  'One path of a rule and the backend it routes to.',
);
export type HTTPIngressPath = Static<typeof HTTPIngressPath>;

export const IngressRule = Struct(
  {
    host: Str('Host to match (a DNS name, possibly "*.example.com"); empty matches every host.'),
    http: Struct({ paths: List(HTTPIngressPath, 'Paths, each routed to a backend.') }),
  },
  'Routes the requests for one host.',
);
export type IngressRule = Static<typeof IngressRule>;

export const IngressTLS = Struct(
  {
    hosts: List(Str(), 'Hosts the certificate covers.'),
    secretName: Str('Secret holding the certificate and key.'),
  },
  'TLS for a set of hosts.',
);

const IngressPortStatus = Struct(
  {
    port: Int('Port number.'),
    protocol: Str('TCP, UDP or SCTP.'),
    error: Str('Why the port could not be opened, if it was not.'),
  },
  'The state of one port of a load balancer.',
);

export const IngressSpec = Struct(
  {
    ingressClassName: Str('IngressClass whose controller should carry out this ingress.'),
    defaultBackend: IngressBackend,
    tls: List(IngressTLS, 'TLS settings; port 443 is served when set.'),
    rules: List(IngressRule, 'Host rules; requests matching none go to defaultBackend.'),
  },
  'How requests for hosts and paths are routed to services.',
);

export const IngressStatus = Struct(
  {
    loadBalancer: Struct(
      {
        ingress: List(
          Struct({
            ip: Str('IP address of an ingress point.'),
            hostname: Str('Hostname of an ingress point.'),
            ports: List(IngressPortStatus),
          }),
          'Where the load balancer takes traffic.',
        ),
      },
      'The load balancer that serves this ingress.',
    ),
  },
  'The observed state of an ingress: where it can be reached.',
);

export const Ingress = Struct(
  { ...TypeMeta, metadata: ObjectMeta, spec: IngressSpec, status: IngressStatus },
  'An ingress: rules that route outside HTTP(S) traffic to Services by host and path.',
);
export type Ingress = Static<typeof Ingress>;

export const IngressClass = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    spec: Struct(
      {
        controller: Str(
          'Name of the controller that serves this class, e.g. "example.com/ingress-controller".',
        ),
        parameters: Struct(
          {
            ...TypedLocalObjectReference.properties,
            scope: Str('Cluster (default) or Namespace.'),
            namespace: Str('Namespace of the parameters object, when scope is Namespace.'),
          },
          'An object holding controller-specific settings for the class.',
        ),
      },
      'The desired state of an ingress class: the controller that implements it.',
    ),
  },
  'An ingress class: names the controller that should carry out ingresses of this class.',
);
export type IngressClass = Static<typeof IngressClass>;

// ---- validation ----

/** Host rules: a DNS subdomain, or one with a leading "*." wildcard; never an IP. */
function validateHost(host: string, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (isIP(host)) errs.push(invalidError(path, host, 'must be a DNS name, not an IP address'));
  if (host.includes('*')) {
    if (!host.startsWith('*.') || isDNS1123Subdomain(host.slice(2)).length > 0)
      errs.push(
        invalidError(
          path,
          host,
          "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain",
        ),
      );
  } else {
    for (const m of isDNS1123Subdomain(host)) errs.push(invalidError(path, host, m));
  }
  return errs;
}

function validateTypedRef(ref: Static<typeof TypedLocalObjectReference>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (ref.apiGroup)
    for (const m of isDNS1123Subdomain(ref.apiGroup))
      errs.push(invalidError(child(path, 'apiGroup'), ref.apiGroup, m));
  for (const f of ['kind', 'name'] as const) {
    const v = ref[f];
    if (!v) errs.push(requiredError(child(path, f), `${f} is required`));
    else if (v === '.' || v === '..' || /[/%]/.test(v))
      errs.push(invalidError(child(path, f), v, `may not be '.' or '..' or contain '/' or '%'`));
  }
  return errs;
}

export function validateIngressBackend(b: IngressBackend, path: string): FieldError[] {
  if (b.resource && b.service)
    return [invalidError(path, '', 'cannot set both resource and service backends')];
  if (b.resource) return validateTypedRef(b.resource, child(path, 'resource'));
  if (!b.service) return [invalidError(path, '', 'resource or service backend is required')];
  const errs: FieldError[] = [];
  const name = b.service.name ?? '';
  if (!name) errs.push(requiredError(child(path, 'service', 'name')));
  else for (const m of isDNS1035Label(name)) errs.push(invalidError(child(path, 'service', 'name'), name, m));
  const portName = b.service.port?.name ?? '';
  const portNumber = b.service.port?.number ?? 0;
  if (portName && portNumber) errs.push(invalidError(path, '', 'cannot set both port name & port number'));
  else if (portName) {
    if (!isPortName(portName))
      errs.push(
        invalidError(
          child(path, 'service', 'port', 'name'),
          portName,
          'must be an IANA service name: at most 15 lower case alphanumerics or inner single hyphens, with a letter',
        ),
      );
  } else if (portNumber) {
    if (portNumber < 1 || portNumber > 65535)
      errs.push(
        invalidError(
          child(path, 'service', 'port', 'number'),
          portNumber,
          'must be between 1 and 65535, inclusive',
        ),
      );
  } else errs.push(requiredError(path, 'port name or number is required'));
  return errs;
}

function validatePath(p: HTTPIngressPath, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const value = p.path ?? '';
  const pathField = child(path, 'path');
  if (p.pathType === undefined) return [requiredError(child(path, 'pathType'), 'pathType must be specified')];
  if (p.pathType === 'Exact' || p.pathType === 'Prefix') {
    if (!value.startsWith('/')) errs.push(invalidError(pathField, value, 'must be an absolute path'));
    for (const seq of ['//', '/./', '/../', '%2f', '%2F'])
      if (value.includes(seq)) errs.push(invalidError(pathField, value, `must not contain '${seq}'`));
    for (const end of ['/..', '/.'])
      if (value.endsWith(end)) errs.push(invalidError(pathField, value, `cannot end with '${end}'`));
  } else if (p.pathType === 'ImplementationSpecific') {
    if (value && !value.startsWith('/'))
      errs.push(invalidError(pathField, value, 'must be an absolute path'));
  } else {
    errs.push(notSupportedError(child(path, 'pathType'), p.pathType, pathTypes));
  }
  errs.push(...validateIngressBackend(p.backend ?? {}, child(path, 'backend')));
  return errs;
}

function validateRules(rules: IngressRule[]): FieldError[] {
  const errs: FieldError[] = [];
  rules.forEach((rule, i) => {
    const p = index('spec.rules', i);
    if (rule.host) errs.push(...validateHost(rule.host, child(p, 'host')));
    if (!rule.http) return;
    const paths = rule.http.paths ?? [];
    if (paths.length === 0) errs.push(requiredError(child(p, 'http', 'paths')));
    paths.forEach((hp, j) => {
      errs.push(...validatePath(hp, index(child(p, 'http', 'paths'), j)));
    });
  });
  return errs;
}

export function validateIngress(obj: Ingress, old?: Ingress): FieldError[] {
  const spec = obj.spec ?? {};
  const errs: FieldError[] = [];
  const rules = spec.rules ?? [];
  if (rules.length === 0 && !spec.defaultBackend)
    errs.push(
      invalidError('spec', spec.rules ?? null, 'either `defaultBackend` or `rules` must be specified'),
    );
  if (spec.defaultBackend) errs.push(...validateIngressBackend(spec.defaultBackend, 'spec.defaultBackend'));
  errs.push(...validateRules(rules));
  (spec.tls ?? []).forEach((tls, i) => {
    (tls.hosts ?? []).forEach((h, j) => {
      errs.push(...validateHost(h, index(child(index('spec.tls', i), 'hosts'), j)));
    });
  });
  if (spec.ingressClassName)
    for (const m of isDNS1123Subdomain(spec.ingressClassName))
      errs.push(invalidError('spec.ingressClassName', spec.ingressClassName, m));
  const annotated = obj.metadata?.annotations?.[ingressClassAnnotation];
  // On create only, as Kubernetes: older objects may carry both from before the field existed.
  if (
    !old &&
    annotated !== undefined &&
    spec.ingressClassName !== undefined &&
    annotated !== spec.ingressClassName
  )
    errs.push(
      invalidError(
        `metadata.annotations.${ingressClassAnnotation}`,
        annotated,
        'must match `ingressClassName` when both are specified',
      ),
    );
  return errs;
}

/** A controller name is a domain-prefixed path: `example.com/ingress`. */
function validateController(controller: string, path: string): FieldError[] {
  if (!controller) return [requiredError(path)];
  if (controller.length > maxControllerLength) return [tooLongError(path, maxControllerLength)];
  const slash = controller.indexOf('/');
  if (slash < 0)
    return [invalidError(path, controller, 'must be a domain-prefixed path (such as "acme.io/foo")')];
  const errs = isDNS1123Subdomain(controller.slice(0, slash)).map((m) => invalidError(path, controller, m));
  if (!/^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(controller.slice(slash + 1)))
    errs.push(invalidError(path, controller, 'path segment must contain only valid URL path characters'));
  return errs;
}

export function validateIngressClass(obj: IngressClass, old?: IngressClass): FieldError[] {
  const spec = obj.spec ?? {};
  const errs = validateController(spec.controller ?? '', 'spec.controller');
  const params = spec.parameters;
  if (params) {
    const p = 'spec.parameters';
    errs.push(...validateTypedRef(params, p));
    if (params.scope === undefined) errs.push(requiredError(child(p, 'scope')));
    else if (params.scope !== 'Cluster' && params.scope !== 'Namespace')
      errs.push(notSupportedError(child(p, 'scope'), params.scope, ['Cluster', 'Namespace']));
    else if (params.scope === 'Namespace') {
      if (params.namespace === undefined)
        errs.push(requiredError(child(p, 'namespace'), "`parameters.scope` is set to 'Namespace'"));
      else
        for (const m of isDNS1123Label(params.namespace))
          errs.push(invalidError(child(p, 'namespace'), params.namespace, m));
    } else if (params.namespace !== undefined) {
      errs.push(forbiddenError(child(p, 'namespace'), "`parameters.scope` is set to 'Cluster'"));
    }
  }
  if (old && spec.controller !== old.spec?.controller)
    errs.push(invalidError('spec.controller', spec.controller ?? '', 'field is immutable'));
  return errs;
}

// ---- printing ----

/** The first three rule hosts and a count of the rules beyond them; `*` when no rule names a host. */
export function ingressHosts(rules: IngressRule[]): string {
  const hosts: string[] = [];
  let more = false;
  for (const r of rules) {
    // "More" means a rule came after three hosts were found; the count is of rules past the third.
    if (hosts.length === 3) more = true;
    if (!more && r.host) hosts.push(r.host);
  }
  if (hosts.length === 0) return '*';
  return more ? `${hosts.join(',')} + ${rules.length - 3} more...` : hosts.join(',');
}

/** The load balancer's IPs (or hostnames where there is no IP), unique and sorted. */
export function ingressAddress(obj: Ingress): string {
  const points = (obj.status?.loadBalancer?.ingress ?? [])
    .map((p) => p.ip || p.hostname || '')
    .filter(Boolean);
  return [...new Set(points)].sort().join(',');
}

export function ingressClassParameters(obj: IngressClass): string {
  const p = obj.spec?.parameters;
  if (!p) return '<none>';
  return `${p.kind ?? ''}${p.apiGroup !== undefined ? `.${p.apiGroup}` : ''}/${p.name ?? ''}`;
}

export const networkingTypes: ResourceType[] = [
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'Ingress',
    plural: 'ingresses',
    singular: 'ingress',
    shortNames: ['ing'],
    categories: [],
    namespaced: true,
    subresources: ['status'],
    schema: Ingress,
    defaults: (obj) => {
      // Go always writes the (struct) status, so a fresh ingress reads back with an empty load balancer.
      const ing = obj as Ingress;
      ing.status ??= {};
      ing.status.loadBalancer ??= {};
    },
    validate: (obj, old) => validateIngress(obj as Ingress, old as Ingress | undefined),
    columns: [
      column(
        'Class',
        'IngressClass that should carry out the ingress.',
        (o) => (o as Ingress).spec?.ingressClassName ?? '<none>',
      ),
      column('Hosts', 'Hosts the rules match.', (o) => ingressHosts((o as Ingress).spec?.rules ?? [])),
      column('Address', 'Where the load balancer takes traffic.', (o) => ingressAddress(o as Ingress)),
      column('Ports', 'Ports the ingress is served on.', (o) =>
        (o as Ingress).spec?.tls?.length ? '80, 443' : '80',
      ),
      ageColumn,
    ],
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'IngressClass',
    plural: 'ingressclasses',
    singular: 'ingressclass',
    shortNames: [],
    categories: [],
    namespaced: false,
    subresources: [],
    schema: IngressClass,
    defaults: (obj) => {
      const params = (obj as IngressClass).spec?.parameters;
      if (params) params.scope ??= 'Cluster';
    },
    validate: (obj, old) => validateIngressClass(obj as IngressClass, old as IngressClass | undefined),
    columns: [
      column(
        'Controller',
        'Controller that serves the class.',
        (o) => (o as IngressClass).spec?.controller ?? '',
      ),
      column('Parameters', 'Object holding settings for the class.', (o) =>
        ingressClassParameters(o as IngressClass),
      ),
      ageColumn,
    ],
  },
];
