/**
 * Validation of core/v1 Service and Endpoints, after defaulting. Rules and
 * field paths follow Kubernetes' ValidateService and ValidateEndpoints.
 * Allocated values (cluster IPs, node ports, the health-check node port) are
 * checked for shape only: the apiserver allocates them, and carries them over
 * on update when a client leaves them out.
 */
import { isIP } from 'node:net';
import type { FieldError } from '../status.js';
import {
  duplicateError,
  forbiddenError,
  invalidError,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  requiredError,
  validateLabels,
} from '../validation.js';
import {
  checkName,
  immutableField,
  oneOf,
  protocols,
  validateCIDR,
  validateIP,
  validatePortNumber,
  validatePortNumOrName,
} from './core-common.js';
import type { Endpoints, Service, ServicePort, ServiceSpec } from './service.js';

const serviceTypes = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const trafficPolicies = ['Cluster', 'Local'];
const onlyLB = "may only be used when `type` is 'LoadBalancer'";

/** Whether traffic from outside the cluster can reach the service (Kubernetes' ExternallyAccessible). */
export function externallyAccessible(spec: ServiceSpec): boolean {
  return (
    spec.type === 'LoadBalancer' ||
    spec.type === 'NodePort' ||
    (spec.type === 'ClusterIP' && (spec.externalIPs?.length ?? 0) > 0)
  );
}

export function validateService(svc: Service, old?: Service): FieldError[] {
  const spec = svc.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  const errs: FieldError[] = [...oneOf('spec.type', type, serviceTypes)];
  if (type === 'ExternalName') {
    if (!spec.externalName) errs.push(requiredError('spec.externalName'));
    else
      errs.push(...checkName('spec.externalName', spec.externalName.replace(/\.$/, ''), isDNS1123Subdomain));
  } else if ((spec.ports ?? []).length === 0) {
    errs.push(requiredError('spec.ports'));
  }
  errs.push(...validatePorts(spec, type));
  errs.push(...validateClusterIPs(spec, type));
  errs.push(...validateAffinity(spec));
  errs.push(...validateLabels(spec.selector, 'spec.selector'));
  errs.push(...validateTraffic(spec, type));
  errs.push(...validateLoadBalancer(spec, type));
  errs.push(...(spec.externalIPs ?? []).flatMap((ip, i) => validateIP(ip, `spec.externalIPs[${i}]`)));
  if (
    old &&
    type !== 'ExternalName' &&
    old.spec?.type !== 'ExternalName' &&
    old.spec?.clusterIP &&
    spec.clusterIP
  )
    errs.push(...immutableField('spec.clusterIPs[0]', spec.clusterIP, old.spec.clusterIP));
  return errs;
}

function validatePorts(spec: ServiceSpec, type: string): FieldError[] {
  const ports = spec.ports ?? [];
  const errs: FieldError[] = validatePortNames(ports, 'spec.ports');
  const portKeys = new Set<string>();
  const nodePortKeys = new Set<string>();
  ports.forEach((p: ServicePort, i) => {
    const f = `spec.ports[${i}]`;
    errs.push(...validatePortNumber(p.port, `${f}.port`));
    errs.push(...oneOf(`${f}.protocol`, p.protocol, protocols));
    errs.push(...validatePortNumOrName(p.targetPort, `${f}.targetPort`));
    if (p.appProtocol !== undefined)
      errs.push(...checkName(`${f}.appProtocol`, p.appProtocol, isQualifiedName));
    const key = `${p.port}/${p.protocol}`;
    if (portKeys.has(key)) errs.push(duplicateError(f, { port: p.port, protocol: p.protocol }));
    portKeys.add(key);
    if (p.nodePort) {
      if (type === 'ClusterIP' || type === 'ExternalName')
        errs.push(forbiddenError(`${f}.nodePort`, `may not be used when \`type\` is '${type}'`));
      errs.push(...validatePortNumber(p.nodePort, `${f}.nodePort`));
      const nodeKey = `${p.nodePort}/${p.protocol}`;
      if (nodePortKeys.has(nodeKey)) errs.push(duplicateError(`${f}.nodePort`, p.nodePort));
      nodePortKeys.add(nodeKey);
    }
  });
  return errs;
}

function validateClusterIPs(spec: ServiceSpec, type: string): FieldError[] {
  const errs: FieldError[] = [];
  const ips = spec.clusterIPs ?? [];
  if (type === 'ExternalName') {
    if (spec.clusterIP)
      errs.push(forbiddenError('spec.clusterIP', 'may not be set for ExternalName services'));
    if (ips.length) errs.push(forbiddenError('spec.clusterIPs', 'may not be set for ExternalName services'));
    if (spec.ipFamilies?.length)
      errs.push(forbiddenError('spec.ipFamilies', 'may not be set for ExternalName services'));
    if (spec.ipFamilyPolicy)
      errs.push(forbiddenError('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
    return errs;
  }
  if (spec.clusterIP && ips.length && ips[0] !== spec.clusterIP)
    errs.push(invalidError('spec.clusterIPs', ips, 'first value must match `clusterIP`'));
  ips.forEach((ip, i) => {
    if (ip === 'None') {
      if (ips.length > 1)
        errs.push(invalidError(`spec.clusterIPs[${i}]`, ip, "'None' must be the first and only value"));
      if (type === 'NodePort' || type === 'LoadBalancer')
        errs.push(invalidError('spec.clusterIPs[0]', ip, `may not be set to 'None' for ${type} services`));
    } else if (ip && !isIP(ip)) {
      errs.push(invalidError(`spec.clusterIPs[${i}]`, ip, "must be empty, 'None', or a valid IP address"));
    }
  });
  const families = spec.ipFamilies ?? [];
  families.forEach((fam, i) => {
    errs.push(...oneOf(`spec.ipFamilies[${i}]`, fam, ['IPv4', 'IPv6']));
    if (families.indexOf(fam) !== i) errs.push(duplicateError(`spec.ipFamilies[${i}]`, fam));
  });
  if (families.length > 2)
    errs.push(
      invalidError('spec.ipFamilies', families, 'may specify no more than one IP for each IP family'),
    );
  errs.push(
    ...oneOf('spec.ipFamilyPolicy', spec.ipFamilyPolicy, [
      'PreferDualStack',
      'RequireDualStack',
      'SingleStack',
    ]),
  );
  if (spec.ipFamilyPolicy === 'SingleStack' && (families.length > 1 || ips.length > 1))
    errs.push(
      invalidError(
        'spec.ipFamilyPolicy',
        spec.ipFamilyPolicy,
        'must be RequireDualStack or PreferDualStack when multiple IP families are specified',
      ),
    );
  return errs;
}

function validateAffinity(spec: ServiceSpec): FieldError[] {
  const errs = oneOf('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']);
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (spec.sessionAffinity === 'ClientIP') {
    if (timeout === undefined || timeout <= 0 || timeout > 86400)
      errs.push(
        invalidError(
          'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
          timeout ?? 0,
          'must be greater than 0 and less than 86400',
        ),
      );
  } else if (spec.sessionAffinityConfig) {
    errs.push(
      invalidError(
        'spec.sessionAffinityConfig',
        spec.sessionAffinityConfig,
        `must not be set when session affinity is ${spec.sessionAffinity}`,
      ),
    );
  }
  return errs;
}

function validateTraffic(spec: ServiceSpec, type: string): FieldError[] {
  const errs: FieldError[] = [];
  if (externallyAccessible(spec)) {
    if (!spec.externalTrafficPolicy) errs.push(requiredError('spec.externalTrafficPolicy'));
    else errs.push(...oneOf('spec.externalTrafficPolicy', spec.externalTrafficPolicy, trafficPolicies));
  } else if (spec.externalTrafficPolicy) {
    errs.push(
      invalidError(
        'spec.externalTrafficPolicy',
        spec.externalTrafficPolicy,
        'may only be set for externally-accessible services',
      ),
    );
  }
  if (spec.healthCheckNodePort) {
    if (type !== 'LoadBalancer' || spec.externalTrafficPolicy !== 'Local')
      errs.push(
        invalidError(
          'spec.healthCheckNodePort',
          spec.healthCheckNodePort,
          "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        ),
      );
    else errs.push(...validatePortNumber(spec.healthCheckNodePort, 'spec.healthCheckNodePort'));
  }
  if (type !== 'ExternalName' && !spec.internalTrafficPolicy)
    errs.push(requiredError('spec.internalTrafficPolicy'));
  errs.push(...oneOf('spec.internalTrafficPolicy', spec.internalTrafficPolicy, trafficPolicies));
  errs.push(
    ...oneOf('spec.trafficDistribution', spec.trafficDistribution, [
      'PreferClose',
      'PreferSameNode',
      'PreferSameZone',
    ]),
  );
  return errs;
}

function validateLoadBalancer(spec: ServiceSpec, type: string): FieldError[] {
  const errs: FieldError[] = [];
  const isLB = type === 'LoadBalancer';
  if (spec.loadBalancerSourceRanges?.length) {
    if (!isLB) errs.push(forbiddenError('spec.loadBalancerSourceRanges', onlyLB));
    errs.push(
      ...spec.loadBalancerSourceRanges.flatMap((r, i) =>
        validateCIDR(r.trim(), `spec.loadBalancerSourceRanges[${i}]`),
      ),
    );
  }
  if (spec.allocateLoadBalancerNodePorts !== undefined && !isLB)
    errs.push(forbiddenError('spec.allocateLoadBalancerNodePorts', onlyLB));
  if (spec.loadBalancerClass !== undefined) {
    if (!isLB) errs.push(forbiddenError('spec.loadBalancerClass', onlyLB));
    else errs.push(...checkName('spec.loadBalancerClass', spec.loadBalancerClass, isQualifiedName));
  }
  if (spec.loadBalancerIP) errs.push(...validateIP(spec.loadBalancerIP, 'spec.loadBalancerIP'));
  return errs;
}

/** Port names: required when there is more than one port, DNS labels, unique. */
function validatePortNames(ports: { name?: string }[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const f = `${path}[${i}].name`;
    if (!p.name) {
      if (ports.length > 1) errs.push(requiredError(f));
      return;
    }
    const bad = checkName(f, p.name, isDNS1123Label);
    if (bad.length) errs.push(...bad);
    else if (names.has(p.name)) errs.push(duplicateError(f, p.name));
    names.add(p.name);
  });
  return errs;
}

/** An endpoint must be a routable unicast address, not one that means "this host" or "this link". */
function validateEndpointIP(ip: string, field: string): FieldError[] {
  const bad = validateIP(ip, field);
  if (bad.length) return bad;
  const lower = ip.toLowerCase();
  if (ip === '0.0.0.0' || lower === '::')
    return [invalidError(field, ip, 'may not be unspecified (0.0.0.0)')];
  if (ip.startsWith('127.') || lower === '::1')
    return [invalidError(field, ip, 'may not be in the loopback range (127.0.0.0/8, ::1/128)')];
  if (ip.startsWith('169.254.') || lower.startsWith('fe80:'))
    return [invalidError(field, ip, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)')];
  if (/^22[4-9]\.|^23\d\./.test(ip) || lower.startsWith('ff'))
    return [invalidError(field, ip, 'may not be in the multicast range (224.0.0.0/4, ff00::/8)')];
  return [];
}

export function validateEndpoints(ep: Endpoints): FieldError[] {
  const errs: FieldError[] = [];
  (ep.subsets ?? []).forEach((ss, i) => {
    const f = `subsets[${i}]`;
    if (!ss.addresses?.length && !ss.notReadyAddresses?.length)
      errs.push(requiredError(f, 'must specify `addresses` or `notReadyAddresses`'));
    for (const list of ['addresses', 'notReadyAddresses'] as const) {
      (ss[list] ?? []).forEach((a, j) => {
        const af = `${f}.${list}[${j}]`;
        if (!a.ip) errs.push(requiredError(`${af}.ip`));
        else errs.push(...validateEndpointIP(a.ip, `${af}.ip`));
        if (a.hostname) errs.push(...checkName(`${af}.hostname`, a.hostname, isDNS1123Label));
        if (a.nodeName) errs.push(...checkName(`${af}.nodeName`, a.nodeName, isDNS1123Subdomain));
      });
    }
    const ports = ss.ports ?? [];
    errs.push(...validatePortNames(ports, `${f}.ports`));
    ports.forEach((p, j) => {
      const pf = `${f}.ports[${j}]`;
      errs.push(...validatePortNumber(p.port, `${pf}.port`));
      if (!p.protocol) errs.push(requiredError(`${pf}.protocol`));
      else errs.push(...oneOf(`${pf}.protocol`, p.protocol, protocols));
      if (p.appProtocol !== undefined)
        errs.push(...checkName(`${pf}.appProtocol`, p.appProtocol, isQualifiedName));
    });
  });
  return errs;
}
